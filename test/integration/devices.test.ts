// Disks and NICs as lists (issue 12): a second disk and NIC written by
// `vmdeck disk|nic add` are seen by the guest after a start (/sys/block,
// /sys/class/net); added through the API while the VM runs they are seen at
// once (QMP hot-plug), and written to the config so the next start agrees;
// a running VM's disk grown live is seen by the guest at its new size.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sandbox, type Sandbox } from '../helpers/guest';
import { createGuestVm, vmdeck } from '../helpers/lifecycle';
import type { SocketTerminal } from '../helpers/serial';
import { api, spawnServer, type ChildServer } from '../helpers/server';
import { guestShell, quitVm, waitFor } from '../helpers/vms';

let sb: Sandbox;
let server: ChildServer;
let shell: SocketTerminal | undefined;
const config = () => readFileSync(join(sb.home, 'vms/dv/dv.ctys'), 'utf8');

before(async () => {
  sb = sandbox('devices');
  sb.enter();
  await createGuestVm(sb.env, 'dv');
  server = await spawnServer(sb);
});
after(async () => {
  shell?.close();
  await server?.kill();
  sb.cleanup();
});

// Markers the guest's shell computes ($((1+1))), so that its echo of the command never matches.
/** What the guest lists in a /sys directory, sorted (lo aside). */
async function guestLs(dir: string): Promise<string[]> {
  const out = await shell!.run(`echo "B$((1+1)) $(ls ${dir} | tr '\\n' ' ') E$((1+1))"`, /B2 [^\r\n]*E2/);
  return /B2 ([^\r\n]*)E2/.exec(out)![1].trim().split(/\s+/).filter((x) => x !== 'lo').sort();
}

/**
 * The guest's disks as serial=MiB, sorted: the first disk has no serial
 * (''), disk N's is diskN (the guest's vdX order follows PCI slots, not N).
 */
async function guestDisks(): Promise<string[]> {
  const out = await shell!.run('for d in /sys/block/vd*; do echo "D$((1+1)) $(cat $d/serial 2>/dev/null)=$(($(cat $d/size) / 2048))"; done; echo "Z$((1+1))"', /D2[\s\S]*?Z2/);
  return [...out.matchAll(/D2 ([^=\r\n]*)=(\d+)/g)].map((m) => `${m[1]}=${m[2]}`).sort();
}

test('a second disk and NIC from the CLI: numbered config names, seen by the guest after a start', async () => {
  const disk = await vmdeck(['disk', 'dv', 'add', '--size', '32M'], sb.env);
  assert.equal(disk.code, 0, disk.stderr);
  assert.match(disk.stdout, /^VM 'dv': disk 1 dv-disk1\.qcow2 \(virtio\) added; wrote HDDBOOTIMAGE1='dv-disk1\.qcow2' HDDBOOTIMAGE1_FORMAT='qcow2' HDDBOOTIMAGE1_IF='virtio'$/m);
  const nic = await vmdeck(['nic', 'dv', 'add', '--model', 'virtio-net-pci', '--net', 'user'], sb.env);
  assert.equal(nic.code, 0, nic.stderr);
  const text = config();
  assert.match(text, /^HDDBOOTIMAGE1='dv-disk1\.qcow2'$/m);
  assert.match(text, /^NIC1='virtio-net-pci'$/m);
  const mac1 = /^MAC1='([0-9a-f:]{17})'$/m.exec(text)![1];
  assert.notEqual(mac1, /^MAC0='(.*)'$/m.exec(text)![1], 'a MAC of its own');
  const bad = await vmdeck(['nic', 'dv', 'add', '--net', 'wifi'], sb.env);
  assert.equal(bad.stderr, "vmdeck nic: net: 'wifi' is not one of user, vde:SWITCH, tap:IF, none\n");
  const vm = (await api(server.base, 'GET', '/api/vms/dv')).json.vm;
  assert.deepEqual(vm.disks.map((d: { index: number; interface: string }) => [d.index, d.interface]), [[0, 'virtio'], [1, 'virtio']]);
  assert.deepEqual(vm.nics.map((n: { index: number; mac: string }) => [n.index, n.mac]), [[0, vm.mac], [1, mac1]]);

  assert.equal((await vmdeck(['start', 'dv'], sb.env)).code, 0);
  shell = await guestShell(sb.run, 'dv', 120000);
  assert.deepEqual(await guestDisks(), ['=64', 'disk1=32']);
  assert.deepEqual(await guestLs('/sys/class/net'), ['eth0', 'eth1']);
  const mac = await shell.run('cat /sys/class/net/eth1/address', /[0-9a-f:]{17}/);
  assert.ok(mac.includes(mac1), mac);
});

