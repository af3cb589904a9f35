// Ends of a VM: a poweroff the guest ignores (then --force), a guest that
// powers itself off, and a QEMU killed with SIGKILL. Real QEMU (TCG).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { VmInfo } from '../../lib/vm';
import { eventsReady, subscribe } from '../../server/events';
import { startVm, stopVm, vmStatus, withStatus } from '../../server/runner';
import { createVm } from '../../server/store';
import { demoVmEnv, sandbox } from '../helpers/guest';
import { EventRecorder, guestShell, qemuPids, vmdeck, waitFor } from '../helpers/lifecycle';

const sb = sandbox('stop');
const LABEL = 'ends';
let vm: VmInfo;

before(async () => {
  sb.enter();
  ({ vm } = await createVm({ label: LABEL, template: 'kernel-initrd', env: demoVmEnv(), base: join(sb.home, 'vms') }));
});

after(async () => {
  await stopVm(LABEL, { mode: 'force' }).catch(() => undefined);
  sb.cleanup();
});

test('cancel --poweroff=3 --force: the guest ignores ACPI, so QEMU is quit after about 3 s', async () => {
  await startVm(LABEL);
  // Once the guest is up, so the ACPI button is what it ignores, not a boot it misses.
  const shell = await guestShell(sb.run, LABEL);
  shell.close();
  const started = Date.now();
  const cli = await vmdeck(['cancel', LABEL, '--poweroff=3', '--force'], sb.env);
  const elapsed = Date.now() - started;
  assert.equal(cli.code, 0, cli.stderr);
  assert.ok(elapsed >= 2500 && elapsed <= 10000, `QEMU ended after ${elapsed} ms`);
  assert.match(cli.stdout, new RegExp(`VM '${LABEL}' is stopped \\(the guest did not power off within 3 s; QEMU quit\\)`));
  assert.deepEqual(qemuPids(sb.run, LABEL), []);
  const status = await vmStatus(vm);
  assert.equal(status.state, 'stopped');
  assert.equal(status.reason, undefined, 'a quit VM is not a crashed one');
});

test('cancel --poweroff without --force reports a guest that stays up and exits 1', async () => {
  await startVm(LABEL);
  const shell = await guestShell(sb.run, LABEL);
  shell.close();
  const cli = await vmdeck(['cancel', LABEL, '--poweroff=1'], sb.env);
  assert.equal(cli.code, 1);
  assert.equal(cli.stderr, `vmdeck cancel: VM '${LABEL}' is still running: guest did not power off within 1 s (it may ignore the ACPI power button); vmdeck cancel ${LABEL} --force quits QEMU now, --poweroff=SECONDS --force after the wait\n`);
  assert.equal((await vmStatus(vm)).state, 'running');
});

test('a guest that runs poweroff -f is seen stopped within 1 s through the event subscription', async () => {
  const recorder = new EventRecorder();
  const unsubscribe = subscribe(recorder.listener);
  try {
    await eventsReady();
    const [pid] = qemuPids(sb.run, LABEL);
    assert.ok(pid, 'the VM of the previous test still runs');
    const shell = await guestShell(sb.run, LABEL);
    shell.write('poweroff -f\r');
    let goneAt = 0;
    await waitFor('QEMU to exit', () => {
      if (existsSync(`/proc/${pid}`)) return false;
      goneAt = Date.now();
      return true;
    }, 30000);
    const stopped = await recorder.next((e) => e.label === LABEL && e.state === 'stopped', 2000, 0);
    assert.ok(stopped.at - goneAt < 1000, `stopped event ${stopped.at - goneAt} ms after QEMU exited`);
    assert.equal(stopped.previous, 'running');
    assert.equal(stopped.reason, undefined, 'a guest poweroff is not a crash');
    shell.close();
  } finally {
    unsubscribe();
  }
});

test('kill -9 of QEMU: stopped with a reason, the stale sockets do not block the next start', async () => {
  const started = await startVm(LABEL);
  assert.ok(started.pid);
  process.kill(started.pid, 'SIGKILL');
  await waitFor('the killed QEMU to be gone', async () => (await vmStatus(vm)).state === 'stopped', 5000);
  const status = await vmStatus(vm);
  assert.match(status.reason ?? '', new RegExp(`^QEMU \\(pid ${started.pid}\\) is gone: killed or crashed; last log line: `));
  assert.ok(existsSync(join(sb.run, LABEL, 'qmp.sock')), 'the dead QEMU left its socket behind');
  const [listed] = await withStatus([vm]);
  assert.equal(listed.state, 'stopped');
  assert.equal(listed.reason, status.reason);

  const again = await startVm(LABEL);
  assert.equal(again.state, 'running');
  assert.notEqual(again.pid, started.pid);
  assert.equal(again.reason, undefined);
  const shell = await guestShell(sb.run, LABEL);
  assert.equal(await shell.run('echo $((6*7))', /42/), '42');
  shell.close();
});

