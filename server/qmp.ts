// A QMP client on a VM's qmp.sock: the greeting, capabilities negotiation,
// commands answered in order, and asynchronous events.
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends Error {
  constructor(readonly errorClass: string, message: string) {
    super(message);
    this.name = 'QmpError';
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class QmpClient extends EventEmitter<{ event: [QmpEvent]; close: [] }> {
  private buf = '';
  private pending: Pending[] = [];
  private closed = false;

  private constructor(private readonly sock: Socket) {
    super();
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('close', () => this.onClose());
    sock.on('error', () => { /* reported through close */ });
  }

  /** Connects, reads the greeting and enters command mode. */
  static async connect(path: string, timeoutMs = 5000): Promise<QmpClient> {
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path);
      const t = setTimeout(() => { s.destroy(); reject(new Error(`QMP: ${path}: no answer within ${timeoutMs} ms`)); }, timeoutMs);
      s.once('connect', () => { clearTimeout(t); resolve(s); });
      s.once('error', (e) => { clearTimeout(t); reject(e); });
    });
    const client = new QmpClient(sock);
    try {
      // The greeting counts as the first answer. QEMU serves one client per
      // socket and queues the others: a busy socket is silent, not refused.
      await client.expect(timeoutMs);
      await client.execute('qmp_capabilities');
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  private expect(timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`QMP: no greeting within ${timeoutMs} ms (another client may hold the socket)`)), timeoutMs);
      this.pending.push({ resolve: (v) => { clearTimeout(t); resolve(v); }, reject: (e) => { clearTimeout(t); reject(e); } });
    });
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof msg.event === 'string') {
        this.emit('event', msg as unknown as QmpEvent);
        continue;
      }
      const p = this.pending.shift();
      if (!p) continue;
      if (msg.error) {
        const err = msg.error as { class: string; desc: string };
        p.reject(new QmpError(err.class, err.desc));
      } else p.resolve(msg.QMP ?? msg.return);
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.splice(0)) p.reject(new Error('QMP: connection closed'));
    this.emit('close');
  }

  get isClosed(): boolean { return this.closed; }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('QMP: connection closed'));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ resolve: resolve as (v: unknown) => void, reject });
      this.sock.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    });
  }

  close(): void {
    this.sock.end();
    this.sock.destroy();
    this.onClose();
  }
}

/** Connects, runs one command and closes. */
export async function qmpOnce<T = unknown>(path: string, command: string, args?: Record<string, unknown>): Promise<T> {
  const c = await QmpClient.connect(path);
  try {
    return await c.execute<T>(command, args);
  } finally {
    c.close();
  }
}
