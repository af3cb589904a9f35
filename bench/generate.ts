// Generator and ENUMERATE benchmarks (the first part of npm run bench):
//   1. creating a VM without a disk image, in-process (server/store.ts
//      createVm: validation, a unique MAC, the atomic write, the wrapper's
//      --check), against the bare writes of the same two files (no checks, no
//      rename) in the same run, and against ctys-createConfVM's documented
//      2-4 s per VM;
//   2. the same as a whole `vmdeck create-conf` process, against a bare
//      `node -e 0` (the floor of any Node CLI) in the same run;
//   3. ENUMERATE over 10,000 VM directories: `vmdeck enumerate --json` as a
//      whole process, with no cache and with the cache of the command before
//      (server/enumerate-cache.ts), and in-process cold and warm, against
//      ctys's way of finding VMs (find + grep -l for the MAGICID marker) on
//      the same tree.
// Prints numbers, ratios and PASS/MISS per target (issue 16's among them);
// asserts nothing, but a count that comes out wrong (enumerate not finding
// all 10,000) ends the run.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, median, percentile, verdict } from './report';
import { benchWorld, writeVms } from './world';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'bin/vmdeck.js');
const CREATES = 100;
const PROCESSES = 15;
const MANY = Number(process.env.BENCH_ENUMERATE_VMS ?? 10_000);

// Before the import below: the store reads the world's paths when it is loaded.
const { root, run } = benchWorld('vd-bench-gen-');
const env = { ...process.env };

const { createVm, enumerate, renderFiles, resolveSpec, wrapperCheck } = await import('../server/store');
const { runGroup } = await import('../server/proc');
const { cacheFile, RACY_MS } = await import('../server/enumerate-cache');

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function timed<T>(f: () => Promise<T> | T): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  const r = await f();
  return [r, ms(t0)];
}

