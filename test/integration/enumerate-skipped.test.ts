// What ENUMERATE leaves out is said: a config bash fails on, and a label
// found a second time (the first found wins), each in a warning line on
// stderr naming the config, in every output format; a config marked to be
// ignored is left out without a word, as ctys does.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sandbox } from '../helpers/guest';
import { vmdeck } from '../helpers/lifecycle';

const sb = sandbox('enumskip');
// Inside the sandbox's root, which its cleanup removes.
const second = join(sb.home, '..', 'second');
// TCG pinned: nothing here runs, and the host's KVM probe would only add its seconds (default-path.test.ts runs it).
const env = { ...sb.env, VMDECK_BASES: second, ACCELERATOR: 'QEMU' };
const vms = join(sb.home, 'vms');

before(async () => {
  const made = await vmdeck(['create-conf', '--label', 'web', '--auto-all', '--no-create-image'], env);
  assert.equal(made.code, 0, made.stderr);
  // The same VM copied by hand into the second base: the same label twice.
  mkdirSync(second, { recursive: true });
  cpSync(join(vms, 'web'), join(second, 'web'), { recursive: true });
  const text = readFileSync(join(vms, 'web', 'web.ctys'), 'utf8');
  // A config that bash stops on (a ctys config is bash).
  mkdirSync(join(vms, 'broken'));
  writeFileSync(join(vms, 'broken', 'broken.ctys'), text.replaceAll('web', 'broken').replace(/^LABEL=.*$/m, '$&\nexit 3'));
  // One its owner marked to be left out.
  mkdirSync(join(vms, 'hidden'));
  writeFileSync(join(vms, 'hidden', 'hidden.ctys'), `#@#MAGICID-IGNORE\n${text.replaceAll('web', 'hidden')}`);
});

after(() => sb.cleanup());

test('enumerate says what it skipped and why, on stderr, whatever the format; the list is the rest', async () => {
  const expected = [
    `vmdeck enumerate: warning: skipped ${join(vms, 'broken', 'broken.ctys')}: bash could not evaluate the config: it exited with status 3`,
    `vmdeck enumerate: warning: skipped ${join(second, 'web', 'web.ctys')}: label 'web' is taken by ${join(vms, 'web', 'web.ctys')} (the first found wins)`,
  ];
  const table = await vmdeck(['enumerate'], env);
  assert.equal(table.code, 0, table.stderr);
  assert.deepEqual(table.stderr.trim().split('\n').sort(), [...expected].sort());
  assert.deepEqual(table.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0]), ['web']);
  assert.match(table.stdout, new RegExp(`${join(vms, 'web', 'web.ctys')}\\n$`));
  // The second run reads from ENUMERATE's cache: the same said again.
  const json = await vmdeck(['enumerate', '--json'], env);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(json.stderr.trim().split('\n').sort(), [...expected].sort());
  assert.deepEqual(JSON.parse(json.stdout).map((v: { label: string; config: string }) => [v.label, v.config]), [['web', join(vms, 'web', 'web.ctys')]]);
});

test('a config found twice through bases that overlap is one VM, said of nothing', async () => {
  // The default base again inside VMDECK_BASES, the second base also through a symlink, and --base naming one base twice.
  const link = join(sb.home, '..', 'second-link');
  symlinkSync(second, link);
  const overlapping = { ...env, VMDECK_BASES: `${join(vms, 'web')}%${second}%${link}` };
  const r = await vmdeck(['enumerate', '--json'], overlapping);
  assert.equal(r.code, 0, r.stderr);
  const warnings = r.stderr.trim().split('\n').filter(Boolean);
  assert.ok(warnings.every((l) => !l.includes(`is taken by ${join(vms, 'web', 'web.ctys')}`) || l.includes(`skipped ${join(second, 'web', 'web.ctys')}:`)), r.stderr);
  assert.ok(!r.stderr.includes(`skipped ${join(link, 'web', 'web.ctys')}`), `the symlinked base is the same file: ${r.stderr}`);
  assert.ok(!r.stderr.includes(`skipped ${join(vms, 'web', 'web.ctys')}:`), `the default base's own web: ${r.stderr}`);
  const twice = await vmdeck(['enumerate', '--json', '--base', `${vms}%${vms}/`], env);
  assert.equal(twice.code, 0, twice.stderr);
  assert.equal(twice.stderr.trim(), `vmdeck enumerate: warning: skipped ${join(vms, 'broken', 'broken.ctys')}: bash could not evaluate the config: it exited with status 3`);
  assert.deepEqual(JSON.parse(twice.stdout).map((v: { label: string }) => v.label), ['web']);
});

