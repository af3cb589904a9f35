// Connection caps that a flood cannot turn against the right user. Every
// connection counts against a cap per address (127/8 as one) and one over
// all; past a cap the oldest connection that has not proved the token goes,
// not the new one: a half-open flood (slowloris) keeps cycling through its
// own connections while the user's fresh one lives long enough to be read.
// Connections that proved the token are never closed for room.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { addressKey } from '../auth';

export interface ConnectionLimits {
  total: number;
  perAddress: number;
}

export const CONNECTION_LIMITS: ConnectionLimits = { total: 4096, perAddress: 2048 };

interface Entry {
  key: string;
  trusted: boolean;
}

export class ConnectionGuard {
  /** In arrival order: the first untrusted entry is the oldest. */
  private readonly open = new Map<Socket, Entry>();
  private readonly perKey = new Map<string, number>();
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
    const n = (this.perKey.get(e.key) ?? 1) - 1;
    if (n <= 0) this.perKey.delete(e.key);
    else this.perKey.set(e.key, n);
  }

  /** Closes the oldest untrusted connection (of key, if given); the newcomer only when nothing else may go. */
  private evictOldest(newcomer: Socket, key?: string): void {
    for (const [s, e] of this.open) {
      if (e.trusted || s === newcomer || (key !== undefined && e.key !== key)) continue;
      this.drop(s);
      return;
    }
    this.drop(newcomer);
  }

  private drop(socket: Socket): void {
    this.evicted++;
    this.remove(socket);
    socket.destroy();
  }

  /** A connection that presented the right credentials. */
  trust(socket: Duplex): void {
    const e = this.open.get(socket as Socket);
    if (e) e.trusted = true;
  }
}