const CLK_TCK = 100;
/** CPU milliseconds of this process's reaped children (/proc/self/stat cutime + cstime). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK;
}

/** Wall and CPU milliseconds of a whole process (its own children's CPU, e.g. the wrapper's --check, included). */
function processMs(cmd: string, args: string[]): { wall: number; cpu: number } {
  const cpu0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  const wall = ms(t0);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
  return { wall, cpu: childrenCpuMs() - cpu0 };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  console.log('vmdeck generator and ENUMERATE benchmarks');

  // 1. In-process creates, each into the default base (which grows: every
  // create enumerates it for a unique MAC and label), and the bare writes.
  const warm = await createVm({ label: 'warmup', template: 'linux-x86_64', createImage: false, env: {} });
  if (!warm.vm) throw new Error('bench: the warm-up create made no VM');
  const creates: number[] = [];
  for (let i = 0; i < CREATES; i++) {
    const [, t] = await timed(() => createVm({ label: `gen${i}`, template: 'linux-x86_64', createImage: false, env: {} }));
    creates.push(t);
  }
  // Where a create's time goes: its wrapper's --check alone (bash started
  // from this process, the generated wrapper parsed and run), and a bare
  // bash started the same way, each in the same run, taking turns.
  const checks: number[] = [];
  const bashes: number[] = [];
  for (let i = 0; i < CREATES; i++) {
    checks.push((await timed(() => wrapperCheck(warm.vm)))[1]);
    bashes.push((await timed(() => runGroup('bash', ['-c', ':'])))[1]);
  }
  const { spec } = await resolveSpec({ label: 'bare', template: 'linux-x86_64', env: {} });
  const bareDir = join(root, 'bare');
  const bare: number[] = [];
  for (let i = 0; i < CREATES; i++) {
    const label = `bare${i}`;
    const [, t] = await timed(() => {
      const files = renderFiles({ ...spec, label, disk: `${label}.qcow2` });
      mkdirSync(join(bareDir, label), { recursive: true });
      writeFileSync(join(bareDir, label, `${label}.ctys`), files.ctys);
      writeFileSync(join(bareDir, label, `${label}.sh`), files.wrapper, { mode: 0o755 });
    });
    bare.push(t);
  }

  // 2. Whole processes.
  // Taking turns, so that a busy moment of the machine falls on both alike.
  const cliCreates: number[] = [];
  const nodeStarts: number[] = [];
  const cliCpu: number[] = [];
  const nodeCpu: number[] = [];
  for (let i = 0; i < PROCESSES; i++) {
    const c = processMs(process.execPath, [CLI, 'create-conf', '--label', `cli${i}`, '--template', 'linux-x86_64', '--no-create-image']);
    const n = processMs(process.execPath, ['-e', '0']);
    cliCreates.push(c.wall);
    cliCpu.push(c.cpu);
    nodeStarts.push(n.wall);
    nodeCpu.push(n.cpu);
  }

  // 3. MANY VM directories in a base of their own, written directly (a create
  // per VM would take minutes and measure the creates again).
  const manyBase = join(root, 'many');
  await writeVms(manyBase, 0, MANY);
  // A host's configs are older than a moment: ENUMERATE keeps nothing changed within RACY_MS of its read.
  await new Promise((r) => setTimeout(r, RACY_MS + 100));
  // Page cache warm for every contender alike: one untimed pass.
  execFileSync('find', [manyBase, '-type', 'f', '-name', '*.ctys', '-exec', 'cat', '{}', '+'], { stdio: 'ignore', maxBuffer: 1 << 30 });

  // Each round: a first enumerate with no cache (every config read and
  // parsed; it writes the cache), one with the cache the first left
  // (configs unchanged since: stat only), and find + grep.
  const cliEnum: number[] = [];
  const cliEnumFirst: number[] = [];
  const findGrep: number[] = [];
  let listed = 0;
  const cliEnumCpu: number[] = [];
  const findGrepCpu: number[] = [];
  // The same reads in a Node process that does nothing else (bench/enumerate-reads.mjs): the floor of a Node ENUMERATE.
  const nodeReads: number[] = [];
  const enumerateCli = () => execFileSync(process.execPath, [CLI, 'enumerate', '--base', manyBase, '--json'], { env, encoding: 'utf8', maxBuffer: 1 << 30 });
  for (let i = 0; i < 5; i++) {
    rmSync(join(run, cacheFile(manyBase)), { force: true });
    const t0 = process.hrtime.bigint();
    const first = enumerateCli();
    cliEnumFirst.push(ms(t0));
    // Counted after the clock: the bench's own parse of 14 MB is not the command's time.
    if ((JSON.parse(first) as unknown[]).length !== MANY) throw new Error('bench: the first vmdeck enumerate missed VMs');
    const c1 = childrenCpuMs();
    const t1 = process.hrtime.bigint();
    const out = enumerateCli();
    cliEnum.push(ms(t1));
    cliEnumCpu.push(childrenCpuMs() - c1);
    listed = (JSON.parse(out) as unknown[]).length;
    const c2 = childrenCpuMs();
    const t2 = process.hrtime.bigint();
    const found = execFileSync('bash', ['-c', 'find "$1" -mindepth 2 -maxdepth 2 -name "*.ctys" -exec grep -l "^#@#MAGICID-QEMU" {} + | wc -l', 'find-grep', manyBase], { encoding: 'utf8' });
    findGrep.push(ms(t2));
    findGrepCpu.push(childrenCpuMs() - c2);
    if (Number(found.trim()) !== MANY) throw new Error(`bench: find + grep found ${found.trim()} of ${MANY} VMs`);
    const t3 = process.hrtime.bigint();
    const read = execFileSync(process.execPath, [join(REPO, 'bench/enumerate-reads.mjs'), manyBase], { encoding: 'utf8' });
    nodeReads.push(ms(t3));
    if (Number(read.trim()) !== MANY) throw new Error(`bench: Node's reads found ${read.trim()} of ${MANY} VMs`);
  }
  if (listed !== MANY) throw new Error(`bench: vmdeck enumerate listed ${listed} of ${MANY} VMs`);
  // In-process and cold: nothing of this base cached, in this process or on disk (the commands above wrote its file).
  rmSync(join(run, cacheFile(manyBase)), { force: true });
  const [cold, coldMs] = await timed(() => enumerate([manyBase]));
  const [, warmMs] = await timed(() => enumerate([manyBase]));
  if (cold.length !== MANY) throw new Error(`bench: enumerate() found ${cold.length} of ${MANY} VMs`);

  const createP50 = median(creates);
  const cliP50 = median(cliCreates);
  const nodeP50 = median(nodeStarts);
  const enumP50 = median(cliEnum);
  const findP50 = median(findGrep);
  console.log(`\nCreating a VM without a disk image (${CREATES} creates, linux-x86_64; the base grows to ${CREATES + 1} VMs):`);
  console.log(`  ${'vmdeck createVm, in-process'.padEnd(34)} p50 ${fmt(createP50, 2).padStart(7)} ms   p95 ${fmt(percentile(creates, 95), 2).padStart(7)} ms   (validation, unique MAC, atomic write, the wrapper's --check)`);
  console.log(`  ${"its wrapper's --check alone".padEnd(34)} p50 ${fmt(median(checks), 2).padStart(7)} ms   p95 ${fmt(percentile(checks, 95), 2).padStart(7)} ms   (bash started from this process; a bare bash -c : so started: p50 ${fmt(median(bashes), 2)} ms)`);
  console.log(`  createVm less its --check: ${fmt(createP50 - median(checks), 2)} ms (p50s); the --check is ${fmt((100 * median(checks)) / createP50, 0)}% of a create`);
  console.log(`  ${'bare writes of the same files'.padEnd(34)} p50 ${fmt(median(bare), 2).padStart(7)} ms   p95 ${fmt(percentile(bare, 95), 2).padStart(7)} ms`);
  console.log(`  ${'vmdeck create-conf, whole process'.padEnd(34)} p50 ${fmt(cliP50, 1).padStart(7)} ms   p95 ${fmt(percentile(cliCreates, 95), 1).padStart(7)} ms   (${PROCESSES} processes)`);
  console.log(`  ${'node -e 0, whole process'.padEnd(34)} p50 ${fmt(nodeP50, 1).padStart(7)} ms`);
  console.log(`  create-conf / node -e 0: ${fmt(cliP50 / nodeP50, 2)}× the time, ${fmt(median(cliCpu) / median(nodeCpu), 2)}× the CPU (${fmt(median(cliCpu), 0)} vs ${fmt(median(nodeCpu), 0)} ms, 10 ms ticks); createVm / bare writes: ${fmt(createP50 / median(bare), 1)}×`);
  console.log(`  ctys-createConfVM, documented: 2000-4000 ms per VM: create-conf is ${fmt(2000 / cliP50, 0)}-${fmt(4000 / cliP50, 0)}× faster, in-process ${fmt(2000 / createP50, 0)}-${fmt(4000 / createP50, 0)}×`);

  console.log(`\nENUMERATE over ${MANY.toLocaleString('en')} VM directories (page cache warm; 5 runs each, medians):`);
  const firstP50 = median(cliEnumFirst);
  console.log(`  ${'vmdeck enumerate --json, process'.padEnd(34)} ${fmt(enumP50, 0).padStart(6)} ms   (found ${listed}; the cache of the command before it, configs unchanged: stat only)`);
  console.log(`  ${'the same, no cache yet'.padEnd(34)} ${fmt(firstP50, 0).padStart(6)} ms   (every config read and parsed, the cache written)`);
  console.log(`  ${'find + grep -l MAGICID (ctys way)'.padEnd(34)} ${fmt(findP50, 0).padStart(6)} ms`);
  const readsP50 = median(nodeReads);
  console.log(`  ${"Node's reads alone".padEnd(34)} ${fmt(readsP50, 0).padStart(6)} ms   (each directory stat'ed and listed, each config stat'ed and read; nothing parsed: bench/enumerate-reads.mjs)`);
  console.log(`  ${'enumerate(), in-process, cold'.padEnd(34)} ${fmt(coldMs, 0).padStart(6)} ms   (none of these configs cached in this process: all parsed)`);
  console.log(`  ${'enumerate(), in-process, warm'.padEnd(34)} ${fmt(warmMs, 0).padStart(6)} ms   (configs unchanged since: stat only)`);
  console.log(`  Node's reads alone / find + grep: ${fmt(readsP50 / findP50, 2)}×; vmdeck enumerate with no cache / Node's reads alone: ${fmt(firstP50 / readsP50, 2)}× (the parse, the facts, the cache written and the output)`);
  console.log(`  vmdeck enumerate / find + grep: ${fmt(enumP50 / findP50, 2)}× the time, ${fmt(median(cliEnumCpu) / median(findGrepCpu), 2)}× the CPU (${fmt(median(cliEnumCpu), 0)} vs ${fmt(median(findGrepCpu), 0)} ms; it also parses each config and checks each VM's runtime state)`);

  console.log('\nTargets:');
  console.log(`  ${verdict(createP50 < 20)}  create in-process < 20 ms: ${fmt(createP50, 2)} ms (p50)`);
  console.log(`  ${verdict(cliP50 < 1000)}  create-conf whole process < 1 s: ${fmt(cliP50, 0)} ms (p50)`);
  console.log(`  ${verdict(enumP50 < 1000)}  ENUMERATE ${MANY.toLocaleString('en')} VMs < 1 s: ${fmt(enumP50, 0)} ms (whole process, p50)`);
  // The targets (16), ratios to the peer measured in this run.
  console.log(`  ${verdict(cliP50 <= 2 * nodeP50)}  create-conf whole process ≤ 2× node -e 0: ${fmt(cliP50 / nodeP50, 2)}× (${fmt(cliP50, 0)} vs ${fmt(nodeP50, 0)} ms, p50)`);
  console.log(`  ${verdict(enumP50 <= 3 * findP50)}  ENUMERATE ${MANY.toLocaleString('en')} VMs ≤ 3× find + grep: ${fmt(enumP50 / findP50, 2)}× (${fmt(enumP50, 0)} vs ${fmt(findP50, 0)} ms, p50; configs unchanged since the command before)`);
  console.log(`  ${verdict(firstP50 <= 3 * findP50)}  ENUMERATE ${MANY.toLocaleString('en')} VMs ≤ 3× find + grep, no cache: ${fmt(firstP50 / findP50, 2)}× (${fmt(firstP50, 0)} vs ${fmt(findP50, 0)} ms, p50)`);
  console.log(`\n(${fmt((Date.now() - t0) / 1000)} s)\n`);
}

main().then(() => process.exit(0), (e: Error) => {
  console.error(e.message);
  process.exit(1);
});
