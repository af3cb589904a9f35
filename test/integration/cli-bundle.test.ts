// The vmdeck command never writes a stale wrapper: in a copy of the repo, an
// edit of lib/wrapper/body.sh reaches the <LABEL>.sh that create-conf writes,
// through the bundle's staleness check and the sources path, and the bundle
// built afterwards embeds it too. The bundle keeps V8's code cache of each
// command's run and never trusts one V8 rejects.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { REPO, sandbox, type Sandbox } from '../helpers/guest';

let sb: Sandbox;
let copy: string;

before(() => {
  sb = sandbox('bundle');
  copy = join(sb.home, 'repo');
  mkdirSync(copy, { recursive: true });
  // The working tree's files as they are (tracked and new), without build output.
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO });
  execFileSync('tar', ['-C', REPO, '--null', '-T', '-', '-cf', join(sb.home, 'repo.tar')], { input: files });
  execFileSync('tar', ['-C', copy, '-xf', join(sb.home, 'repo.tar')]);
  symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'));
  mkdirSync(join(sb.home, 'boot'));
  writeFileSync(join(sb.home, 'boot', 'vmlinuz'), 'not really a kernel');
});
after(() => sb.cleanup());

function createConf(label: string): string {
  execFileSync(process.execPath, [join(copy, 'bin/vmdeck.js'), 'create-conf', '--label', label, '--template', 'kernel-initrd',
    '--auto-all', '--no-create-image'], { env: { ...sb.env, INST_KERNEL: join(sb.home, 'boot', 'vmlinuz') }, stdio: 'pipe' });
  return readFileSync(join(sb.home, 'vms', label, `${label}.sh`), 'utf8');
}

test('after an edit of body.sh, create-conf writes the new wrapper body; the next bundle embeds it too', () => {
  const body = join(copy, 'lib/wrapper/body.sh');
  execFileSync(process.execPath, [join(copy, 'scripts/build-cli.mjs')], { stdio: 'pipe' });
  const inputs = JSON.parse(readFileSync(join(copy, '.cache/cli/inputs.json'), 'utf8')).inputs as string[];
  assert.ok(inputs.includes('lib/wrapper/body.sh'), 'an edit of body.sh makes the bundle stale');
  assert.ok(createConf('before').endsWith(readFileSync(body, 'utf8')), 'the fresh bundle writes the current body');

  appendFileSync(body, '# edited after the bundle was built\n');
  const edited = createConf('edited');
  assert.ok(edited.endsWith('exec "${argv[@]}"\n# edited after the bundle was built\n'), edited.slice(-200));
  // The sources path brought body.ts up to date: the suite's sync check passes.
  execFileSync(process.execPath, [join(copy, 'scripts/gen-wrapper.mjs'), '--check'], { stdio: 'pipe' });

  appendFileSync(body, '# edited again, then bundled\n');
  execFileSync(process.execPath, [join(copy, 'scripts/build-cli.mjs')], { stdio: 'pipe' });
  // The build is a directory: the wrapper's body is in its script.
  const { id } = JSON.parse(readFileSync(join(copy, '.cache/cli/inputs.json'), 'utf8')) as { id: string };
  const build = join(copy, '.cache/cli', id);
  assert.ok(readdirSync(build).some((f) => /# edited again, then bundled/.test(readFileSync(join(build, f), 'utf8'))));
  assert.ok(createConf('bundled').endsWith('# edited again, then bundled\n'));
});

test('a command leaves V8\'s code cache of its run beside the bundle, runs from it next time, and replaces one V8 rejects', () => {
  execFileSync(process.execPath, [join(copy, 'scripts/build-cli.mjs')], { stdio: 'pipe' });
  const { id } = JSON.parse(readFileSync(join(copy, '.cache/cli/inputs.json'), 'utf8')) as { id: string };
  const cache = join(copy, '.cache/cli', id, 'enumerate.v8cache');
  const enumerate = () => JSON.parse(execFileSync(process.execPath, [join(copy, 'bin/vmdeck.js'), 'enumerate', '--json'], { env: sb.env, encoding: 'utf8' })) as { label: string }[];
  const labels = enumerate().map((v) => v.label);
  assert.ok(labels.includes('bundled'), labels.join(' '));
  const made = statSync(cache);
  assert.ok(made.size > 10_000, `a cache of the compiled code: ${made.size} bytes`);
  // Taken, not made again: the same file.
  assert.deepEqual(enumerate().map((v) => v.label), labels);
  assert.equal(statSync(cache).ino, made.ino);
  assert.equal(statSync(cache).mtimeMs, made.mtimeMs);
  // One V8 does not take (another node's, or damaged) is replaced, and the command works.
  writeFileSync(cache, 'not a code cache');
  assert.deepEqual(enumerate().map((v) => v.label), labels);
  assert.ok(statSync(cache).size > 10_000);
  // Only a command's name names a cache.
  execFileSync(process.execPath, [join(copy, 'bin/vmdeck.js'), '--version'], { env: sb.env });
  assert.deepEqual(readdirSync(join(copy, '.cache/cli', id)).sort(), ['enumerate.v8cache', 'vmdeck.cjs']);
});

test('body.ts holds one line of body.sh per line, so that its diffs read like body.sh\'s', () => {
  const sh = readFileSync(join(REPO, 'lib/wrapper/body.sh'), 'utf8').split('\n');
  const env = readFileSync(join(REPO, 'lib/wrapper/ctys-env.sh'), 'utf8').split('\n');
  const ts = readFileSync(join(REPO, 'lib/wrapper/body.ts'), 'utf8').split('\n');
  assert.equal(ts.length, sh.length + env.length + 6, 'a comment, for body.sh and ctys-env.sh the opening, a line per line and the join, and the final newline');
  assert.equal(ts[2 + sh.indexOf('shopt -s extglob')], '  "shopt -s extglob",');
});
