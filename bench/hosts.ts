// Other hosts over ssh (issue 14), npm run bench: three real sshd hosts
// (test/helpers/sshd.ts, each in its own network namespace) and this one.
//   1. the VM list over 1 local + 3 remote hosts as the dashboard asks it
//      (GET /api/vms and GET /api/hosts/H/vms at once), against the local
//      list alone; and `vmdeck list --host all` against `vmdeck list`;
//   2. a serial round trip through /ws/hosts/H/… (central server, ssh, the
//      host's socket server) against the same round trip on a local VM of the
//      central server, on identical echo stand-ins for QEMU's serial socket
//      (bench/stream-server.ts).
// Prints figures and PASS/MISS; asserts nothing; bounded in time.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { REMOTE_VMDECK, sshLab, type SshHost } from '../test/helpers/sshd';
import { benchWorld } from './world';
import { startChild, within } from './children';
import { fmt, median, percentile, verdict } from './report';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'bench-hosts-token';
const LIST_ROUNDS = 30;
const CLI_ROUNDS = 5;
const ROUND_TRIPS = 300;
const DEADLINE = Date.now() + 170_000;
/** Targets: the list over four hosts within this much, each serial round trip adds at most this much through ssh. */
const LIST_TARGET_MS = 1000;
const ADDED_RTT_TARGET_MS = 10;

const children: ChildProcess[] = [];
const lab = sshLab();
const world = benchWorld('vd-bench-hosts-', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
const env = { ...process.env, VMDECK_HOME: world.home, VMDECK_RUN: world.run, VMDECK_BASES: '', VMDECK_TOKEN: TOKEN, VMDECK_SSH_CONFIG: lab.config };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child whose output matches `ready`; resolves with the match. */
const child = async (argv: string[], ready: RegExp, childEnv: NodeJS.ProcessEnv) => (await startChild(children, argv[0], argv.slice(1), ready, childEnv, 60_000)).match;

/** A VM (config and runtime dir) whose serial socket is an echo stand-in, under home/run. */
async function echoVm(label: string, home: string, run: string): Promise<void> {
  const { createVm } = await import('../server/store');
  // Made as that host's vmdeck would: its home is the one whose base this is.
  Object.assign(process.env, { VMDECK_HOME: home, VMDECK_RUN: run });
  await createVm({ label, template: 'kernel-initrd', base: join(home, 'vms'), values: { kernel: '/nonexistent/vmlinuz', accelerator: 'QEMU' }, createImage: false });
  const dir = join(run, label);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await child([process.execPath, '--import', 'tsx', join(REPO, 'bench/stream-server.ts'), 'echo', join(dir, 'serial.sock'), '0'], /ready/, process.env);
}

async function timeIt(f: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function vmdeck(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(REPO, 'bin/vmdeck.js'), ...args], { env, stdio: 'ignore' });
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`vmdeck ${args.join(' ')}: exit ${code}`))));
  });
}

