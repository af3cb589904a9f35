// Who is on the other end of a connection. A guest on user networking
// reaches the host's 127.0.0.1 as 10.0.2.2: QEMU's slirp opens the TCP
// connection itself, so it arrives from 127.0.0.1 like the user's browser.
// What tells them apart is the process that owns the peer's socket: the
// kernel lists every local TCP socket with its inode (/proc/net/tcp, tcp6),
// and a process's open sockets are its /proc/PID/fd links `socket:[INODE]`.
// A peer socket held by a network emulator (QEMU, or a slirp helper that
// plays the same part for a switch) is a guest's, and gets nothing.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';

/** Programs that carry guests' connections to the host. */
const EMULATOR = /^(qemu-system|qemu-kvm|slirp4netns|slirpvde|passt|pasta)/;

/** An address as /proc/net/tcp{,6} spells it: each 32-bit word in host (little-endian) byte order, in hex. */
function procHex(bytes: number[]): string {
  let out = '';
  for (let w = 0; w < bytes.length; w += 4) {
    for (let b = 3; b >= 0; b--) out += bytes[w + b].toString(16).padStart(2, '0');
  }
  return out.toUpperCase();
}

/** The ways the tables may spell Node's address: IPv4 in tcp, IPv4 mapped into IPv6 in tcp6, IPv6. */
export function procAddresses(address: string): string[] {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/i.exec(address);
  if (v4) {
    const b = v4.slice(1, 5).map(Number);
    return [procHex(b), procHex([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...b])];
  }
  const [head, tail] = address.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const bytes = groups.flatMap((g) => { const n = parseInt(g, 16) || 0; return [n >> 8, n & 0xff]; });
  return bytes.length === 16 ? [procHex(bytes)] : [];
}

const port4 = (p: number) => p.toString(16).toUpperCase().padStart(4, '0');

/**
 * A look at one table (/proc/net/tcp or tcp6) and at the emulators'
 * sockets, at one moment. The table is kept as read: under a connection
 * flood it lists tens of thousands of sockets, and a connection's verdict
 * needs one line of it, not a map of them all.
 */
interface Snapshot {
  at: number;
  table: string;
  emulatorInodes: Set<number>;
}

function socketInodes(pids: number[]): Set<number> {
  const out = new Set<number>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch { /* gone, or not ours to read */ }
    for (const fd of fds) {
      let link = '';
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch { /* closed meanwhile */ }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m) out.add(Number(m[1]));
    }
  }
  return out;
}

/** The inode on the line of the table whose two ends are `key` ("LOCAL:PORT REMOTE:PORT" in the table's hex), if any. */
export function inodeOf(table: string, key: string): number | undefined {
  const at = table.indexOf(` ${key} `);
  if (at < 0) return undefined;
  const end = table.indexOf('\n', at);
  // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
  const f = table.slice(at, end < 0 ? undefined : end).trim().split(/\s+/);
  const inode = Number(f[8]);
  return inode > 0 ? inode : undefined;
}

/**
 * One reader per table. A look is shared by every connection that asks
 * while it is made; the next one waits a gap that grows with what a look
 * costs (a flood makes the table long), unless a connection that proved the
 * token asks: that one is never kept waiting behind the flood.
 */
class TableReader {
  private snapshot: Snapshot | null = null;
  private reading: Promise<Snapshot> | null = null;
  private lastCostMs = 0;
  private urgent: (() => void) | null = null;

  constructor(private readonly file: string) {}

  private gapMs(): number {
    return Math.min(MAX_GAP_MS, Math.max(MIN_GAP_MS, 8 * this.lastCostMs));
  }

  private read(pids: number[], urgent: boolean): Promise<Snapshot> {
    const wait = this.snapshot && !urgent ? this.snapshot.at + this.gapMs() - Date.now() : 0;
    const reading = (async () => {
      if (wait > 0) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, wait);
          this.urgent = () => {
            clearTimeout(t);
            r();
          };
        });
        this.urgent = null;
      }
      const at = Date.now();
      const t0 = performance.now();
      const table = await readFile(this.file, 'latin1').catch(() => '');
      const snap = { at, table, emulatorInodes: socketInodes(pids) };
      this.lastCostMs = performance.now() - t0;
      this.snapshot = snap;
      return snap;
    })().finally(() => {
      if (this.reading === reading) this.reading = null;
    });
    this.reading = reading;
    return reading;
  }

  /** A look taken at or after `since` (a connection's peer socket exists before its request arrives). */
  async since(since: number, pids: number[], urgent: boolean): Promise<Snapshot> {
    for (;;) {
      if (this.snapshot && this.snapshot.at >= since) return this.snapshot;
      if (!this.reading) this.read(pids, urgent);
      else if (urgent) this.urgent?.();
      await this.reading;
    }
  }
}

