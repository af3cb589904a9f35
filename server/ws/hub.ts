// A console hub: one connection to a VM's console (the serial or monitor
// socket, or the pty of a CLI0 VM) shared by every browser client attached to
// it. Every client sees all output and may type; a client that joins late is
// first sent the recent output. The hub owns its link, its clients' listeners
// and its timers, and releases them all in dispose().
//
// The typist's echo is written at once; the other clients get the output in
// rounds: what came since the last round, framed once (one buffer for all),
// written FANOUT_SLICE clients per turn of the event loop, so that the next
// keystroke is read after one slice, not after the whole audience. A round
// begins at most every ROUND_MS; what comes meanwhile is the next round's.
import type { RawData, WebSocket } from 'ws';
import type { Guarded } from '../../lib/console-guard';
import { CLOSE, closeReason } from './close-codes';
import { binaryFrame, sendFrame } from './frames';

/** What the hub reads from and types into. */
export interface ConsoleLink {
  /** False when the link's buffer is full: the hub then pauses the typing client until drain. */
  write(data: Buffer): boolean;
  pause(): void;
  resume(): void;
  /** A terminal size from a client; only a pty has one. */
  resize?(cols: number, rows: number): void;
  close(): void;
}

export interface HubLimits {
  /** Output kept for clients that join later. */
  recentBytes: number;
  /** When every client has this much unsent, the link is paused (the guest waits). */
  highWater: number;
  lowWater: number;
  /** A client this far behind is dropped so that it cannot hold up or bloat the others. */
  slowClientBytes: number;
  /** How long after the last client leaves the link is kept before it is released. */
  lingerMs: number;
  /** Clients at once; one more is refused (1013) rather than let a page open sockets without end. */
  maxClients: number;
}

const BINARY = { binary: true } as const;

/** Clients written per turn of the event loop in a round of output to the others (not the typist). */
export const FANOUT_SLICE = 16;
/**
 * A round begins at most this often: what comes in between is one frame to
 * each of the others. A fast typist's viewers then wake once per round, not
 * once per keystroke, and leave the CPUs to the typist's round trip; a
 * viewer sees output at most this much later than the typist (a browser
 * paints at 60 Hz, every 16 ms).
 */
export const ROUND_MS = 3;

/** A round of output to the clients other than the typist: one frame, written to `to` a slice at a time. */
interface Round {
  payload: Buffer;
  frame: Buffer;
  to: WebSocket[];
  next: number;
  /** The typist the output went to at once. */
  skip: WebSocket | null;
}

export const DEFAULT_LIMITS: HubLimits = {
  recentBytes: 128 * 1024,
  highWater: 256 * 1024,
  lowWater: 64 * 1024,
  slowClientBytes: 1024 * 1024,
  lingerMs: 1500,
  maxClients: 128,
};

/** VMDECK_CONSOLE_CLIENTS, else 128: the clients one console (a hub, or a VM's VNC bridges) serves at once. */
export function consoleClientCap(env = process.env): number {
  const n = Number(env.VMDECK_CONSOLE_CLIENTS);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_LIMITS.maxClients;
}

/** The refusal of one client too many, the same for hubs and VNC. */
export const tooManyClients = (name: string, max: number) => `${name}: ${max} clients are attached already (VMDECK_CONSOLE_CLIENTS); close one and try again`;

/** Recent output: the newest chunks whose total is at least `capacity` bytes (when there was that much). */
export class Ring {
  private chunks: Buffer[] = [];
  private total = 0;

  constructor(private readonly capacity: number) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
    while (this.chunks.length > 1 && this.total - this.chunks[0].length >= this.capacity) {
      this.total -= this.chunks.shift()!.length;
    }
    if (this.chunks.length > 64) {
      // Many small chunks: one buffer is cheaper to keep and to send.
      const joined = Buffer.concat(this.chunks);
      this.chunks = [joined.subarray(Math.max(0, joined.length - this.capacity))];
      this.total = this.chunks[0].length;
    }
  }

  contents(): Buffer {
    return Buffer.concat(this.chunks, this.total);
  }

  get size(): number {
    return this.total;
  }
}