async function roundTrips(url: string): Promise<{ p50: number; p99: number }> {
  const ws = new WebSocket(url, { perMessageDeflate: false, headers: { Authorization: `Bearer ${TOKEN}` } });
  await within(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 30_000, `opening ${url}`);
  let waiting: (() => void) | null = null;
  let first = true;
  ws.on('message', () => {
    // The hub's first frame is its recent output, not an answer.
    if (first) { first = false; return; }
    waiting?.();
  });
  await sleep(300);
  first = false;
  const times: number[] = [];
  for (let i = 0; i < ROUND_TRIPS + 20; i++) {
    const t = await timeIt(() => within(new Promise<void>((resolve) => {
      waiting = resolve;
      ws.send(Buffer.from([0x61 + (i % 26)]));
    }), 5000, 'a serial round trip'));
    if (i >= 20) times.push(t);
  }
  ws.terminate();
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function main(): Promise<void> {
  const hosts: SshHost[] = [];
  for (const name of ['alpha', 'beta', 'gamma']) hosts.push(await lab.addHost(name));
  for (const h of hosts) await echoVm('becho', h.home, h.run);
  Object.assign(process.env, { VMDECK_HOME: world.home, VMDECK_RUN: world.run, VMDECK_BASES: '' });
  await echoVm('lecho', world.home, world.run);
  const m = await child([process.execPath, join(REPO, 'bin/vmdeck.js'), 'serve', '--host', '127.0.0.1', '--port', '0'], /dashboard on http:\/\/127\.0\.0\.1:(\d+)\//, env);
  const base = `http://127.0.0.1:${m[1]}`;
  const get = async (path: string) => {
    const r = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    if (!r.ok) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  for (const h of hosts) {
    const r = await fetch(`${base}/api/hosts`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: h.alias, dest: h.alias, vmdeck: REMOTE_VMDECK }) });
    if (r.status !== 201) throw new Error(`adding ${h.alias}: ${r.status} ${await r.text()}`);
  }
  // The first request of each host starts its socket server and the forward; measured apart.
  const firstTouch = await timeIt(() => Promise.all(hosts.map((h) => get(`/api/hosts/${h.alias}/vms`))));

  const local: number[] = [];
  const all: number[] = [];
  for (let i = 0; i < LIST_ROUNDS && Date.now() < DEADLINE - 90_000; i++) {
    local.push(await timeIt(() => get('/api/vms')));
    all.push(await timeIt(() => Promise.all([get('/api/vms'), ...hosts.map((h) => get(`/api/hosts/${h.alias}/vms`))])));
  }
  const cliLocal: number[] = [];
  const cliAll: number[] = [];
  for (let i = 0; i < CLI_ROUNDS && Date.now() < DEADLINE - 60_000; i++) {
    cliLocal.push(await timeIt(() => vmdeck(['list', '--json'])));
    cliAll.push(await timeIt(() => vmdeck(['list', '--host', 'all', '--json'])));
  }
  const wsBase = `ws://127.0.0.1:${m[1]}/ws`;
  const here = await roundTrips(`${wsBase}/vms/lecho/serial`);
  const far = await roundTrips(`${wsBase}/hosts/alpha/vms/becho/serial`);

  console.log(`\nOther hosts over ssh (1 local + ${hosts.length} remote hosts, each a real sshd in its own network namespace)`);
  console.log(`  first request per host (socket server started, socket forwarded)   ${fmt(firstTouch, 0)} ms for all ${hosts.length}`);
  console.log(`  VM list, dashboard: local only           median ${fmt(median(local))} ms, p90 ${fmt(percentile(local, 90))} ms (${local.length} rounds)`);
  console.log(`  VM list, dashboard: local + ${hosts.length} hosts       median ${fmt(median(all))} ms, p90 ${fmt(percentile(all, 90))} ms   ${verdict(median(all) <= LIST_TARGET_MS)} (target ≤ ${LIST_TARGET_MS} ms)`);
  console.log(`  vmdeck list                              median ${fmt(median(cliLocal), 0)} ms (${cliLocal.length} runs)`);
  console.log(`  vmdeck list --host all                   median ${fmt(median(cliAll), 0)} ms`);
  console.log(`  serial round trip, local VM              p50 ${fmt(here.p50, 2)} ms, p99 ${fmt(here.p99, 2)} ms (${ROUND_TRIPS} trips)`);
  console.log(`  serial round trip, through ssh           p50 ${fmt(far.p50, 2)} ms, p99 ${fmt(far.p99, 2)} ms`);
  const added = far.p50 - here.p50;
  console.log(`  added by ssh and the host's server       p50 +${fmt(added, 2)} ms   ${verdict(added <= ADDED_RTT_TARGET_MS)} (target ≤ ${ADDED_RTT_TARGET_MS} ms)`);
}

main()
  .catch((e: Error) => {
    console.error(e.message);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await lab.cleanup();
  });
