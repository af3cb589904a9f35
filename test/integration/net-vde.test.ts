// VDE switches (vmdeck net, ctys-setupVDE) with real vde_switch and QEMU: two
// demo guests on one switch reach each other; the switch refuses to go while
// they are on it. Their addresses (10.77.0.0/24) exist only on the switch.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { VmInfo } from '../../lib/vm';
import { createVm, wrapperCheck } from '../../server/store';
import { vmdeck } from '../helpers/cli';
import { demoVmEnv, guestImages, sandbox, type Sandbox } from '../helpers/guest';
import { alive, guestShell, qemuPid, quitVm, startWrapper, waitFor } from '../helpers/vms';

let sb: Sandbox;
const images = guestImages();

before(() => {
  sb = sandbox('netvde');
  sb.enter();
});
after(() => sb.cleanup());

const net = (...args: string[]) => vmdeck(['net', ...args], sb.env);

function vmOn(label: string, sw: string, ip: string): Promise<VmInfo> {
  return createVm({
    label, template: 'kernel-initrd',
    env: demoVmEnv(images, { NETMODE: 'vde', QEMUSOCK: sw, NIC: 'virtio-net-pci', INST_APPEND: `${images.append} vmdeck.ip=${ip}/24` }),
  }).then((c) => c.vm);
}

interface PortJson { port: number; kind: string; vm: string | null; macs: string[] }
async function ports(sw: string): Promise<PortJson[]> {
  const r = await net('info', sw, '--json');
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { ports: PortJson[] }).ports;
}

test('net create starts a private switch; a bad name or a second create is refused in one line', async () => {
  const r = await net('create', 'lan');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^created switch 'lan' \(pid \d+\)\n {2}VMs join it with NETMODE=vde QEMUSOCK=lan/);
  const netDir = join(sb.run, 'net');
  assert.equal(statSync(netDir).mode & 0o777, 0o700);
  assert.equal(statSync(join(netDir, 'lan')).mode & 0o777, 0o700);
  assert.ok(statSync(join(netDir, 'lan', 'ctl')).isSocket());
  assert.ok(statSync(join(netDir, 'lan.mgmt')).isSocket());
  assert.equal(statSync(join(netDir, 'lan.mgmt')).mode & 0o077, 0, 'the management socket is the user\'s only');

  const bad = await net('create', 'a b');
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "vmdeck net: name: 'a b' is not a switch name: use letters, digits, '_' and '-' (at most 32), starting with a letter or digit\n");
  const again = await net('create', 'lan');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^vmdeck net: name: switch 'lan' is already running \(pid \d+\)\n$/);

  const list = await net('list');
  assert.match(list.stdout, /^NAME +STATE +PID +PORTS +TAP +VMS\nlan +running +\d+ +0 +- +-\n$/);
});

test('--check refuses a VDE VM whose switch is missing or killed, naming vmdeck net create', async () => {
  const lost = await vmOn('lost', 'nosuch', '10.77.0.9');
  assert.equal(await wrapperCheck(lost.wrapper),
    `QEMUSOCK: VDE switch '${join(sb.run, 'net', 'nosuch')}' is not running (start it: vmdeck net create nosuch)`);

  // A killed switch leaves its socket behind; its pidfile tells.
  const gone = await vmOn('gone', 'gone', '10.77.0.8');
  assert.equal((await net('create', 'gone')).code, 0);
  assert.equal(await wrapperCheck(gone.wrapper), null);
  const info = JSON.parse((await net('info', 'gone', '--json')).stdout) as { pid: number };
  process.kill(info.pid, 'SIGKILL');
  await waitFor('the killed switch to end', () => !alive(info.pid));
  assert.ok(statSync(join(sb.run, 'net', 'gone', 'ctl')).isSocket(), 'the stale socket is still there');
  assert.match((await wrapperCheck(gone.wrapper))!, /^QEMUSOCK: VDE switch '.*\/net\/gone' is not running \(start it: vmdeck net create gone\)$/);
  assert.match((await net('list')).stdout, /\ngone +stale +- +0 /);

  // create clears the leftovers of the dead one.
  assert.equal((await net('create', 'gone')).code, 0);
  assert.equal(await wrapperCheck(gone.wrapper), null);
  assert.equal((await net('cancel', 'gone')).code, 0);
});