/** A text frame of this shape is a control message, not typing. */
function parseResize(text: string): { cols: number; rows: number } | null {
  if (!text.startsWith('{')) return null;
  try {
    const m = JSON.parse(text) as { type?: unknown; cols?: unknown; rows?: unknown };
    if (m.type !== 'resize') return null;
    const cols = Number(m.cols);
    const rows = Number(m.rows);
    if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols < 1 || rows < 1 || cols > 1000 || rows > 1000) return null;
    return { cols, rows };
  } catch {
    return null;
  }
}

export interface HubStats {
  clients: number;
  recentBytes: number;
  /** Output accepted but not yet sent, summed over the clients. */
  bufferedBytes: number;
  dropped: number;
  paused: boolean;
}

export interface HubOptions {
  name: string;
  limits?: Partial<HubLimits>;
  /** Keep the link when the last client leaves (a pty that is the VM's life). */
  persistent?: boolean;
  /** Called once when the hub is gone, so its registry can forget it. */
  onDispose?: () => void;
  /** What clients type passes through this first (lib/console-guard.ts); its refusals go to the typist only. */
  guard?: { input(data: Buffer): Guarded };
}

export class ConsoleHub implements Disposable {
  readonly name: string;
  private readonly limits: HubLimits;
  private readonly ring: Ring;
  private readonly clients = new Set<WebSocket>();
  private readonly pausedClients = new Set<WebSocket>();
  /** Per client: what undoes its attach, and its send callback (made once, not per chunk). */
  private readonly attached = new Map<WebSocket, { detach: () => void; sent: () => void }>();
  /** The client that typed last: its echo goes out first, whoever else is watching. */
  private typist: WebSocket | null = null;
  private link: ConsoleLink | null = null;
  private linkPaused = false;
  private lingerTimer: NodeJS.Timeout | null = null;
  private disposed = false;
  private dropped = 0;
  /** Output since the round under way began (or since none was), already written to `pendingSkip`. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingSkip: WebSocket | null = null;
  private round: Round | null = null;
  /** The next slice of the round under way. */
  private sliceTimer: NodeJS.Immediate | null = null;
  /** The next round, ROUND_MS after the last began. */
  private roundTimer: NodeJS.Timeout | null = null;
  private lastRoundAt = 0;

  constructor(private readonly options: HubOptions) {
    this.name = options.name;
    this.limits = { ...DEFAULT_LIMITS, maxClients: consoleClientCap(), ...options.limits };
    this.ring = new Ring(this.limits.recentBytes);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The recent output, as a client that joins now is sent it. */
  recent(): Buffer {
    return this.ring.contents();
  }

  /** Output that came before the link was there (e.g. the tail of serial.log). */
  seed(recent: Buffer): void {
    this.ring.push(recent);
  }

  /** Connects the hub to its console. Clients attached before this get the output from here on. */
  setLink(link: ConsoleLink): void {
    this.link = link;
  }

  /** Output from the console: kept, and sent to every client. */
  output(chunk: Buffer): void {
    if (this.disposed) return;
    this.ring.push(chunk);
    if (this.clients.size === 0) return;
    const first = this.typist;
    // A new typist (or none) is owed what the rounds still hold, before this.
    if ((this.round && this.round.skip !== first) || (this.pending.length > 0 && this.pendingSkip !== first)) this.flushRounds();
    if (first) this.send(first, binaryFrame(chunk), chunk);
    if (this.clients.size > (first ? 1 : 0)) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      this.pendingSkip = first;
      // A flood is written out now rather than held: the clients' buffers then pace the link.
      if (this.pendingBytes >= this.limits.highWater) this.flushRounds();
      else this.schedule();
    }
    this.applyFlowControl();
  }

