// A guest is never a client: QEMU's user network maps 10.0.2.2 to the host's
// 127.0.0.1, where the dashboard listens. A guest that connects there gets
// nothing, while a plain listener beside it on 127.0.0.1 answers the guest
// (the path works) and the host's own clients are served as before.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { createVm } from '../../server/store';
import { demoVmEnv, guestImages, sandbox, type Sandbox } from '../helpers/guest';
import { api, spawnServer, type ChildServer } from '../helpers/server';
import { guestShell, quitVm, startWrapper } from '../helpers/vms';

let sb: Sandbox;
let server: ChildServer;
let plain: Server;
const images = guestImages();

before(async () => {
  sb = sandbox('guestiso');
  sb.enter();
  server = await spawnServer(sb);
  plain = createServer((s) => s.end('hello-from-a-plain-listener\n'));
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
});
after(async () => {
  await server?.kill();
  plain?.close();
  sb.cleanup();
});

test('a guest on user networking that connects to 10.0.2.2:PORT gets nothing from the dashboard', { timeout: 180000 }, async () => {
  const { vm } = await createVm({
    label: 'iso', template: 'kernel-initrd',
    env: demoVmEnv(images, { NETMODE: 'user', NIC: 'virtio-net-pci', INST_APPEND: `${images.append} vmdeck.ip=10.0.2.15/24 vmdeck.gw=10.0.2.2` }),
  });
  await startWrapper(vm, sb.env);
  const shell = await guestShell(sb.run, 'iso');
  try {
    const plainPort = (plain.address() as { port: number }).port;
    await shell.run(`nc -w 5 10.0.2.2 ${plainPort} </dev/null; echo plain-done`, /hello-from-a-plain-listener[\s\S]*plain-done/, 20000);

    const from = shell.mark;
    shell.write(`printf 'GET /login HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' | nc -w 5 10.0.2.2 ${server.port}; echo "dash-done-$?"\r`);
    await shell.waitFor(/dash-done-\d+/, 30000, from);
    const answer = shell.output.slice(from);
    assert.doesNotMatch(answer, /HTTP\/1\.[01] \d{3}/, `the guest was answered: ${JSON.stringify(answer)}`);

    // The host's own clients still are, while the guest runs.
    const health = await api(server.base, 'GET', '/api/health');
    assert.equal(health.status, 200);
  } finally {
    shell.close();
  }
  await quitVm(sb.run, 'iso');
});
