// The REST API against real VMs: preview writes nothing, create, list, show,
// start, the serial log, keys, screenshot, events, stop and delete, with the
// same error texts as the CLI.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { guestImages, sandbox } from '../helpers/guest';
import { api, bearer, inProcessServer, type InProcessServer } from '../helpers/server';

const sb = sandbox('srvapi');
let base: string;
let srv: InProcessServer;

before(async () => {
  srv = await inProcessServer(sb);
  ({ base } = srv);
});

after(() => srv?.close());

const images = guestImages();
const spec = (label: string) => ({
  // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
  label, template: 'kernel-initrd', kernel: images.kernel, initrd: images.initrd, append: images.append, accelerator: 'QEMU', memsize: 256,
});

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Reads server-sent events into a list. */
async function eventStream(): Promise<{ events: { event: string; data: any }[]; text: () => string; close: () => void }> {
  const controller = new AbortController();
  const res = await fetch(`${base}/api/events`, { headers: bearer, signal: controller.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events: { event: string; data: any }[] = [];
  let raw = '';
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        raw += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = raw.indexOf('\n\n')) >= 0) {
          const block = raw.slice(0, end);
          raw = raw.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch { /* aborted */ }
  })();
  return { events, text: () => raw, close: () => controller.abort() };
}

test('preview writes nothing; create, list and show; a second create is a conflict', async () => {
  const preview = await api(base, 'POST', '/api/vms/preview', spec('api1'));
  assert.equal(preview.status, 200, preview.text);
  assert.match(preview.json.files['api1.ctys'], /#@#MAGICID-QEMU/);
  assert.ok(preview.json.files['api1.sh'].startsWith('#!'));
  assert.equal(preview.json.argv[0], 'qemu-system-x86_64');
  assert.ok(!existsSync(join(sb.home, 'vms', 'api1')), 'preview wrote nothing');
  // An env name create-conf has no option for (a typo) and a JSON "__proto__" are refused, as other unknown fields are.
  const typo = await api(base, 'POST', '/api/vms/preview', { ...spec('api1'), env: { MEMSZE: '512' } });
  assert.deepEqual([typo.status, typo.json], [400, { error: 'env: "MEMSZE" is not an option of create-conf (vmdeck create-conf --levo lists them)', field: 'env' }]);
  const proto = await fetch(`${base}/api/vms/preview`, { method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: '{"label":"api1","__proto__":{"qemu":"/tmp/x"}}' });
  assert.deepEqual([proto.status, await proto.json()], [400, { error: "__proto__: unknown field '__proto__'", field: '__proto__' }]);
  const known = await api(base, 'POST', '/api/vms/preview', { ...spec('api1'), env: { MEMSIZE: '320' } });
  assert.equal(known.status, 200, known.text);

  const created = await api(base, 'POST', '/api/vms', spec('api1'));
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.vm.label, 'api1');
  assert.equal(created.json.vm.state, 'stopped');
  const again = await api(base, 'POST', '/api/vms', spec('api1'));
  assert.equal(again.status, 409);
  assert.equal(again.json.field, 'label');
  assert.match(again.json.error, /^label: VM 'api1' already exists/);
  const unknownField = await api(base, 'POST', '/api/vms', { ...spec('api9'), colour: 'red' });
  assert.equal(unknownField.status, 400);
  assert.equal(unknownField.json.field, 'colour');
  const elsewhere = await api(base, 'POST', '/api/vms', { ...spec('api9'), base: '/etc' });
  assert.equal(elsewhere.status, 400);
  assert.equal(elsewhere.json.field, 'base');

  const list = await api(base, 'GET', '/api/vms');
  assert.deepEqual(list.json.map((v: { label: string; state: string }) => [v.label, v.state]), [['api1', 'stopped']]);
  const show = await api(base, 'GET', '/api/vms/api1');
  assert.equal(show.json.vm.label, 'api1');
  assert.deepEqual(Object.keys(show.json.files).sort(), ['api1.ctys', 'api1.sh']);
  assert.ok(show.json.argv.includes('-kernel'));
});

