// The Debian installer (Debian's debian-installer-12-netboot-amd64: its
// kernel and initrd, KERNEL mode) with the preseed vmdeck generated runs with
// no question asked until it needs a network mirror. The mirror is an HTTP
// server of the test's on the host's loopback (10.0.2.2 through user
// networking) that has nothing, so nothing leaves this machine: the
// installer's first question is "Bad archive mirror", and the mirror saw the
// preseed's URL. test/integration/preseed-pxe.test.ts does the same by PXE,
// test/integration/preseed-cd.test.ts from an install CD.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createVm } from '../../server/store';
import { sandbox, type Sandbox } from '../helpers/guest';
import { installToMirror, PRESEED_ENV } from '../helpers/installer';
import { netbootTree } from '../helpers/media';

let sb: Sandbox;

before(() => {
  sb = sandbox('preseed');
  sb.enter();
});
after(() => sb.cleanup());

test('the preseeded installer (KERNEL mode) asks nothing until it needs a network mirror', async () => {
  const tree = join(netbootTree(), 'debian-installer/amd64');
  await installToMirror(sb, async (mirror) => {
    const { vm, spec } = await createVm({
      label: 'di', template: 'linux-x86_64',
      env: { ...PRESEED_ENV, DEFAULTBOOTMODE: 'KERNEL', INST_KERNEL: `${tree}/linux`, INST_INITRD: `${tree}/initrd.gz`, MIRROR: mirror },
    });
    assert.equal(spec.append, 'console=ttyS0,115200 quiet DEBIAN_FRONTEND=text auto=true priority=critical');
    return vm;
  });
});
