// Console bridge benchmarks (npm run bench). The bridge is `vmdeck serve` in
// its own process, fed by stand-ins for QEMU's sockets (bench/stream-server.ts),
// and read by one ws client here:
//   1. VNC throughput and bridge CPU seconds per GiB, against Debian's
//      websockify on the same stream and against reading the UNIX socket
//      directly (no bridge: the ceiling);
//   2. serial round trip p50/p99 with 1 and 100 consoles open, against the
//      same round trip on the UNIX socket directly;
//   3. server memory per idle console.
// Prints numbers, ratios and PASS/MISS per target; asserts nothing. Bounded
// in time: every step has a deadline, the whole run stays under 3 minutes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'bench-token';
const STREAM_BYTES = Number(process.env.BENCH_STREAM_MIB ?? 512) * 1024 * 1024;
const ROUND_TRIPS = 400;
const IDLE_CONSOLES = 300;
const RUN_DEADLINE = Date.now() + 170_000;

const root = mkdtempSync(join(tmpdir(), 'vd-bench-'));
const home = join(root, 'home');
const run = join(root, 'run');
const env = { ...process.env, VMDECK_HOME: home, VMDECK_RUN: run, VMDECK_BASES: '', VMDECK_TOKEN: TOKEN };
Object.assign(process.env, { VMDECK_HOME: home, VMDECK_RUN: run, VMDECK_BASES: '' });
const children: ChildProcess[] = [];

function cleanup(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function remaining(what: string): number {
  const ms = RUN_DEADLINE - Date.now();
  if (ms <= 0) throw new Error(`bench: out of time before ${what}`);
  return ms;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`bench: ${what} took more than ${Math.round(ms / 1000)} s`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a child and waits for a line on stdout matching re. */
function startChild(cmd: string, args: string[], ready: RegExp, childEnv: NodeJS.ProcessEnv = env): Promise<{ proc: ChildProcess; match: RegExpExecArray }> {
  const proc = spawn(cmd, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  return within(new Promise((resolve, reject) => {
    const look = (d: Buffer) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve({ proc, match: m });
    };
    proc.stdout!.on('data', look);
    proc.stderr!.on('data', look);
    proc.once('exit', (code) => reject(new Error(`${cmd} exited with ${code}: ${out}`)));
  }), 20_000, `starting ${cmd}`);
}

const CLK_TCK = 100;
/** CPU seconds of a process and its reaped children (/proc/PID/stat utime+stime+cutime+cstime). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLK_TCK;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** A fake VM: its config (so the server knows the label) and a private runtime dir. */
async function fakeVm(label: string): Promise<string> {
  const { createVm } = await import('../server/store');
  await createVm({ label, template: 'kernel-initrd', base: join(home, 'vms'), values: { kernel: '/nonexistent/vmlinuz', accelerator: 'QEMU' }, createImage: false });
  const dir = join(run, label);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function streamServer(mode: 'stream' | 'echo' | 'banner', path: string): Promise<unknown> {
  return startChild(process.execPath, ['--import', 'tsx', join(REPO, 'bench/stream-server.ts'), mode, path, String(STREAM_BYTES)], /ready/, { ...process.env });
}

/** COUNT console clients in a child process, open and reading. */
async function clients(url: string, count: number): Promise<ChildProcess> {
  const { proc } = await startChild(process.execPath, ['--import', 'tsx', join(REPO, 'bench/clients.ts'), url, String(count), TOKEN], /ready/, { ...process.env });
  return proc;
}

function openWs(url: string, protocols: string[] = []): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false, headers: { Authorization: `Bearer ${TOKEN}` } });
  return within(new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  }), 10_000, `opening ${url}`);
}

// --- 1. VNC throughput ------------------------------------------------------

interface Throughput {
  name: string;
  mibPerS: number;
  cpuPerGiB: number | null;
}

/** Reads `total` bytes through a WebSocket at url; bytes per second. */
async function readWs(url: string, total: number, protocols: string[]): Promise<number> {
  const ws = await openWs(url, protocols);
  const t0 = process.hrtime.bigint();
  let n = 0;
  await within(new Promise<void>((resolve, reject) => {
    ws.on('message', (d: Buffer) => {
      n += d.length;
      if (n >= total) resolve();
    });
    ws.once('close', () => (n >= total ? resolve() : reject(new Error(`${url}: closed after ${n} of ${total} bytes`))));
  }), remaining('a stream'), `reading ${total} bytes from ${url}`);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  ws.terminate();
  return n / seconds;
}

