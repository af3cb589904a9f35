// User-mode networking (slirp NAT) with a HOSTFWD rule: a TCP connection from
// the host's loopback reaches a listener in the demo guest.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { createVm, wrapperPrint } from '../../server/store';
import { demoVmEnv, guestImages, sandbox, type Sandbox } from '../helpers/guest';
import { guestShell, quitVm, startWrapper } from '../helpers/vms';

let sb: Sandbox;
const images = guestImages();

before(() => {
  sb = sandbox('netuser');
  sb.enter();
});
after(() => sb.cleanup());

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Connects, sends one line and closes; rejects when the connection fails. */
function sendLine(port: number, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(`${line}\n`));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

/** The local addresses listening on a TCP port, from /proc/net/tcp (hex, e.g. 0100007F = 127.0.0.1). */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A')
    .map((f) => f[1].split(':')[0]);
}

test('a HOSTFWD rule without a host address is bound to 127.0.0.1', async () => {
  const { vm } = await createVm({
    label: 'fwd', template: 'kernel-initrd', env: demoVmEnv(images, { HOSTFWD: 'tcp::2222-:22 udp:0.0.0.0:5353-:53' }),
  });
  const nic = (await wrapperPrint(vm.wrapper)).find((a) => a.startsWith('user,'));
  assert.equal(nic, `user,model=virtio-net-pci,mac=${vm.mac},hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp:0.0.0.0:5353-:53`);
});

test('HOSTFWD tcp:127.0.0.1:PORT-:7777 carries a line from the host to nc -l in the guest', async () => {
  const port = await freePort();
  const { vm } = await createVm({
    label: 'nat', template: 'kernel-initrd',
    env: demoVmEnv(images, {
      NETMODE: 'user', NIC: 'virtio-net-pci', HOSTFWD: `tcp:127.0.0.1:${port}-:7777`,
      INST_APPEND: `${images.append} vmdeck.ip=10.0.2.15/24 vmdeck.gw=10.0.2.2`,
    }),
  });
  await startWrapper(vm, sb.env);
  const shell = await guestShell(sb.run, 'nat');
  try {
    assert.deepEqual(listeners(port), ['0100007F'], 'QEMU listens on 127.0.0.1 only');
    const line = `hello-from-the-host-${randomBytes(4).toString('hex')}`;
    const from = shell.mark;
    shell.write('nc -l -p 7777\r');
    // slirp accepts at once even while nothing listens in the guest yet, and
    // then drops the connection: send until the guest shows the line.
    const deadline = Date.now() + 20000;
    for (;;) {
      await sendLine(port, line).catch(() => undefined);
      const seen = await shell.waitFor(new RegExp(`\\n${line}\\r?\\n`), 1000, from).then(() => true, () => false);
      if (seen) break;
      assert.ok(Date.now() < deadline, `the guest never printed ${line}: ${JSON.stringify(shell.output.slice(from))}`);
    }
  } finally {
    shell.close();
  }
  await quitVm(sb.run, 'nat');
});
