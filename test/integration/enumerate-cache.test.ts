// ENUMERATE's cache in the runtime root (server/enumerate-cache.ts), through
// the real `vmdeck enumerate`, one process after another: a config edited
// since the last command is read again, even when the edit kept its size and
// its mtime; a VM removed is gone, one added appears; the file is private.
// A config or a directory's listing is kept once it has not changed for RACY_MS: a
// VM added to a base listed so is seen, and one of a kept config is listed
// the same from the cache as from its config.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cacheFile as cacheFileOf, RACY_MS } from '../../server/enumerate-cache';
import type { VmInfo } from '../../lib/vm';
import { vmdeck } from '../helpers/cli';
import { sandbox, type Sandbox } from '../helpers/guest';

let sb: Sandbox;

before(() => {
  sb = sandbox('enumcache');
});
after(() => sb.cleanup());

async function listed(): Promise<VmInfo[]> {
  const r = await vmdeck(['enumerate', '--json'], sb.env);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as VmInfo[];
}

async function create(label: string): Promise<void> {
  const r = await vmdeck(['create-conf', '--label', label, '--template', 'linux-x86_64', '--no-create-image'], sb.env);
  assert.equal(r.code, 0, r.stderr);
}

test('a config edited, removed or added since the last enumerate is seen by the next one', async () => {
  await create('c1');
  await create('c2');
  // A whole second, which utimes sets back exactly.
  const config = join(sb.home, 'vms', 'c1', 'c1.ctys');
  utimesSync(config, 1_700_000_000, 1_700_000_000);
  assert.deepEqual((await listed()).map((v) => v.label), ['c1', 'c2']);
  const cacheFile = join(sb.run, cacheFileOf(join(sb.home, 'vms')));
  // A config changed within RACY_MS of its read is not kept (a same-size edit in the same tick of
  // the file system's clock would leave its stamp as it was); once it has settled, it is.
  const kept = () => existsSync(cacheFile) && /"c2"/.test(readFileSync(cacheFile, 'utf8'));
  assert.equal(kept(), false, 'c2, just written, is not kept');
  await new Promise((r) => setTimeout(r, RACY_MS + 100));
  assert.deepEqual((await listed()).map((v) => v.label), ['c1', 'c2']);
  assert.equal(statSync(cacheFile).mode & 0o777, 0o600);
  assert.equal(kept(), true, 'c2, settled, is kept');

  // The same size and the same mtime: only the ctime tells.
  const before = statSync(config);
  const text = readFileSync(config, 'utf8');
  assert.match(text, /^MEMSIZE=2048$/m);
  writeFileSync(config, text.replace(/^MEMSIZE=2048$/m, 'MEMSIZE=4096'));
  utimesSync(config, 1_700_000_000, 1_700_000_000);
  assert.equal(statSync(config).size, before.size);
  assert.equal(statSync(config).mtimeMs, before.mtimeMs);
  assert.equal((await listed()).find((v) => v.label === 'c1')?.memsize, 4096);

  rmSync(join(sb.home, 'vms', 'c2'), { recursive: true });
  await create('c3');
  assert.deepEqual((await listed()).map((v) => v.label), ['c1', 'c3']);
  assert.doesNotMatch(readFileSync(cacheFile, 'utf8'), /"c2"/);
});

test('a base whose listing was kept: a VM added or removed since is seen; the cached facts list as the config does', async () => {
  await create('d1');
  await create('d2');
  // A value beyond ASCII: a record's length in characters is then not its length in bytes.
  const d2 = join(sb.home, 'vms', 'd2', 'd2.ctys');
  writeFileSync(d2, readFileSync(d2, 'utf8').replace(/^DIST=''$/m, "DIST='Débian ✓'"));
  const cacheFile = join(sb.run, cacheFileOf(join(sb.home, 'vms')));
  rmSync(cacheFile, { force: true });
  const fromConfigs = await listed();
  assert.equal(fromConfigs.find((v) => v.label === 'd2')?.dist, 'Débian ✓');
  // Listings read within RACY_MS of the directory's change are not kept: wait that long, then list (and keep) them.
  await new Promise((r) => setTimeout(r, RACY_MS + 100));
  rmSync(cacheFile, { force: true });
  assert.deepEqual(await listed(), fromConfigs);
  // The file's first line is its index (enumerate-cache.ts), the records' text follows.
  const kept = JSON.parse(readFileSync(cacheFile, 'utf8').split('\n')[0]) as { dirs: [string, ...unknown[]][] };
  assert.ok(kept.dirs.some(([dir]) => dir === join(sb.home, 'vms')), 'the base\'s listing is kept');
  // From the cache: the same records, in the same form (the paths the cache keeps once are whole again).
  assert.equal(JSON.stringify(await listed()), JSON.stringify(fromConfigs));
  // Each record's length in the index is in characters of the text: d2's record, cut out of the file by them, is its record.
  const file = readFileSync(cacheFile, 'utf8');
  const nl = file.indexOf('\n');
  const index = JSON.parse(file.slice(0, nl)) as { configs: [string, number, number, number, number, string, string, number][] };
  let at = nl + 1;
  for (const row of index.configs) {
    const record = JSON.parse(file.slice(at, at + row[7])) as VmInfo;
    assert.equal(record.label, row[5]);
    if (row[5] === 'd2') assert.equal(record.dist, 'Débian ✓');
    at += row[7];
  }
  assert.equal(at, file.length);
  // And read from the cache as facts (the table, not --json's kept records).
  const table = await vmdeck(['enumerate', '--ctys'], sb.env);
  assert.match(table.stdout, /;d2;[^\n]*;Débian ✓;/);

  await create('d3');
  rmSync(join(sb.home, 'vms', 'd1'), { recursive: true });
  const labels = (await listed()).map((v) => v.label);
  assert.ok(labels.includes('d3') && !labels.includes('d1') && labels.includes('d2'), labels.join(' '));
});

