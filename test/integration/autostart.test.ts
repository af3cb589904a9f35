// Start on host boot with real parts: the unit made and removed with
// systemctl (offline, in a tree of its own: systemd is not PID 1 on this
// host, so it cannot start units) and checked with systemd-analyze verify;
// the unit's own ExecStart, run with only the unit's environment as systemd
// would run it, starts two test-guest VMs in order with the delay between,
// and a VM that cannot start is a failed task.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { listTasks } from '../../server/tasks';
import { stopVm } from '../../server/runner';
import { createVm } from '../../server/store';
import { vmdeck } from '../helpers/cli';
import { demoVmEnv, REPO, sandbox } from '../helpers/guest';
import { api, inProcessServer } from '../helpers/server';
import { installed } from '../helpers/vms';

const sb = sandbox('autost');
const sysroot = join(sb.home, '..', 'sysroot');
const env = { ...sb.env, VMDECK_SYSTEMD_ROOT: sysroot };
const unitFile = join(sysroot, 'etc/systemd/system/vmdeck-autostart.service');
const wants = join(sysroot, 'etc/systemd/system/multi-user.target.wants/vmdeck-autostart.service');
const VMS = ['first', 'second', 'broken', 'manual'];

before(async () => {
  sb.enter();
  process.env.VMDECK_SYSTEMD_ROOT = sysroot;
  const base = join(sb.home, 'vms');
  for (const label of ['first', 'second', 'manual']) await createVm({ label, template: 'kernel-initrd', env: demoVmEnv(), base });
  // A VM whose kernel went away after it was marked: its start at boot fails.
  await createVm({ label: 'broken', template: 'kernel-initrd', env: demoVmEnv(undefined, { INST_KERNEL: join(sb.home, 'gone/vmlinuz') }), base });
});

after(async () => {
  for (const label of VMS) await stopVm(label, { mode: 'force' }).catch(() => undefined);
  delete process.env.VMDECK_SYSTEMD_ROOT;
  sb.cleanup();
});

/** A unit file word back to its value, as systemd unquotes it (the inverse of lib/autostart.ts's systemdWord). */
function unquote(word: string): string {
  assert.match(word, /^"(?:[^"\\]|\\.)*"$/, `a quoted word: ${word}`);
  return word.slice(1, -1).replace(/\\(.)/g, '$1').replace(/%%/g, '%').replace(/\$\$/g, '$');
}

/** Runs the unit's ExecStart (or ExecStop) with the unit's Environment= and systemd's default PATH only, as systemd runs a service's commands. */
function runUnit(text: string, line: 'ExecStart' | 'ExecStop' = 'ExecStart', extra: string[] = []): Promise<{ code: number; out: string }> {
  const environment: Record<string, string> = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin' };
  for (const m of text.matchAll(/^Environment=(.*)$/gm)) {
    const kv = unquote(m[1]);
    environment[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  }
  const exec = new RegExp(`^${line}=(.*)$`, 'm').exec(text)![1].match(/"(?:[^"\\]|\\.)*"|\S+/g)!.map((w) => (w.startsWith('"') ? unquote(w) : w));
  return collect(exec[0], [...exec.slice(1), ...extra], environment as NodeJS.ProcessEnv);
}

/** A program's exit code and its stdout and stderr together. */
function collect(cmd: string, args: string[], environment: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d; });
    child.stderr.on('data', (d: Buffer) => { out += d; });
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

