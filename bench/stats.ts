// The graphs' sampler: its CPU in the server's process with 10 VMs running
// (paused: their QEMU does nothing, so what is measured is the sampler's own
// work, as for idle guests), per VM, against the same process at rest.
// `npm run bench` runs it; BENCH_STATS_S sets each phase's length (60 s).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { benchWorld } from './world';
import { fmt, verdict } from './report';

const world = benchWorld('vd-bench-stats-', () => {
  try {
    execFileSync('pkill', ['-9', '-f', `${world.run}/`]);
  } catch {
    // none left
  }
});

const VMS = 10;
const PHASE_S = Number(process.env.BENCH_STATS_S) || 60;

const { createVm } = await import('../server/store');
const { startVm, stopVm } = await import('../server/runner');
const { Sampler, statsStep } = await import('../server/stats');
const { guestImages, demoVmEnv } = await import('../test/helpers/guest');

const images = guestImages();
const labels = Array.from({ length: VMS }, (_, i) => `s${i}`);
for (const label of labels) {
  // Emulation (TCG): this host's /dev/kvm may not run ordinary guests; paused, it makes no difference.
  await createVm({ label, template: 'kernel-initrd', env: demoVmEnv(images, { MEMSIZE: '96' }), base: join(world.home, 'vms') });
  await startVm(label);
  await stopVm(label, { mode: 'pause' });
}

/** CPU of this process (user + system) over s seconds, in % of one core. */
async function cpuOver(s: number): Promise<number> {
  const a = process.cpuUsage();
  const t = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, s * 1000));
  const d = process.cpuUsage(a);
  const wall = Number(process.hrtime.bigint() - t) / 1e3;
  return ((d.user + d.system) / wall) * 100;
}

const rest = await cpuOver(PHASE_S);
const sampler = new Sampler().start();
const paused = await cpuOver(PHASE_S);
// The same guests running idle (their shell waits): QMP is asked each sample.
for (const label of labels) await stopVm(label, { mode: 'resume' });
const idle = await cpuOver(PHASE_S);
sampler.stop();
for (const label of labels) await stopVm(label, { mode: 'force' }).catch(() => undefined);

console.log(`\n== graphs' sampler (${VMS} VMs, a sample every ${statsStep()} s, ${PHASE_S} s per phase)`);
console.log(`server process at rest (10 paused VMs, no sampler)  ${fmt(rest, 3)} % of a core`);
for (const [what, cpu] of [['paused', paused], ['idle', idle]] as const) {
  const cost = Math.max(0, cpu - rest);
  console.log(`sampling ${VMS} ${what} VMs: ${fmt(cpu, 3)} % of a core; the sampler's cost ${fmt(cost, 3)} %, ${fmt(cost / VMS, 3)} % per VM`);
  console.log(`${verdict(cost < 1)} sampling ${VMS} ${what} VMs costs less than 1 % of a core`);
}
process.exit(0);
