// The dashboard's server with a guest beyond x86: an AArch64 VM from the
// aarch64-virt template, started through the API, answers on the dashboard's
// serial WebSocket as the x86 guest does; the VM's page learns its runtime
// facts (sockets, start time) from GET /api/vms/:label.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RunningServer } from '../../server/index';
import { createVm } from '../../server/store';
import { demoVmEnv, guestImages, PROMPT, sandbox } from '../helpers/guest';
import { api, bearer, TEST_TOKEN, WsClient, inProcessServer, type InProcessServer } from '../helpers/server';

const sb = sandbox('srvarm');
const LABEL = 'arm1';
let server: RunningServer;
let base: string;
let srv: InProcessServer;
let startedBetween: [number, number];

before(async () => {
  srv = await inProcessServer(sb, () => createVm({ label: LABEL, template: 'aarch64-virt', env: demoVmEnv(guestImages('arm64')) }));
  ({ server, base } = srv);
});

after(() => srv?.close());

test('POST /api/vms/:label/start runs the AArch64 VM; its serial WebSocket reaches the prompt and answers', async () => {
  const t0 = Date.now();
  const r = await api(base, 'POST', `/api/vms/${LABEL}/start`, {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.vm.state, 'running');
  assert.equal(r.json.vm.arch, 'aarch64');
  startedBetween = [t0, Date.now()];

  const serial = await WsClient.open(`ws://127.0.0.1:${server.port}/ws/vms/${LABEL}/serial`, { headers: bearer });
  try {
    // TCG emulates every arm64 instruction: on a busy host the boot can take minutes.
    await serial.waitFor(PROMPT, 240000);
    await serial.shell(PROMPT);
    await serial.run('echo $((6*7))', /\r\n42\r\n/);
    await serial.run('uname -m', /\r\naarch64\r\n/);
  } finally {
    serial.close();
  }
});

test('GET /api/vms/:label tells where the running VM\'s sockets are and when it started', async () => {
  const r = await api(base, 'GET', `/api/vms/${LABEL}`);
  assert.equal(r.status, 200, r.text);
  // The fields it had before stay as they were.
  assert.equal(r.json.vm.label, LABEL);
  assert.ok(r.json.files[`${LABEL}.ctys`]);
  assert.ok(r.json.argv.some((a: string) => a.endsWith('qemu-system-aarch64')));

  const runDir = join(sb.run, LABEL);
  const { runtime } = r.json;
  assert.equal(runtime.runDir, runDir);
  assert.deepEqual(runtime.sockets, {
    qmp: join(runDir, 'qmp.sock'),
    monitor: join(runDir, 'monitor.sock'),
    serial: join(runDir, 'serial.sock'),
    // aarch64-virt has no display (VGA none): no VNC socket.
  });
  for (const path of Object.values(runtime.sockets) as string[]) assert.ok(statSync(path).isSocket(), path);
  assert.equal(runtime.serialLog, join(runDir, 'serial.log'));
  // The pidfile's time, to the millisecond: between the request and its answer.
  assert.ok(runtime.startedAt >= startedBetween[0] - 1000 && runtime.startedAt <= startedBetween[1], `startedAt ${runtime.startedAt}`);
});

test('stopped, the VM has its runtime directory and no sockets', async () => {
  const r = await api(base, 'POST', `/api/vms/${LABEL}/stop`, { mode: 'force' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.vm.state, 'stopped');
  const shown = await api(base, 'GET', `/api/vms/${LABEL}`);
  assert.deepEqual(shown.json.runtime, { runDir: join(sb.run, LABEL), sockets: {} });
});
