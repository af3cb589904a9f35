// Disks and NICs changed while a q35 VM runs (the Linux templates' machine):
// q35's PCIe root bus takes no hot-plugged device, so the wrapper puts each
// extra disk and NIC on a root port of its own and leaves spare ports for
// those added live. A disk added while the VM was stopped is removed live,
// a disk and a NIC are added live and seen by the guest at once; a disk
// added where a removed one left its image gets the next free name.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
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
const dir = () => join(sb.home, 'vms/qv');
const config = () => readFileSync(join(dir(), 'qv.ctys'), 'utf8');

before(async () => {
  sb = sandbox('devq35');
  sb.enter();
  await createGuestVm(sb.env, 'qv');
  const q35 = await vmdeck(['set', 'qv', 'MACHINE=q35'], sb.env);
  assert.equal(q35.code, 0, q35.stderr);
  server = await spawnServer(sb);
});
after(async () => {
  shell?.close();
  await quitVm(sb.run, 'qv').catch(() => undefined);
  await server?.kill();
  sb.cleanup();
});

// Markers the guest's shell computes ($((1+1))), so that its echo of the command never matches.
async function guestDisks(): Promise<string[]> {
  const out = await shell!.run('for d in /sys/block/vd*; do echo "D$((1+1)) $(cat $d/serial 2>/dev/null)=$(($(cat $d/size) / 2048))"; done; echo "Z$((1+1))"', /D2[\s\S]*?Z2/);
  return [...out.matchAll(/D2 ([^=\r\n]*)=(\d+)/g)].map((m) => `${m[1]}=${m[2]}`).sort();
}
async function guestNics(): Promise<string[]> {
  const out = await shell!.run('echo "B$((1+1)) $(ls /sys/class/net | tr \'\\n\' \' \') E$((1+1))"', /B2 [^\r\n]*E2/);
  return /B2 ([^\r\n]*)E2/.exec(out)![1].trim().split(/\s+/).filter((x) => x !== 'lo').sort();
}

test('a disk added while stopped goes on a root port of its own, spare ports after it', async () => {
  const add = await vmdeck(['disk', 'qv', 'add', '--size', '32M'], sb.env);
  assert.equal(add.code, 0, add.stderr);
  const argv: string[] = (await api(server.base, 'GET', '/api/vms/qv')).json.argv;
  assert.ok(argv.includes('virtio-blk-pci,drive=hd1,id=disk1,serial=disk1,bus=hp1'), argv.join(' '));
  const ports = argv.filter((a) => a.startsWith('pcie-root-port,'));
  assert.equal(ports.length, 1 + 8, ports.join(' '));
  assert.equal(ports[0], 'pcie-root-port,id=hp1,bus=pcie.0,chassis=1,addr=18.0,multifunction=on');
  assert.equal(ports[8], 'pcie-root-port,id=hp9,bus=pcie.0,chassis=9,addr=19.0,multifunction=on');
  const started = await vmdeck(['start', 'qv'], sb.env);
  assert.equal(started.code, 0, started.stderr);
  shell = await guestShell(sb.run, 'qv');
  assert.deepEqual(await guestDisks(), ['=64', 'disk1=32']);
});

test('while it runs: disk 1 removed, a disk and a NIC added on spare ports and seen by the guest at once', async () => {
  const removed = await api(server.base, 'DELETE', '/api/vms/qv/disks/1');
  assert.equal(removed.status, 200, removed.text);
  assert.equal(removed.json.live, true);
  assert.deepEqual(await guestDisks(), ['=64']);
  // Its image stays; the next disk 1 is made under the next free name.
  assert.ok(existsSync(join(dir(), 'qv-disk1.qcow2')));
  const disk = await api(server.base, 'POST', '/api/vms/qv/disks', { size: '16M' });
  assert.equal(disk.status, 201, disk.text);
  assert.deepEqual([disk.json.live, disk.json.device.index, disk.json.device.file], [true, 1, 'qv-disk1-2.qcow2']);
  await waitFor('the guest to see the new disk 1', async () => (await guestDisks()).length === 2, 30000);
  assert.deepEqual(await guestDisks(), ['=64', 'disk1=16']);
  const nic = await api(server.base, 'POST', '/api/vms/qv/nics', {});
  assert.equal(nic.status, 201, nic.text);
  assert.equal(nic.json.live, true);
  await waitFor('the guest to see eth1', async () => (await guestNics()).length === 2, 30000);
  const gone = await vmdeck(['nic', 'qv', 'remove', '1'], sb.env);
  assert.equal(gone.code, 0, gone.stderr);
  assert.deepEqual(await guestNics(), ['eth0']);
  assert.match(config(), /^HDDBOOTIMAGE1='qv-disk1-2\.qcow2'$/m);
  assert.match(config(), /^NIC1=''$/m);
});
