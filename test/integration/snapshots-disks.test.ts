// A snapshot is of the whole VM: every writable disk is in it, whether it is
// taken while the VM runs (QEMU's savevm, with the RAM) or stopped (qemu-img
// on each image), and the list is the same both ways (QEMU lists a snapshot
// only when every disk has it). Real QEMU (TCG) and qemu-img.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sandbox, type Sandbox } from '../helpers/guest';
import { createGuestVm, vmdeck } from '../helpers/lifecycle';
import { quitVm } from '../helpers/vms';

let sb: Sandbox;
const image = (name: string) => join(sb.home, 'vms/sn', name);
/** The snapshot names in an image, as qemu-img has them. */
const inImage = (name: string) => (JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', image(name)], { encoding: 'utf8' })).snapshots ?? [])
  .map((s: { name: string }) => s.name).sort();
const listed = async () => {
  const r = await vmdeck(['snapshot', 'sn', 'list', '--json'], sb.env);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { name: string }[]).map((s) => s.name).sort();
};

before(async () => {
  sb = sandbox('snapdisks');
  await createGuestVm(sb.env, 'sn');
  const disk = await vmdeck(['disk', 'sn', 'add', '--size', '16M'], sb.env);
  assert.equal(disk.code, 0, disk.stderr);
});
after(async () => {
  await quitVm(sb.run, 'sn').catch(() => undefined);
  sb.cleanup();
});

test('stopped, a snapshot is taken of, loaded on and deleted from every disk; running, QEMU lists it and takes its own of both', async () => {
  assert.equal((await vmdeck(['snapshot', 'sn', 'save', 'cold'], sb.env)).code, 0);
  assert.deepEqual([inImage('sn.qcow2'), inImage('sn-disk1.qcow2')], [['cold'], ['cold']]);
  assert.deepEqual(await listed(), ['cold']);

  assert.equal((await vmdeck(['start', 'sn'], sb.env)).code, 0);
  assert.deepEqual(await listed(), ['cold'], "QEMU's list, which has only what every disk has");
  const hot = await vmdeck(['snapshot', 'sn', 'save', 'hot'], sb.env);
  assert.equal(hot.code, 0, hot.stderr);
  assert.deepEqual(await listed(), ['cold', 'hot']);
  await quitVm(sb.run, 'sn');

  assert.deepEqual([inImage('sn.qcow2'), inImage('sn-disk1.qcow2')], [['cold', 'hot'], ['cold', 'hot']]);
  assert.equal((await vmdeck(['snapshot', 'sn', 'load', 'cold'], sb.env)).code, 0);
  assert.equal((await vmdeck(['snapshot', 'sn', 'delete', 'cold'], sb.env)).code, 0);
  assert.deepEqual([inImage('sn.qcow2'), inImage('sn-disk1.qcow2')], [['hot'], ['hot']]);

  // One that only the first disk has (qemu-img by hand, or an older vmdeck): not loadable, so not listed; deletable.
  execFileSync('qemu-img', ['snapshot', '-c', 'half', image('sn.qcow2')]);
  assert.deepEqual(await listed(), ['hot']);
  const load = await vmdeck(['snapshot', 'sn', 'load', 'half'], sb.env);
  assert.equal(load.code, 1);
  assert.match(load.stderr, /name: VM 'sn' has no snapshot 'half'/);
  assert.equal((await vmdeck(['snapshot', 'sn', 'delete', 'half'], sb.env)).code, 0);
  assert.deepEqual(inImage('sn.qcow2'), ['hot']);
});
