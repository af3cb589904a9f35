// CD/DVD drives and floppies as lists (issue 12): drives 1… (CDROM<N>,
// CDROM<N>_IF) and floppies A/B (FDA, FDB) written by `vmdeck cd`, built by
// the wrapper (ids cdN/cdromN, fda/fdb), seen by QEMU (query-block: the
// test guest's kernel has no IDE or SCSI CD driver to show them); a
// medium changed or ejected on the running VM is changed at once (QMP) and
// written to the config; a drive added while it runs is pending.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { qmpOnce } from '../../server/qmp';
import { REPO, sandbox, type Sandbox } from '../helpers/guest';
import { createGuestVm, vmdeck } from '../helpers/lifecycle';
import { api, inProcessServer, type InProcessServer } from '../helpers/server';
import { quitVm } from '../helpers/vms';

let sb: Sandbox;
let srv: InProcessServer;
let iso = '';
let floppy = '';
const config = () => readFileSync(join(sb.home, 'vms/cd/cd.ctys'), 'utf8');
const print = () => execFileSync('bash', [join(sb.home, 'vms/cd/cd.sh'), '--print'], { env: sb.env, encoding: 'utf8' }).split('\n');
/** What QEMU has in each drive: drive → file ('' empty). */
async function inserted(): Promise<Record<string, string>> {
  const blocks = await qmpOnce<{ device: string; inserted?: { file: string } }[]>(join(sb.run, 'cd', 'qmp.sock'), 'query-block');
  return Object.fromEntries(blocks.filter((b) => /^(cd\d|fd[ab])$/.test(b.device)).map((b) => [b.device, b.inserted?.file ?? '']));
}

before(async () => {
  sb = sandbox('cds');
  srv = await inProcessServer(sb, () => createGuestVm(sb.env, 'cd'));
  const tree = join(sb.home, 'iso-tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'hello.txt'), 'hello\n');
  iso = join(sb.home, 'vms/cd/data.iso');
  execFileSync('genisoimage', ['-quiet', '-V', 'VMDECKCD', '-o', iso, tree]);
  floppy = join(sb.home, 'vms/cd/a.img');
  writeFileSync(floppy, Buffer.alloc(1440 * 1024));
});
after(async () => {
  await srv?.close();
  sb.cleanup();
});

test('drives from the CLI and the API: numbered config names, the wrapper\'s drives and devices, refusals naming the drive', async () => {
  const before = print();
  const one = await vmdeck(['cd', 'cd', 'add', '--iso', 'data.iso'], sb.env);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.stdout, "VM 'cd': CD/DVD drive 1 (ide) added; wrote CDROM1='data.iso' CDROM1_IF='ide'\n");
  const two = await api(srv.base, 'POST', '/api/vms/cd/cds', { interface: 'scsi' });
  assert.equal(two.status, 201, two.text);
  assert.deepEqual(two.json.lines, ["CDROM2=''", "CDROM2_IF='scsi'"]);
  const fda = await vmdeck(['cd', 'cd', 'change', 'fda', 'a.img'], sb.env);
  assert.equal(fda.stdout, "VM 'cd' fda: a.img; wrote FDA='a.img'\n");
  assert.match(config(), /^CDROM1='data\.iso'\nCDROM1_IF='ide'\nCDROM2=''\nCDROM2_IF='scsi'\nFDA='a\.img'$/m);

  const argv = print();
  for (const arg of [`file=${iso},format=raw,if=none,media=cdrom,readonly=on,id=cd1`,
    // The first free IDE slot (the first disk is virtio; drive 0 is on ide.1 unit 0, where if=ide index 2 is).
    'ide-cd,drive=cd1,id=cdrom1,bus=ide.0,unit=0',
    'if=none,media=cdrom,id=cd2', 'virtio-scsi-pci,id=scsi1', 'scsi-cd,drive=cd2,bus=scsi1.0,id=cdrom2',
    `file=${floppy},format=raw,if=floppy,index=0,id=fda`]) {
    assert.ok(argv.includes(arg), `${arg} in\n${argv.join('\n')}`);
  }
  // Nothing else of the command changed.
  assert.deepEqual(argv.filter((a) => !before.includes(a) && !/cd[12]|fda|scsi1/.test(a) && a !== '-drive' && a !== '-device'), []);

  const bad = await vmdeck(['cd', 'cd', 'change', 'cd9', 'data.iso'], sb.env);
  assert.equal(bad.stderr, "vmdeck cd: drive: VM 'cd' has no CD/DVD drive 9 (add one: vmdeck cd cd add)\n");
  const badIf = await api(srv.base, 'POST', '/api/vms/cd/cds', { interface: 'usb' });
  assert.deepEqual([badIf.status, badIf.json.field, badIf.json.error], [400, 'interface', "interface: 'usb' is not one of ide, scsi"]);
  const gone = await api(srv.base, 'PATCH', '/api/vms/cd/drives/cd1', { path: 'nothing.iso' });
  assert.deepEqual([gone.status, gone.json.error], [400, "path: 'nothing.iso' does not exist in VM 'cd''s directory or the media library"]);
  const listed = await vmdeck(['cd', 'cd', 'list'], sb.env);
  assert.equal(listed.stdout, 'cd1  ide  data.iso\ncd2  scsi (empty)\nfda  floppy a.img\n');
  // On the command line a relative name of a file in the working directory is that file, as the shell's user means it.
  const here = join(sb.home, 'here');
  mkdirSync(here);
  copyFileSync(iso, join(here, 'cwd.iso'));
  const fromHere = spawnSync(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'cd', 'cd', 'change', 'cd2', 'cwd.iso'], { cwd: here, env: sb.env, encoding: 'utf8' });
  assert.deepEqual([fromHere.status, fromHere.stderr, fromHere.stdout], [0, '', `VM 'cd' cd2: ${here}/cwd.iso; wrote CDROM2='${here}/cwd.iso'\n`]);
  // In the VM's own directory, the name stays relative to it, as the config keeps its files.
  const inVmDir = spawnSync(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'cd', 'cd', 'change', 'cd2', 'data.iso'], { cwd: join(sb.home, 'vms/cd'), env: sb.env, encoding: 'utf8' });
  assert.deepEqual([inVmDir.status, inVmDir.stdout], [0, "VM 'cd' cd2: data.iso; wrote CDROM2='data.iso'\n"]);
  const nowhere = spawnSync(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'cd', 'cd', 'add', '--iso', 'nowhere.iso'], { cwd: here, env: sb.env, encoding: 'utf8' });
  assert.deepEqual([nowhere.status, nowhere.stderr], [1, "vmdeck cd: iso: 'nowhere.iso' does not exist in VM 'cd''s directory or the media library\n"]);
  assert.equal((await vmdeck(['cd', 'cd', 'eject', 'cd2'], sb.env)).code, 0);
  // A name as the media library lists it is that file of the media directories ($VMDECK_HOME/media here).
  mkdirSync(join(sb.home, 'media'), { recursive: true });
  copyFileSync(iso, join(sb.home, 'media', 'library.iso'));
  const byName = await api(srv.base, 'PATCH', '/api/vms/cd/drives/cd2', { path: 'library.iso' });
  assert.equal(byName.status, 200, byName.text);
  assert.match(config(), new RegExp(`^CDROM2='${join(sb.home, 'media', 'library.iso')}'$`, 'm'));
  assert.equal((await api(srv.base, 'PATCH', '/api/vms/cd/drives/cd2', { path: '' })).status, 200);
});

