// A ctys-made VM directory (config and ctys's wrapper, no ctys framework)
// run as it is: vmdeck's own wrapper body runs the config with ctys's
// meanings, the VM boots the test guest on a VDE switch, answers on serial,
// shows in list and the API, and is cancelled; the ctys files stay
// byte-identical and ctys's wrapper is never run (it leaves WRAPPER-RAN).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createSwitch } from '../../server/net';
import { vmdeck } from '../helpers/cli';
import { writeCtysVm, type CtysVm } from '../helpers/ctys';
import { guestImages, sandbox, type Sandbox } from '../helpers/guest';
import { api, spawnServer, type ChildServer } from '../helpers/server';
import { guestShell } from '../helpers/vms';

let sb: Sandbox;
let server: ChildServer;
let vm: CtysVm;
let env: NodeJS.ProcessEnv;
const sums = new Map<string, string>();
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

before(async () => {
  sb = sandbox('ctysrun');
  sb.enter();
  const base = join(sb.home, 'ctys');
  env = { ...sb.env, VMDECK_BASES: base };
  process.env.VMDECK_BASES = base;
  const g = guestImages();
  await createSwitch('ctysnet');
  // The test guest as a user adapts a ctys config: its kernel and initrd,
  // and the switch it is on. ACCELERATOR=QEMU: this host's /dev/kvm
  // (kvm_pvm) cannot run ordinary guests.
  vm = writeCtysVm(base, 'legacy1', {
    LABEL: 'legacy1', UUID: '5d2a6c3e4c1a11df8bd30050561311a7', MAC: '00:50:56:13:11:a7', IP: '172.20.6.17',
    // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
    ACCELERATOR: 'QEMU', MEMSIZE: '256', DIST: 'debian', RELEASE: '12', OS_: 'Linux',
  }, [`KERNELIMAGE='${g.kernel}'`, `INITRDIMAGE='${g.initrd}'`, `APPEND='${g.append}'`, 'QEMUSOCK=ctysnet'].join('\n'));
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(vm.dir, 'hda.img'), '64M']);
  for (const f of [vm.config, vm.wrapper, join(vm.dir, 'hda.img')]) sums.set(f, sha(f));
  server = await spawnServer(sb, 0, { VMDECK_BASES: base });
});
after(async () => {
  await server?.kill();
  sb.cleanup();
});

const untouched = () => {
  assert.equal(existsSync(vm.ranMarker), false, `ctys's wrapper was run: ${existsSync(vm.ranMarker) ? readFileSync(vm.ranMarker, 'utf8') : ''}`);
  for (const [f, sum] of sums) if (!f.endsWith('hda.img')) assert.equal(sha(f), sum, `${f} changed`);
};

test("viewing a ctys VM's page runs nothing from its directory, and shows vmdeck's command for it", async () => {
  const r = await api(server.base, 'GET', '/api/vms/legacy1');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.vm.source, 'ctys');
  assert.equal(r.json.vm.disk, join(vm.dir, 'hda.img'));
  const argv: string[] = r.json.argv;
  assert.ok(argv, r.json.argvError);
  // ctys's meanings: HDD is VHDD, the kernel booted with the disk (on IDE, as ctys's -hda), the NIC on the switch.
  assert.equal(argv[argv.indexOf('-kernel') + 1], guestImages().kernel);
  assert.equal(argv[argv.indexOf('-initrd') + 1], guestImages().initrd);
  assert.ok(argv.includes(`file=${join(vm.dir, 'hda.img')},format=qcow2,if=ide,index=0,media=disk,id=hd0`), argv.join(' '));
  assert.ok(argv.some((a) => a.startsWith(`vde,sock=${join(sb.run, 'net', 'ctysnet')},model=rtl8139,mac=00:50:56:13:11:a7`)), argv.join(' '));
  assert.equal(r.json.problem, undefined);
  // The devices the API (and the Devices card) shows are those argv gives QEMU, with ctys's meanings:
  // vmdeck's own defaults would say a virtio raw disk and a NIC on user networking.
  assert.deepEqual(r.json.vm.disks.map((d: { file: string; format: string; interface: string }) => [d.file, d.format, d.interface]),
    [[join(vm.dir, 'hda.img'), 'qcow2', 'ide']]);
  assert.deepEqual(r.json.vm.nics.map((n: { netmode: string; vdeSwitch: string; mac: string }) => [n.netmode, n.vdeSwitch, n.mac]),
    [['vde', 'ctysnet', '00:50:56:13:11:a7']]);
  // The machine's buses as the wrapper's machines cache has them (its first start writes it), read again when it changes.
  const machines = join(sb.run, 'machines');
  const cacheFile = join(machines, `${execFileSync('bash', ['-c', 'type -P qemu-system-x86_64']).toString().trim().replaceAll('/', '_')}.default`);
  // (The page's --print above asked QEMU already: the real one is put back after.)
  const real = existsSync(cacheFile) ? readFileSync(cacheFile) : null;
  mkdirSync(machines, { recursive: true, mode: 0o700 });
  writeFileSync(cacheFile, 'System main-system-bus PCI pci.0 virtio-bus\n');
  try {
    const noIde = await api(server.base, 'GET', '/api/vms/legacy1');
    assert.equal(noIde.json.vm.disks[0].interface, 'virtio', 'a machine without IDE: the disk on PCI, as the wrapper puts it');
  } finally {
    if (real) writeFileSync(cacheFile, real);
    else rmSync(cacheFile);
  }
  assert.equal((await api(server.base, 'GET', '/api/vms/legacy1')).json.vm.disks[0].interface, 'ide');
  const list = await api(server.base, 'GET', '/api/vms');
  assert.deepEqual(list.json.find((v: { label: string }) => v.label === 'legacy1').interfaces,
    [{ index: 0, mac: '00:50:56:13:11:a7', ip: '172.20.6.17', netmask: '', relay: '', ifname: '0', sshport: '', gateway: '' }]);
  untouched();
});