test('added through the API while the VM runs: seen at once, written to the config, nothing pending', async () => {
  // An add cut short (its server killed while qemu-img made the image) left its image under a hidden name: no refusal of this one.
  const dead = join(sb.home, 'vms/dv/.dv-disk2.qcow2.part-999999');
  writeFileSync(dead, '');
  const disk = await api(server.base, 'POST', '/api/vms/dv/disks', { size: '16M' });
  assert.equal(existsSync(dead), false, 'the dead add\'s image is gone');
  assert.equal(disk.status, 201, disk.text);
  assert.equal(disk.json.live, true);
  assert.equal(disk.json.device.index, 2);
  await waitFor('the guest to see disk 2', async () => (await guestDisks()).length === 3, 30000);
  assert.deepEqual(await guestDisks(), ['=64', 'disk1=32', 'disk2=16']);
  const nic = await api(server.base, 'POST', '/api/vms/dv/nics', {});
  assert.equal(nic.status, 201, nic.text);
  assert.equal(nic.json.live, true);
  await waitFor('the guest to see eth2', async () => (await guestLs('/sys/class/net')).includes('eth2'), 30000);
  assert.match(config(), /^HDDBOOTIMAGE2='dv-disk2\.qcow2'$/m);
  assert.match(config(), /^NIC2='virtio-net-pci'$/m);
  const ide = await api(server.base, 'POST', '/api/vms/dv/disks', { interface: 'ide' });
  assert.deepEqual([ide.status, ide.json.field], [409, 'interface']);
  assert.equal((await api(server.base, 'GET', '/api/vms/dv')).json.vm.pending, undefined, 'a live change is not pending');
});

