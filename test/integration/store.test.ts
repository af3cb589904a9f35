// The VM store on real files: deleting a VM removes only that VM's files,
// wherever its config sits; creates of one label at the same moment make one
// VM, and the others are refused with 409 and leave nothing behind.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { addDisk } from '../../server/devices';
import { createVm, deleteVmFiles, enumerate, findVm } from '../../server/store';
import { sandbox } from '../helpers/guest';

const sb = sandbox('store');
const base = () => join(sb.home, 'vms');
const kernel = () => join(sb.home, 'vmlinuz');
// TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
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
  assert.equal(keptDisk, join(base(), readdirSync(base()).find((n) => n.startsWith('own.qcow2.'))!), 'the disk is moved aside into the base');

  const { vm: mixed } = await createVm({ label: 'mixed', template: 'kernel-initrd', env: env(), base: base() });
  writeFileSync(join(mixed.dir, 'README'), 'the user\'s own notes');
  mkdirSync(join(mixed.dir, 'iso'));
  const r = await deleteVmFiles(mixed, true);
  assert.equal(r.keptDisk, undefined);
  assert.deepEqual(readdirSync(mixed.dir).sort(), ['README', 'iso'], 'only the VM\'s files went');
  assert.equal(readFileSync(join(mixed.dir, 'README'), 'utf8'), 'the user\'s own notes');
});

test('deleting a VM with more disks than the first: each is kept aside (or deleted with disks=delete), and the label can be made again', async () => {
  const { vm: two } = await createVm({ label: 'two', template: 'kernel-initrd', env: env(), base: base() });
  await addDisk('two', { size: '1M' });
  const r = await deleteVmFiles(await findVm('two', [base()]), false);
  assert.ok(!existsSync(two.dir), 'the emptied VM directory is gone');
  assert.deepEqual(r.keptDisks.map((f) => f.slice(base().length + 1).replace(/\.\d{14}(-\d+)?$/, '')).sort(), ['two-disk1.qcow2', 'two.qcow2']);
  assert.equal(r.keptDisk, r.keptDisks.find((f) => f.includes('/two.qcow2.')));
  for (const f of r.keptDisks) assert.ok(existsSync(f), f);

  const { vm: gone } = await createVm({ label: 'gone', template: 'kernel-initrd', env: env(), base: base() });
  await addDisk('gone', { size: '1M' });
  const d = await deleteVmFiles(await findVm('gone', [base()]), true);
  assert.deepEqual(d.keptDisks, []);
  assert.ok(!existsSync(gone.dir), 'nothing of it is left, its second disk neither');
  assert.equal(readdirSync(base()).filter((n) => n.startsWith('gone')).length, 0);
  await createVm({ label: 'gone', template: 'kernel-initrd', env: env(), base: base() });
});

