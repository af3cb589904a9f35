// The wrapper refuses what the server refuses: a label in a config that is
// not a plain label (its runtime files would land outside VMDECK_RUN), a
// runtime root that is a symlink or another user's, a QEMUMONSOCK in a
// directory that is not private; the runtime levels it makes are 0700 and
// checked after the mkdir; QEMU does not inherit VMDECK_TOKEN.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, writeFileSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createVm, wrapperCheck } from '../../server/store';
import type { VmInfo } from '../../lib/vm';
import { demoVmEnv, guestImages, sandbox } from '../helpers/guest';
import { qemuPid, quitVm } from '../helpers/vms';

const sb = sandbox('wrefuse');
const root = sb.run.replace(/\/run$/, '');
const images = guestImages();
let vm: VmInfo;

before(async () => {
  sb.enter();
  ({ vm } = await createVm({ label: 'wr', template: 'kernel-initrd', env: demoVmEnv(images) }));
});
after(() => sb.cleanup());

function wrapper(args: string[], env: Record<string, string>, conf?: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', [conf ?? vm.wrapper, ...args], { env: { ...sb.env, ...env }, timeout: 30000 }, (err, _out, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr: String(stderr) });
    });
  });
}

test("LABEL='../outside/x' in a config is refused by --check, --print and a start; nothing is made outside VMDECK_RUN", async () => {
  const { vm: bad } = await createVm({ label: 'esc', template: 'kernel-initrd', env: demoVmEnv(images) });
  // The label is the #@#LABEL marker's (ENUMERATE's rule), else LABEL: both say the escape.
  writeFileSync(bad.config, readFileSync(bad.config, 'utf8').replace(/^ *#@#LABEL\b.*$/m, '#@#LABEL = "../outside/x"').replace(/^LABEL=.*$/m, "LABEL='../outside/x'"));
  for (const args of [['--check'], ['--print'], []]) {
    const r = await wrapper(args, {}, bad.wrapper);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /LABEL: '\.\.\/outside\/x' is not a plain label/);
  }
  assert.ok(!existsSync(join(root, 'outside')), 'a runtime directory was made outside VMDECK_RUN');
});

test('a runtime root that is a symlink, even to a directory of ours, is refused and not followed', async () => {
  const target = join(root, 'elsewhere');
  mkdirSync(target, { mode: 0o700 });
  const link = join(root, 'linkrun');
  symlinkSync(target, link);
  for (const args of [['--check'], []]) {
    const r = await wrapper(args, { VMDECK_RUN: link });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /runtime dir: '.*linkrun' is not a directory \(a symlink/);
  }
  assert.ok(!existsSync(join(target, 'wr')), 'the wrapper made its runtime dir through the symlink');
});

test("a runtime root of another user's is refused", async () => {
  const theirs = join(root, 'theirs');
  mkdirSync(theirs, { mode: 0o700 });
  chownSync(theirs, 65534, 65534);
  const r = await wrapper(['--check'], { VMDECK_RUN: theirs });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /runtime dir: '.*theirs' is not owned by/);
});

test('QEMUMONSOCK in a directory that is not private is refused', async () => {
  const open = join(root, 'open');
  mkdirSync(open, { mode: 0o755 });
  const r = await wrapper([], {}, await withMonSock(join(open, 'ser.sock')));
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /QEMUMONSOCK: '.*open' must be private/);
});

async function withMonSock(path: string): Promise<string> {
  const { vm: m } = await createVm({ label: 'mon', template: 'kernel-initrd', env: demoVmEnv(images) });
  appendFileSync(m.config, `QEMUMONSOCK='${path}'\n`);
  return m.wrapper;
}

test('every level of a missing runtime root is made 0700; QEMU does not inherit VMDECK_TOKEN', { timeout: 60000 }, async () => {
  const deep = join(root, 'a', 'b', 'run');
  const r = await wrapper([], { VMDECK_RUN: deep, VMDECK_TOKEN: 'secret-token-for-the-test' });
  assert.equal(r.code, 0, r.stderr);
  try {
    for (const d of [join(root, 'a'), join(root, 'a', 'b'), deep, join(deep, 'wr')]) {
      assert.equal(statSync(d).mode & 0o777, 0o700, d);
    }
    const environ = readFileSync(`/proc/${qemuPid(deep, 'wr')}/environ`, 'latin1');
    assert.ok(!environ.includes('VMDECK_TOKEN'), 'QEMU has VMDECK_TOKEN in its environment');
  } finally {
    await quitVm(deep, 'wr');
  }
});

test("a config whose bash does not finish: the VM's --check says it ran out of time, not a bare 'Command failed', and ends what it ran", { timeout: 40000 }, async () => {
  const { vm: slow } = await createVm({ label: 'slowconf', template: 'kernel-initrd', env: demoVmEnv(images) });
  // A program of the config's own holds the wrapper's output pipes: killing bash alone would leave the check waiting on it.
  appendFileSync(slow.config, '# waits on something that does not come\nsleep 599 # slowconf-sleeps\n');
  assert.equal(await wrapperCheck(slow), "the wrapper's --check did not finish within 10 s");
  assert.throws(() => execFileSync('pgrep', ['-f', 'sleep 599'], { stdio: 'pipe' }), 'the config\'s sleep was ended with the check');
  // And one that leaves a program behind in the background is waited for no longer than its own end.
  writeFileSync(slow.config, readFileSync(slow.config, 'utf8').replace('sleep 599 # slowconf-sleeps', '(sleep 30 &)'));
  assert.equal(await wrapperCheck(slow), null);
});

test('a hand-written HOSTFWD with a port out of 1-65535 or an address that is not IPv4 is refused by --check, as QEMU would refuse it only at the start', async () => {
  const { vm: fwd } = await createVm({ label: 'fwdbad', template: 'kernel-initrd', env: demoVmEnv(images) });
  const text = readFileSync(fwd.config, 'utf8');
  for (const [rule, says] of [['tcp:127.0.0.1:99999-:22', 'has a port out of 1-65535'], ['tcp::2222-:0', 'has a port out of 1-65535'], ['tcp:1.2.3.999:2222-:22', 'has an address that is not IPv4'], ['tcp:127.0.0.010:2222-:22', 'has an address that is not IPv4']]) {
    writeFileSync(fwd.config, text.replace(/^HOSTFWD=.*$/m, `HOSTFWD='${rule}'`));
    const r = await wrapper(['--check'], {}, fwd.wrapper);
    assert.equal(r.code, 1, rule);
    assert.equal(r.stderr, `fwdbad.sh: HOSTFWD: '${rule}' ${says}\n`);
  }
  writeFileSync(fwd.config, text.replace(/^HOSTFWD=.*$/m, "HOSTFWD='tcp::2222-:22 udp:0.0.0.0:5353-:53'"));
  assert.equal((await wrapper(['--check'], {}, fwd.wrapper)).code, 0);
});
