// The flood part of `npm run soak` (soak/index.ts): the right token through a connection
// flood. 30,000 half-open requests (slowloris, from four addresses of
// 127/8, in two processes: one may hold only its descriptor limit of
// sockets; dropped ones reopened at REOPEN a second) and 1,000 wrong guesses
// a second, while a request with the right token on a fresh connection is
// timed every 100 ms. Figures with PASS/MISS; `npm test` runs a short form
// (test/integration/server-flood.test.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONNECTION_LIMITS } from '../server/http/connections';
import { percentile, verdict } from '../bench/report';
import { REPO, sandbox } from '../test/helpers/guest';
import { spawnServer, TEST_TOKEN } from '../test/helpers/server';

export interface FloodOptions {
  halfOpen: number;
  guessesPerS: number;
  reopenPerS: number;
  settleMs: number;
  measureMs: number;
}

export interface FloodFigures {
  /** How long the server took to work through the first burst (the accept queue drained). */
  burstMs: number;
  /** The CPU the server used while measured (cores), and the machine's load then: on a shared machine the figures depend on both. */
  serverCores: number;
  load: string;
  opened: number;
  maxOpen: number;
  dropped: number;
  guesses: number;
  times: number[];
  unanswered: string[];
  maxFds: number;
  p50: number;
  p90: number;
  max: number;
}

const SOURCES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];

/** A GET with the right token on a new connection: ms to the answer's status. */
async function rightToken(port: number): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/api/vms`, {
    headers: { Authorization: `Bearer ${TEST_TOKEN}`, Connection: 'close' }, signal: AbortSignal.timeout(5000),
  }).catch((e: Error) => { throw new Error(e.name === 'TimeoutError' ? 'no answer within 5 s' : e.message); });
  const ms = performance.now() - t0;
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  return ms;
}

/** Connections waiting in the kernel's accept queue of the listener on 127.0.0.1:port (a listener's rx_queue in /proc/net/tcp). */
export function acceptQueue(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'latin1').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[3] === '0A') return parseInt(f[4].split(':')[1], 16);
  }
  return 0;
}

/** User and system CPU of a process so far, in seconds (/proc/PID/stat, clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function flood(o: FloodOptions): Promise<FloodFigures> {
  const sb = sandbox('flood');
  const server = await spawnServer(sb);
  let flooders: ChildProcess[] = [];
  try {
    // A server that has finished starting (loading Next blocks its event loop for seconds on a busy machine).
    const warm = Date.now() + 60_000;
    while ((await fetch(`${server.base}/login`).then((r) => r.status, () => 0)) !== 200 || (await rightToken(server.port).catch(() => 1e9)) > 50) {
      if (Date.now() > warm) throw new Error('flood: the server did not settle within 60 s');
      await sleep(200);
    }
    flooders = [0, 1].map((n) => spawn(process.execPath, [join(REPO, 'test/helpers/flooder.mjs'), String(server.port), String(o.halfOpen / 2),
      String(o.guessesPerS / 2), String(o.reopenPerS / 2), ...SOURCES.slice(n * 2, n * 2 + 2)], { stdio: ['ignore', 'pipe', 'inherit'] }));
    const outputs = flooders.map((f) => {
      let out = '';
      f.stdout!.on('data', (d) => { out += d; });
      return () => out;
    });
    const rampEnd = Date.now() + 60_000;
    while (!outputs.every((out) => out().includes('ready'))) {
      if (Date.now() > rampEnd) throw new Error('flood: not opened within 60 s');
      await sleep(200);
    }
    // The first burst fills the kernel's accept queue (and leaves thousands of
    // connects that the kernel refused retrying); the server works through it,
    // dropping the oldest as it goes. Measured from when the queue has drained.
    const burstStart = Date.now();
    await sleep(o.settleMs);
    const drainEnd = Date.now() + 30_000;
    let quiet = 0;
    while (quiet < 5 && Date.now() < drainEnd) {
      quiet = acceptQueue(server.port) < 64 ? quiet + 1 : 0;
      await sleep(200);
    }
    const burstMs = quiet >= 5 ? Date.now() - burstStart : Infinity;
    const cpu0 = cpuSeconds(server.proc.pid!);
    const t0 = Date.now();
    const times: number[] = [];
    const fds: number[] = [];
    const unanswered: string[] = [];
    const end = Date.now() + o.measureMs;
    while (Date.now() < end) {
      await rightToken(server.port).then((ms) => times.push(ms), (e: Error) => unanswered.push(e.message));
      fds.push(readdirSync(`/proc/${server.proc.pid}/fd`).length);
      await sleep(100);
    }
    const serverCores = (cpuSeconds(server.proc.pid!) - cpu0) / ((Date.now() - t0) / 1000);
    const figures = await Promise.all(flooders.map((f, i) => new Promise<Record<string, number>>((resolve) => {
      f.once('exit', () => resolve(JSON.parse(outputs[i]().split('\n').find((l) => l.startsWith('{')) ?? '{}')));
      f.kill('SIGTERM');
    })));
    const sum = (k: string) => figures.reduce((a, f) => a + (f[k] ?? 0), 0);
    return {
      burstMs, serverCores, load: readFileSync('/proc/loadavg', 'utf8').split(' ')[0], opened: sum('opened'), maxOpen: sum('maxOpen'), dropped: sum('dropped'), guesses: sum('guesses'), times, unanswered,
      maxFds: Math.max(...fds), p50: percentile(times, 50), p90: percentile(times, 90), max: Math.max(...times),
    };
  } finally {
    for (const f of flooders) f.kill('SIGKILL');
    await server.kill();
    sb.cleanup();
  }
}

export function printFlood(f: FloodFigures, o: FloodOptions): boolean {
  const fast = f.unanswered.length === 0 && f.times.length > 0 && f.p90 < 100;
  const capped = f.maxFds < CONNECTION_LIMITS.total + 256;
  console.log(`flood: the first burst was worked through (the accept queue drained) ${Number.isFinite(f.burstMs) ? `in ${(f.burstMs / 1000).toFixed(1)} s` : 'not within 30 s'}; measured while the server used ${f.serverCores.toFixed(2)} cores, load average ${f.load}`);
  console.log(`flood: ${f.opened} half-open opened (${f.maxOpen} open at most, ${f.dropped} dropped by the server), ${f.guesses} wrong guesses (${o.guessesPerS}/s)`);
  console.log(`flood: right token on a fresh connection: ${f.times.length} answered, ${f.unanswered.length} not; p50 ${f.p50?.toFixed(1)} ms, p90 ${f.p90?.toFixed(1)} ms, max ${f.max.toFixed(1)} ms (target p90 < 100 ms) ${verdict(fast)}`);
  console.log(`flood: server descriptors at most ${f.maxFds} (caps ${CONNECTION_LIMITS.total} in all, ${CONNECTION_LIMITS.perAddress} per address) ${verdict(capped)}`);
  return fast && capped;
}