async function readUnix(path: string, total: number): Promise<number> {
  const sock = connect(path);
  await new Promise((r) => sock.once('connect', r));
  const t0 = process.hrtime.bigint();
  let n = 0;
  await within(new Promise<void>((resolve) => {
    sock.on('data', (d: Buffer) => {
      n += d.length;
      if (n >= total) resolve();
    });
  }), remaining('a stream'), `reading ${path}`);
  const rate = n / (Number(process.hrtime.bigint() - t0) / 1e9);
  sock.destroy();
  return rate;
}

const ROUNDS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Contender {
  name: string;
  /** The bridge's process, whose CPU time is counted; null for no bridge. */
  pid: number | null;
  read: (bytes: number) => Promise<number>;
}

/**
 * Each contender reads the same stream ROUNDS times, the contenders taking
 * turns (so that a busy moment of the machine hits all of them alike); the
 * median of the rounds is reported.
 */
async function measureAll(contenders: Contender[]): Promise<Throughput[]> {
  for (const c of contenders) await c.read(64 * 1024 * 1024); // warm-up: JIT, buffers
  const rates = contenders.map(() => [] as number[]);
  const cpus = contenders.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, c] of contenders.entries()) {
      const cpu0 = c.pid ? cpuSeconds(c.pid) : 0;
      rates[i].push(await c.read(STREAM_BYTES));
      await sleep(300); // let a forking server reap its child
      if (c.pid) cpus[i].push((cpuSeconds(c.pid) - cpu0) / (STREAM_BYTES / 2 ** 30));
    }
  }
  return contenders.map((c, i) => ({ name: c.name, mibPerS: median(rates[i]) / 1048576, cpuPerGiB: c.pid ? median(cpus[i]) : null }));
}

