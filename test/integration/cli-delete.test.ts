// vmdeck delete: what the dashboard's Delete does, from a terminal. Refused
// while the VM runs (nothing goes); stopped, its files and runtime dir go and
// its disk is kept beside it, or goes too with --disks.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { demoVmEnv, sandbox } from '../helpers/guest';
import { vmdeck } from '../helpers/lifecycle';

const sb = sandbox('delete');
const env = { ...sb.env, ...demoVmEnv() };
const vms = join(sb.home, 'vms');

before(async () => {
  for (const label of ['keepdisk', 'alldisks']) {
    const made = await vmdeck(['create-conf', '--label', label, '--template', 'kernel-initrd', '--auto-all'], env);
    assert.equal(made.code, 0, made.stderr);
  }
});

after(async () => {
  await vmdeck(['cancel', 'keepdisk', '--force'], env);
  sb.cleanup();
});

test('delete is refused while the VM runs, in one line naming it; stopped, its files and logs go, its disk is kept beside them', async () => {
  const started = await vmdeck(['start', 'keepdisk'], env);
  assert.equal(started.code, 0, started.stderr);
  const refused = await vmdeck(['delete', 'keepdisk'], env);
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr, "vmdeck delete: label: VM 'keepdisk' is running; stop it before deleting it\n");
  assert.deepEqual(readdirSync(join(vms, 'keepdisk')).sort(), ['keepdisk.ctys', 'keepdisk.qcow2', 'keepdisk.sh']);

  const stopped = await vmdeck(['cancel', 'keepdisk', '--force'], env);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.ok(existsSync(join(sb.run, 'keepdisk', 'serial.log')), 'the run left its logs');
  const gone = await vmdeck(['delete', 'keepdisk'], env);
  assert.equal(gone.code, 0, gone.stderr);
  const kept = readdirSync(vms).filter((n) => n.startsWith('keepdisk-keepdisk.qcow2.'));
  assert.equal(kept.length, 1, readdirSync(vms).join(', '));
  assert.equal(gone.stdout, `VM 'keepdisk' deleted\n  its disk is kept as ${join(vms, kept[0])}\n`);
  assert.ok(!existsSync(join(vms, 'keepdisk')), 'its directory went');
  assert.ok(!existsSync(join(sb.run, 'keepdisk')), 'its runtime dir and logs went');
  const listed = await vmdeck(['enumerate', '--json'], env);
  assert.ok(!JSON.parse(listed.stdout).some((v: { label: string }) => v.label === 'keepdisk'));

  const again = await vmdeck(['delete', 'keepdisk'], env);
  assert.equal(again.code, 1);
  assert.equal(again.stderr, `vmdeck delete: label: no VM 'keepdisk' under ${vms}\n`);
});

test('delete --disks takes the disk too; --json says what went', async () => {
  const gone = await vmdeck(['delete', 'alldisks', '--disks', '--json'], env);
  assert.equal(gone.code, 0, gone.stderr);
  assert.deepEqual(JSON.parse(gone.stdout), { deleted: 'alldisks' });
  assert.ok(!existsSync(join(vms, 'alldisks')));
  assert.deepEqual(readdirSync(vms).filter((n) => n.includes('alldisks')), []);
});