test('each base has a file of its own: a command walking one base leaves the other\'s alone', async () => {
  const other = join(sb.home, 'other');
  const r = await vmdeck(['create-conf', '--label', 'o1', '--template', 'linux-x86_64', '--no-create-image', '--base', other], sb.env);
  assert.equal(r.code, 0, r.stderr);
  await new Promise((t) => setTimeout(t, RACY_MS + 100)); // o1 is kept once it has settled
  const e = await vmdeck(['enumerate', '--json', '--base', other], sb.env);
  assert.deepEqual((JSON.parse(e.stdout) as VmInfo[]).map((v) => v.label), ['o1']);
  const otherFile = join(sb.run, cacheFileOf(other));
  const before = statSync(otherFile);
  assert.match(readFileSync(otherFile, 'utf8'), /"o1"/);
  await create('d4');
  assert.ok((await listed()).some((v) => v.label === 'd4'));
  assert.doesNotMatch(readFileSync(join(sb.run, cacheFileOf(join(sb.home, 'vms'))), 'utf8'), /"o1"/);
  assert.equal(statSync(otherFile).mtimeMs, before.mtimeMs);
});

test('a config that bash evaluates is read again by each command, and its base\'s file is not written again for it', async () => {
  await create('dyn');
  const config = join(sb.home, 'vms', 'dyn', 'dyn.ctys');
  writeFileSync(config, readFileSync(config, 'utf8').replace(/^MEMSIZE=2048$/m, 'MEMSIZE=$((1024*3))'));
  assert.equal((await listed()).find((v) => v.label === 'dyn')?.memsize, 3072);
  // The listings the create changed are kept (and the file written) once they have settled: let them.
  await new Promise((r) => setTimeout(r, RACY_MS + 100));
  await listed();
  const file = join(sb.run, cacheFileOf(join(sb.home, 'vms')));
  const before = statSync(file);
  assert.equal((await listed()).find((v) => v.label === 'dyn')?.memsize, 3072);
  assert.equal(statSync(file).mtimeMs, before.mtimeMs);
  const index = JSON.parse(readFileSync(file, 'utf8').split('\n')[0]) as { configs: [string, ...unknown[]][] };
  assert.ok(!index.configs.some(([path]) => path === config), 'no entry of the config bash evaluates');
  assert.doesNotMatch(readFileSync(file, 'utf8'), /"label": "dyn"/);
});

test('a saved state (<L>.suspend) is seen from the kept listing of the VM\'s directory: suspended while it is there, stopped once it is gone', async () => {
  await create('s1');
  const dir = join(sb.home, 'vms', 's1');
  const file = join(sb.run, cacheFileOf(join(sb.home, 'vms')));
  const settle = () => new Promise((r) => setTimeout(r, RACY_MS + 100));
  const states = async () => {
    const json = (await listed()).find((v) => v.label === 's1')?.state;
    // The table asks for the file itself (withStatus): the same answer.
    const table = await vmdeck(['enumerate'], sb.env);
    return [json, /^s1 +(\S+)/m.exec(table.stdout)?.[1]];
  };
  writeFileSync(join(dir, 's1.suspend'), 'a saved state\n');
  assert.deepEqual(await states(), ['suspended', 'suspended']);
  await settle();
  await listed(); // keeps the settled listing
  const index = () => JSON.parse(readFileSync(file, 'utf8').split('\n')[0]) as { dirs: [string, ...unknown[]][] };
  assert.deepEqual(index().dirs.find(([d]) => d === dir)?.[7], ['s1.suspend'], 'the listing kept names the saved state');
  assert.deepEqual(await states(), ['suspended', 'suspended']);

  rmSync(join(dir, 's1.suspend'));
  assert.deepEqual(await states(), ['stopped', 'stopped']);
  await settle();
  await listed();
  assert.deepEqual(index().dirs.find(([d]) => d === dir)?.[7], []);
  assert.deepEqual(await states(), ['stopped', 'stopped']);
});
