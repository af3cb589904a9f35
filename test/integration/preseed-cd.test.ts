// A preseed for an install CD (what virt-install's --location ISO
// --initrd-inject does): the installer's kernel and initrd are read off the
// ISO (/install.amd/, ISO 9660 with Rock Ridge, lib/iso9660.ts), written
// beside the VM as <L>.seed.vmlinuz and <L>.seed.initrd (the initrd with a
// newc cpio of /preseed.cfg appended), and booted in KERNEL mode with the ISO
// still in the CD drive. The ISO is scripts/build-media.sh's netinst: a Debian
// netinst CD's layout around the netboot installer of
// debian-installer-12-netboot-amd64 (no package ships a netinst ISO). Made
// through POST /api/vms, the function behind create-conf too; the CLI's
// refusal is checked on the same function through bin/vmdeck.js.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import type { VmInfo } from '../../lib/vm';
import { qmpOnce } from '../../server/qmp';
import { createVm, deleteVmFiles, wrapperCheck, wrapperPrint } from '../../server/store';
import { vmdeck } from '../helpers/cli';
import { sandbox, type Sandbox } from '../helpers/guest';
import { installToMirror, PRESEED_ENV } from '../helpers/installer';
import { netbootTree, netinstIso, rescueIso } from '../helpers/media';
import { api, inProcessServer, type InProcessServer } from '../helpers/server';

let sb: Sandbox;
let srv: InProcessServer;
let iso: string;
let rescue: string;

before(async () => {
  sb = sandbox('precd');
  iso = netinstIso();
  rescue = rescueIso();
  srv = await inProcessServer(sb);
  // The API takes ISOs from the media directories only.
  process.env.VMDECK_MEDIA = [process.env.VMDECK_MEDIA, dirname(iso), dirname(rescue)].join('%');
});
after(() => srv.close());

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const cdEnv = (extra: Record<string, string>) => ({ ...PRESEED_ENV, DEFAULTBOOTMODE: 'CD', ...extra });

test('refused: an ISO with no Debian installer, in one line naming the field (API and CLI); nothing written', async () => {
  const refusal = `instSrcCdrom: ISO '${rescue}' has no Debian installer kernel (/install.amd/vmlinuz) to preseed`;
  const body = { label: 'cdbad', template: 'linux-x86_64', env: cdEnv({ INSTCDROM: rescue }) };
  // The wizard's review (the preview) refuses it as the create does.
  for (const path of ['/api/vms/preview', '/api/vms']) {
    const r = await api(srv.base, 'POST', path, body);
    assert.deepEqual([r.status, r.json], [400, { error: refusal, field: 'instSrcCdrom' }], path);
  }
  const cli = await vmdeck(['create-conf', '--label', 'cdbad', '--template', 'linux-x86_64', '--unattended=preseed', '--auto-all'],
    { ...sb.env, ...cdEnv({ INSTCDROM: rescue }) });
  // The CLI names the field by its option, as for every refusal.
  assert.deepEqual([cli.code, cli.stderr.trim().split('\n')], [1, [`vmdeck create-conf: ${refusal.replace(/^instSrcCdrom/, 'INSTCDROM')}`]]);
  assert.equal(existsSync(join(sb.home, 'vms', 'cdbad')), false);
});

test('the CD\'s installer, booted by kernel with the preseed in its initrd and the ISO in the drive, asks nothing until the mirror', async () => {
  const installer = join(netbootTree(), 'debian-installer/amd64');
  let dir = '';
  const vm = await installToMirror(sb, async (mirror) => {
    const r = await api(srv.base, 'POST', '/api/vms', { label: 'dicd', template: 'linux-x86_64', env: cdEnv({ INSTCDROM: iso, MIRROR: mirror }) });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.problem, null, 'the wrapper\'s --check takes the kernel, the initrd and the ISO');
    const made = r.json.vm as VmInfo;
    dir = made.dir;
    const config = readFileSync(made.config, 'utf8');
    for (const [name, value] of [['DEFAULTBOOTMODE', 'KERNEL'], ['KERNELIMAGE', 'dicd.seed.vmlinuz'], ['INITRDIMAGE', 'dicd.seed.initrd'], ['INSTSRCCDROM', iso],
      ['APPEND', 'console=ttyS0,115200 quiet DEBIAN_FRONTEND=text auto=true priority=critical hostname=dicd']]) {
      assert.ok(config.split('\n').includes(`${name}='${value}'`), `${name}='${value}' in ${config}`);
    }
    // The kernel is the CD's; the initrd the CD's with a gzipped newc cpio of /preseed.cfg after it. Both 0600.
    const kernel = readFileSync(join(dir, 'dicd.seed.vmlinuz'));
    const initrd = readFileSync(join(dir, 'dicd.seed.initrd'));
    const cdInitrd = readFileSync(join(installer, 'initrd.gz'));
    assert.equal(sha(kernel), sha(readFileSync(join(installer, 'linux'))));
    assert.equal(sha(initrd.subarray(0, cdInitrd.length)), sha(cdInitrd));
    const cpio = gunzipSync(initrd.subarray(cdInitrd.length)).toString('latin1');
    assert.ok(cpio.startsWith('070701') && cpio.includes('preseed.cfg\0') && cpio.includes('d-i netcfg/get_hostname string dicd'));
    for (const f of ['dicd.seed.vmlinuz', 'dicd.seed.initrd', 'dicd.seed.preseed.cfg']) assert.equal((statSync(join(dir, f)).mode & 0o777).toString(8), '600', f);
    const argv = await wrapperPrint(made);
    assert.ok(argv.includes(join(dir, 'dicd.seed.vmlinuz')) && argv.includes(join(dir, 'dicd.seed.initrd')), argv.join(' '));
    assert.ok(argv.some((a) => a.startsWith(`file=${iso},format=raw,`) && a.includes('media=cdrom')), argv.join(' '));
    return made;
  }, async () => {
    // QEMU has the ISO in its CD drive while the installer runs.
    const blocks = await qmpOnce<{ device: string; inserted?: { file: string } }[]>(join(sb.run, 'dicd', 'qmp.sock'), 'query-block');
    assert.equal(blocks.find((b) => b.device === 'cd0')?.inserted?.file, iso);
  });
  // Delete takes the seeds with the VM, never the ISO.
  await deleteVmFiles(vm, true);
  assert.equal(existsSync(dir), false);
  assert.equal(existsSync(iso), true);
});