test('vmdeck autostart: the unit made with the first VM marked, verified, run as systemd runs it: VMs in order with the delay, a failed start a failed task; removed with the last', async () => {
  const on = await vmdeck(['autostart', 'first', 'on', '--order', '1', '--delay', '3'], env);
  assert.equal(on.code, 0, on.stderr);
  assert.match(on.stdout, /VM 'first': starts on host boot \(order 1, then 3 s\)/);
  assert.match(on.stdout, /enabled \(system, systemd offline\)/);
  // systemctl enable made the link, as at a real boot multi-user.target wants the unit.
  assert.ok(lstatSync(wants).isSymbolicLink(), 'enabled: multi-user.target wants it');
  const unit = readFileSync(unitFile, 'utf8');
  assert.match(unit, new RegExp(`^Environment="VMDECK_HOME=${sb.home}"$`, 'm'));
  if (installed('systemd-analyze')) {
    const verify = await collect('systemd-analyze', ['verify', unitFile]);
    assert.equal(verify.code, 0, verify.out);
    assert.doesNotMatch(verify.out, /vmdeck-autostart/, 'systemd-analyze verify has nothing to say about the unit');
  }
  // A root session with its own XDG_RUNTIME_DIR and no VMDECK_RUN is told where the boot's VMs will be.
  const noRun: NodeJS.ProcessEnv = { ...env };
  delete noRun.VMDECK_RUN;
  const session = await vmdeck(['autostart'], { ...noRun, XDG_RUNTIME_DIR: join(sb.home, 'xdg') });
  assert.equal(session.code, 0, session.stderr);
  assert.match(session.stdout, new RegExp(`note: .*VMs started at boot keep their sockets in /tmp/vmdeck-${process.getuid!()}, this session looks in ${join(sb.home, 'xdg')}/vmdeck-${process.getuid!()}`));
  assert.doesNotMatch(on.stdout, /keep their sockets/, 'the same VMDECK_RUN at boot and here: no note');
  const config = readFileSync(join(sb.home, 'vms/first/first.ctys'), 'utf8');
  assert.match(config, /^AUTOSTART='on'$/m);
  assert.match(config, /^AUTOSTART_ORDER='1'$/m);
  assert.match(config, /^AUTOSTART_DELAY='3'$/m);

  for (const [label, order] of [['second', '2'], ['broken', '0']]) {
    const r = await vmdeck(['autostart', label, 'on', '--order', order], env);
    assert.equal(r.code, 0, r.stderr);
  }
  // Bad input: one line naming the field, nothing written; AUTOSTART is not vmdeck set's.
  const bad = await vmdeck(['autostart', 'manual', 'on', '--delay', 'soon'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^vmdeck autostart: delay: 'soon' is not a number of seconds\n$/);
  assert.match(readFileSync(join(sb.home, 'vms/manual/manual.ctys'), 'utf8'), /^AUTOSTART='off'$/m);
  const set = await vmdeck(['set', 'manual', 'AUTOSTART=on'], env);
  assert.match(set.stderr, /^vmdeck set: AUTOSTART: is changed with vmdeck autostart/);
  const list = await vmdeck(['autostart'], env);
  assert.match(list.stdout, /^broken\torder 0\tdelay 0 s\nfirst\torder 1\tdelay 3 s\nsecond\torder 2\tdelay 0 s\n/);

  const since = Date.now();
  const boot = await runUnit(readFileSync(unitFile, 'utf8'));
  assert.equal(boot.code, 1, `a VM that failed makes the unit fail: ${boot.out}`);
  assert.match(boot.out, /^broken: failed: KERNELIMAGE: kernel '.*' does not exist\nfirst: started\nwaiting 3 s\nsecond: started\n$/);
  const tasks = listTasks().filter((t) => t.start >= since && t.action === 'start').reverse();
  const who = `autostart:${userInfo().username}`;
  assert.deepEqual(tasks.map((t) => [t.label, t.result, t.who]), [['broken', 'error', who], ['first', 'ok', who], ['second', 'ok', who]]);
  assert.match(tasks[0].error ?? '', /^KERNELIMAGE: kernel '.*' does not exist$/);
  assert.ok(tasks[2].start - tasks[1].end! >= 3000, `second started ${tasks[2].start - tasks[1].end!} ms after first was up (3 s delay)`);
  for (const label of ['first', 'second']) assert.ok(existsSync(join(sb.run, label, 'qemu.pid')), `${label} runs`);
  assert.ok(!existsSync(join(sb.run, 'manual', 'qemu.pid')), 'a VM not marked is not started');
  // Run again (a restart of the unit): the running ones are left as they are.
  const again = await runUnit(readFileSync(unitFile, 'utf8'));
  assert.match(again.out, /first: already running\nsecond: already running/);
  // A running VM's autostart changed: nothing waits for its next start (the host's boot reads it), not "edited by hand".
  const reorder = await vmdeck(['autostart', 'second', 'on', '--order', '5'], env);
  assert.equal(reorder.code, 0, reorder.stderr);
  const rows = JSON.parse((await vmdeck(['list', '--json'], env)).stdout) as { label: string; pending?: unknown }[];
  assert.deepEqual(rows.filter((r) => r.label === 'second').map((r) => r.pending), [undefined]);
  // The unit's stop (host shutdown): the running ones powered off in reverse order; the test guest
  // ignores ACPI, so each is quit after the timeout (2 s here, 60 s in the unit).
  const stop = await runUnit(readFileSync(unitFile, 'utf8'), 'ExecStop', ['--timeout', '2']);
  assert.equal(stop.code, 0, stop.out);
  assert.match(stop.out, /^second: stopped.*\nfirst: stopped.*\n$/);
  for (const label of ['first', 'second']) assert.ok(!existsSync(join(sb.run, label, 'qemu.pid')), `${label} stopped`);
  const stops = listTasks().filter((t) => t.start >= since && t.action === 'stop:poweroff').reverse();
  assert.deepEqual(stops.map((t) => [t.label, t.who]), [['second', who], ['first', who]]);

  const brokenOff = await vmdeck(['autostart', 'broken', 'off'], env);
  assert.equal(brokenOff.code, 0, brokenOff.stderr);
  assert.match(brokenOff.stdout, /unit .*: enabled/, 'first and second still start on boot');

  // The API: the same function, the same refusals (closing the server removes the sandbox, so last).
  const srv = await inProcessServer(sb);
  try {
    const got = await api(srv.base, 'GET', '/api/vms/first');
    assert.deepEqual(got.json.autostart, { enabled: true, order: 1, delay: 3 });
    const all = await api(srv.base, 'GET', '/api/autostart');
    assert.deepEqual(all.json.vms.map((v: { label: string }) => v.label), ['first', 'second']);
    assert.equal(all.json.unit.enabled, true);
    const refused = await api(srv.base, 'POST', '/api/vms/second/autostart', { enabled: true, order: -1 });
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.json, { error: 'order: must be a whole number 0-9999', field: 'order' });
    const notBool = await api(srv.base, 'POST', '/api/vms/second/autostart', { enabled: 'yes' });
    assert.deepEqual([notBool.status, notBool.json], [400, { error: 'enabled: must be true or false', field: 'enabled' }]);
    const off = await api(srv.base, 'POST', '/api/vms/second/autostart', { enabled: false });
    assert.equal(off.status, 200, off.text);
    assert.equal(off.json.enabled, false);
    assert.equal(off.json.unit.installed, true, 'first still starts on boot');
    const last = await api(srv.base, 'POST', '/api/vms/first/autostart', { enabled: false });
    assert.equal(last.status, 200, last.text);
    assert.equal(last.json.unit.installed, false);
    assert.ok(!existsSync(unitFile) && !existsSync(wants), 'the last VM unmarked removes the unit and its link');
    assert.equal(listTasks({ label: 'first' })[0].action, 'autostart');
  } finally {
    await srv.close();
  }
});

