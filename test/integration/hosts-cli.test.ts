// Other hosts through a real OpenSSH server (test/helpers/sshd.ts): host
// add/list/check, then a VM made, started, typed into on its serial console
// and stopped on that host with the CLI's targets (--host H, LABEL@H,
// user@host); a vmdeck of another version and a changed host key refused.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { vmdeck } from '../helpers/cli';
import { demoVmEnv, sandbox } from '../helpers/guest';
import { REMOTE_VMDECK, sshLab, type SshHost } from '../helpers/sshd';
import { REPO } from '../helpers/guest';
import { hostFileName } from '../../server/hosts';

const sb = sandbox('hostcli');
const lab = sshLab();
let alpha: SshHost;
let env: NodeJS.ProcessEnv;
const LABEL = 'far1';

before(async () => {
  alpha = await lab.addHost('alpha');
  env = { ...sb.env, VMDECK_SSH_CONFIG: lab.config };
});

after(async () => {
  await vmdeck(['cancel', `${LABEL}@alpha`, '--force'], env).catch(() => undefined);
  await lab.cleanup();
  sb.cleanup();
});

/** The ControlMaster socket of host name reached at dest (hosts.ts: named by both, and the ssh config). */
const ctl = (name: string, dest: string) => join(sb.run, '.hosts', `${hostFileName({ name, dest, vmdeck: '' }, env)}.ctl`);

const version = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(REPO, 'package.json'), 'utf8'))).version as string;

test('host add checks the host and keeps it in $VMDECK_HOME/hosts (0600); host list and host check show it', async () => {
  const add = await vmdeck(['host', 'add', 'alpha', 'alpha', '--vmdeck', REMOTE_VMDECK], env);
  assert.equal(add.code, 0, add.stderr);
  const file = join(sb.home, 'hosts');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  // The shared connection's socket lives in a private directory of the run root.
  assert.equal(statSync(join(sb.run, '.hosts')).mode & 0o777, 0o700);
  assert.ok(existsSync(ctl('alpha', 'alpha')), 'the ControlMaster socket');

  const list = await vmdeck(['host', 'list'], env);
  assert.match(list.stdout, /^local\s/m);
  assert.match(list.stdout, /^alpha\s+alpha\s/m);
  const check = await vmdeck(['host', 'check', 'alpha', '--json'], env);
  assert.equal(check.code, 0, check.stderr);
  const [c] = JSON.parse(check.stdout);
  assert.equal(c.ok, true);
  assert.equal(c.version, version);
  assert.ok(Array.isArray(c.report.items), 'the host\'s own vmdeck check');

  const dup = await vmdeck(['host', 'add', 'alpha', 'alpha'], env);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /name: a host 'alpha' exists already/);
  const bad = await vmdeck(['host', 'add', 'x', '-oProxyCommand=true', '--no-check'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^vmdeck host: dest: '-oProxyCommand=true' is not an ssh destination/);
});

test('a host whose vmdeck has another version is refused, both versions named', async () => {
  const old = join(lab.dir, 'old-vmdeck');
  writeFileSync(old, '#!/bin/sh\necho "vmdeck 0.0.9"\n', { mode: 0o755 });
  const add = await vmdeck(['host', 'add', 'oldie', 'alpha', '--vmdeck', old], env);
  assert.equal(add.code, 1);
  assert.match(add.stderr, new RegExp(`host: oldie runs vmdeck 0\\.0\\.9 and this is vmdeck ${version.replace(/\./g, '\\.')}: they cannot talk`));
  assert.equal(add.stderr.trim().split('\n').length, 1, add.stderr);
  // The refused host's connection is closed: nothing of it is left open (its master was used by the next add of the name, wherever that went).
  assert.equal(existsSync(ctl('oldie', 'alpha')), false, 'no ControlMaster left by the refused add');
  // A connection is the name's and the destination's: another destination under the same name, or a user@host target whose name a host has made plain, opens its own.
  assert.notEqual(ctl('oldie', 'alpha'), ctl('oldie', 'beta'));
  assert.notEqual(ctl('root@alpha', 'root@alpha'), ctl('root_alpha', 'beta'));
  // Added anyway, each command against it is refused the same way.
  assert.equal((await vmdeck(['host', 'add', 'oldie', 'alpha', '--vmdeck', old, '--no-check'], env)).code, 0);
  const list = await vmdeck(['list', '--host', 'oldie'], env);
  assert.equal(list.code, 1);
  assert.match(list.stderr, /runs vmdeck 0\.0\.9 and this is vmdeck/);
  assert.equal((await vmdeck(['host', 'remove', 'oldie'], env)).code, 0);
});

