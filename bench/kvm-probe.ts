// The KVM probe's cost (npm run bench): what the first create of a boot pays
// (the probe guest under -accel kvm, bounded by its time limit where KVM runs
// no guests) and what every later one pays (the cached verdict), each against
// a peer in the same run: the same probe under TCG (QEMU's own start and the
// probe's few thousand instructions, the floor of any probe run) and reading
// the cache file alone.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, median, verdict } from './report';
import { benchWorld } from './world';

const { run } = benchWorld('vd-bench-kvm-');
const { kvmVerdict, runProbe } = await import('../server/kvm-probe');

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
async function time(f: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await f();
  return ms(t0);
}

console.log('vmdeck KVM probe benchmarks');
const cache = join(run, 'kvm-probe');
const uncached: number[] = [];
let detail = '';
for (let i = 0; i < 2; i++) {
  rmSync(cache, { force: true });
  uncached.push(await time(async () => { detail = (await kvmVerdict()).detail; }));
}
const tcg: number[] = [];
for (let i = 0; i < 3; i++) tcg.push(await time(() => runProbe({ accel: 'tcg', timeoutMs: 30000 })));
const cached: number[] = [];
const readOnly: number[] = [];
for (let i = 0; i < 200; i++) {
  cached.push(await time(() => kvmVerdict()));
  readOnly.push(await time(() => readFileSync(cache, 'utf8')));
}
const limit = Number(process.env.VMDECK_KVM_PROBE_TIMEOUT) || 6000;
console.log(`  verdict here: ${detail}`);
console.log(`  uncached (probe under -accel kvm): median ${fmt(median(uncached), 0)} ms; the same probe under TCG ${fmt(median(tcg), 0)} ms (${fmt(median(uncached) / median(tcg))}x)`);
console.log(`    ${verdict(median(uncached) <= limit + 1000)} within the probe's time limit (${limit} ms) + 1 s; paid once per host boot and kvm modules`);
console.log(`  cached verdict: median ${fmt(median(cached), 3)} ms; reading the cache file alone ${fmt(median(readOnly), 3)} ms (${fmt(median(cached) / median(readOnly))}x)`);
console.log(`    ${verdict(median(cached) < 2)} < 2 ms (every create, check and KVM VM start pays it)`);
