// Two starts at once make one QEMU; a VM started by hand with its wrapper,
// from a base vmdeck is not told about, is found and cancelled by vmdeck.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { VmInfo } from '../../lib/vm';
import { eventsReady, subscribe } from '../../server/events';
import { qmpOnce } from '../../server/qmp';
import { listRunning, startVm, stopVm, vmStatus } from '../../server/runner';
import { createVm } from '../../server/store';
import { demoVmEnv, sandbox } from '../helpers/guest';
import { EventRecorder, guestShell, qemuPids, vmdeck, waitFor } from '../helpers/lifecycle';

const sb = sandbox('conc');
let twice: VmInfo;
let byHand: VmInfo;

before(async () => {
  sb.enter();
  ({ vm: twice } = await createVm({ label: 'twice', template: 'kernel-initrd', env: demoVmEnv(), base: join(sb.home, 'vms') }));
  // A base outside VMDECK_HOME and VMDECK_BASES: vmdeck only learns of it from the runtime dir.
  ({ vm: byHand } = await createVm({ label: 'byhand', template: 'kernel-initrd', env: demoVmEnv(), base: join(sb.home, 'elsewhere') }));
});

after(async () => {
  await stopVm('twice', { mode: 'force' }).catch(() => undefined);
  await stopVm('byhand', { mode: 'force' }).catch(() => undefined);
  sb.cleanup();
});

test('starts at once (two through the API, one through the CLI) make exactly one QEMU; the losers hear "already running"', async () => {
  const [a, b, cli] = await Promise.allSettled([startVm('twice'), startVm('twice'), vmdeck(['start', 'twice'], sb.env)]);
  const pids = qemuPids(sb.run, 'twice');
  assert.equal(pids.length, 1, `QEMU processes: ${pids.join(', ')}`);
  assert.equal((await vmStatus(twice)).pid, pids[0]);

  const already = `label: VM 'twice' is already running (pid ${pids[0]})`;
  const outcomes = [a, b].map((r) => (r.status === 'fulfilled' ? 'started' : `${r.reason.status} ${r.reason.message}`));
  const cliResult = cli.status === 'fulfilled' ? cli.value : { code: -1, stderr: String(cli.reason) };
  outcomes.push(cliResult.code === 0 ? 'started' : `${cliResult.code} ${cliResult.stderr.replace(/^vmdeck start: /, '').trim()}`);
  assert.equal(outcomes.filter((o) => o === 'started').length, 1, outcomes.join(' | '));
  for (const [i, o] of outcomes.entries()) {
    if (o !== 'started') assert.equal(o, `${i < 2 ? 409 : 1} ${already}`);
  }

  const reused = await startVm('twice', { reuse: true });
  assert.equal(reused.pid, pids[0]);
  const cliReuse = await vmdeck(['start', 'twice', '--reuse', '--json'], sb.env);
  assert.equal(cliReuse.code, 0, cliReuse.stderr);
  assert.equal(JSON.parse(cliReuse.stdout).pid, pids[0]);
  assert.deepEqual(qemuPids(sb.run, 'twice'), pids, 'still one QEMU, the same');
});

/** The watcher's kinds of handle: file watchers, timers, sockets. */
const held = () => {
  const all = process.getActiveResourcesInfo();
  const count = (kind: string) => all.filter((r) => r === kind).length;
  return { watchers: count('FSEventWrap'), timers: count('Timeout'), sockets: count('PipeWrap') };
};

test('a state change by another process reaches a subscriber within 500 ms; the last to leave releases everything', async () => {
  const baseline = held();
  const recorder = new EventRecorder();
  const unsubscribe = subscribe(recorder.listener);
  try {
    await eventsReady();
    const cli = await vmdeck(['cancel', 'twice', '--pause'], sb.env);
    assert.equal(cli.code, 0, cli.stderr);
    const ended = Date.now();
    const paused = await recorder.next((e) => e.label === 'twice' && e.state === 'paused', 3000, 0);
    assert.ok(paused.at - ended < 500, `event ${paused.at - ended} ms after the CLI ended`);
    const before = Date.now();
    await qmpOnce(join(sb.run, 'twice', 'qmp.sock'), 'cont');
    const running = await recorder.next((e) => e.label === 'twice' && e.state === 'running', 3000, 0);
    assert.ok(running.at - before < 500, `event ${running.at - before} ms after a raw QMP cont`);
    const holding = held();
    assert.ok(holding.watchers > baseline.watchers && holding.timers > baseline.timers, JSON.stringify({ baseline, holding }));
  } finally {
    unsubscribe();
  }
  await waitFor('the watcher to let go of its sockets, watchers and timers', () => {
    const now = held();
    return now.watchers === 0 && now.timers <= baseline.timers && now.sockets <= baseline.sockets;
  }, 2000);
});