test('start, serial log, keys, screenshot, events, stop and delete', async () => {
  const events = await eventStream();
  try {
    const started = await api(base, 'POST', '/api/vms/api1/start', {});
    assert.equal(started.status, 200, started.text);
    assert.equal(started.json.vm.state, 'running');
    const twice = await api(base, 'POST', '/api/vms/api1/start', {});
    assert.equal(twice.status, 409);
    assert.match(twice.json.error, /already running/);

    await until('the guest on serial.log', async () => {
      const log = await api(base, 'GET', '/api/vms/api1/serial.log');
      return log.status === 200 && log.text.includes('vmdeck-guest: ready');
    });
    // All of it by default, from the first byte QEMU wrote.
    const whole = await fetch(`${base}/api/vms/api1/serial.log`, { headers: bearer });
    const got = Buffer.from(await whole.arrayBuffer());
    const onDisk = readFileSync(join(sb.run, 'api1', 'serial.log'));
    assert.ok(got.length > 0 && onDisk.subarray(0, got.length).equals(got), 'serial.log is the file from its start');
    assert.equal(Number(whole.headers.get('content-length')), got.length);
    const tail = await api(base, 'GET', '/api/vms/api1/serial.log?bytes=10');
    assert.equal(tail.text.length, 10);
    assert.match(tail.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal((await api(base, 'GET', '/api/vms/api1/serial.log?bytes=0')).json.field, 'bytes');

    const keys = await api(base, 'POST', '/api/vms/api1/keys', { keys: ['ctrl', 'alt', 'delete'] });
    assert.equal(keys.status, 200, keys.text);
    await until('Ctrl-Alt-Del in the guest', async () => (await api(base, 'GET', '/api/vms/api1/serial.log')).text.includes('vmdeck-guest: ctrl-alt-del'));
    assert.equal((await api(base, 'POST', '/api/vms/api1/keys', {})).json.field, 'keys');

    const shot = await fetch(`${base}/api/vms/api1/screenshot`, { headers: bearer });
    assert.equal(shot.status, 200);
    assert.equal(shot.headers.get('content-type'), 'image/png');
    assert.deepEqual([...new Uint8Array(await shot.arrayBuffer()).slice(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);

    const busy = await api(base, 'DELETE', '/api/vms/api1');
    assert.equal(busy.status, 409);
    assert.match(busy.json.error, /stop it before deleting it/);

    const badMode = await api(base, 'POST', '/api/vms/api1/stop', { mode: 'gently' });
    assert.equal(badMode.status, 400);
    assert.equal(badMode.json.field, 'mode');
    const stopped = await api(base, 'POST', '/api/vms/api1/stop', { mode: 'force' });
    assert.equal(stopped.status, 200, stopped.text);
    assert.equal(stopped.json.vm.state, 'stopped');
    await until('a stopped event', async () => events.events.find((e) => e.event === 'state' && e.data.label === 'api1' && e.data.state === 'stopped'));
    assert.ok(events.events.some((e) => e.data.label === 'api1' && e.data.state === 'running'), JSON.stringify(events.events));
  } finally {
    events.close();
  }

  const removed = await api(base, 'DELETE', '/api/vms/api1?disks=delete');
  assert.equal(removed.status, 200, removed.text);
  assert.equal(removed.json.deleted, 'api1');
  assert.ok(!existsSync(join(sb.home, 'vms', 'api1')));
  assert.ok(!existsSync(join(sb.run, 'api1')), 'its runtime dir, serial.log and qemu.log with it');
  assert.equal((await api(base, 'GET', '/api/vms/api1')).status, 404);
});

test('delete takes only vmdeck\'s own files from the runtime dir, never follows a symlink, and leaves another VM\'s dir of that label alone', async () => {
  assert.equal((await api(base, 'POST', '/api/vms', spec('rundel'))).status, 201);
  const config = join(sb.home, 'vms', 'rundel', 'rundel.ctys');
  const dir = join(sb.run, 'rundel');
  mkdirSync(join(dir, 'mine'), { recursive: true, mode: 0o700 });
  const outside = join(sb.home, 'precious.log');
  writeFileSync(outside, 'not vmdeck\'s');
  // As a run leaves it, plus what a person put there.
  writeFileSync(join(dir, 'config'), `${config}\n`);
  for (const f of ['serial.log', 'qemu.log', 'qemu-stderr.log', 'console', 'lock', 'serial.start', 'progress', 'screendump-12-3.png']) writeFileSync(join(dir, f), 'x');
  symlinkSync(outside, join(dir, 'serial.log.1'));
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  writeFileSync(join(dir, 'mine', 'qemu.log'), 'mine');

  // A runtime dir naming another VM's config (the same label in another base) is not this VM's.
  writeFileSync(join(dir, 'config'), '/elsewhere/rundel/rundel.ctys\n');
  const other = await api(base, 'GET', '/api/vms/rundel');
  assert.equal(other.json.vm.state, 'stopped');
  assert.equal((await api(base, 'DELETE', '/api/vms/rundel?disks=delete')).status, 200);
  assert.ok(existsSync(join(dir, 'serial.log')), 'untouched');

  assert.equal((await api(base, 'POST', '/api/vms', spec('rundel'))).status, 201);
  writeFileSync(join(dir, 'config'), `${config}\n`);
  assert.equal((await api(base, 'DELETE', '/api/vms/rundel?disks=delete')).status, 200);
  assert.deepEqual(readdirSync(dir).sort(), ['mine', 'notes.txt']);
  assert.equal(readFileSync(join(dir, 'mine', 'qemu.log'), 'utf8'), 'mine');
  assert.equal(readFileSync(outside, 'utf8'), 'not vmdeck\'s', 'the link went, not what it points to');
});

test('create with start: true runs the VM; a CLI console start is refused by startVm but taken by the dashboard', async () => {
  const created = await api(base, 'POST', '/api/vms', { ...spec('api2'), start: true });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.vm.state, 'running');
  const stopped = await api(base, 'POST', '/api/vms/api2/stop', { mode: 'force' });
  assert.equal(stopped.json.vm.state, 'stopped');
  const badConsole = await api(base, 'POST', '/api/vms/api2/start', { console: 'tty' });
  assert.equal(badConsole.status, 400);
  assert.equal(badConsole.json.field, 'console');
});

test('serial.log: all that serial0 printed by default (not a 64 KiB tail), an attachment with ?download=1, the tail with ?bytes=N', async () => {
  assert.equal((await api(base, 'POST', '/api/vms', spec('api3'))).status, 201);
  const dir = join(sb.run, 'api3');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lines = Array.from({ length: 30000 }, (_, i) => `boot line ${String(i).padStart(6, '0')}\r\n`).join('');
  writeFileSync(join(dir, 'serial.log'), lines);
  assert.ok(lines.length > 256 * 1024);
  try {
    const all = await api(base, 'GET', '/api/vms/api3/serial.log');
    assert.equal(all.status, 200, all.text.slice(0, 200));
    assert.equal(all.text.length, lines.length);
    assert.ok(all.text === lines, 'the whole log, in order');
    assert.equal(Number(all.headers.get('content-length')), lines.length);
    assert.match(all.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(all.headers.get('content-disposition'), null);

    const download = await api(base, 'GET', '/api/vms/api3/serial.log?download=1');
    assert.equal(download.headers.get('content-disposition'), 'attachment; filename="api3-serial.log"');
    assert.ok(download.text === lines, 'the download is the whole log');

    const tail = await api(base, 'GET', '/api/vms/api3/serial.log?bytes=100');
    assert.equal(tail.text, lines.slice(-100));
    const head = await fetch(`${base}/api/vms/api3/serial.log`, { method: 'HEAD', headers: bearer });
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers.get('content-length')), lines.length);
    assert.equal((await head.text()).length, 0);
    assert.equal((await api(base, 'GET', '/api/vms/api3/serial.log?download=yes')).json.field, 'download');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal((await api(base, 'GET', '/api/vms/api3/serial.log')).status, 404);
  assert.equal((await api(base, 'DELETE', '/api/vms/api3?disks=delete')).status, 200);
});

test('VDE switches: create, list, show and cancel through the API', async () => {
  const bad = await api(base, 'POST', '/api/networks', { name: 'no/slash' });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json.field, 'name');
  const created = await api(base, 'POST', '/api/networks', { name: 'apinet' });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.name, 'apinet');
  assert.equal(created.json.state, 'running');
  assert.deepEqual((await api(base, 'GET', '/api/networks')).json.map((s: { name: string }) => s.name), ['apinet']);
  assert.equal((await api(base, 'GET', '/api/networks/apinet')).json.name, 'apinet');
  assert.equal((await api(base, 'POST', '/api/networks', { name: 'apinet' })).status, 409);
  const gone = await api(base, 'DELETE', '/api/networks/apinet');
  assert.equal(gone.status, 200, gone.text);
  assert.equal((await api(base, 'GET', '/api/networks/apinet')).status, 404);
});

