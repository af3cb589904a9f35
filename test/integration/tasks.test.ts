// The task log: actions from the CLI and the API as tasks in $VMDECK_HOME,
// many writers at once with rotation losing none, and a server killed with
// SIGKILL mid-task leaving that task interrupted across a restart.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startVm, stopVm } from '../../server/runner';
import { createVm } from '../../server/store';
import { listTasks, task, tasksDir } from '../../server/tasks';
import { demoVmEnv, sandbox } from '../helpers/guest';
import { vmdeck } from '../helpers/cli';
import { waitFor } from '../helpers/vms';
import { api, spawnServer } from '../helpers/server';

const sb = sandbox('tasks');
const LABEL = 'tasked';
// Small segments, so that the writers below rotate the log while they write.
const ROTATE = '131072';

before(async () => {
  sb.enter();
  process.env.VMDECK_TASKS_ROTATE_BYTES = ROTATE;
  await createVm({ label: LABEL, template: 'kernel-initrd', env: demoVmEnv(), base: join(sb.home, 'vms') });
});

after(async () => {
  await stopVm(LABEL, { mode: 'force' }).catch(() => undefined);
  delete process.env.VMDECK_TASKS_ROTATE_BYTES;
  sb.cleanup();
});

test('create is a task of the CLI user, with the options it was given', () => {
  const [created] = listTasks({ label: LABEL });
  assert.equal(created.action, 'create');
  assert.equal(created.result, 'ok');
  assert.match(created.who, /^cli:/);
  assert.equal(created.args.template, 'kernel-initrd');
  assert.equal(created.args.memsize, 256, 'MEMSIZE from the environment is logged as the spec field');
  assert.equal(created.args.PATH, undefined, 'the rest of the environment is not logged');
});

test('settings and devices changed are tasks too: vmdeck set with what it set, a disk added, a refused one with its error', async () => {
  const set = await vmdeck(['set', LABEL, 'DIST=Tasked', 'MEMSIZE=320'], sb.env);
  assert.equal(set.code, 0, set.stderr);
  const added = await vmdeck(['disk', LABEL, 'add', '--size', '8M'], sb.env);
  assert.equal(added.code, 0, added.stderr);
  const refused = await vmdeck(['set', LABEL, 'MEMSIZE=lots'], sb.env);
  assert.equal(refused.code, 1);
  const [bad, disk, good] = listTasks({ label: LABEL });
  assert.deepEqual([good.action, good.result, good.args], ['set', 'ok', { DIST: 'Tasked', MEMSIZE: '320' }]);
  assert.match(good.who, /^cli:/);
  assert.deepEqual([disk.action, disk.result, disk.args.size], ['disk:add', 'ok', '8M']);
  assert.deepEqual([bad.action, bad.result, bad.error], ['set', 'error', "memsize: 'lots' is not a size in MiB"]);
});

test('24 CLI processes and this one writing at once: every task is there, begun and ended, no line torn', async () => {
  const env = { ...sb.env, VMDECK_TASKS_ROTATE_BYTES: ROTATE };
  const cli = Array.from({ length: 24 }, () => vmdeck(['cancel', LABEL, '--pause'], env, { timeoutMs: 120000 }));
  let cliDone = false;
  const results = Promise.all(cli).finally(() => { cliDone = true; });
  // This process writes all the while the CLI processes do, a task every 10 ms:
  // enough to rotate the log, few enough that the kept segments hold them all.
  let written = 0;
  while ((!cliDone || written < 400) && written < 600) {
    await task('test:write', `w${written}`, { pad: 'x'.repeat(200) }, async () => written);
    written++;
    await new Promise((r) => setTimeout(r, 10));
  }
  for (const r of await results) assert.match(r.stderr, /not running/, 'a pause of a stopped VM fails, as a task that failed');

  const all = listTasks({ limit: 10000 });
  const pauses = all.filter((t) => t.label === LABEL && t.action === 'stop:pause');
  assert.equal(pauses.length, 24);
  for (const t of pauses) {
    assert.equal(t.result, 'error');
    assert.match(t.error ?? '', /not running/);
  }
  const writes = all.filter((t) => t.action === 'test:write');
  assert.equal(writes.length, written);
  assert.equal(new Set(writes.map((t) => t.label)).size, written);
  assert.ok(writes.every((t) => t.result === 'ok' && t.end !== undefined));

  const files = readdirSync(tasksDir());
  assert.ok(files.length > 1, `the log was rotated (${files.join(', ')})`);
  for (const f of files) {
    for (const line of readFileSync(join(tasksDir(), f), 'utf8').split('\n').filter(Boolean)) {
      assert.doesNotThrow(() => JSON.parse(line), `a whole line in ${f}: ${line.slice(0, 80)}`);
    }
  }
});

test('a server killed with SIGKILL mid-task leaves the task interrupted; the log survives the restart', async () => {
  await startVm(LABEL);
  let server = await spawnServer(sb);
  // The test guest ignores the ACPI button: this poweroff waits its whole 60 s.
  const pending = api(server.base, 'POST', `/api/vms/${LABEL}/stop`, { mode: 'poweroff', timeout: 60 }).catch(() => null);
  await waitFor('the poweroff task to begin', async () => {
    const r = await api(server.base, 'GET', `/api/tasks?label=${LABEL}`);
    return r.json.some((t: { action: string; result: string }) => t.action === 'stop:poweroff' && t.result === 'running');
  });
  await server.kill();
  await pending;

  const cli = await vmdeck(['tasks', LABEL, '--json'], sb.env);
  assert.equal(cli.code, 0, cli.stderr);
  const [last] = JSON.parse(cli.stdout);
  assert.equal(last.action, 'stop:poweroff');
  assert.equal(last.result, 'interrupted');
  assert.match(last.who, /^api@127\.0\.0\.1$/);

  server = await spawnServer(sb);
  try {
    const r = await api(server.base, 'GET', `/api/tasks?label=${LABEL}&limit=10000`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.slice(0, 2).map((t: { action: string; result: string }) => `${t.action} ${t.result}`), ['stop:poweroff interrupted', 'start ok']);
    assert.equal(r.json.at(-1).action, 'create');
    const bad = await api(server.base, 'GET', '/api/tasks?limit=0');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.field, 'limit');
  } finally {
    await server.kill();
  }
  const text = await vmdeck(['tasks', LABEL], sb.env);
  assert.match(text.stdout, /stop:poweroff\s+api@127\.0\.0\.1\s+interrupted/);
});