test('vmdeck start boots it, the serial console answers, list and the API show it, vmdeck cancel ends it', async () => {
  const started = await vmdeck(['start', 'legacy1'], env, { timeoutMs: 90000 });
  assert.equal(started.code, 0, started.stderr);
  const t = await guestShell(sb.run, 'legacy1');
  try {
    t.write('echo ctys-$((6*7))\r');
    await t.waitFor(/ctys-42/, 20000);
  } finally {
    t.close();
  }
  const listed = await vmdeck(['list', '--json'], env);
  const row = JSON.parse(listed.stdout).find((v: { label: string }) => v.label === 'legacy1');
  assert.ok(row, listed.stdout);
  assert.equal(row.config, vm.config);
  const shown = await api(server.base, 'GET', '/api/vms/legacy1');
  assert.equal(shown.json.vm.state, 'running');
  // ctys's own suboption strings, as scripts written for ctys call it.
  const again = await vmdeck(['start', '-a', 'create=l:legacy1,reuse,console:vnc'], env, { timeoutMs: 60000 });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^VM 'legacy1' is running \(pid \d+\)\n/);
  const cancelled = await vmdeck(['cancel', '-a', `cancel=p:${vm.config},poweroff:0,force`], env, { timeoutMs: 60000 });
  assert.equal(cancelled.code, 0, cancelled.stderr);
  assert.equal((await api(server.base, 'GET', '/api/vms/legacy1')).json.vm.state, 'stopped');
  untouched();
});

test('a ctys VM whose VDE switch is not there is refused in one line naming vmdeck net create', async () => {
  // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
  const lone = writeCtysVm(join(sb.home, 'ctys'), 'noswitch', { LABEL: 'noswitch', MAC: '00:50:56:13:11:a8', ACCELERATOR: 'QEMU' });
  execFileSync('qemu-img', ['create', '-q', '-f', 'raw', join(lone.dir, 'hda.img'), '1M']);
  // Its NIC is on ctys-setupVDE's switch, as the start's refusal says; `NIC=` (set, empty) is a VM with none.
  const shown = await api(server.base, 'GET', '/api/vms/noswitch');
  assert.deepEqual(shown.json.vm.nics.map((n: { netmode: string; vdeSwitch: string }) => [n.netmode, n.vdeSwitch]),
    [['vde', `/var/tmp/vde_switch0.${userInfo().username}`]]);
  assert.equal(shown.json.vm.disks[0]?.format, 'raw');
  const nonic = writeCtysVm(join(sb.home, 'ctys'), 'nonic', { LABEL: 'nonic', MAC: '00:50:56:13:11:aa', ACCELERATOR: 'QEMU' }, 'NIC=');
  const none = await api(server.base, 'GET', '/api/vms/nonic');
  assert.deepEqual(none.json.vm.nics, [], JSON.stringify(none.json.vm.nics));
  const argv: string[] = none.json.argv ?? [];
  assert.equal(argv[argv.indexOf('-nic') + 1], 'none', none.json.argvError ?? argv.join(' '));
  assert.equal(existsSync(nonic.ranMarker), false);
  const r = await vmdeck(['start', 'noswitch'], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^vmdeck start: QEMUSOCK: VDE switch '\/var\/tmp\/vde_switch0\.[^']*' is not running \(.*vmdeck net create NAME.*\)\n$/);
  const adopt = await vmdeck(['start', 'legacy1', '--ctys-wrapper'], env);
  assert.equal(adopt.code, 1);
  assert.match(adopt.stderr, /^vmdeck start: --ctys-wrapper: .*\n$/);
  assert.equal(existsSync(lone.ranMarker), false);
  untouched();
});

test('a ctys VM on a fresh raw disk (all zeros, 2 GiB) has its format found at once, from its first bytes', async () => {
  // The wrapper read the disk for 4 bytes with bash's read -N, which drops NULs: it read the whole zero-filled
  // image looking for 4 others (7 s for 64 MiB), and the VM page met the server's 10 s bound with a generic error.
  // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
  const fresh = writeCtysVm(join(sb.home, 'ctys'), 'freshraw', { LABEL: 'freshraw', MAC: '00:50:56:13:11:a9', ACCELERATOR: 'QEMU' }, 'QEMUSOCK=ctysnet');
  execFileSync('truncate', ['-s', '2G', join(fresh.dir, 'hda.img')]);
  const r = await api(server.base, 'GET', '/api/vms/freshraw');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.problem, undefined, r.json.problem);
  assert.ok(r.json.argv?.includes(`file=${join(fresh.dir, 'hda.img')},format=raw,if=ide,index=0,media=disk,id=hd0`), r.json.argvError ?? r.json.argv?.join(' '));
  untouched();
});

test("a ctys config whose disk is a FIFO is listed at once: its first bytes are read from regular files only, as the wrapper's -f", async () => {
  const fifo = writeCtysVm(join(sb.home, 'ctys'), 'fifo', { LABEL: 'fifo', MAC: '00:50:56:13:11:ab', ACCELERATOR: 'QEMU' }, 'QEMUSOCK=ctysnet');
  execFileSync('mkfifo', [join(fifo.dir, 'hda.img')]);
  const t0 = Date.now();
  const list = await api(server.base, 'GET', '/api/vms');
  assert.equal(list.status, 200, list.text);
  assert.ok(list.json.some((v: { label: string }) => v.label === 'fifo'));
  assert.ok(Date.now() - t0 < 5000, `listed in ${Date.now() - t0} ms`);
});
