// PXE with user networking: QEMU's own DHCP offers PXEBOOTFILE and its TFTP
// serves PXEROOT. The real tree is the Debian installer's netboot directory
// from Debian's debian-installer-12-netboot-amd64 package.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { processAlive } from '../../server/proc';
import { cancelSwitch, createSwitch, switchInfo } from '../../server/net';
import { createVm, wrapperPrint } from '../../server/store';
import { sandbox, type Sandbox } from '../helpers/guest';
import { netbootTree, waitForScreen } from '../helpers/media';
import { quitVm, startWrapper } from '../helpers/vms';

let sb: Sandbox;
let tree: string;

before(() => {
  sb = sandbox('pxe');
  sb.enter();
  tree = netbootTree();
});
after(() => sb.cleanup());

// This host's /dev/kvm (kvm_pvm) cannot run ordinary guests: emulation.
const pxeEnv = (extra: Record<string, string> = {}) => ({
  // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
  ACCELERATOR: 'QEMU', DEFAULTBOOTMODE: 'PXE', PXEROOT: tree, MEMSIZE: '512', ...extra,
});

function wrapper(vmWrapper: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', [vmWrapper, ...args], { env: sb.env }, (err, _out, stderr) => {
      resolve({ code: err ? Number(err.code) : 0, stderr: String(stderr) });
    });
  });
}

test('the netboot tree boots by PXE through user networking to the installer menu on the VNC screen', async () => {
  const { vm } = await createVm({ label: 'pxe', template: 'linux-x86_64', env: pxeEnv() });
  const argv = await wrapperPrint(vm.wrapper);
  assert.ok(argv.includes(`user,model=virtio-net-pci,mac=${vm.mac},tftp=${tree},bootfile=pxelinux.0`), argv.join(' '));
  assert.deepEqual(argv.slice(argv.indexOf('-boot'), argv.indexOf('-boot') + 2), ['-boot', 'order=n']);
  await startWrapper(vm, sb.env);
  try {
    const text = await waitForScreen('pxe', /installer menu/i, 150000);
    assert.match(text, /Advanced options/);
  } finally {
    await quitVm(sb.run, 'pxe');
  }
});

test('--check refuses a PXE tree without its boot file, in one line naming PXEROOT', async () => {
  const { vm } = await createVm({ label: 'pxecheck', template: 'linux-x86_64', env: pxeEnv() });
  const empty = join(sb.home, 'empty-tree');
  mkdirSync(empty);
  const r = await wrapper(vm.wrapper, [`--bootmode=PXE%${empty}`, '--check']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `pxecheck.sh: PXEROOT: PXE tree '${empty}' has no boot file 'pxelinux.0' (PXEBOOTFILE)\n`);
  const ok = await wrapper(vm.wrapper, ['--check']);
  assert.equal(ok.code, 0, ok.stderr);
});

test('PXE refusals in the spec: a tree on a VDE network, a boot file outside the tree, PXE on user networking without a tree', async () => {
  await assert.rejects(createVm({ label: 'pxevde', template: 'linux-x86_64', env: pxeEnv({ NETMODE: 'vde', QEMUSOCK: 'sw' }) }),
    (e: Error) => e.message === "pxeRoot: is served by user networking's TFTP: it needs network mode user");
  await assert.rejects(createVm({ label: 'pxeup', template: 'linux-x86_64', env: pxeEnv({ PXEBOOTFILE: '../etc/passwd' }) }),
    (e: Error) => e.message.startsWith('pxeBootFile: '));
  await assert.rejects(createVm({ label: 'pxenone', template: 'linux-x86_64', env: pxeEnv({ PXEROOT: '' }) }),
    (e: Error) => e.message.startsWith('pxeRoot: is needed for boot mode PXE with user networking'));
});

test('PXE on a VDE switch: vmdeck net create --pxe serves DHCP and the tree to the switch\'s VMs', async () => {
  const empty = join(sb.home, 'no-boot-file');
  mkdirSync(empty, { recursive: true });
  await assert.rejects(createSwitch('pxebad', { pxe: empty }),
    (e: Error) => e.message === `pxe: PXE tree '${empty}' has no boot file 'pxelinux.0' (--bootfile)`);
  const sw = await createSwitch('pxesw', { pxe: tree });
  assert.equal(sw.boot?.pxe, tree);
  assert.ok(sw.boot?.pid, 'the boot server runs');
  const { vm } = await createVm({ label: 'pxevde', template: 'linux-x86_64', env: pxeEnv({ NETMODE: 'vde', QEMUSOCK: 'pxesw', PXEROOT: '' }) });
  await startWrapper(vm, sb.env);
  try {
    const text = await waitForScreen('pxevde', /installer menu/i, 150000);
    assert.match(text, /Advanced options/);
    // The boot server is the switch's own: not a client that keeps it from being cancelled once the VM is gone.
    const info = await switchInfo('pxesw');
    assert.deepEqual(info.vms, ['pxevde']);
  } finally {
    await quitVm(sb.run, 'pxevde');
  }
  const bootPid = sw.boot!.pid!;
  await cancelSwitch('pxesw');
  assert.equal(processAlive(bootPid), false, 'the boot server ended with the switch');
});
