// A client that never reads, on a serial console flooded by the guest (`yes`):
// the other clients keep receiving, the slow one is dropped, and what the
// server holds for its clients stays bounded.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Socket } from 'node:net';
import { startServer, type RunningServer } from '../../server/index';
import { createVm } from '../../server/store';
import { consoleStats } from '../../server/ws/consoles';
import { DEFAULT_LIMITS } from '../../server/ws/hub';
import { demoVmEnv, PROMPT, sandbox } from '../helpers/guest';
import { bearer, closedWithin, TEST_TOKEN, WsClient } from '../helpers/server';

const sb = sandbox('srvslow');
let server: RunningServer;
const LABEL = 'flood1';

before(async () => {
  sb.enter();
  process.env.VMDECK_TOKEN = TEST_TOKEN;
  await createVm({ label: LABEL, template: 'kernel-initrd', env: demoVmEnv(), base: join(sb.home, 'vms') });
  execFileSync('bash', [join(sb.home, 'vms', LABEL, `${LABEL}.sh`)], { env: sb.env });
  server = await startServer({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await server?.close();
  delete process.env.VMDECK_TOKEN;
  sb.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a client that never reads is dropped; the others keep receiving; buffers stay bounded', async () => {
  const url = `ws://127.0.0.1:${server.port}/ws/vms/${LABEL}/serial`;
  const typist = await WsClient.open(url, { headers: bearer });
  const watcher = await WsClient.open(url, { headers: bearer });
  await typist.shell(PROMPT);
  const slow = await WsClient.open(url, { headers: bearer });
  // It stops reading: the kernel's buffers fill, then the server's.
  (slow.ws as unknown as { _socket: Socket })._socket.pause();
  let slowClosedAt = 0;
  void slow.closed.then(() => { slowClosedAt = Date.now(); });

  typist.send('yes vmdeck-flood-line\r');
  const floodAt = Date.now();
  let maxBuffered = 0;
  let maxRecent = 0;
  const deadline = Date.now() + 90_000;
  let dropped = 0;
  while (Date.now() < deadline) {
    await sleep(100);
    const hub = consoleStats().find((s) => s.label === LABEL && s.console === 'serial');
    assert.ok(hub, 'the serial hub is there');
    maxBuffered = Math.max(maxBuffered, hub.stats.bufferedBytes);
    maxRecent = Math.max(maxRecent, hub.stats.recentBytes);
    dropped = hub.stats.dropped;
    if (dropped > 0) break;
  }
  const droppedAfter = (Date.now() - floodAt) / 1000;
  assert.equal(dropped, 1, `the slow client was not dropped within 90 s (watcher got ${watcher.bytes} bytes)`);
  // The others keep receiving after the drop.
  const seen = watcher.bytes;
  await sleep(1000);
  assert.ok(watcher.bytes > seen + 10_000, `the watcher stalled at ${watcher.bytes} bytes`);
  assert.ok(typist.bytes > 1_000_000, `the typist received only ${typist.bytes} bytes`);

  typist.send('\x03');
  const t0 = Date.now();
  await typist.shell(PROMPT, 30_000);
  const ctrlC = (Date.now() - t0) / 1000;
  const limit = DEFAULT_LIMITS.slowClientBytes;
  assert.ok(maxBuffered <= 3 * limit, `the hub held ${maxBuffered} unsent bytes (limit ${limit} per client)`);
  assert.ok(maxRecent <= 2 * DEFAULT_LIMITS.recentBytes, `the recent-output ring grew to ${maxRecent} bytes`);
  console.log(`# flood: slow client dropped after ${droppedAfter} s, prompt back ${ctrlC} s after Ctrl-C; most unsent ${maxBuffered} bytes; typist got ${typist.bytes} bytes`);

  // Reading again, the slow client finds its connection closed.
  (slow.ws as unknown as { _socket: Socket })._socket.resume();
  const closed = await closedWithin(slow, 30_000);
  assert.ok([4429, 1006].includes(closed.code), `closed with ${closed.code} ${closed.reason}`);
  assert.ok(slowClosedAt > 0);
  typist.close();
  watcher.close();
});