test("a switch another user made (ctys's default lies in the world-writable /var/tmp) is refused by --check, naming its owner", { skip: process.getuid?.() === 0 ? false : 'a switch of another user needs root to make' }, async () => {
  const dir = `/tmp/vd-foreign-${process.pid}`;
  execFileSync('runuser', ['-u', 'nobody', '--', 'vde_switch', '--daemon', '--sock', dir, '--pidfile', `${dir}.pid`]);
  try {
    await waitFor('the other user\'s switch', () => existsSync(join(dir, 'ctl')));
    const vm = await vmOn('foreign', dir, '10.77.0.6');
    assert.equal(await wrapperCheck(vm.wrapper),
      `QEMUSOCK: VDE switch '${dir}' belongs to another user (nobody), who sees and can change the VM's traffic: use a switch of your own (vmdeck net create NAME, then QEMUSOCK=NAME)`);
  } finally {
    const pid = Number(readFileSync(`${dir}.pid`, 'utf8'));
    if (pid > 1) process.kill(pid, 'SIGTERM');
    await waitFor('the other user\'s switch to end', () => !alive(pid));
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.pid`, { force: true });
  }
});

test("a second NIC's switch is checked as the first one's: not running, or a path that is neither a name nor absolute, refused by --check and by nic add", async () => {
  const two = await vmOn('twonics', 'lan', '10.77.0.7');
  const added = await vmdeck(['nic', 'twonics', 'add', '--net', 'vde:nosuch2'], sb.env);
  assert.equal(added.code, 0, added.stderr);
  // Written as asked on the stopped VM, and said at once: the start would be refused.
  assert.equal(added.stderr, "vmdeck nic: warning: net: VDE switch 'nosuch2' is not running (start it: vmdeck net create nosuch2): VM 'twonics' cannot start until it is\n");
  assert.equal(await wrapperCheck(two.wrapper), `QEMUSOCK1: VDE switch '${join(sb.run, 'net', 'nosuch2')}' is not running (start it: vmdeck net create nosuch2)`);
  const relative = await vmdeck(['nic', 'twonics', 'add', '--net', 'vde:../../x'], sb.env);
  assert.deepEqual([relative.code, relative.stderr], [1, "vmdeck nic: net: '../../x' is not a VDE switch: a name of vmdeck net create, or the absolute path of a switch directory\n"]);
  const text = readFileSync(two.config, 'utf8');
  writeFileSync(two.config, text.replace("QEMUSOCK1='nosuch2'", "QEMUSOCK1='../../x'"));
  assert.equal(await wrapperCheck(two.wrapper), "QEMUSOCK1: '../../x' is not a VDE switch: a name of vmdeck net create, or the absolute path of a switch directory");
  // A bare '..' would be the runtime root itself.
  writeFileSync(two.config, text.replace("QEMUSOCK1='nosuch2'", "QEMUSOCK1='..'"));
  assert.equal(await wrapperCheck(two.wrapper), "QEMUSOCK1: '..' is not a VDE switch: a name of vmdeck net create, or the absolute path of a switch directory");
  writeFileSync(two.config, text.replace("QEMUSOCK1='nosuch2'", "QEMUSOCK1='lan'"));
  assert.equal(await wrapperCheck(two.wrapper), null);
});

let a: VmInfo;
let b: VmInfo;

test('two guests on one switch ping each other, and net info shows their ports', async () => {
  a = await vmOn('a', 'lan', '10.77.0.1');
  b = await vmOn('b', 'lan', '10.77.0.2');
  await startWrapper(a, sb.env);
  await startWrapper(b, sb.env);
  const [sa, sbShell] = await Promise.all([guestShell(sb.run, 'a'), guestShell(sb.run, 'b')]);
  try {
    assert.equal(await sa.run('ping -c 1 -W 3 10.77.0.2', /\d+ packets received/, 15000), '1 packets received');
    assert.equal(await sbShell.run('ping -c 1 -W 3 10.77.0.1', /\d+ packets received/, 15000), '1 packets received');
  } finally {
    sa.close();
    sbShell.close();
  }

  const p = await ports('lan');
  assert.deepEqual(p.map((x) => [x.kind, x.vm]).sort(), [['vm', 'a'], ['vm', 'b']]);
  assert.ok(p.find((x) => x.vm === 'a')!.macs.includes(a.mac), 'the switch learned a\'s MAC on a\'s port');
  assert.ok(p.find((x) => x.vm === 'b')!.macs.includes(b.mac));
  const text = (await net('info', 'lan')).stdout;
  assert.match(text, /^switch lan: running \(pid \d+\)\n/);
  assert.match(text, /\n\d+ +vm +a +\d+ +QEMU /);
  assert.match(text, /\n\d+ +vm +b +\d+ +QEMU /);
  assert.match((await net('list')).stdout, /\nlan +running +\d+ +2 +- +a, b\n/);
  // A switch that is not there is refused on the running VM in vmdeck's words, nothing written.
  const config = readFileSync(a.config, 'utf8');
  const missing = await vmdeck(['nic', 'a', 'add', '--net', 'vde:nosuch3'], sb.env);
  assert.deepEqual([missing.code, missing.stderr], [1, "vmdeck nic: net: VDE switch 'nosuch3' is not running (start it: vmdeck net create nosuch3): VM 'a' runs and cannot plug into it now\n"]);
  assert.equal(readFileSync(a.config, 'utf8'), config);
});

test('cancel refuses while VMs are on the switch; it goes with --force, or once they stopped', async () => {
  const busy = await net('cancel', 'lan');
  assert.equal(busy.code, 1);
  assert.equal(busy.stderr, "vmdeck net: name: switch 'lan' is in use by VMs a, b: stop them first, or cancel with --force\n");

  await quitVm(sb.run, 'b');
  await waitFor('b\'s port to be freed', async () => (await ports('lan')).length === 1);
  assert.match((await net('cancel', 'lan')).stderr, /in use by VM a: stop them first/);

  const aPid = qemuPid(sb.run, 'a');
  const forced = await net('cancel', 'lan', '--force');
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(forced.stdout, "cancelled switch 'lan'\n  cut off: a\n");
  assert.ok(alive(aPid), 'the VM keeps running, without its network');
  for (const f of ['lan', 'lan.mgmt', 'lan.pid', 'lan.json']) {
    assert.throws(() => statSync(join(sb.run, 'net', f)), { code: 'ENOENT' }, f);
  }
  await quitVm(sb.run, 'a');

  assert.equal((await net('create', 'lan')).code, 0);
  await startWrapper(b, sb.env);
  await waitFor('b on the switch', async () => (await ports('lan')).some((x) => x.vm === 'b'));
  assert.match((await net('cancel', 'lan')).stderr, /in use by VM b:/);
  await quitVm(sb.run, 'b');
  await waitFor('b\'s port to be freed', async () => (await ports('lan')).length === 0);
  const done = await net('cancel', 'lan', '--json');
  assert.equal(done.code, 0, done.stderr);
  assert.deepEqual(JSON.parse(done.stdout), { name: 'lan', detached: [], removed: [] });
  assert.equal((await net('list')).stdout, 'no VDE switches (make one: vmdeck net create NAME)\n');
  const missing = await net('info', 'lan');
  assert.equal(missing.stderr, "vmdeck net: name: no switch 'lan' (make it with: vmdeck net create lan)\n");
});
