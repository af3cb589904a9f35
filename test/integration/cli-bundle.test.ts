// The vmdeck command never writes a stale wrapper: in a copy of the repo, an
// edit of lib/wrapper/body.sh reaches the <LABEL>.sh that create-conf writes,
// through the bundle's staleness check and the sources path, and the bundle
// built afterwards embeds it too.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
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
  // The build is a directory of files (a chunk per command and shared module): the wrapper's body is in one of them.
  const { id } = JSON.parse(readFileSync(join(copy, '.cache/cli/inputs.json'), 'utf8')) as { id: string };
  const build = join(copy, '.cache/cli', id);
  assert.ok(readdirSync(build).some((f) => /# edited again, then bundled/.test(readFileSync(join(build, f), 'utf8'))));
  assert.ok(createConf('bundled').endsWith('# edited again, then bundled\n'));
});

test('body.ts holds one line of body.sh per line, so that its diffs read like body.sh\'s', () => {
  const sh = readFileSync(join(REPO, 'lib/wrapper/body.sh'), 'utf8').split('\n');
  const env = readFileSync(join(REPO, 'lib/wrapper/ctys-env.sh'), 'utf8').split('\n');
  const ts = readFileSync(join(REPO, 'lib/wrapper/body.ts'), 'utf8').split('\n');
  assert.equal(ts.length, sh.length + env.length + 6, 'a comment, for body.sh and ctys-env.sh the opening, a line per line and the join, and the final newline');
  assert.equal(ts[2 + sh.indexOf('shopt -s extglob')], '  "shopt -s extglob",');
});
