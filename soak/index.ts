// `npm run soak`: the fault and load suite, bounded in time (a few minutes),
// each part's figures with PASS/MISS. Its short forms run in npm test
// (test/integration/server-flood.test.ts, soak-short.test.ts).
//   flood     the right token through 30,000 half-open requests and 1,000 wrong guesses/s
//   consoles  50 rounds of 100 consoles opened and closed: no descriptor or heap kept
//   hostile   1,000 generated hostile API bodies: no 500, no crash, nothing run or half-written
//   kills     the server SIGKILLed during creates, starts, suspends and console traffic (16 rounds)
//   snapshots QEMU SIGKILLed during snapshots (6 rounds): a sound disk, a VM that boots again
//   disk-full a base on a small tmpfs: create, snapshot and suspend fail in one line, nothing half-written
// `npm run soak -- PART…` runs only those.
import { consoleLoop, printConsoleLoop } from './consoles';
import { printFaults, serverKills, snapshotKills } from './faults';
import { diskFull, printDiskFull } from './diskfull';
import { flood, printFlood } from './flood';
import { hostile, printHostile } from './hostile';

const parts: Record<string, () => Promise<boolean>> = {
  flood: async () => {
    const o = { halfOpen: 30_000, guessesPerS: 1000, reopenPerS: 100, settleMs: 8000, measureMs: 10_000 };
    return printFlood(await flood(o), o);
  },
  consoles: async () => printConsoleLoop(await consoleLoop(50)),
  hostile: async () => printHostile(await hostile(1000)),
  kills: async () => printFaults('server-kills', await serverKills(16)),
  snapshots: async () => printFaults('snapshot-kills', await snapshotKills(6)),
  'disk-full': async () => printDiskFull(diskFull()),
};

const chosen = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(parts);
const verdicts: string[] = [];
for (const name of chosen) {
  const run = parts[name];
  if (!run) throw new Error(`soak: no part '${name}' (parts: ${Object.keys(parts).join(', ')})`);
  const t0 = Date.now();
  const ok = await run().catch((e: Error) => {
    console.log(`${name}: failed to run: ${e.message}`);
    return false;
  });
  verdicts.push(`${name} ${ok ? 'PASS' : 'MISS'} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}
console.log(`soak: ${verdicts.join(', ')}`);
process.exit(0);
