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

/** The four 32-bit words of a /proc/net/tcp6 address are each in host (little-endian) byte order. */
function procAddress(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = hex.slice(w, w + 8);
    for (let b = 6; b >= 0; b -= 2) bytes.push(parseInt(word.slice(b, b + 2), 16));
  }
  if (bytes.length === 4) return bytes.join('.');
  // An IPv4 address mapped into IPv6 (::ffff:a.b.c.d) is the IPv4 peer.
  if (bytes.slice(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(':');
}

/** Node's spelling of an address in procAddress's: IPv4 dotted, IPv6 as 8 groups without zero compression. */
export function normalAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (!address.includes(':')) return address;
  const [head, tail] = address.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16).toString(16)).join(':');
}

/** The inode of the local socket whose address is `from` and whose peer is `to`, if one is on this host. */
export async function peerSocketInode(from: { address: string; port: number }, to: { address: string; port: number }): Promise<number | null> {
  const want = { a: normalAddress(from.address), p: from.port, ra: normalAddress(to.address), rp: to.port };
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(file, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !f[1].includes(':')) continue;
      const [la, lp] = f[1].split(':');
      if (parseInt(lp, 16) !== want.p) continue;
      const [ra, rp] = f[2].split(':');
      if (parseInt(rp, 16) !== want.rp) continue;
      if (procAddress(la) !== want.a || procAddress(ra) !== want.ra) continue;
      const inode = Number(f[9]);
      if (inode > 0) return inode;
    }
  }
  return null;
}

/** Pids of the emulators, listed at most every 200 ms (a guest needs far longer to boot and connect). */
let emulators: { at: number; pids: Promise<number[]> } | null = null;

/** Whether a QEMU command line has a user-mode (slirp) network: only those reach the host's loopback. */
const USER_NET = /(^|\0)-(netdev|nic|net)\0user(,|\0|$)/;

async function listEmulators(): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    // By its program, not its comm: the wrapper names QEMU's process vmdeck-LABEL (-name process=).
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'latin1').catch(() => '');
    const argv0 = cmdline.slice(0, cmdline.indexOf('\0') >>> 0);
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

/** The emulator whose open files include socket INODE, if one does. */
async function emulatorHolding(inode: number, pids: number[]): Promise<number | null> {
  const link = `socket:[${inode}]`;
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === link) return pid;
    }
  }
  return null;
}

/**
 * Whether this connection was made by an emulator for a guest (then the
 * dashboard answers nothing). Costs nothing while no emulator with a user
 * network runs; else a read of /proc/net/tcp and of those emulators' fds.
 */
export async function fromGuest(socket: Socket): Promise<boolean> {
  const pids = await emulatorPids();
  if (pids.length === 0) return false;
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (!remoteAddress || !remotePort || !localAddress || !localPort) return false;
  const inode = await peerSocketInode({ address: remoteAddress, port: remotePort }, { address: localAddress, port: localPort });
  if (inode === null) return false;
  return (await emulatorHolding(inode, pids)) !== null;
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
