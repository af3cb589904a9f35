// The VM store on real files: deleting a VM removes only that VM's files,
// wherever its config sits.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createVm, deleteVmFiles, enumerate, findVm } from '../../server/store';
import { sandbox } from '../helpers/guest';

const sb = sandbox('store');
const base = () => join(sb.home, 'vms');
const kernel = () => join(sb.home, 'vmlinuz');
const env = (extra: Record<string, string> = {}) => ({ ACCELERATOR: 'QEMU', INST_KERNEL: kernel(), ...extra });

before(() => {
  sb.enter();
  mkdirSync(sb.home, { recursive: true });
  writeFileSync(kernel(), 'not really a kernel');
});
after(() => sb.cleanup());

const STAMP = '20240102030405';

test('deleting a VM whose config sits directly in a base removes only its own files; the base and its other VMs stay', async () => {
  await createVm({ label: 'neighbour', template: 'kernel-initrd', env: env(), base: base() });
  // A ctys-made VM flat in the base: made elsewhere, its files moved up.
  const elsewhere = join(sb.home, 'elsewhere');
  await createVm({ label: 'flat', template: 'kernel-initrd', env: env(), base: elsewhere });
  for (const n of ['flat.ctys', 'flat.sh', 'flat.qcow2']) renameSync(join(elsewhere, 'flat', n), join(base(), n));
  for (const n of [`flat.ctys.${STAMP}`, `flat.sh.${STAMP}`, 'flat.suspend.resumed', 'notes.txt', 'flatter.ctys.txt']) {
    writeFileSync(join(base(), n), 'x');
  }

  const vm = await findVm('flat', [base()]);
  assert.equal(vm.dir, base());
  const { keptDisk } = await deleteVmFiles(vm, false);

  assert.ok(existsSync(base()), 'the base is still there');
  const left = readdirSync(base()).sort();
  assert.ok(keptDisk && existsSync(keptDisk), `the disk is kept (${keptDisk})`);
  assert.equal(keptDisk!.startsWith(`${base()}/`), true, 'kept beside what stays, not moved out of the base');
  assert.deepEqual(left.filter((n) => n !== keptDisk!.slice(base().length + 1)), ['flatter.ctys.txt', 'neighbour', 'notes.txt']);
  assert.deepEqual(readdirSync(join(base(), 'neighbour')).sort(), ['neighbour.ctys', 'neighbour.qcow2', 'neighbour.sh']);
  assert.deepEqual((await enumerate([base()])).map((v) => v.label), ['neighbour']);
});

test('deleting a VM in its own directory removes the directory once empty, keeps a stranger\'s file, and disks=delete removes the disk', async () => {
  const { vm: own } = await createVm({ label: 'own', template: 'kernel-initrd', env: env(), base: base() });
  writeFileSync(join(own.dir, `own.ctys.${STAMP}`), 'old config');
  writeFileSync(join(own.dir, 'own.suspend'), 'state');
  const { keptDisk } = await deleteVmFiles(own, false);
  assert.ok(!existsSync(own.dir), 'the emptied VM directory is gone');
  assert.equal(keptDisk, join(base(), readdirSync(base()).find((n) => n.startsWith('own-own.qcow2.'))!), 'the disk is moved aside into the base');

  const { vm: mixed } = await createVm({ label: 'mixed', template: 'kernel-initrd', env: env(), base: base() });
  writeFileSync(join(mixed.dir, 'README'), 'the user\'s own notes');
  mkdirSync(join(mixed.dir, 'iso'));
  const r = await deleteVmFiles(mixed, true);
  assert.equal(r.keptDisk, undefined);
  assert.deepEqual(readdirSync(mixed.dir).sort(), ['README', 'iso'], 'only the VM\'s files went');
  assert.equal(readFileSync(join(mixed.dir, 'README'), 'utf8'), 'the user\'s own notes');
});
