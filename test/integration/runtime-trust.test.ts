// The runtime root is read only when it is this user's alone: another user's
// directory (as /tmp/vmdeck-<uid> made in advance when XDG_RUNTIME_DIR is
// unset) with a planted config and pidfile is refused in one line, and its
// config is never run by bash. Real directories, owners and processes.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventsReady, subscribe, type VmStateEvent } from '../../server/events';
import { listSwitches } from '../../server/net';
import { listRunning } from '../../server/runner';
import { resolveVm } from '../../server/runtime';
import { sandbox } from '../helpers/guest';
import { vmdeck } from '../helpers/lifecycle';

const NOBODY = 65534;
const sb = sandbox('trust');
const root = sb.run.replace(/\/run$/, '');
const marker = join(root, 'bash-ran-the-planted-config');
const fakes: ChildProcess[] = [];

/**
 * A runtime root as another user might plant it: <L>/config naming a .ctys
 * whose bash logic leaves a marker, and <L>/qemu.pid naming a live process
 * whose command line names that pidfile, as a QEMU's would.
 */
function plant(runRoot: string, label: string, owner: number): void {
  mkdirSync(join(runRoot, label), { recursive: true });
  const ctys = join(runRoot, `${label}.ctys`);
  writeFileSync(ctys, `#@#MAGICID-QEMU\n#@#LABEL = "${label}"\nLABEL=${label}\ntouch '${marker}'\n`);
  writeFileSync(join(runRoot, label, 'config'), `${ctys}\n`);
  const pidFile = join(runRoot, label, 'qemu.pid');
  const fake = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', pidFile], { stdio: 'ignore' });
  fakes.push(fake);
  writeFileSync(pidFile, `${fake.pid}\n`);
  for (const p of [runRoot, join(runRoot, label), ctys, join(runRoot, label, 'config'), pidFile]) chownSync(p, owner, owner);
}

before(() => {
  sb.enter();
  mkdirSync(sb.home, { recursive: true });
});
after(() => {
  for (const f of fakes) f.kill('SIGKILL');
  sb.cleanup();
});

test('another user\'s runtime root is refused in one line by vmdeck list, and its config is not run', async () => {
  const foreign = join(root, 'foreign');
  mkdirSync(foreign);
  plant(foreign, 'fake', NOBODY);
  chmodSync(foreign, 0o777);
  const env = { ...sb.env, VMDECK_RUN: foreign };
  const r = await vmdeck(['list'], env);
  assert.equal(r.code, 1, r.stdout);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^vmdeck list: runtime dir: '${foreign}' is not a directory owned by \\S+`));
  assert.equal(r.stdout, '');
  const start = await vmdeck(['start', 'fake'], env);
  assert.equal(start.code, 1);
  assert.match(start.stderr, /runtime dir: .* is not a directory owned by/);
  assert.ok(!existsSync(marker), 'the planted config was run by bash');
});

test('in process: listing, resolving, switches and the event watcher read nothing from it', async () => {
  const foreign = join(root, 'foreign');
  process.env.VMDECK_RUN = foreign;
  try {
    await assert.rejects(listRunning(), { status: 500, message: new RegExp(`^runtime dir: '${foreign}' is not a directory owned by`) });
    await assert.rejects(resolveVm('fake'), /runtime dir: .* is not a directory owned by/);
    await assert.rejects(listSwitches(), /runtime dir: .* is not a directory owned by/);
    const seen: VmStateEvent[] = [];
    const unsubscribe = subscribe((e) => seen.push(e));
    await eventsReady();
    await new Promise((r) => setTimeout(r, 1500));
    unsubscribe();
    assert.deepEqual(seen, []);
  } finally {
    process.env.VMDECK_RUN = sb.run;
  }
  assert.ok(!existsSync(marker), 'the planted config was run by bash');
});

test('a root of this user\'s that others may write to, or a symlink, is refused too', async () => {
  const open = join(root, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  const r = await vmdeck(['list'], { ...sb.env, VMDECK_RUN: open });
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), `vmdeck list: runtime dir: '${open}' must be private (chmod 700 '${open}')`);

  const link = join(root, 'link');
  const target = join(root, 'private');
  mkdirSync(target, { mode: 0o700 });
  const { symlinkSync } = await import('node:fs');
  symlinkSync(target, link);
  const l = await vmdeck(['list'], { ...sb.env, VMDECK_RUN: link });
  assert.equal(l.code, 1);
  assert.match(l.stderr, /runtime dir: .* is not a directory owned by/);
});

test('a missing root is made private; in a private root, a config path naming another user\'s .ctys is not followed', async () => {
  const fresh = join(root, 'fresh', 'run');
  const r = await vmdeck(['list'], { ...sb.env, VMDECK_RUN: fresh });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(fresh).mode & 0o777, 0o700);

  // Our own root, 0700; the runtime dir and config are ours, the .ctys it names is not.
  plant(fresh, 'stray', NOBODY);
  chownSync(fresh, process.getuid!(), process.getgid!());
  chmodSync(fresh, 0o700);
  for (const p of [join(fresh, 'stray'), join(fresh, 'stray', 'config'), join(fresh, 'stray', 'qemu.pid')]) chownSync(p, 0, 0);
  process.env.VMDECK_RUN = fresh;
  try {
    const running = await listRunning();
    assert.deepEqual(running.map((v) => [v.label, v.config]), [['stray', '']], 'listed by its runtime dir only');
    await assert.rejects(resolveVm('stray'), { status: 404 });
  } finally {
    process.env.VMDECK_RUN = sb.run;
  }
  assert.ok(!existsSync(marker), 'another user\'s config was run by bash');
});