test('the running VM: QEMU has the drives; a change and an eject are live and written; a drive added now is pending', async () => {
  assert.equal((await vmdeck(['start', 'cd'], sb.env)).code, 0);
  assert.deepEqual(await inserted(), { cd0: '', cd1: iso, cd2: '', fda: floppy });

  const changed = await vmdeck(['cd', 'cd', 'change', 'cd2', iso], sb.env);
  assert.equal(changed.stdout, `VM 'cd' cd2: ${iso}, live; wrote CDROM2='${iso}'\n`);
  const ejected = await api(srv.base, 'PATCH', '/api/vms/cd/drives/cd1', { path: '' });
  assert.equal(ejected.status, 200, ejected.text);
  assert.equal(ejected.json.live, true);
  assert.deepEqual(await inserted(), { cd0: '', cd1: '', cd2: iso, fda: floppy });
  assert.match(config(), /^CDROM1=''$/m);
  assert.equal((await api(srv.base, 'GET', '/api/vms/cd')).json.vm.pending, undefined, 'a live change is not pending');

  const later = await vmdeck(['cd', 'cd', 'add'], sb.env);
  assert.equal(later.stdout, "VM 'cd': CD/DVD drive 3 (ide) added (pending until the next start); wrote CDROM3='' CDROM3_IF='ide'\n");
  assert.deepEqual((await api(srv.base, 'GET', '/api/vms/cd')).json.vm.pending?.variables, ['CDROM3', 'CDROM3_IF']);
  await quitVm(sb.run, 'cd');
  // Two IDE drives more than drive 0: each on a slot of its own (QEMU's own pick put the second on a full bus).
  assert.equal((await vmdeck(['start', 'cd'], sb.env)).code, 0);
  assert.deepEqual(Object.keys(await inserted()).sort(), ['cd0', 'cd1', 'cd2', 'cd3', 'fda']);
  await quitVm(sb.run, 'cd');
  // The PC's IDE has four slots: drive 0, 1 and 3 and one more; a fifth is refused before it is written.
  assert.equal((await vmdeck(['cd', 'cd', 'add'], sb.env)).code, 0);
  const full = config();
  const fifth = await vmdeck(['cd', 'cd', 'add'], sb.env);
  assert.equal(fifth.code, 1, fifth.stdout);
  assert.equal(fifth.stderr, "vmdeck cd: interface: VM 'cd' has no IDE slot left (machine pc has 4, all taken by its disks and CD/DVD drives); use scsi (--if scsi)\n");
  assert.equal(config(), full, 'nothing written');
  assert.equal((await vmdeck(['cd', 'cd', 'add', '--if', 'scsi'], sb.env)).code, 0);
});