test('a VM made or deleted outside the dashboard is told to event listeners (type vms), so open lists fetch again', async () => {
  const events = await eventStream();
  try {
    await new Promise((r) => setTimeout(r, 300)); // the stream's watchers are in place
    const { createVm, deleteVmFiles, findVm } = await import('../../server/store');
    // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
    const made = await createVm({ label: 'outside1', template: 'kernel-initrd', env: { ACCELERATOR: 'QEMU', INST_KERNEL: guestImages().kernel }, base: join(sb.home, 'vms'), createImage: false });
    await until('a vms event after the create', async () => events.events.some((e) => e.data.type === 'vms'));
    const seen = events.events.length;
    await deleteVmFiles(await findVm(made.vm.label), true);
    await until('a vms event after the delete', async () => events.events.slice(seen).some((e) => e.data.type === 'vms'));
  } finally {
    events.close();
  }
});

test('a VM page read while the VM is deleted answers 200 or 404 with the label, never 500', async () => {
  for (let round = 0; round < 4; round++) {
    const label = `race${round}`;
    assert.equal((await api(base, 'POST', '/api/vms', spec(label))).status, 201);
    const reads = [0, 5, 20, 60].map((delay) => new Promise((r) => setTimeout(r, delay)).then(() => api(base, 'GET', `/api/vms/${label}`)));
    const removed = api(base, 'DELETE', `/api/vms/${label}?disks=delete`);
    const answers = await Promise.all(reads);
    assert.equal((await removed).status, 200);
    for (const a of answers) {
      assert.ok(a.status === 200 || a.status === 404, `GET while deleting answered ${a.status}: ${a.text}`);
      if (a.status === 404) assert.equal(a.json.field, 'label');
    }
  }
});