test("a VM whose config bash cannot read is named with why, not taken for no VM: an exit, a loop, no QEMU marker", async () => {
  const { vm } = await createVm({ label: 'broken', template: 'kernel-initrd', env: env(), base: base() });
  const text = readFileSync(vm.config, 'utf8');
  writeFileSync(vm.config, `${text}exit 3\n`);
  await assert.rejects(findVm('broken', [base()]), { status: 400, field: 'config', message: `config: VM 'broken' is left out, its config cannot be read: ${vm.config}: bash could not evaluate the config: it exited with status 3` });
  writeFileSync(vm.config, `${text}while :; do :; done\n`);
  await assert.rejects(findVm('broken', [base()]), { field: 'config', message: /: bash could not evaluate the config: it ran for more than 5 s \(a loop, or a command that waits\?\)$/ });
  writeFileSync(vm.config, text.replace(/^#@#MAGICID-QEMU.*$/m, '#@#MAGICID-IGNORE'));
  await assert.rejects(findVm('broken', [base()]), { field: 'config', message: `config: '${vm.config}' is no QEMU VM for ENUMERATE (no #@#MAGICID-QEMU line, or an IGNORE or NOENUM one)` });
  await assert.rejects(findVm('nosuch', [base()]), { field: 'label' });
  writeFileSync(vm.config, text);
  assert.equal((await findVm('broken', [base()])).label, 'broken');
});

test('an empty base is refused naming it, not taken for the current directory', async () => {
  for (const empty of ['', '  ']) {
    await assert.rejects(createVm({ label: 'nowhere', template: 'kernel-initrd', env: env(), base: empty }), { status: 400, field: 'base', message: `base: is empty (leave it out for the default base, ${base()})` });
  }
  assert.equal(existsSync(join(process.cwd(), 'nowhere')), false);
});

test('creates of one label at the same moment: exactly one VM, the others 409 in one line, nothing left behind', async () => {
  const results = await Promise.allSettled([1, 2, 3, 4].map(() => createVm({ label: 'race', template: 'kernel-initrd', env: env(), base: base() })));
  const ok = results.filter((r) => r.status === 'fulfilled');
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
  assert.equal(ok.length, 1, `one create succeeds; refusals: ${refused.map((e) => e.message).join(' | ')}`);
  assert.equal(refused.length, 3);
  for (const e of refused) {
    assert.equal(e.status, 409, e.message);
    assert.equal(e.field, 'label');
    assert.match(e.message, /^label: VM 'race' already exists in \S+/);
    assert.ok(!e.message.includes('\n'));
  }
  assert.deepEqual(readdirSync(join(base(), 'race')).sort(), ['race.ctys', 'race.qcow2', 'race.sh']);
  assert.deepEqual(readdirSync(base()).filter((n) => n.startsWith('.')), [], 'no temporary directory is left behind');
});

test('creates of one label racing with disks outside the VM directory: the losers remove the images they made', async () => {
  const disks = join(sb.home, 'disks');
  mkdirSync(disks);
  const results = await Promise.allSettled([1, 2, 3].map((i) => createVm({
    label: 'outside', template: 'kernel-initrd', env: env({ HDDBOOTIMAGE: join(disks, `d${i}.qcow2`) }), base: base(),
  })));
  const ok = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<Awaited<ReturnType<typeof createVm>>>[];
  assert.equal(ok.length, 1, results.map((r) => (r.status === 'rejected' ? r.reason.message : 'ok')).join(' | '));
  for (const r of results) if (r.status === 'rejected') assert.equal(r.reason.status, 409, r.reason.message);
  assert.deepEqual(readdirSync(disks), [ok[0].value.vm.disk.slice(disks.length + 1)], 'only the winner\'s disk is left');

  // One disk path for all: the image one of them made is the winner's disk, whoever made it.
  const shared = join(disks, 'shared.qcow2');
  const again = await Promise.allSettled([1, 2, 3].map(() => createVm({
    label: 'shared', template: 'kernel-initrd', env: env({ HDDBOOTIMAGE: shared }), base: base(),
  })));
  assert.equal(again.filter((r) => r.status === 'fulfilled').length, 1);
  assert.ok(existsSync(shared), 'the winner\'s disk is there');
  assert.deepEqual(readdirSync(disks).filter((n) => n.includes('vmdeck-part')), []);
});

test('--force three times in one second keeps every earlier config, each under its own name, and the first edit is not lost', async () => {
  const first = await createVm({ label: 'forced', template: 'kernel-initrd', env: env(), base: base() });
  writeFileSync(first.vm.config, `${readFileSync(first.vm.config, 'utf8')}# my hand edit\n`);
  const kept: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await createVm({ label: 'forced', template: 'kernel-initrd', env: env(), base: base(), force: true });
    kept.push(...r.kept.filter((k) => k.endsWith('.ctys') === false && k.includes('.ctys.')));
  }
  assert.equal(new Set(kept).size, 3, kept.join(' '));
  assert.ok(kept.some((k) => readFileSync(k, 'utf8').includes('# my hand edit')), 'the hand-edited config is kept');
  // Delete removes those copies with the VM's own files.
  await deleteVmFiles(await findVm('forced', [base()]), true);
  for (const k of kept) assert.ok(!existsSync(k), `${k} removed with the VM`);
});
