// Connection caps that a flood cannot turn against the right user. Every
// connection counts against a cap per address (127/8 as one) and one over
// all; past a cap the oldest connection that has not proved the token goes,
// not the new one: a half-open flood (slowloris) keeps cycling through its
// own connections while the user's fresh one lives long enough to be read.
// Connections that proved the token are never closed for room.
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { addressKey } from '../auth';

export interface ConnectionLimits {
  total: number;
  perAddress: number;
}

/** This process's descriptor limit (soft), from /proc/self/limits; 1024 when it cannot be read. */
function fdLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? (m[1] === 'unlimited' ? 1 << 20 : Number(m[1])) : 1024;
  } catch {
    return 1024;
  }
}

/** Room for the VMs' sockets, files and pages beside the connections: a quarter of the limit, at least 256. */
const total = Math.max(64, Math.min(4096, fdLimit() - Math.max(256, fdLimit() >> 2)));
export const CONNECTION_LIMITS: ConnectionLimits = { total, perAddress: Math.max(32, Math.floor(total * 0.75)) };

interface Entry {
  key: string;
  trusted: boolean;
}

export class ConnectionGuard {
  /** In arrival order: the first untrusted entry is the oldest. */
  private readonly open = new Map<Socket, Entry>();
  private readonly perKey = new Map<string, number>();
  /** The held guesses, oldest first. */
  private readonly guesses = new Set<Socket>();
  evicted = 0;

  constructor(private readonly limits: ConnectionLimits = CONNECTION_LIMITS) {}

  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.add(socket));
  }

  get size(): number {
    return this.open.size;
  }

  private add(socket: Socket): void {
    const key = addressKey(socket.remoteAddress ?? 'unknown');
    this.open.set(socket, { key, trusted: false });
    this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
    socket.once('close', () => this.remove(socket));
    if ((this.perKey.get(key) ?? 0) > this.limits.perAddress) this.evictOldest(socket, key);
    if (this.open.size > this.limits.total) this.evictOldest(socket);
  }

  private remove(socket: Socket): void {
    const e = this.open.get(socket);
    if (!e) return;
    this.open.delete(socket);
    this.guesses.delete(socket);
    const n = (this.perKey.get(e.key) ?? 1) - 1;
    if (n <= 0) this.perKey.delete(e.key);
    else this.perKey.set(e.key, n);
  }

  /**
   * Closes the oldest held guess, else the oldest other untrusted connection
   * (of key, if given); the newcomer only when nothing else may go.
   */
  private evictOldest(newcomer: Socket, key?: string): void {
    for (const s of this.guesses) {
      if (key === undefined || this.open.get(s)?.key === key) return this.drop(s);
    }
    for (const [s, e] of this.open) {
      if (e.trusted || s === newcomer || (key !== undefined && e.key !== key)) continue;
      return this.drop(s);
    }
    this.drop(newcomer);
  }

  private drop(socket: Socket): void {
    this.evicted++;
    this.remove(socket);
    // A reset, not a FIN: one packet, and no closing states for the kernel to keep for the flood.
    socket.resetAndDestroy();
  }

  /** A connection that presented the right credentials. */
  trust(socket: Duplex): void {
    const e = this.open.get(socket as Socket);
    if (e) e.trusted = true;
    this.guesses.delete(socket as Socket);
  }

  /** A connection whose request presented a wrong one. */
  failed(socket: Duplex): void {
    const e = this.open.get(socket as Socket);
    if (e && !e.trusted) this.guesses.add(socket as Socket);
  }
}