/** Between looks under load: at least MIN_GAP_MS, at most MAX_GAP_MS. */
const MIN_GAP_MS = 20;
const MAX_GAP_MS = 500;
const readers = { tcp: new TableReader('/proc/net/tcp'), tcp6: new TableReader('/proc/net/tcp6') };

/** Whether a QEMU command line has a user-mode (slirp) network: only those reach the host's loopback. */
const USER_NET = /(^|\0)-(netdev|nic|net)\0user(,|\0|$)/;

/** Per pid: whether it is an emulator with a user network, and when that was read (a pid may exec another program). */
const programs = new Map<number, { emulator: boolean; at: number }>();
const PROGRAM_TTL_MS = 2000;

function isEmulator(pid: number, now: number): boolean {
  const known = programs.get(pid);
  if (known && now - known.at < PROGRAM_TTL_MS) return known.emulator;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch { /* gone */ }
  const end = cmdline.indexOf('\0');
  const argv0 = end < 0 ? cmdline : cmdline.slice(0, end);
  // By its program, not its comm: the wrapper names QEMU's process vmdeck-LABEL (-name process=).
  const program = argv0.slice(argv0.lastIndexOf('/') + 1);
  const emulator = EMULATOR.test(program) && (!program.startsWith('qemu') || USER_NET.test(cmdline));
  programs.set(pid, { emulator, at: now });
  return emulator;
}

/** Pids of the emulators with a user network, listed at most every 200 ms (a guest needs far longer to boot and connect). */
let emulators: { at: number; pids: number[] } | null = null;

function emulatorPids(now = Date.now()): number[] {
  if (emulators && now - emulators.at <= 200) return emulators.pids;
  let names: string[] = [];
  try {
    names = readdirSync('/proc');
  } catch { /* no /proc: no emulators to tell apart */ }
  const pids: number[] = [];
  const live = new Set<number>();
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    live.add(pid);
    if (isEmulator(pid, now)) pids.push(pid);
  }
  for (const pid of programs.keys()) if (!live.has(pid)) programs.delete(pid);
  emulators = { at: now, pids };
  return pids;
}

/**
 * Whether this connection was made by an emulator for a guest (then the
 * dashboard answers nothing). Costs nothing while no emulator with a user
 * network runs; else one look at the connection's table, shared by the
 * connections that ask meanwhile. `urgent`: the request proved the token,
 * and its look is taken at once.
 */
export async function fromGuest(socket: Socket, urgent = false): Promise<boolean> {
  const since = Date.now();
  const pids = emulatorPids(since);
  if (pids.length === 0) return false;
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (!remoteAddress || !remotePort || !localAddress || !localPort) return false;
  for (const look of peerLookups(remoteAddress, remotePort, localAddress, localPort)) {
    const snap = await readers[look.table].since(since, pids, urgent);
    for (const key of look.keys) {
      const inode = inodeOf(snap.table, key);
      if (inode !== undefined) return snap.emulatorInodes.has(inode);
    }
  }
  return false;
}

/**
 * Where the peer's socket is listed, in the order to look: its local end is
 * our remote one. The table is the peer's socket's family, not ours: a
 * dual-stack listener (HOST=::) sees an IPv4 client as ::ffff:a.b.c.d, while
 * that client (QEMU's slirp among them) holds an IPv4 socket, listed in tcp;
 * an IPv6 socket that reached an IPv4 address is in tcp6, mapped.
 */
export function peerLookups(remoteAddress: string, remotePort: number, localAddress: string, localPort: number): { table: 'tcp' | 'tcp6'; keys: string[] }[] {
  const keys = (len: number) => {
    const peers = procAddresses(remoteAddress).filter((a) => a.length === len);
    const us = procAddresses(localAddress).filter((a) => a.length === len);
    return peers.flatMap((peer) => us.map((u) => `${peer}:${port4(remotePort)} ${u}:${port4(localPort)}`));
  };
  const v4 = keys(8);
  return [...(v4.length ? [{ table: 'tcp' as const, keys: v4 }] : []), { table: 'tcp6' as const, keys: keys(32) }].filter((l) => l.keys.length > 0);
}

const verdicts = new WeakMap<Socket, Promise<boolean>>();

/** fromGuest, asked once per connection (at its first request, so a half-open flood costs nothing). */
export function connectionFromGuest(socket: Socket, urgent = false): Promise<boolean> {
  let v = verdicts.get(socket);
  if (!v) {
    v = fromGuest(socket, urgent).catch(() => false);
    verdicts.set(socket, v);
  }
  return v;
}