  /** The round's clients from `next` up to `end`; the round is over when all are written. */
  private writeRound(r: Round, end: number): void {
    for (const last = Math.min(end, r.to.length); r.next < last; r.next++) this.send(r.to[r.next], r.frame, r.payload);
    if (r.next >= r.to.length) this.round = null;
  }

  /** The output pending, as one round to every client but the one it was written to already. */
  private takePending(): Round {
    const payload = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    const skip = this.pendingSkip;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingSkip = null;
    return { payload, frame: binaryFrame(payload), to: [...this.clients].filter((ws) => ws !== skip), next: 0, skip };
  }

  /** The round under way goes on at the next turn of the event loop; the next begins ROUND_MS after the last did. */
  private schedule(): void {
    if (this.sliceTimer || this.roundTimer) return;
    if (this.round) {
      this.sliceTimer = setImmediate(this.nextSlice);
    } else if (this.pending.length > 0) {
      const wait = this.lastRoundAt + ROUND_MS - performance.now();
      if (wait > 0) this.roundTimer = setTimeout(this.nextSlice, wait);
      else this.sliceTimer = setImmediate(this.nextSlice);
    }
  }

  private cancelTimers(): void {
    if (this.sliceTimer) clearImmediate(this.sliceTimer);
    if (this.roundTimer) clearTimeout(this.roundTimer);
    this.sliceTimer = null;
    this.roundTimer = null;
  }

  private readonly nextSlice = (): void => {
    this.sliceTimer = null;
    this.roundTimer = null;
    if (this.disposed) return;
    if (!this.round && this.pending.length > 0) {
      this.round = this.takePending();
      this.lastRoundAt = performance.now();
    }
    if (this.round) this.writeRound(this.round, this.round.next + FANOUT_SLICE);
    this.schedule();
    this.applyFlowControl();
  };

  /** Every round written now, to every client (before one joins, the typist changes, or the hub ends). */
  private flushRounds(): void {
    this.cancelTimers();
    while (this.round || this.pending.length > 0) {
      this.round ??= this.takePending();
      this.writeRound(this.round, this.round.to.length);
    }
  }

  private send(ws: WebSocket, frame: Buffer, chunk: Buffer): void {
    // One that left during a round is not written to.
    if (ws.readyState !== ws.OPEN || !this.clients.has(ws)) return;
    sendFrame(ws, frame, chunk, this.attached.get(ws)?.sent);
    if (ws.bufferedAmount > this.limits.slowClientBytes) this.dropSlow(ws);
  }

  private onSent(ws: WebSocket): void {
    if (this.linkPaused && ws.bufferedAmount <= this.limits.lowWater && this.clients.has(ws)) {
      this.linkPaused = false;
      this.link?.resume();
    }
  }

  /**
   * The guest waits only when every client is behind; a client far behind
   * the others is dropped instead, so the others keep receiving.
   */
  private applyFlowControl(): void {
    if (this.linkPaused || this.clients.size === 0) return;
    for (const ws of this.clients) if (ws.bufferedAmount < this.limits.highWater) return;
    this.linkPaused = true;
    this.link?.pause();
  }

  private dropSlow(ws: WebSocket): void {
    this.dropped++;
    this.detach(ws);
    const mib = (this.limits.slowClientBytes / 1048576).toFixed(1);
    ws.close(CLOSE.tooSlow, `client too slow: more than ${mib} MiB of ${this.name} output unread`);
    // The close frame waits behind what the client does not read: do not wait for it.
    setTimeout(() => ws.terminate(), 1000).unref();
  }

