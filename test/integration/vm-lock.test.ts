// One change of a VM at a time (server/vm-lock.ts): changes made at once from
// several processes (terminals, the dashboard) all land, none lost; a lock
// whose holder died is taken over; one a live process holds is waited for.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sandbox } from '../helpers/guest';
import { vmdeck } from '../helpers/lifecycle';

const sb = sandbox('vmlock');
// TCG pinned: nothing runs here, and the host's KVM probe would only add its seconds (default-path.test.ts runs it).
const env = { ...sb.env, ACCELERATOR: 'QEMU' };
const config = join(sb.home, 'vms', 'locked', 'locked.ctys');
const lockFile = join(sb.run, 'locks', 'locked.lock');

before(async () => {
  const made = await vmdeck(['create-conf', '--label', 'locked', '--auto-all', '--no-create-image'], env);
  assert.equal(made.code, 0, made.stderr);
});

after(() => sb.cleanup());

test('six vmdeck set at once, each of another setting: every one is in the config after', async () => {
  const sets = ['DIST=one', 'DISTREL=two', 'OS=three', 'OSREL=four', 'SMP=3', 'MEMSIZE=333'];
  const results = await Promise.all(sets.map((kv) => vmdeck(['set', 'locked', kv], env)));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(config, 'utf8');
  for (const kv of sets) {
    const [k, v] = kv.split('=');
    assert.match(text, new RegExp(`^${k}='${v}'$`, 'm'), `${kv} was lost`);
  }
  assert.ok(!spawnSync('ls', [join(sb.run, 'locks')], { encoding: 'utf8' }).stdout.trim(), 'no lock is left behind');
});

test("a lock whose holder died is taken over at once; a live holder's is waited for", async () => {
  mkdirSync(join(sb.run, 'locks'), { recursive: true, mode: 0o700 });
  // A holder that is gone: a process that has exited, with the start time it had.
  const dead = spawnSync('bash', ['-c', 'echo $$ $(cut -d" " -f22 /proc/$$/stat)'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(lockFile, `${dead} set\n`);
  let t0 = Date.now();
  const r1 = await vmdeck(['set', 'locked', 'DIST=after-dead'], env);
  assert.equal(r1.code, 0, r1.stderr);
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  assert.match(readFileSync(config, 'utf8'), /^DIST='after-dead'$/m);

  // A live one: this test's own process, let go after 1.5 s.
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  writeFileSync(lockFile, `${process.pid} ${start} disk add\n`);
  let released = 0;
  const letGo = setTimeout(() => { released = Date.now(); rmSync(lockFile); }, 1500);
  t0 = Date.now();
  const r2 = await vmdeck(['set', 'locked', 'DIST=after-live'], env);
  clearTimeout(letGo);
  assert.equal(r2.code, 0, r2.stderr);
  assert.ok(released > 0 && released <= Date.now(), 'the set came back while the lock was still held');
  assert.match(readFileSync(config, 'utf8'), /^DIST='after-live'$/m);
});
