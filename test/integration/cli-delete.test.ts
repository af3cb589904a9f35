// vmdeck delete: what the dashboard's Delete does, from a terminal. Refused
// while the VM runs (nothing goes); stopped, its files and runtime dir go and
// its disk is kept beside it, or goes too with --disks.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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
  const kept = readdirSync(vms).filter((n) => n.startsWith('keepdisk.qcow2.'));
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

test("delete --disks takes only the VM's own images: one outside its directory, or another VM's disk too, is left where it is", async () => {
  const victim = join(sb.home, '..', 'victim.img');
  writeFileSync(victim, 'not an image of the VM');
  const other = await vmdeck(['create-conf', '--label', 'owner', '--template', 'kernel-initrd', '--auto-all'], env);
  assert.equal(other.code, 0, other.stderr);
  const ownersDisk = join(vms, 'owner', 'owner.qcow2');
  // The first disk another VM's, a second a file outside any VM: both named by hand, as create-conf takes them.
  const made = await vmdeck(['create-conf', '--label', 'borrower', '--template', 'kernel-initrd', '--auto-all', `HDDBOOTIMAGE=${ownersDisk}`], env);
  assert.equal(made.code, 0, made.stderr);
  const added = await vmdeck(['disk', 'borrower', 'add', '--file', victim, '--json'], env);
  assert.equal(added.code, 0, added.stderr);
  // A third named through '..' from inside its directory, a fourth through a symlink in it: outside all the same.
  const dotted = `${vms}/borrower/../../../dotted.img`;
  writeFileSync(join(sb.home, '..', 'dotted.img'), 'not the VM\'s either');
  assert.equal((await vmdeck(['disk', 'borrower', 'add', '--file', dotted], env)).code, 0);
  symlinkSync(join(sb.home, '..'), join(vms, 'borrower', 'up'));
  writeFileSync(join(sb.home, '..', 'linked.img'), 'nor this');
  const linked = join(vms, 'borrower', 'up', 'linked.img');
  assert.equal((await vmdeck(['disk', 'borrower', 'add', '--file', linked], env)).code, 0);
  const gone = await vmdeck(['delete', 'borrower', '--disks', '--json'], env);
  assert.equal(gone.code, 0, gone.stderr);
  assert.deepEqual(JSON.parse(gone.stdout).leftDisks?.sort(), [ownersDisk, victim, dotted, linked].sort());
  assert.equal(readFileSync(join(sb.home, '..', 'dotted.img'), 'utf8'), 'not the VM\'s either');
  assert.equal(readFileSync(join(sb.home, '..', 'linked.img'), 'utf8'), 'nor this');
  assert.ok(existsSync(ownersDisk), "the other VM's disk is still there");
  assert.equal(readFileSync(victim, 'utf8'), 'not an image of the VM');
  // The VM itself went; its directory stays for the symlink in it, which is no file of the VM's.
  assert.deepEqual(readdirSync(join(vms, 'borrower')), ['up']);
});

test("a linked clone's source is not deleted while the clone reads through its disk; once the clone went, it is", async () => {
  const made = await vmdeck(['create-conf', '--label', 'source', '--template', 'kernel-initrd', '--auto-all'], env);
  assert.equal(made.code, 0, made.stderr);
  const cloned = await vmdeck(['clone', 'source', 'overlay', '--linked'], env);
  assert.equal(cloned.code, 0, cloned.stderr);
  for (const args of [['delete', 'source'], ['delete', 'source', '--disks']]) {
    const refused = await vmdeck(args, env);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `vmdeck delete: label: VM 'source': its disk '${join(vms, 'source', 'source.qcow2')}' is the backing file of VM 'overlay' (a linked clone); delete that VM first, or it cannot start again\n`);
    assert.deepEqual(readdirSync(join(vms, 'source')).sort(), ['source.ctys', 'source.qcow2', 'source.sh']);
  }
  // The clone deleted with its disk kept: the kept overlay still reads through the source's disk, and says so.
  const keptClone = await vmdeck(['delete', 'overlay'], env);
  assert.equal(keptClone.code, 0, keptClone.stderr);
  const kept = readdirSync(vms).find((n) => n.startsWith('overlay.qcow2.'))!;
  assert.equal(keptClone.stdout, `VM 'overlay' deleted\n  its disk is kept as ${join(vms, kept)} (an overlay: it reads through ${join(vms, 'source', 'source.qcow2')}, which must stay)\n`);
  for (const args of [['delete', 'source'], ['delete', 'source', '--disks']]) {
    const refused = await vmdeck(args, env);
    assert.deepEqual([refused.code, refused.stderr], [1, `vmdeck delete: label: VM 'source': its disk '${join(vms, 'source', 'source.qcow2')}' is the backing file of the kept disk '${join(vms, kept)}' (a deleted linked clone's); remove that file, or make it whole first (qemu-img rebase -b '' '${join(vms, kept)}'), or it cannot be read again\n`]);
    assert.deepEqual(readdirSync(join(vms, 'source')).sort(), ['source.ctys', 'source.qcow2', 'source.sh']);
  }
  rmSync(join(vms, kept));
  const now = await vmdeck(['delete', 'source', '--disks'], env);
  assert.equal(now.code, 0, now.stderr);
  assert.ok(!existsSync(join(vms, 'source')));
});
