// The Debian installer (Debian's debian-installer-12-netboot-amd64: its
// kernel and initrd, KERNEL mode) with the preseed vmdeck generated runs with
// no question asked until it needs a network mirror. The mirror is an HTTP
// server of the test's on the host's loopback (10.0.2.2 through user
// networking) that has nothing, so nothing leaves this machine: the
// installer's first question is "Bad archive mirror", and the mirror saw the
// preseed's URL. test/integration/preseed-pxe.test.ts does the same by PXE.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createVm } from '../../server/store';
import { sandbox, type Sandbox } from '../helpers/guest';
import { emptyMirror, expectNoQuestionUntilMirror } from '../helpers/installer';
import { netbootTree } from '../helpers/media';
import { quitVm, startWrapper } from '../helpers/vms';

let sb: Sandbox;

before(() => {
  sb = sandbox('preseed');
  sb.enter();
});
after(() => sb.cleanup());

// Emulated, the installer needs about 3 minutes on an idle 2-core machine and
// nearly 6 on a shared one; the suite gives a test file 10 minutes.
test('the preseeded installer (KERNEL mode) asks nothing until it needs a network mirror', async () => {
  const tree = join(netbootTree(), 'debian-installer/amd64');
  const mirror = await emptyMirror();
  try {
    const { vm, spec } = await createVm({
      label: 'di', template: 'linux-x86_64',
      env: {
        // This host's /dev/kvm (kvm_pvm) cannot run ordinary guests: emulation.
        // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
        ACCELERATOR: 'QEMU', MEMSIZE: '1024', SMP: '1', UNATTENDED: 'preseed', DEFAULTBOOTMODE: 'KERNEL',
        INST_KERNEL: `${tree}/linux`, INST_INITRD: `${tree}/initrd.gz`, INST_APPEND: 'console=ttyS0,115200 quiet DEBIAN_FRONTEND=text',
        MIRROR: `http://10.0.2.2:${mirror.port}/debian`, HDDBOOTIMAGE_INST_SIZE: '1G',
      },
    });
    assert.equal(spec.append, 'console=ttyS0,115200 quiet DEBIAN_FRONTEND=text auto=true priority=critical');
    await startWrapper(vm, sb.env);
    try {
      await expectNoQuestionUntilMirror(sb.run, 'di', mirror, 560_000);
    } finally {
      await quitVm(sb.run, 'di');
    }
  } finally {
    await mirror.close();
  }
});