test('install mode CD (the template\'s default): the VM boots its disk, and --instmode the CD\'s installer by kernel with the ISO in the drive', async () => {
  const { vm, spec, problem } = await createVm({ label: 'cdinst', template: 'linux-x86_64', env: { ...PRESEED_ENV, INSTCDROM: iso } });
  assert.deepEqual([spec.bootmode, spec.instmode, problem], ['VHDD', 'KERNEL', null]);
  const install = await wrapperPrint(vm, ['--instmode']);
  assert.equal(install[install.indexOf('-kernel') + 1], join(vm.dir, 'cdinst.seed.vmlinuz'));
  assert.equal(install[install.indexOf('-initrd') + 1], join(vm.dir, 'cdinst.seed.initrd'));
  assert.ok(install.some((a) => a.startsWith(`file=${iso},`) && a.includes('media=cdrom')), install.join(' '));
  const boot = await wrapperPrint(vm);
  assert.equal(boot.includes('-kernel'), false);
  assert.equal(boot[boot.indexOf('-boot') + 1], 'order=c');
  await deleteVmFiles(vm, true);
});

test('clone: the seeds under the clone\'s name (the config names them), its preseed its own; delete takes each VM\'s own', async () => {
  const made = await createVm({ label: 'cdsrc', template: 'linux-x86_64', env: cdEnv({ INSTCDROM: iso }) });
  const r = await api(srv.base, 'POST', '/api/vms/cdsrc/clone', { label: 'cdcopy' });
  assert.equal(r.status, 201, r.text);
  const copy = r.json.vm as VmInfo;
  const config = readFileSync(copy.config, 'utf8').split('\n');
  assert.ok(config.includes("KERNELIMAGE='cdcopy.seed.vmlinuz'") && config.includes("INITRDIMAGE='cdcopy.seed.initrd'"), config.join('\n'));
  assert.ok(config.some((l) => l.startsWith('APPEND=') && l.endsWith(" hostname=cdcopy'")), config.join('\n'));
  for (const f of ['vmlinuz', 'initrd']) assert.equal((statSync(join(copy.dir, `cdcopy.seed.${f}`)).mode & 0o777).toString(8), '600', f);
  assert.equal(sha(readFileSync(join(copy.dir, 'cdcopy.seed.vmlinuz'))), sha(readFileSync(join(made.vm.dir, 'cdsrc.seed.vmlinuz'))));
  // The CD's initrd, then the clone's preseed (its hostname), as create appends it.
  const cdInitrd = readFileSync(join(netbootTree(), 'debian-installer/amd64/initrd.gz'));
  const initrd = readFileSync(join(copy.dir, 'cdcopy.seed.initrd'));
  assert.equal(sha(initrd.subarray(0, cdInitrd.length)), sha(cdInitrd));
  const cpio = gunzipSync(initrd.subarray(cdInitrd.length)).toString('latin1');
  assert.ok(cpio.includes('preseed.cfg\0') && cpio.includes('d-i netcfg/get_hostname string cdcopy\n'), cpio);
  assert.equal(await wrapperCheck(copy.wrapper), null, 'the clone starts with its own copies');
  await deleteVmFiles(made.vm, true);
  assert.equal(await wrapperCheck(copy.wrapper), null, 'and does not need the source\'s');
  await deleteVmFiles(copy, true);
  assert.equal(existsSync(copy.dir), false);
});