test('create-conf --host, start LABEL@H, list user@host, console typed into, cancel: all on the remote host', async () => {
  const opts = Object.entries(demoVmEnv()).map(([k, v]) => `${k}=${v}`);
  const made = await vmdeck(['create-conf', '--host', 'alpha', '--label', LABEL, '--template', 'kernel-initrd', '--auto-all', ...opts], env);
  assert.equal(made.code, 0, made.stderr);
  assert.ok(existsSync(join(alpha.home, 'vms', LABEL, `${LABEL}.ctys`)), 'the config is on the remote side');
  assert.ok(!existsSync(join(sb.home, 'vms', LABEL)), 'and not here');

  const start = await vmdeck(['start', `${LABEL}@alpha`], env, { timeoutMs: 90000 });
  assert.equal(start.code, 0, start.stderr);
  assert.match(start.stdout, new RegExp(`VM '${LABEL}' is running`));
  // Its hints can be run here, where the user is: the label with the host.
  assert.match(start.stdout, new RegExp(`^  serial console: vmdeck console ${LABEL}@alpha    monitor: vmdeck monitor ${LABEL}@alpha\r?$`, 'm'));
  assert.ok(existsSync(join(alpha.run, LABEL, 'qemu.pid')), 'QEMU runs with the remote runtime dir');

  // ctys's user@host target: not a host name, a destination (vmdeck on its PATH).
  const list = await vmdeck(['list', `${userInfo().username}@alpha`, '--json'], env);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(JSON.parse(list.stdout).map((v: { label: string; state: string }) => [v.label, v.state]), [[LABEL, 'running']]);
  const local = await vmdeck(['list', '--json'], env);
  assert.deepEqual(JSON.parse(local.stdout), [], 'nothing runs here');
  const all = await vmdeck(['list', '--host', 'all', '--json'], env);
  assert.deepEqual(JSON.parse(all.stdout).map((v: { host: string; label: string }) => [v.host, v.label]), [['alpha', LABEL]]);
  // ctys's machine records of every host, as ctys's own `-a enumerate=machine,title` with the host after it: the title once, records only.
  const records = await vmdeck(['enumerate', '-a', 'enumerate=machine,title', '--host', 'all'], env);
  assert.equal(records.code, 0, records.stderr);
  const lines = records.stdout.trim().split('\n');
  assert.match(lines[0], /^ContainingMachine;SessionType;Label;/);
  assert.equal(lines.filter((l) => l.startsWith('ContainingMachine;')).length, 1);
  assert.deepEqual(lines.slice(1).map((l) => l.split(';')[2]), [LABEL], records.stdout);
  const viaCtys = await vmdeck(['enumerate', '-a', 'enumerate=machine', 'alpha'], env);
  assert.deepEqual(viaCtys.stdout.trim().split('\n').map((l) => l.split(';')[2]), [LABEL], viaCtys.stderr);

  // The serial console through ssh, typed into from a pipe.
  const child = spawn(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'console', `${LABEL}@alpha`], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const until = async (re: RegExp, ms: number) => {
    const end = Date.now() + ms;
    while (!re.test(out)) {
      if (Date.now() > end) throw new Error(`no ${re} in: ${out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const typing = setInterval(() => child.stdin.write('\n'), 2000);
  try {
    await until(/guest:[^\r\n]*# /, 90000);
  } finally {
    clearInterval(typing);
  }
  child.stdin.write('echo far-$((6*7))\n');
  await until(/far-42/, 20000);
  child.stdin.end();
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 0);

  const monitor = await vmdeck(['monitor', `${LABEL}@alpha`, 'info', 'status'], env);
  assert.equal(monitor.code, 0, monitor.stderr);
  assert.match(monitor.stdout, /VM status: running/);

  const cancel = await vmdeck(['cancel', LABEL, '--host', 'alpha', '--force'], env);
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.match(cancel.stdout, /is stopped/);
  const after = await vmdeck(['list', '--host', 'alpha', '--json'], env);
  assert.deepEqual(JSON.parse(after.stdout), []);
});

test('a changed host key is refused in one line naming the host and ssh-keygen -R; nothing is sent', async () => {
  // A new connection is what checks the key: end the shared one first.
  const ended = await vmdeck(['host', 'remove', 'alpha'], env);
  assert.equal(ended.code, 0, ended.stderr);
  assert.equal((await vmdeck(['host', 'add', 'alpha', 'alpha', '--vmdeck', REMOTE_VMDECK, '--no-check'], env)).code, 0);
  await alpha.changeHostKey();
  const r = await vmdeck(['start', `${LABEL}@alpha`], env);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^vmdeck start: host: alpha \(alpha\): its host key has changed and ssh refused to connect \(nothing was sent\).*ssh-keygen -f .*known_hosts.* -R /);
  // sshd saw a connection and no authentication: no key, no command.
  assert.match(alpha.log(), /Connection from/);
  assert.doesNotMatch(alpha.log(), /Accepted publickey/);
  assert.ok(!existsSync(join(alpha.run, LABEL, 'qemu.pid')), 'the VM was not started');
});