// --- 2. serial round trip ---------------------------------------------------

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function roundTrips(send: (b: Buffer) => void, onData: (cb: (d: Buffer) => void) => void): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  let waiting: (() => void) | null = null;
  onData(() => waiting?.());
  for (let i = 0; i < ROUND_TRIPS + 20; i++) {
    const t0 = process.hrtime.bigint();
    await within(new Promise<void>((resolve) => {
      waiting = resolve;
      send(Buffer.from([0x61 + (i % 26)]));
    }), 5000, 'a serial round trip');
    if (i >= 20) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

// --- the run ----------------------------------------------------------------

const fmt = (n: number, d = 1) => n.toFixed(d);
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

async function main(): Promise<void> {
  const t0 = Date.now();
  const vncDir = await fakeVm('bvnc');
  const echoDir = await fakeVm('becho');
  const idleDir = await fakeVm('bidle');
  await streamServer('stream', join(vncDir, 'vnc.sock'));
  await streamServer('echo', join(echoDir, 'serial.sock'));
  await streamServer('banner', join(idleDir, 'vnc.sock'));
  const { proc: server, match } = await startChild(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'serve', '--host', '127.0.0.1', '--port', '0'], /dashboard on http:\/\/127\.0\.0\.1:(\d+)\//);
  const wsBase = `ws://127.0.0.1:${Number(match[1])}/ws/vms`;
  // Let the pages load before measuring anything of the server.
  await sleep(2000);
  console.log(`vmdeck bridge benchmarks (${STREAM_BYTES / 1048576} MiB per stream, median of ${ROUNDS} rounds; ${ROUND_TRIPS} round trips)`);

  // Memory first, while the server's heap holds nothing of the other runs.
  // Serial consoles share one hub; each VNC client has its own QEMU connection.
  const memory: Record<string, number> = {};
  for (const [kind, label] of [['serial', 'becho'], ['vnc', 'bidle']] as const) {
    const first = await clients(`${wsBase}/${label}/${kind}`, 1);
    await sleep(1500);
    const before = rssBytes(server.pid!);
    const idle = await clients(`${wsBase}/${label}/${kind}`, IDLE_CONSOLES);
    await sleep(1500);
    memory[kind] = (rssBytes(server.pid!) - before) / IDLE_CONSOLES;
    first.kill('SIGKILL');
    idle.kill('SIGKILL');
    await sleep(2000); // the hub lingers, then lets go
  }
  console.log(`\nServer memory per idle console (${IDLE_CONSOLES} opened, RSS growth):`);
  for (const [kind, bytes] of Object.entries(memory)) console.log(`  ${kind.padEnd(30)} ${fmt(bytes / 1024)} KiB`);

  // Serial round trips: directly on the socket, then through the bridge.
  const echoSock = join(echoDir, 'serial.sock');
  const direct = connect(echoSock);
  await new Promise((r) => direct.once('connect', r));
  const directRtt = await roundTrips((b) => direct.write(b), (cb) => direct.on('data', cb));
  direct.destroy();
  const rtt: Record<number, { p50: number; p99: number }> = {};
  for (const consoles of [1, 100]) {
    const others = consoles > 1 ? await clients(`${wsBase}/becho/serial`, consoles - 1) : null;
    const ws = await openWs(`${wsBase}/becho/serial`);
    rtt[consoles] = await roundTrips((b) => ws.send(b), (cb) => ws.on('message', cb));
    ws.terminate();
    others?.kill('SIGKILL');
    await sleep(2000);
  }
  console.log('\nSerial round trip (1 byte, echoed):');
  console.log(`  ${'UNIX socket directly'.padEnd(30)} p50 ${fmt(directRtt.p50, 3)} ms   p99 ${fmt(directRtt.p99, 3)} ms`);
  for (const n of [1, 100]) {
    console.log(`  ${`bridge, ${n} console${n > 1 ? 's' : ''} open`.padEnd(30)} p50 ${fmt(rtt[n].p50, 3)} ms   p99 ${fmt(rtt[n].p99, 3)} ms   (overhead p50 ${fmt(rtt[n].p50 - directRtt.p50, 3)}, p99 ${fmt(rtt[n].p99 - directRtt.p99, 3)} ms)`);
  }

  const unixStream = join(vncDir, 'vnc.sock');
  const websockifyPort = await freePort();
  const { proc: websockify } = await startChild('websockify', ['--unix-target', unixStream, `127.0.0.1:${websockifyPort}`], /proxying|Listen/i, { ...process.env });
  const results = await measureAll([
    { name: 'vmdeck bridge', pid: server.pid!, read: (n) => readWs(`${wsBase}/bvnc/vnc`, n, ['binary']) },
    { name: 'websockify', pid: websockify.pid!, read: (n) => readWs(`ws://127.0.0.1:${websockifyPort}/`, n, ['binary']) },
    { name: 'raw UNIX socket (no bridge)', pid: null, read: (n) => readUnix(unixStream, n) },
  ]);
  websockify.kill('SIGTERM');
  console.log('\nVNC stream, one client:');
  for (const r of results) console.log(`  ${r.name.padEnd(30)} ${fmt(r.mibPerS, 0).padStart(6)} MiB/s   ${r.cpuPerGiB === null ? '' : `${fmt(r.cpuPerGiB, 2)} CPU s/GiB`}`);
  const [ours, theirs, raw] = results;
  const vsWebsockify = ours.mibPerS / theirs.mibPerS;
  const vsRaw = ours.mibPerS / raw.mibPerS;

  console.log('\nTargets (ratios from this run):');
  console.log(`  ${verdict(vsWebsockify >= 1.1)}  VNC throughput vs websockify ≥ 1.1×: ${fmt(vsWebsockify, 2)}×`);
  console.log(`  ${verdict(vsRaw >= 0.6)}  VNC throughput vs raw UNIX socket ≥ 60%: ${fmt(vsRaw * 100, 0)}%`);
  console.log(`  ${verdict(ours.cpuPerGiB! <= theirs.cpuPerGiB!)}  bridge CPU/GiB ≤ websockify's: ${fmt(ours.cpuPerGiB!, 2)} vs ${fmt(theirs.cpuPerGiB!, 2)} s`);
  console.log(`  ${verdict(rtt[100].p99 - directRtt.p99 < 5)}  serial round-trip overhead p99 < 5 ms at 100 consoles: ${fmt(rtt[100].p99 - directRtt.p99, 3)} ms (absolute ${fmt(rtt[100].p99, 3)} ms)`);
  const worstIdle = Math.max(...Object.values(memory));
  console.log(`  ${verdict(worstIdle < 256 * 1024)}  memory per idle console < 256 KiB: ${fmt(worstIdle / 1024)} KiB (worst of serial, vnc)`);
  console.log(`\n(${fmt((Date.now() - t0) / 1000)} s)`);
}

main().then(() => process.exit(0), (e: Error) => {
  console.error(e.message);
  process.exit(1);
});
