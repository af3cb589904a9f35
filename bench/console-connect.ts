// What a console's connect costs with many VMs on disk (issue 16: "every
// console connect resolves its VM with a full ENUMERATE"): `vmdeck serve`
// with BENCH_CONNECT_VMS (1,000) VMs in its base, one of them "running" (its
// runtime dir as the wrapper leaves it: the config recorded, serial.sock an
// echoing stand-in for QEMU's), one viewer holding its serial hub open.
// Timed, in turns: a WebSocket to that VM's serial console until its first
// frame, against its floor, a WebSocket the server refuses for a bad label
// before looking anything up (4404): the same handshake and token check, no
// VM to find. Prints medians and the ratio; asserts nothing.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startChild, within } from './children';
import { fmt, median, quartiles } from './report';
import { benchWorld, writeVms } from './world';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'bench-connect-token';
const VMS = Number(process.env.BENCH_CONNECT_VMS ?? 1000);
const CONNECTS = Number(process.env.BENCH_CONNECTS ?? 40);

const children: ChildProcess[] = [];
const { home, run } = benchWorld('vd-bench-connect-', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
const env = { ...process.env, VMDECK_TOKEN: TOKEN };

/** Milliseconds from the WebSocket's creation to its first frame, or to its close when it is refused. */
function connectMs(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const ws = new WebSocket(url, { perMessageDeflate: false, headers: { Authorization: `Bearer ${TOKEN}` } });
    const done = () => {
      resolve(Number(process.hrtime.bigint() - t0) / 1e6);
      ws.terminate();
    };
    ws.once('message', done);
    ws.once('close', done);
    ws.once('error', reject);
  });
}

async function main(): Promise<void> {
  const base = join(home, 'vms');
  await writeVms(base, 0, VMS);
  const label = `vm${String(VMS - 1).padStart(5, '0')}`;
  const dir = join(run, label);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'config'), `${join(base, label, `${label}.ctys`)}\n`);
  await startChild(children, process.execPath, ['--import', 'tsx', join(REPO, 'bench/stream-server.ts'), 'echo', join(dir, 'serial.sock')], /ready/, { ...process.env });
  // BENCH_SERVER_PROF=DIR: the server's --cpu-prof profile, written into DIR as it exits.
  const prof = process.env.BENCH_SERVER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROF}`] : [];
  const { proc: server, match } = await startChild(children, process.execPath, [...prof, join(REPO, 'bin/vmdeck.js'), 'serve', '--host', '127.0.0.1', '--port', '0'],
    /dashboard on http:\/\/(127\.0\.0\.1:\d+)\//, env, 60_000);
  const ws = `ws://${match[1]}`;
  const url = `${ws}/ws/vms/${label}/serial`;
  const floorUrl = `${ws}/ws/vms/no%2Fsuch/serial`;
  // The holder keeps the hub open: each timed connect joins it, as a second tab does.
  const holder = new WebSocket(url, { perMessageDeflate: false, headers: { Authorization: `Bearer ${TOKEN}` } });
  await within(new Promise((resolve, reject) => { holder.once('message', resolve); holder.once('error', reject); }), 60_000, 'the first serial connect');
  const ours: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < CONNECTS; i++) {
    floor.push(await connectMs(floorUrl));
    ours.push(await connectMs(url));
  }
  holder.terminate();
  // Ended, not killed: a profiled server writes its profile as it exits.
  server.kill('SIGTERM');
  await within(new Promise((resolve) => server.once('exit', resolve)), 10_000, 'the server\'s exit');
  const ratios = ours.map((ms, i) => ms / floor[i]);
  const [q1, q3] = quartiles(ratios);
  console.log(`Console connect, ${VMS} VMs on disk, ${CONNECTS} connects each, in turns (medians):`);
  console.log(`  serial console of a running VM, to its first frame   ${fmt(median(ours), 2).padStart(7)} ms`);
  console.log(`  refused for a bad label, no lookup (the floor)       ${fmt(median(floor), 2).padStart(7)} ms`);
  console.log(`  connect / floor per turn: median ${fmt(median(ratios), 2)}×, middle half ${fmt(q1, 2)}–${fmt(q3, 2)}×`);
}

main().then(() => process.exit(0), (e: Error) => {
  console.error(e.message);
  process.exit(1);
});
