// The dashboard server for integration tests: in-process (to look at its
// hubs) or as a child process (to kill it), and a WebSocket client that
// collects what it reads.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import { REPO, type Sandbox } from './guest';

export const TEST_TOKEN = 'test-token-0123456789';

export interface ChildServer {
  proc: ChildProcess;
  base: string;
  port: number;
  output: () => string;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
}

/** `vmdeck serve` as a child on a free loopback port. */
export async function spawnServer(sb: Sandbox, port = 0, extraEnv: Record<string, string> = {}): Promise<ChildServer> {
  const proc = spawn(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'serve', '--host', '127.0.0.1', '--port', String(port)], {
    env: { ...sb.env, VMDECK_TOKEN: TEST_TOKEN, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  const actual = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`vmdeck serve did not start: ${out}`)), 15000);
    const onData = () => {
      const m = /dashboard on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`vmdeck serve exited with ${code}: ${out}`)));
  });
  return {
    proc,
    port: actual,
    base: `http://127.0.0.1:${actual}`,
    output: () => out,
    kill: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    }),
  };
}

export interface Closed {
  code: number;
  reason: string;
}

/** A WebSocket client that keeps everything it reads (as latin1 text) and its close. */
export class WsClient {
  private buf = '';
  private waiters: { re: RegExp; from: number; resolve: (m: string) => void }[] = [];
  readonly closed: Promise<Closed>;
  bytes = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      this.bytes += d.length;
      this.buf += d.toString('latin1');
      if (this.buf.length > 4 * 1024 * 1024) this.buf = this.buf.slice(-1024 * 1024);
      this.waiters = this.waiters.filter((w) => {
        const m = w.re.exec(this.buf.slice(w.from));
        if (m) w.resolve(m[0]);
        return !m;
      });
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => { /* seen through close */ });
  }

  static open(url: string, options: WebSocket.ClientOptions & { protocols?: string[] } = {}): Promise<WsClient> {
    const ws = new WebSocket(url, options.protocols ?? [], { perMessageDeflate: false, ...options });
    const client = new WsClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  get output(): string { return this.buf; }
  get mark(): number { return this.buf.length; }

  send(s: string | Buffer): void { this.ws.send(s); }

  waitFor(re: RegExp, timeoutMs = 30000, from = 0): Promise<string> {
    const m = re.exec(this.buf.slice(from));
    if (m) return Promise.resolve(m[0]);
    return new Promise((resolve, reject) => {
      const w = { re, from, resolve: (x: string) => { clearTimeout(t); resolve(x); } };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re} in: ${JSON.stringify(this.buf.slice(-300))}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Types a command line and waits for a match after it. */
  async run(command: string, re: RegExp, timeoutMs = 20000): Promise<string> {
    const from = this.mark;
    this.send(`${command}\r`);
    return this.waitFor(re, timeoutMs, from);
  }

  /** Presses Enter until a fresh prompt answers: the guest's shell is up (old output may hold old prompts). */
  async shell(prompt: RegExp, timeoutMs = 60000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // The recent output comes first, with its old prompts: let it arrive.
    await new Promise((r) => setTimeout(r, 300));
    for (;;) {
      const from = this.mark;
      this.send('\r');
      try {
        await this.waitFor(prompt, 2000, from);
        return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
    }
  }

  close(): void { this.ws.close(); }
}

/** Resolves with the close, or rejects after timeoutMs. */
export function closedWithin(c: WsClient, timeoutMs = 15000): Promise<Closed> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    c.closed,
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs); }),
  ]).finally(() => clearTimeout(timer));
}

export const bearer = { Authorization: `Bearer ${TEST_TOKEN}` };

export async function api(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = bearer): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    redirect: 'manual',
  });
  const text = await res.text();
  let json: unknown = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text, headers: res.headers };
}
