// Consoles opened and closed in a loop (`npm run soak`; a short form in npm
// test): rounds of 100 clients (serial, monitor and VNC) on a running VM,
// each waiting for its console's first frame, then all closed. The server's
// descriptors and its heap (after a full GC) after the last round are held
// to what they were after the first: a listener, a socket or a buffer kept
// per client shows. The server runs in this process, so that its heap can
// be collected and read; RSS is printed beside (it grows as the allocator
// settles, also without a leak).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { verdict } from '../bench/report';
import { startServer } from '../server/index';
import { demoVmSpec, sandbox } from '../test/helpers/guest';
import { api, bearer, TEST_TOKEN } from '../test/helpers/server';

export interface ConsoleLoopFigures {
  rounds: number;
  perRound: number;
  opened: number;
  failed: string[];
  fdsBefore: number;
  fdsAfter: number;
  heapBefore: number;
  heapAfter: number;
  rssBefore: number;
  rssAfter: number;
  ms: number;
}

const KINDS = [['serial', 40], ['monitor', 30], ['vnc', 30]] as const;

const fds = () => readdirSync('/proc/self/fd').length;
const MIB = 1048576;

/** The heap after full collections (the collector is exposed here, not by a flag of node's). */
function heapMiB(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed / MIB;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A console client, resolved at its first frame (the recent output, the monitor's banner, the RFB greeting). */
function client(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: bearer, perMessageDeflate: false });
    const t = setTimeout(() => { ws.terminate(); reject(new Error(`${url}: no first frame within 15 s`)); }, 15_000);
    ws.once('message', () => { clearTimeout(t); resolve(ws); });
    ws.once('close', (code, reason) => { clearTimeout(t); reject(new Error(`${url}: closed ${code} ${reason}`)); });
    ws.once('error', (e) => { clearTimeout(t); reject(e); });
  });
}

async function round(wsBase: string, label: string, failed: string[]): Promise<number> {
  const urls = KINDS.flatMap(([kind, n]) => Array.from({ length: n }, () => `${wsBase}/ws/vms/${label}/${kind}`));
  const results = await Promise.allSettled(urls.map(client));
  const open = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : (failed.push((r.reason as Error).message), [])));
  await Promise.all(open.map((ws) => new Promise<void>((resolve) => {
    ws.once('close', () => resolve());
    ws.close(1000);
  })));
  return open.length;
}

export async function consoleLoop(rounds: number): Promise<ConsoleLoopFigures> {
  const sb = sandbox('conloop');
  sb.enter();
  const token = process.env.VMDECK_TOKEN;
  process.env.VMDECK_TOKEN = TEST_TOKEN;
  // No pages: the consoles are what is measured.
  const noBuild = mkdtempSync(join(tmpdir(), 'vd-nobuild-'));
  const server = await startServer({ host: '127.0.0.1', port: 0, dir: noBuild });
  const base = `http://127.0.0.1:${server.port}`;
  const t0 = Date.now();
  try {
    const made = await api(base, 'POST', '/api/vms', { label: 'loop', ...demoVmSpec(128), start: true });
    if (made.status !== 201 || made.json.startError) throw new Error(`consoles: the VM did not start: ${made.text}`);
    const wsBase = `ws://127.0.0.1:${server.port}`;
    const failed: string[] = [];
    let opened = await round(wsBase, 'loop', failed);
    // Hubs linger 1.5 s after their last client: counted once they are gone.
    await sleep(2500);
    const fdsBefore = fds();
    const heapBefore = heapMiB();
    const rssBefore = process.memoryUsage().rss / MIB;
    for (let i = 1; i < rounds; i++) opened += await round(wsBase, 'loop', failed);
    await sleep(2500);
    const figures = {
      rounds, perRound: 100, opened, failed, fdsBefore, fdsAfter: fds(), heapBefore, heapAfter: heapMiB(),
      rssBefore, rssAfter: process.memoryUsage().rss / MIB, ms: Date.now() - t0,
    };
    await api(base, 'POST', '/api/vms/loop/stop', { mode: 'force' });
    return figures;
  } finally {
    await server.close();
    if (token === undefined) delete process.env.VMDECK_TOKEN;
    else process.env.VMDECK_TOKEN = token;
    rmSync(noBuild, { recursive: true, force: true });
    sb.cleanup();
  }
}

/** The heap after a full GC may differ by a little; a few kB kept per client (100 a round) shows past this. */
export const HEAP_GROWTH_MIB = 4;

export function printConsoleLoop(f: ConsoleLoopFigures): boolean {
  const fdOk = f.fdsAfter <= f.fdsBefore + 2;
  const heapOk = f.heapAfter - f.heapBefore < HEAP_GROWTH_MIB;
  const allOpened = f.failed.length === 0;
  console.log(`consoles: ${f.rounds} rounds of ${f.perRound} consoles (${KINDS.map(([k, n]) => `${n} ${k}`).join(', ')}) opened and closed in ${(f.ms / 1000).toFixed(1)} s: ${f.opened} opened, ${f.failed.length} failed ${verdict(allOpened)}`);
  for (const x of f.failed.slice(0, 5)) console.log(`consoles:   ${x}`);
  console.log(`consoles: descriptors (server and clients, one process) after round 1 ${f.fdsBefore}, after round ${f.rounds} ${f.fdsAfter} ${verdict(fdOk)}`);
  console.log(`consoles: server heap after a full GC: after round 1 ${f.heapBefore.toFixed(1)} MiB, after round ${f.rounds} ${f.heapAfter.toFixed(1)} MiB (growth < ${HEAP_GROWTH_MIB} MiB) ${verdict(heapOk)}; RSS ${f.rssBefore.toFixed(1)} → ${f.rssAfter.toFixed(1)} MiB`);
  return fdOk && heapOk && allOpened;
}