  /** Adds a browser client: the recent output first, then everything live. */
  attach(ws: WebSocket): void {
    if (this.disposed) {
      ws.close(CLOSE.vmStopped, `${this.name}: the VM stopped`);
      return;
    }
    if (ws.readyState !== ws.OPEN) {
      // It left while the hub was being opened.
      this.releaseIfIdle();
      return;
    }
    if (this.clients.size >= this.limits.maxClients) {
      ws.close(CLOSE.tryAgainLater, closeReason(tooManyClients(this.name, this.limits.maxClients)));
      return;
    }
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    // The recent output it is sent holds what the rounds do: they are written first, without it.
    this.flushRounds();
    // Always one first frame, empty when there is no history: a client can
    // tell old output (whose terminal queries it must not answer) from live.
    ws.send(this.ring.contents(), BINARY);
    this.clients.add(ws);
    const onMessage = (data: RawData, isBinary: boolean) => this.input(ws, data, isBinary);
    const onClose = () => this.detach(ws);
    ws.on('message', onMessage);
    ws.on('close', onClose);
    this.attached.set(ws, {
      detach: () => {
        ws.off('message', onMessage);
        ws.off('close', onClose);
      },
      sent: () => this.onSent(ws),
    });
    // Every client was behind; this one is not.
    if (this.linkPaused) {
      this.linkPaused = false;
      this.link?.resume();
    }
  }

  private input(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (!this.link) return;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
    if (!isBinary) {
      const resize = parseResize(buf.toString('utf8'));
      if (resize) {
        this.link.resize?.(resize.cols, resize.rows);
        return;
      }
    }
    let bytes: Buffer = buf;
    if (this.options.guard) {
      const g = this.options.guard.input(buf);
      // After the output it has not had yet.
      if (g.refused.length > 0) this.flushRounds();
      for (const problem of g.refused) ws.send(Buffer.from(`\r\nvmdeck: ${problem}\r\n`), BINARY);
      if (g.forward.length === 0) return;
      bytes = g.forward;
    }
    this.typist = ws;
    if (!this.link.write(bytes)) {
      ws.pause();
      this.pausedClients.add(ws);
    }
  }

  /** The link drained what clients typed: let them type again. */
  drained(): void {
    for (const ws of this.pausedClients) ws.resume();
    this.pausedClients.clear();
  }

  private detach(ws: WebSocket): void {
    if (!this.clients.delete(ws)) return;
    this.attached.get(ws)?.detach();
    this.attached.delete(ws);
    if (this.typist === ws) this.typist = null;
    this.pausedClients.delete(ws);
    if (this.linkPaused) {
      // The one that held it back may be the one that left.
      this.linkPaused = false;
      this.link?.resume();
      this.applyFlowControl();
    }
    this.releaseIfIdle();
  }

  /** Without clients the link is released shortly (QEMU serves one client per socket: `vmdeck console` needs it). */
  releaseIfIdle(): void {
    if (this.clients.size > 0 || this.options.persistent || this.disposed || this.lingerTimer) return;
    this.lingerTimer = setTimeout(() => this.dispose(), this.limits.lingerMs);
    this.lingerTimer.unref();
  }

  /** Closes every client with this code and releases the hub. */
  end(code: number, reason: string): void {
    this.flushRounds();
    for (const ws of [...this.clients]) {
      this.detach(ws);
      ws.close(code, closeReason(reason));
      setTimeout(() => ws.terminate(), 2000).unref();
    }
    this.dispose();
  }

  stats(): HubStats {
    let bufferedBytes = 0;
    for (const ws of this.clients) bufferedBytes += ws.bufferedAmount;
    if (this.round) bufferedBytes += this.round.payload.length * (this.round.to.length - this.round.next);
    bufferedBytes += this.pendingBytes * Math.max(0, this.clients.size - (this.pendingSkip ? 1 : 0));
    return { clients: this.clients.size, recentBytes: this.ring.size, bufferedBytes, dropped: this.dropped, paused: this.linkPaused };
  }

  dispose(): void {
    if (this.disposed) return;
    this.flushRounds();
    this.disposed = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    for (const ws of [...this.clients]) {
      this.detach(ws);
      ws.close(CLOSE.goingAway, `${this.name}: console closed`);
    }
    this.link?.close();
    this.link = null;
    this.options.onDispose?.();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