/**
 * The user's own unit, as anyone but root gets it: run as that user (root
 * drops to nobody with setpriv for it), in a HOME of its own, so the unit
 * goes to ~/.config/systemd/user and systemctl --user enables it (offline:
 * no user manager runs here).
 */
test('a user who is not root gets a user unit: ~/.config/systemd/user, wanted by default.target, verified, removed with the last VM', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'vd-autou-'));
  try {
    chmodSync(root, 0o755);
    const home = join(root, 'home');
    mkdirSync(join(root, 'rt'));
    mkdirSync(home);
    const uid = process.getuid?.() === 0 ? 65534 : process.getuid!();
    for (const dir of [home, join(root, 'rt')]) {
      chownSync(dir, uid, uid);
      chmodSync(dir, 0o700);
    }
    const userEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, VMDECK_HOME: join(home, 'vmdeck'), VMDECK_RUN: join(root, 'rt', 'vmdeck'), XDG_RUNTIME_DIR: join(root, 'rt') };
    const as = (cmd: string, args: string[]) => (uid === process.getuid?.() ? collect(cmd, args, { ...process.env, ...userEnv } as NodeJS.ProcessEnv)
      : collect('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'env', '-i', ...Object.entries(userEnv).map(([k, v]) => `${k}=${v}`), cmd, ...args]));
    const cli = join(REPO, 'bin/vmdeck.js');
    if ((await as(process.execPath, [cli, '--version'])).code !== 0) {
      t.skip(`uid ${uid} cannot run ${cli} (the checkout is not readable to it)`);
      return;
    }
    const made = await as(process.execPath, [cli, 'create-conf', '--label', 'mine', '--template', 'kernel-initrd', '--auto-all', '--no-create-image', 'ACCELERATOR=QEMU', `INST_KERNEL=${join(root, 'vmlinuz')}`]);
    assert.equal(made.code, 0, made.out);
    const on = await as(process.execPath, [cli, 'autostart', 'mine', 'on']);
    assert.equal(on.code, 0, on.out);
    const unitDir = join(home, '.config/systemd/user');
    assert.match(on.out, new RegExp(`unit ${unitDir}/vmdeck-autostart.service: enabled \\(user, systemd offline\\)`));
    assert.ok(lstatSync(join(unitDir, 'default.target.wants/vmdeck-autostart.service')).isSymbolicLink());
    const unit = readFileSync(join(unitDir, 'vmdeck-autostart.service'), 'utf8');
    assert.match(unit, /^WantedBy=default.target$/m);
    assert.doesNotMatch(unit, /network-online/, 'a user manager has no network-online.target');
    if (installed('systemd-analyze')) {
      const verify = await as('systemd-analyze', ['--user', 'verify', join(unitDir, 'vmdeck-autostart.service')]);
      assert.equal(verify.code, 0, verify.out);
    }
    const off = await as(process.execPath, [cli, 'autostart', 'mine', 'off']);
    assert.equal(off.code, 0, off.out);
    assert.ok(!existsSync(join(unitDir, 'vmdeck-autostart.service')) && !existsSync(join(unitDir, 'default.target.wants/vmdeck-autostart.service')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
