// What the server did during the slow serial round trips: lays each trip of
// a `bench/run.ts` run (BENCH_SERIAL_DUMP=FILE) beside the server's CPU
// profile of the same run (BENCH_SERVER_PROF=DIR, BENCH_SERVER_PROF_US=200),
// both on CLOCK_MONOTONIC, and sorts the trips slower than a threshold by
// what the profile shows in their window:
//   gc:      a "(garbage collector)" sample: the server collecting;
//   unsampled: under 30 % of the samples due: the server's threads did not
//            run (the CPUs were other processes');
//   waiting: mostly "(idle)": the server waited for the typist or the echo;
//   busy:    the server ran JS or system calls; the functions it ran are
//            tallied, by the outermost three named frames.
// `node --import tsx bench/trips-profile.ts DUMP PROFILE [THRESHOLD_MS=1] [INTERVAL_MS=0.2]`
import { readFileSync } from 'node:fs';
import { fmt } from './report';

interface Profile {
  nodes: { id: number; callFrame: { functionName: string }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}
type Trips = { at: number[]; ms: number[] };

const [dumpFile, profileFile, thresholdText, intervalText] = process.argv.slice(2);
const threshold = Number(thresholdText ?? 1);
const interval = Number(intervalText ?? 0.2);
const dump = JSON.parse(readFileSync(dumpFile, 'utf8')) as { serial: Record<string, Trips>[] };
const prof = JSON.parse(readFileSync(profileFile, 'utf8')) as Profile;

const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
let clock = prof.startTime;
/** Each sample's time in ms, and the names on its stack, innermost first. */
const times = prof.timeDeltas.map((d) => (clock += d) / 1000);
const stack = (k: number) => {
  const names: string[] = [];
  for (let id: number | undefined = prof.samples[k]; id !== undefined; id = parent.get(id)) names.push(nodes.get(id)!.callFrame.functionName);
  return names;
};

/** The samples in [from, to], by binary search for the first. */
function samplesIn(from: number, to: number): number[] {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < from) lo = mid + 1;
    else hi = mid;
  }
  const ks: number[] = [];
  for (let k = lo; k < times.length && times[k] <= to; k++) ks.push(k);
  return ks;
}

for (const key of ['bridge1', 'bridge100']) {
  const kinds = { gc: 0, unsampled: 0, waiting: 0, busy: 0 };
  const jobs = new Map<string, number>();
  let slow = 0;
  let total = 0;
  for (const run of dump.serial) {
    const t = run[key];
    total += t.ms.length;
    for (const [j, ms] of t.ms.entries()) {
      if (ms < threshold) continue;
      slow++;
      const ks = samplesIn(t.at[j], t.at[j] + ms);
      const leaves = ks.map((k) => stack(k)[0]);
      if (leaves.includes('(garbage collector)')) kinds.gc++;
      else if (ks.length < (0.3 * ms) / interval) kinds.unsampled++;
      else if (leaves.filter((l) => l === '(idle)').length > ks.length / 2) kinds.waiting++;
      else kinds.busy++;
      for (const k of ks) {
        const named = stack(k).filter((n) => n && n !== '(root)');
        const job = named.slice(-3).reverse().join(' > ');
        if (job !== '(idle)') jobs.set(job, (jobs.get(job) ?? 0) + 1);
      }
    }
  }
  console.log(`${key}: ${slow} of ${total} trips took ${fmt(threshold, 1)} ms or more: in a server GC ${kinds.gc}, the server unsampled (not running) ${kinds.unsampled}, waiting ${kinds.waiting}, busy ${kinds.busy}`);
  const all = [...jobs.values()].reduce((a, b) => a + b, 0);
  for (const [job, n] of [...jobs].sort((a, b) => b[1] - a[1]).slice(0, 6)) console.log(`  ${fmt((100 * n) / all, 0).padStart(3)} % of their busy samples: ${job}`);
}