test('a running VM\'s disk grown: the guest sees the new size without a restart; a shrink needs the VM\'s name', async () => {
  const grown = await api(server.base, 'POST', '/api/vms/dv/disks/1/resize', { size: '48M' });
  assert.equal(grown.status, 200, grown.text);
  assert.equal(grown.json.live, true);
  await waitFor('disk 1 at 48 MiB', async () => (await guestDisks()).includes('disk1=48'), 20000);
  const shrink = await vmdeck(['disk', 'dv', 'resize', '1', '16M'], sb.env);
  assert.equal(shrink.code, 1);
  assert.match(shrink.stderr, /^vmdeck disk: size: 16M is smaller than disk 1's 48 MiB \(50331648 bytes\); shrinking loses the data past the new end: confirm with the VM's name \(--shrink=dv; in the dashboard, the Resize form's "To shrink" field\)\n$/);
  assert.deepEqual(await guestDisks(), ['=64', 'disk1=48', 'disk2=16']);
});

test('removed while running: only the last one, unplugged from the guest and the config', async () => {
  const middle = await vmdeck(['disk', 'dv', 'remove', '1'], sb.env);
  assert.equal(middle.stderr, "vmdeck disk: disk: VM 'dv' runs: only its last disk (2) can be removed now; stop it to remove 1\n");
  const first = await api(server.base, 'DELETE', '/api/vms/dv/disks/0');
  assert.deepEqual([first.status, first.json.error], [400, 'disk: disk 0 is the first disk (HDDBOOTIMAGE): change it with vmdeck set HDDBOOTIMAGE=…']);
  const disk = await api(server.base, 'DELETE', '/api/vms/dv/disks/2');
  assert.equal(disk.status, 200, disk.text);
  assert.equal(disk.json.live, true);
  assert.deepEqual(await guestDisks(), ['=64', 'disk1=48']);
  const nic = await vmdeck(['nic', 'dv', 'remove', '2'], sb.env);
  assert.equal(nic.code, 0, nic.stderr);
  assert.deepEqual(await guestLs('/sys/class/net'), ['eth0', 'eth1']);
  assert.match(config(), /^HDDBOOTIMAGE2=''$/m);
  assert.match(config(), /^NIC2=''$/m);
  const vm = (await api(server.base, 'GET', '/api/vms/dv')).json.vm;
  assert.deepEqual([vm.disks.length, vm.nics.length, vm.pending], [2, 2, undefined]);
  // QEMU loads a saved state only into the same machine, and hot-plugged devices sit where a start would not put them:
  // a suspend now would leave the VM stuck suspended (a hot-added NIC's ROM: "Unknown ramblock"). It is refused.
  const suspend = await vmdeck(['cancel', 'dv', '--suspend'], sb.env);
  assert.equal(suspend.code, 1, suspend.stdout);
  assert.equal(suspend.stderr, "vmdeck cancel: suspend: VM 'dv' had hardware changed while it ran (disk 2 added, NIC 2 added, disk 2 removed, NIC 2 removed): its saved state would not load into the VM its next start makes; stop it and start it again (the start takes the change), then suspend; it keeps running\n");
  assert.equal((await api(server.base, 'GET', '/api/vms/dv')).json.vm.state, 'running');
});

test('the next start agrees with what ran: two disks, two NICs; stopped, a middle one can go, the later ones move down', async () => {
  shell!.close();
  shell = undefined;
  await quitVm(sb.run, 'dv');
  assert.equal((await vmdeck(['start', 'dv'], sb.env)).code, 0);
  shell = await guestShell(sb.run, 'dv', 120000);
  assert.deepEqual(await guestDisks(), ['=64', 'disk1=48']);
  assert.deepEqual(await guestLs('/sys/class/net'), ['eth0', 'eth1']);
  shell.close();
  shell = undefined;
  await quitVm(sb.run, 'dv');
  // Disk 2's image was kept when it was removed: a new disk 2 is made under the next free name, never over it
  // (the dashboard's Add disk has only a size), and the kept one is taken back by name.
  const again = await vmdeck(['disk', 'dv', 'add', '--size', '8M'], sb.env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(config(), /^HDDBOOTIMAGE2='dv-disk2-2\.qcow2'$/m);
  assert.equal((await vmdeck(['disk', 'dv', 'remove', '2'], sb.env)).code, 0);
  assert.equal((await vmdeck(['disk', 'dv', 'add', '--file', 'dv-disk2.qcow2'], sb.env)).code, 0);
  const removed = await vmdeck(['disk', 'dv', 'remove', '1'], sb.env);
  assert.match(removed.stdout, /^VM 'dv': disk 1 removed \(its image dv-disk1\.qcow2 is kept\)$/m);
  assert.match(config(), /^HDDBOOTIMAGE1='dv-disk2\.qcow2'$/m);
  assert.match(config(), /^HDDBOOTIMAGE2=''$/m);
  assert.deepEqual((await api(server.base, 'GET', '/api/vms/dv')).json.vm.disks.map((d: { file: string }) => d.file), ['dv.qcow2', 'dv-disk2.qcow2']);
});

test("an image that is a disk already, of this VM or another, is refused, through its real path; nothing is written", async () => {
  await createGuestVm(sb.env, 'dv2');
  const own = (await api(server.base, 'GET', '/api/vms/dv2')).json.vm;
  const other = (await api(server.base, 'GET', '/api/vms/dv')).json.vm;
  const before = readFileSync(join(sb.home, 'vms/dv2/dv2.ctys'), 'utf8');
  const cli = await vmdeck(['disk', 'dv2', 'add', '--file', own.disks[0].file], sb.env);
  assert.deepEqual([cli.code, cli.stderr], [1, `vmdeck disk: file: '${own.disk}' is disk 0 of VM 'dv2' already\n`]);
  // The same file by another path (../dv2/…) is the same image.
  const again = await vmdeck(['disk', 'dv2', 'add', '--file', `../dv2/${own.disks[0].file}`], sb.env);
  assert.equal(again.code, 1, again.stdout);
  const theirs = await api(server.base, 'POST', '/api/vms/dv2/disks', { file: other.disk });
  assert.deepEqual([theirs.status, theirs.json], [409, { error: `file: '${other.disk}' is disk 0 of VM 'dv': attach a copy of it, or both read-only (two VMs writing one image corrupt it)`, field: 'file' }]);
  assert.equal(readFileSync(join(sb.home, 'vms/dv2/dv2.ctys'), 'utf8'), before);
  // Read-only on both sides is allowed: QEMU shares an image between readers.
  const shared = join(sb.home, 'shared.raw');
  writeFileSync(shared, Buffer.alloc(1024 * 1024));
  assert.equal((await vmdeck(['disk', 'dv', 'add', '--file', shared, '--readonly'], sb.env)).code, 0);
  const writable = await vmdeck(['disk', 'dv2', 'add', '--file', shared], sb.env);
  assert.equal(writable.code, 1, 'a writer beside a reader');
  const reader = await vmdeck(['disk', 'dv2', 'add', '--file', shared, '--readonly'], sb.env);
  assert.equal(reader.code, 0, reader.stderr);
});
