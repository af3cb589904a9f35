// A preseed served by the PXE tree: with user networking, the VM gets a TFTP
// tree of its own (<L>.seed.pxe: links to the user's tree, a pxelinux.cfg
// that boots the installer with auto=true priority=critical and
// url=tftp://10.0.2.2/preseed.cfg, and preseed.cfg itself). The tree is
// Debian's debian-installer-12-netboot-amd64; the installer boots by PXE,
// fetches the preseed by TFTP and asks nothing until the mirror, an HTTP
// server of the test's on the host's loopback that has nothing.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createVm, deleteVmFiles, wrapperPrint } from '../../server/store';
import { sandbox, type Sandbox } from '../helpers/guest';
import { installToMirror, PRESEED_ENV } from '../helpers/installer';
import { netbootTree } from '../helpers/media';

let sb: Sandbox;
let tree: string;

before(() => {
  sb = sandbox('prepxe');
  sb.enter();
  tree = netbootTree();
});
after(() => sb.cleanup());

const pxeEnv = (extra: Record<string, string> = {}) => ({ ...PRESEED_ENV, DEFAULTBOOTMODE: 'PXE', PXEROOT: tree, ...extra });

test('refused: a preseed by PXE from a tree with no installer, or through another boot file than pxelinux.0; nothing written', async () => {
  const empty = join(sb.home, 'not-an-installer');
  mkdirSync(empty, { recursive: true });
  await assert.rejects(createVm({ label: 'pxebad', template: 'linux-x86_64', env: pxeEnv({ PXEROOT: empty }) }),
    (e: Error) => e.message === `pxeRoot: PXE tree '${empty}' has no Debian installer to preseed (debian-installer/ARCH/linux and initrd.gz)`);
  await assert.rejects(createVm({ label: 'pxebad', template: 'linux-x86_64', env: pxeEnv({ PXEBOOTFILE: 'debian-installer/amd64/grubx64.efi' }) }),
    (e: Error) => e.message === "pxeBootFile: is 'debian-installer/amd64/grubx64.efi': a preseed served by the PXE tree boots through pxelinux.0 at the tree's top");
  assert.equal(existsSync(join(sb.home, 'vms', 'pxebad')), false);
});

test('create-conf --force moves the old PXE tree aside whole and makes a new one; the VM\'s own tree is refused as PXEROOT', async () => {
  const first = await createVm({ label: 'pxeforce', template: 'linux-x86_64', env: pxeEnv() });
  const own = join(first.vm.dir, 'pxeforce.seed.pxe');
  const again = await createVm({ label: 'pxeforce', template: 'linux-x86_64', env: pxeEnv(), force: true });
  const aside = again.kept.find((k) => k.startsWith(`${own}.`));
  assert.ok(aside && lstatSync(aside).isDirectory(), `kept: ${again.kept.join(', ')}`);
  assert.equal(readlinkSync(join(aside, 'pxelinux.0')), join(tree, 'pxelinux.0'));
  assert.equal(readlinkSync(join(own, 'pxelinux.0')), join(tree, 'pxelinux.0'));
  assert.equal(again.problem, null);
  await assert.rejects(createVm({ label: 'pxeforce', template: 'linux-x86_64', env: pxeEnv({ PXEROOT: own }), force: true }),
    (e: Error) => e.message === `pxeRoot: '${own}' is this VM's own preseed tree: give the installer's tree`);
  assert.equal(readlinkSync(join(own, 'preseed.cfg')), '../pxeforce.seed.preseed.cfg', 'the refused create left the tree as it was');
});

test('the installer by PXE fetches the preseed from the VM\'s tree and asks nothing until it needs a network mirror', async () => {
  const vm = await installToMirror(sb, async (mirror) => {
    const { vm, spec, problem } = await createVm({ label: 'dipxe', template: 'linux-x86_64', env: pxeEnv({ MIRROR: mirror }) });
    const own = join(vm.dir, 'dipxe.seed.pxe');
    assert.equal(spec.pxeRoot, 'dipxe.seed.pxe');
    assert.equal(problem, null, 'the wrapper\'s --check takes the tree');
    // The tree: the user's entries as links, its own pxelinux.cfg, the preseed (a link to the VM's file, 0600).
    assert.equal(readlinkSync(join(own, 'pxelinux.0')), join(tree, 'pxelinux.0'));
    assert.equal(readlinkSync(join(own, 'debian-installer')), join(tree, 'debian-installer'));
    assert.equal(lstatSync(join(own, 'pxelinux.cfg')).isDirectory(), true);
    assert.equal(readlinkSync(join(own, 'preseed.cfg')), '../dipxe.seed.preseed.cfg');
    assert.equal((statSync(join(vm.dir, 'dipxe.seed.preseed.cfg')).mode & 0o777).toString(8), '600');
    const cfg = readFileSync(join(own, 'pxelinux.cfg', 'default'), 'utf8');
    assert.match(cfg, /^\tkernel debian-installer\/amd64\/linux$/m);
    assert.match(cfg, /^\tappend initrd=debian-installer\/amd64\/initrd\.gz auto=true priority=critical url=tftp:\/\/10\.0\.2\.2\/preseed\.cfg hostname=dipxe console=ttyS0,115200 quiet DEBIAN_FRONTEND=text$/m);
    const argv = await wrapperPrint(vm.wrapper);
    assert.ok(argv.some((a) => a.includes(`,tftp=${own},bootfile=pxelinux.0`)), argv.join(' '));
    return vm;
  });
  // Delete takes the tree (its links and its pxelinux.cfg), never what they point at.
  await deleteVmFiles(vm, true);
  assert.equal(existsSync(join(vm.dir, 'dipxe.seed.pxe')), false);
  assert.equal(existsSync(join(tree, 'pxelinux.0')), true);
});
