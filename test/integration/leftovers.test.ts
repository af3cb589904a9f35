// What killed processes and hand edits leave behind: a server starting
// removes what dead processes left in the VMs' runtime dirs (screen samples,
// screenshots, progress writes, each named by its process's pid), and nothing
// of a process that lives; a running VM whose config was removed still stops.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PROMPT, sandbox } from '../helpers/guest';
import { createGuestVm, vmdeck } from '../helpers/lifecycle';
import { api, bearer, spawnServer, WsClient, type ChildServer } from '../helpers/server';

const sb = sandbox('leftovers');
let server: ChildServer | undefined;
after(async () => {
  await server?.kill();
  sb.cleanup();
});

test('a starting server removes dead processes\' screen samples and progress writes, keeps a live one\'s and other files', async () => {
  const dir = join(sb.run, 'gone1');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dead = ['progress-screen-999999-1.ppm', 'screendump-999998-2.png', 'progress.tmp-999997-0a1b'];
  const kept = [`progress-screen-${process.pid}-1.ppm`, 'serial.log', 'notes-999999-1.txt'];
  for (const f of [...dead, ...kept]) writeFileSync(join(dir, f), 'x');
  server = await spawnServer(sb);
  // It sweeps as it starts, beside its first answers.
  assert.equal((await api(server.base, 'GET', '/api/health')).status, 200);
  for (let i = 0; i < 50 && dead.some((f) => existsSync(join(dir, f))); i++) await new Promise((r) => setTimeout(r, 100));
  for (const f of dead) assert.equal(existsSync(join(dir, f)), false, `${f} is gone`);
  for (const f of kept) assert.equal(existsSync(join(dir, f)), true, `${f} stays`);
});

test('a running VM whose config was removed stops through the API with 200 and its state, not a 404', async () => {
  await createGuestVm(sb.env, 'orphan');
  assert.equal((await vmdeck(['start', 'orphan'], sb.env)).code, 0);
  const config = join(sb.home, 'vms/orphan/orphan.ctys');
  renameSync(config, `${config}.away`);
  // The dashboard's list has it as `vmdeck list` does, running, with why it cannot be started again.
  const list = await api(server!.base, 'GET', '/api/vms');
  const row = list.json.find((v: { label: string }) => v.label === 'orphan');
  assert.ok(row, JSON.stringify(list.json.map((v: { label: string }) => v.label)));
  assert.equal(row.state, 'running');
  assert.deepEqual(row.warnings, [`its config is gone (moved or deleted while it ran, recorded as '${config}'): it runs until stopped, and cannot be started again`]);
  // Its page answers (its consoles and stop work by the label): no files or command to show.
  const page = await api(server!.base, 'GET', '/api/vms/orphan');
  assert.equal(page.status, 200, page.text);
  assert.deepEqual([page.json.vm.state, page.json.argv, page.json.argvError], ['running', null, row.warnings[0]]);
  assert.ok(page.json.runtime, page.text);
  // Its serial console answers by its label (the page's console tabs), as vmdeck console does.
  const serial = await WsClient.open(`ws://127.0.0.1:${new URL(server!.base).port}/ws/vms/orphan/serial`, { headers: bearer });
  try {
    await serial.shell(PROMPT, 60000);
    serial.send('echo orphan-$((6*7))\r');
    await serial.waitFor(/orphan-42/, 10000);
  } finally {
    serial.close();
  }
  const r = await api(server!.base, 'POST', '/api/vms/orphan/stop', { mode: 'force' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.state, 'stopped');
  assert.equal(r.json.vm, undefined);
  const after = await api(server!.base, 'GET', '/api/vms');
  assert.equal(after.json.find((v: { label: string }) => v.label === 'orphan'), undefined, 'gone from the list once stopped');
  assert.equal((await api(server!.base, 'GET', '/api/vms/orphan')).status, 404);
});

test('a create\'s or clone\'s temporary directory goes when its process is gone or another now, never while it fills, however old', async () => {
  const { removeStaleTmp, tmpDirPrefix, tmpPrefix } = await import('../../server/store');
  const base = join(sb.home, 'tmpbase');
  const hourAgo = new Date(Date.now() - 3600_000);
  const make = (name: string) => {
    mkdirSync(join(base, name), { recursive: true });
    utimesSync(join(base, name), hourAgo, hourAgo);
    return name;
  };
  const mine = make(`${tmpDirPrefix('x')}abc123`);
  const dead = make(`${tmpPrefix('x')}999999-12345-abc123`);
  const reused = make(`${tmpPrefix('x')}${process.pid}-1-abc123`);
  const older = make(`${tmpPrefix('x')}${process.pid}-abc123`);
  const other = make(`${tmpPrefix('y')}999999-12345-abc123`);
  await removeStaleTmp(base, 'x');
  assert.deepEqual([mine, dead, reused, older, other].map((n) => existsSync(join(base, n))), [true, false, false, false, true]);
});