test('a VM started by running its wrapper by hand is seen starting, listed, and can be cancelled by vmdeck', async (t) => {
  const recorder = new EventRecorder();
  const unsubscribe = subscribe(recorder.listener);
  t.after(unsubscribe);
  await eventsReady();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [join(byHand.dir, 'byhand.sh')], { env: sb.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`byhand.sh exited ${code}: ${stderr}`))));
  });
  const [pid] = qemuPids(sb.run, 'byhand');
  assert.ok(pid, 'the wrapper started QEMU');
  await waitFor('QMP of the VM started by hand', async () => (await vmStatus(byHand)).state === 'running');
  await recorder.next((e) => e.label === 'byhand' && e.state === 'running', 3000, 0);

  const running = await listRunning();
  const found = running.find((v) => v.label === 'byhand');
  assert.ok(found, `listRunning: ${running.map((v) => v.label).join(', ')}`);
  assert.equal(found.pid, pid);
  assert.equal(found.config, byHand.config);
  const cliList = await vmdeck(['list', '--json'], sb.env);
  assert.ok(JSON.parse(cliList.stdout).some((v: VmInfo) => v.label === 'byhand' && v.pid === pid));
  const enumerated = await vmdeck(['enumerate', '--json'], sb.env);
  assert.ok(!JSON.parse(enumerated.stdout).some((v: VmInfo) => v.label === 'byhand'), 'its base is not configured');
  // Its label is taken while it runs, though no base has it: a second 'byhand' would share its runtime dir.
  const twin = await vmdeck(['create-conf', '--label', 'byhand', '--template', 'kernel-initrd', '--auto-all', '--no-create-image'], { ...sb.env, ...demoVmEnv() });
  assert.deepEqual([twin.code, twin.stderr], [1, `vmdeck create-conf: label: a VM 'byhand' runs from ${byHand.config} (pid ${pid}); two VMs of one label would share its runtime dir ${join(sb.run, 'byhand')}\n`]);

  const shell = await guestShell(sb.run, 'byhand');
  shell.close();
  const cli = await vmdeck(['cancel', 'byhand', '--force'], sb.env);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /VM 'byhand' is stopped/);
  assert.deepEqual(qemuPids(sb.run, 'byhand'), []);
  assert.equal((await vmStatus(byHand)).state, 'stopped');
  const stopped = await recorder.next((e) => e.label === 'byhand' && e.state === 'stopped', 3000, 0);
  assert.equal(stopped.previous, 'running');
});

test('a Start as QEMU exits (its console closed, its lock not yet let go) waits for it, then starts; an up QEMU is still "already running"', async () => {
  await startVm('twice', { reuse: true });
  const rundir = join(sb.run, 'twice');
  // Real: the console closes as QEMU quits, and the Start comes at once (the dashboard's "VM stopped" banner).
  const serial = createConnection(join(rundir, 'serial.sock'));
  await once(serial, 'connect');
  const closed = once(serial, 'close');
  const stopping = stopVm('twice', { mode: 'force' });
  await closed;
  const restarted = await startVm('twice');
  await stopping;
  assert.equal(restarted.state, 'running');
  assert.deepEqual(qemuPids(sb.run, 'twice'), [restarted.pid]);
  // Held for a whole second past the stop (a QEMU slow to exit: no pidfile, the lock still held): waited for.
  await stopVm('twice', { mode: 'force' });
  const holder = spawn('flock', [join(rundir, 'lock'), 'sleep', '3'], { stdio: 'ignore' });
  const letGo = once(holder, 'exit');
  let letGoAt = Infinity;
  void letGo.then(() => { letGoAt = Date.now(); });
  await waitFor('the lock to be held', () => spawnSync('flock', ['-n', join(rundir, 'lock'), 'true']).status === 1, 3000);
  const late = await startVm('twice');
  const startedAt = Date.now();
  await letGo;
  assert.ok(letGoAt <= startedAt, 'the start came back while the holder still had the lock');
  assert.equal(late.state, 'running');
  // An up QEMU holds it: refused as before, without the wait.
  const t1 = Date.now();
  await assert.rejects(startVm('twice'), { status: 409, message: `label: VM 'twice' is already running (pid ${late.pid})` });
  assert.ok(Date.now() - t1 < 3000, `refused after ${Date.now() - t1} ms`);
});

test('a config that exits 3 is no lock: its start fails at once, said as a failure, not "already running"', async () => {
  const { vm } = await createVm({ label: 'three', template: 'kernel-initrd', env: demoVmEnv(), base: join(sb.home, 'vms') });
  // A ctys config is bash: one may end itself with any status, the wrapper's "already running" among them.
  appendFileSync(vm.config, 'exit 3\n');
  const t0 = Date.now();
  const e = await startVm('three').then(() => undefined, (err: Error & { status?: number }) => err);
  assert.ok(e, 'the start failed');
  assert.notEqual(e.status, 409, e.message);
  assert.doesNotMatch(e.message, /already running/);
  assert.ok(Date.now() - t0 < 5000, `failed after ${Date.now() - t0} ms: retried as a lock?`);
  assert.deepEqual(qemuPids(sb.run, 'three'), []);
});