test('a config whose #@#LABEL vmdeck cannot run (blanks, a slash) is listed with a warning that says so', async () => {
  const odd = join(sb.home, '..', 'odd');
  mkdirSync(join(odd, 'o'), { recursive: true });
  const text = readFileSync(join(vms, 'web', 'web.ctys'), 'utf8').replace(/^#@#LABEL\s*=.*$/m, '#@#LABEL = "my vm"');
  writeFileSync(join(odd, 'o', 'o.ctys'), text);
  const table = await vmdeck(['enumerate', '--base', odd], env);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^my vm\s+stopped/m);
  assert.equal(table.stderr, "vmdeck enumerate: warning: my vm: label 'my vm' is not one vmdeck can start or change (letters, digits, '.', '_' and '-', at most 63, starting with a letter or digit): give the config a plain #@#LABEL\n");
  const json = JSON.parse((await vmdeck(['enumerate', '--base', odd, '--json'], env)).stdout) as { label: string; warnings?: string[] }[];
  assert.match(json[0].warnings?.[0] ?? '', /^label 'my vm' is not one vmdeck can start/);
});

test('a config bash stops reading at a syntax error is listed with the values before it and a warning naming the line', async () => {
  const bad = join(sb.home, '..', 'syntax');
  mkdirSync(join(bad, 's'), { recursive: true });
  const text = readFileSync(join(vms, 'web', 'web.ctys'), 'utf8').replaceAll('web', 'synt');
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith('MEMSIZE='));
  // A hand edit gone wrong just before MEMSIZE (a stray fi): bash reads nothing from there on.
  lines.splice(at, 0, 'fi');
  writeFileSync(join(bad, 's', 'synt.ctys'), lines.join('\n'));
  const json = await vmdeck(['enumerate', '--base', bad, '--json'], env);
  assert.equal(json.code, 0, json.stderr);
  const [vm] = JSON.parse(json.stdout) as { label: string; memsize: number; uuid: string; warnings?: string[] }[];
  assert.equal(vm.label, 'synt');
  assert.equal(vm.memsize, 0, 'MEMSIZE, after the error, is not read');
  assert.deepEqual(vm.warnings, [`config: bash stops reading it at line ${at + 1}: syntax error near unexpected token \`fi': what it sets after that line is not read, and the VM will not start (the wrapper refuses a config bash cannot read)`]);
  // A syntax error in an eval is no stop: bash reads on, and nothing is said.
  mkdirSync(join(bad, 'e'), { recursive: true });
  writeFileSync(join(bad, 'e', 'evals.ctys'), `${text.replaceAll('synt', 'evals')}\neval 'if'\nOS=after\n`);
  const both = JSON.parse((await vmdeck(['enumerate', '--base', bad, '--json'], env)).stdout) as { label: string; os: string; warnings?: string[] }[];
  assert.deepEqual(both.filter((v) => v.label === 'evals').map((v) => [v.os, v.warnings]), [['after', undefined]]);
  const table = await vmdeck(['enumerate', '--base', bad], env);
  assert.match(table.stderr, /^vmdeck enumerate: warning: synt: config: bash stops reading it at line \d+: syntax error/m);
});

test('a config that waits is skipped after 5 s, and what it ran is gone with it (no process left per listing)', async () => {
  const slow = join(sb.home, '..', 'slow');
  mkdirSync(join(slow, 'w'), { recursive: true });
  const text = readFileSync(join(vms, 'web', 'web.ctys'), 'utf8').replaceAll('web', 'waits');
  // A unique length of sleep, to find its process by.
  writeFileSync(join(slow, 'w', 'waits.ctys'), `${text}\nsleep 97.531\n`);
  const r = await vmdeck(['enumerate', '--base', slow], env, 30000);
  assert.match(r.stderr, /^vmdeck enumerate: warning: skipped .*waits\.ctys: .*ran for more than 5 s/m);
  await new Promise((res) => setTimeout(res, 300));
  const left = execFileSync('ps', ['-eo', 'args']).toString().split('\n').filter((l) => l.includes('sleep 97.531'));
  assert.deepEqual(left, []);
});
