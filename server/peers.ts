// Who is on the other end of a connection. A guest on user networking
// reaches the host's 127.0.0.1 as 10.0.2.2: QEMU's slirp opens the TCP
// connection itself, so it arrives from 127.0.0.1 like the user's browser.
// What tells them apart is the process that owns the peer's socket: the
// kernel lists every local TCP socket with its inode (/proc/net/tcp, tcp6),
// and a process's open sockets are its /proc/PID/fd links `socket:[INODE]`.
// A peer socket held by a network emulator (QEMU, or a slirp helper that
// plays the same part for a switch) is a guest's, and gets nothing.
import { readdir, readFile, readlink } from 'node:fs/promises';
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

/** Who holds what, at one moment: every local TCP socket by its two ends, and the sockets the emulators hold. */
interface Snapshot {
  at: number;
  /** "LOCAL:PORT REMOTE:PORT" (the tables' hex) → inode. */
  sockets: Map<string, number>;
  emulatorInodes: Set<number>;
}

async function readSockets(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'latin1').catch(() => '');
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !f[1].includes(':')) continue;
      const inode = Number(f[9]);
      if (inode > 0) out.set(`${f[1]} ${f[2]}`, inode);
    }
  }
  return out;
}

async function socketInodes(pids: number[]): Promise<Set<number>> {
  const out = new Set<number>();
  for (const pid of pids) {
    for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
      const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''));
      if (m) out.add(Number(m[1]));
    }
  }
  return out;
}

/** At most one look every MIN_GAP_MS however many connections ask: under a flood they share one. */
const MIN_GAP_MS = 20;
let snapshot: Snapshot | null = null;
let reading: Promise<Snapshot> | null = null;

/** A snapshot taken at or after `since` (a connection's peer socket exists before its request arrives). */
async function snapshotSince(since: number, pids: number[]): Promise<Snapshot> {
  for (;;) {
    if (snapshot && snapshot.at >= since) return snapshot;
    if (!reading) {
      const wait = snapshot ? snapshot.at + MIN_GAP_MS - Date.now() : 0;
      reading = (async () => {
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const at = Date.now();
        const [sockets, emulatorInodes] = await Promise.all([readSockets(), socketInodes(pids)]);
        snapshot = { at, sockets, emulatorInodes };
        return snapshot;
      })().finally(() => { reading = null; });
    }
    await reading;
  }
}

/** Pids of the emulators with a user network, listed at most every 200 ms (a guest needs far longer to boot and connect). */
let emulators: { at: number; pids: Promise<number[]> } | null = null;

/** Whether a QEMU command line has a user-mode (slirp) network: only those reach the host's loopback. */
const USER_NET = /(^|\0)-(netdev|nic|net)\0user(,|\0|$)/;

async function listEmulators(): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    // By its program, not its comm: the wrapper names QEMU's process vmdeck-LABEL (-name process=).
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'latin1').catch(() => '');
    const end = cmdline.indexOf('\0');
    const argv0 = end < 0 ? cmdline : cmdline.slice(0, end);
    const program = argv0.slice(argv0.lastIndexOf('/') + 1);
    if (!EMULATOR.test(program)) continue;
    if (program.startsWith('qemu') && !USER_NET.test(cmdline)) continue;
    out.push(Number(name));
  }
  return out;
}

function emulatorPids(now = Date.now()): Promise<number[]> {
  if (!emulators || now - emulators.at > 200) emulators = { at: now, pids: listEmulators() };
  return emulators.pids;
}

/**
 * Whether this connection was made by an emulator for a guest (then the
 * dashboard answers nothing). Costs nothing while no emulator with a user
 * network runs; else one shared look at /proc/net/tcp and at those
 * emulators' sockets per 20 ms at most.
 */
export async function fromGuest(socket: Socket): Promise<boolean> {
  const since = Date.now();
  const pids = await emulatorPids();
  if (pids.length === 0) return false;
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (!remoteAddress || !remotePort || !localAddress || !localPort) return false;
  const snap = await snapshotSince(since, pids);
  // The peer's socket: its local end is our remote one.
  for (const peer of procAddresses(remoteAddress)) {
    for (const us of procAddresses(localAddress)) {
      const inode = snap.sockets.get(`${peer}:${port4(remotePort)} ${us}:${port4(localPort)}`);
      if (inode !== undefined) return snap.emulatorInodes.has(inode);
    }
  }
  return false;
}

const verdicts = new WeakMap<Socket, Promise<boolean>>();

/** fromGuest, asked once per connection (at its first request, so a half-open flood costs nothing). */
export function connectionFromGuest(socket: Socket): Promise<boolean> {
  let v = verdicts.get(socket);
  if (!v) {
    v = fromGuest(socket).catch(() => false);
    verdicts.set(socket, v);
  }
  return v;
}