test('a start that fails says why in one line: a bad option names its field, a broken saved state gets QEMU\'s own words', async () => {
  await stopVm(LABEL, { mode: 'force' }).catch(() => undefined);
  await assert.rejects(startVm(LABEL, { console: 'telnet' }), {
    status: 400, field: 'console', message: "--console: 'TELNET' is not one of: VNC SDL CLI CLI0 NONE",
  });
  await assert.rejects(startVm(LABEL, { console: 'CLI0' }), { status: 400, field: 'console' });

  const state = join(vm.dir, `${LABEL}.suspend`);
  writeFileSync(state, 'not a saved VM state\n');
  assert.equal((await vmStatus(vm)).state, 'suspended');
  await assert.rejects(startVm(LABEL), (e: Error & { status?: number }) => {
    assert.equal(e.status, 500);
    assert.match(e.message, /^qemu: QEMU (\(pid \d+\) )?exited while starting: .*(Not a migration stream|load of migration failed)/);
    assert.ok(e.message.endsWith(`the saved state is kept as ${state}.resumed (rename it to ${LABEL}.suspend to try again)`), e.message);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
  assert.equal((await vmStatus(vm)).state, 'stopped');
  assert.deepEqual(qemuPids(sb.run, LABEL), []);

  // One that QEMU gives up on before it has read it all (a state saved from another machine): the
  // wrapper's rename never runs and every start would try it again. The error says what to do.
  rmSync(`${state}.resumed`, { force: true });
  writeFileSync(state, Buffer.concat([Buffer.from('QEVM\0\0\0\x03', 'latin1'), Buffer.alloc(4 << 20, 0xff)]));
  await assert.rejects(startVm(LABEL), (e: Error & { status?: number }) => {
    assert.equal(e.status, 500);
    assert.match(e.message, /^qemu: QEMU (\(pid \d+\) )?exited while starting: /);
    assert.ok(e.message.endsWith(`the saved state ${state} was not loaded (every start tries it again): if it cannot be, remove or rename it to start the VM afresh, losing what ran in it`), e.message);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
  assert.equal((await vmStatus(vm)).state, 'suspended', 'nothing of the user\'s is moved or lost');
  rmSync(state);
  assert.equal((await vmStatus(vm)).state, 'stopped');
});

test('a running VM whose directory was moved away is still listed and stopped by its label; a suspend, with nowhere to resume it, is refused', async () => {
  const { vm: moved } = await createVm({ label: 'moved', template: 'kernel-initrd', env: demoVmEnv(), base: join(sb.home, 'vms') });
  await startVm('moved');
  // Written anew while it runs, every setting would wait unsaid for the next start: refused.
  const config = readFileSync(moved.config, 'utf8');
  const again = await vmdeck(['create-conf', '--label', 'moved', '--force', '--no-create-image'], sb.env);
  assert.equal(again.code, 1, again.stdout);
  assert.match(again.stderr, /^vmdeck create-conf: label: VM 'moved' is running \(pid \d+\); stop it before --force writes it anew\n$/);
  assert.equal(readFileSync(moved.config, 'utf8'), config, 'nothing written');
  const elsewhere = join(sb.home, 'elsewhere');
  renameSync(moved.dir, elsewhere);
  try {
    const list = await vmdeck(['list'], sb.env);
    assert.match(list.stdout, /^moved +running +\d+/m);
    const suspend = await vmdeck(['cancel', 'moved', '--suspend'], sb.env);
    assert.equal(suspend.code, 1);
    assert.equal(suspend.stderr, "vmdeck cancel: suspend: the config of VM 'moved' is gone (moved or deleted while it ran): nothing could resume its saved state; stop it instead (vmdeck cancel moved --force)\n");
    const stopped = await vmdeck(['cancel', 'moved', '--force'], sb.env);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.deepEqual(qemuPids(sb.run, 'moved'), []);
    assert.match((await vmdeck(['list'], sb.env)).stdout, /^no VM is running$/m);
  } finally {
    renameSync(elsewhere, moved.dir);
    await stopVm('moved', { mode: 'force' }).catch(() => undefined);
  }
});
