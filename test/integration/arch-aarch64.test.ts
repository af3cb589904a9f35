// A real guest beyond x86: the arm64 test guest boots in a VM made from the
// aarch64-virt template, through its generated wrapper, to a shell on its
// serial console (ttyAMA0), with a working virtio-net-pci NIC.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createVm, wrapperPrint } from '../../server/store';
import { demoVmEnv, guestImages, sandbox, type Sandbox } from '../helpers/guest';
import { guestShell, quitVm, startWrapper } from '../helpers/vms';

let sb: Sandbox;

before(() => {
  sb = sandbox('arm64');
  sb.enter();
});
after(() => sb.cleanup());

test('the aarch64-virt template boots the arm64 guest to a shell that answers', async () => {
  const images = guestImages('arm64');
  const { vm } = await createVm({
    label: 'arm', template: 'aarch64-virt',
    env: demoVmEnv(images, { INST_APPEND: `${images.append} vmdeck.ip=10.0.2.15/24 vmdeck.gw=10.0.2.2` }),
  });
  assert.equal(vm.arch, 'aarch64');
  await startWrapper(vm, sb.env);
  const shell = await guestShell(sb.run, 'arm', 120000);
  try {
    assert.match(await shell.run('echo $((6*7))', /\r\n42\r\n/), /42/);
    assert.match(await shell.run('uname -m', /\r\n(\w+)\r\n/), /aarch64/);
    // The NIC QEMU made (virtio-net-pci, the VM's MAC) is the guest's eth0.
    assert.match(await shell.run('cat /sys/class/net/eth0/address', /\r\n[0-9a-f:]{17}\r\n/), new RegExp(vm.mac));
    // user-mode networking's gateway answers a ping itself (nothing leaves the host).
    assert.equal(await shell.run('ping -c 1 -W 3 10.0.2.2', /\d+ packets received/, 15000), '1 packets received');
  } finally {
    shell.close();
  }
  await quitVm(sb.run, 'arm');
});

test('FIRMWARE=UEFI on aarch64: AAVMF (qemu-efi-aarch64) boots the arm64 guest, which sees EFI; the variables are the VM\'s own', async () => {
  const images = guestImages('arm64');
  const { vm } = await createVm({
    label: 'armefi', template: 'aarch64-virt',
    env: demoVmEnv(images, { FIRMWARE: 'UEFI' }),
  });
  const printed = (await wrapperPrint(vm)).join(' ');
  assert.match(printed, /if=pflash,format=raw,unit=0,file=\/usr\/share\/AAVMF\/AAVMF_CODE\.fd,readonly=on/);
  await startWrapper(vm, sb.env);
  // Through the firmware under TCG: slower than a direct kernel boot.
  const shell = await guestShell(sb.run, 'armefi', 240000);
  try {
    assert.match(await shell.run('test -d /sys/firmware/efi && echo efi=yes', /\r\nefi=(\w+)\r\n/), /efi=yes/);
  } finally {
    shell.close();
  }
  await quitVm(sb.run, 'armefi');
  assert.ok(existsSync(join(vm.dir, 'armefi.uefi-vars.fd')), 'the VM\'s own UEFI variables beside its config');
});
