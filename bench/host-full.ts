// A host full of VMs (npm run bench): `vmdeck serve` on a world of its own
// with the dashboard's list page open in Debian's chromium (headless), and
// RUNNING of the test guest's VMs (64 MiB, started paused with -S, so that
// QEMU's own CPU is small; the host's default accelerator, TCG here) among
// ON_DISK VMs in all. At 0, a quarter, a half and all of RUNNING:
//   - the server's CPU (per second, over a quiet window) and RSS with the
//     list open, and with no page open: the event watcher's cost per
//     running VM and the list page's (its thumbnails and live states);
//   - the list's refresh after a state change: one VM's QEMU killed, until
//     its row no longer says paused.
// Growth per VM is printed against the step before (linear: the same cost
// per VM at every step). Prints numbers and PASS/MISS; asserts nothing. Every
// QEMU it starts is killed by its pidfile at the end. On 2 shared CPUs,
// BENCH_HOST_RUNNING=20 keeps it short; the issue's figure is 100.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { guestImages } from '../test/helpers/guest';
import { startDashboard, within } from './children';
import { fmt, verdict } from './report';
import { benchWorld, writeVms } from './world';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'bin/vmdeck.js');
const TOKEN = 'bench-host-token';
const RUNNING = Number(process.env.BENCH_HOST_RUNNING ?? 100);
const ON_DISK = Number(process.env.BENCH_HOST_VMS ?? 1000);
/** Seconds of each quiet window the server's CPU is read over. */
const WINDOW_S = Number(process.env.BENCH_HOST_WINDOW_S ?? 10);
const CLK_TCK = 100;
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

/** The dashboard (startDashboard keeps it here, for the cleanup). */
const servers: ChildProcess[] = [];
const { home, run } = benchWorld('vd-bench-host-', () => {
  for (const s of servers) s.kill('SIGKILL');
  killGuests();
});
const env = { ...process.env, VMDECK_TOKEN: TOKEN, VMDECK_MEDIA: join(REPO, '.cache', 'guest') };
const guest = guestImages();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pidOf(label: string): number | null {
  try {
    return Number(readFileSync(join(run, label, 'qemu.pid'), 'utf8').trim());
  } catch {
    return null;
  }
}

/** Every QEMU of this world, by its pidfile (never by name: other runs' QEMUs are not ours). */
function killGuests(): void {
  for (const label of readdirSync(run)) {
    const pid = pidOf(label);
    if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}


const label = (i: number) => `h${String(i).padStart(3, '0')}`;

/** The running VMs' configs: the test guest, 64 MiB, paused from the start (-S). */
async function createGuests(): Promise<void> {
  const { createVm } = await import('../server/store');
  for (let i = 0; i < RUNNING; i++) {
    await createVm({ label: label(i), template: 'kernel-initrd', createImage: true, env: {},
      values: { kernel: guest.kernel, initrd: guest.initrd, append: guest.append, memsize: 64, argsAdd: ['-S'] } });
  }
}

/** Starts VMs from..to-1 by their wrappers, detached, and waits until each has its QMP socket. */
async function startGuests(from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const dir = join(home, 'vms', label(i));
    spawn('bash', [join(dir, `${label(i)}.sh`), '--console=NONE'], { cwd: dir, env, detached: true, stdio: 'ignore' }).unref();
    // One at a time: a hundred QEMUs starting at once on 2 CPUs time each other out.
    await within((async () => { while (!existsSync(join(run, label(i), 'qmp.sock')) || !pidOf(label(i))) await sleep(50); })(), 60_000, `starting ${label(i)}`);
  }
}

/** The server's CPU share (CPU seconds per second) and RSS over a quiet window. */
async function atRest(pid: number): Promise<{ cpu: number; rss: number }> {
  await sleep(2000); // what the last change set off settles first
  const c0 = cpuSeconds(pid);
  const t0 = Date.now();
  await sleep(WINDOW_S * 1000);
  return { cpu: (cpuSeconds(pid) - c0) / ((Date.now() - t0) / 1000), rss: rssMiB(pid) };
}

/** Waits until the server reports `running` VMs paused (the list is windowed: most rows are not in the DOM). */
async function serverShows(base: string, running: number): Promise<void> {
  await within((async () => {
    for (;;) {
      const vms = await (await fetch(`${base}/api/vms`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json() as { state: string }[];
      if (vms.filter((v) => v.state === 'paused').length >= running) return;
      await sleep(500);
    }
  })(), 120_000, `the server seeing ${running} VMs paused`);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  await createGuests();
  await writeVms(join(home, 'vms'), 0, Math.max(0, ON_DISK - RUNNING)); // the others, stopped: vm00000…
  const { proc: server, base } = await startDashboard(servers, CLI, env);
  const pid = server.pid!;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  const steps = [...new Set([0, Math.round(RUNNING / 4), Math.round(RUNNING / 2), RUNNING])];
  const rows: { running: number; open: { cpu: number; rss: number }; closed: { cpu: number; rss: number }; refreshMs: number | null }[] = [];
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(`${base}/login?token=${TOKEN}`);
    await page.waitForURL(/\/$/);
    let started = 0;
    for (const k of steps) {
      await startGuests(started, k);
      started = k;
      await serverShows(base, k);
      await page.goto(`${base}/`);
      await page.locator('[role=table]').waitFor();
      const open = await atRest(pid);
      // The list's refresh after a state change: the last VM's QEMU killed, until its row no longer says paused.
      let refreshMs: number | null = null;
      if (k > 0) {
        const victim = label(k - 1);
        // Its row in view: the filter leaves it alone.
        await page.fill('#vm-filter', victim);
        const state = page.locator(`[role=row][data-label="${victim}"] [data-state]`);
        await state.first().waitFor();
        const t = performance.now();
        process.kill(pidOf(victim)!, 'SIGKILL');
        // Stopped, or failed (a QEMU killed is not a clean stop): no longer paused.
        await page.waitForFunction((l) => document.querySelector(`[role=row][data-label="${l}"] [data-state]`)?.getAttribute('data-state') !== 'paused', victim, { polling: 'raf', timeout: 60_000 });
        refreshMs = performance.now() - t;
        await page.fill('#vm-filter', '');
        await startGuests(k - 1, k);
        await serverShows(base, k);
      }
      await page.goto('about:blank');
      const closed = await atRest(pid);
      rows.push({ running: k, open, closed, refreshMs });
    }
  } finally {
    await browser.close();
    killGuests();
  }

  console.log(`A host full of VMs: ${ON_DISK} VMs on disk, up to ${RUNNING} running (paused with -S); server CPU over ${WINDOW_S} s windows at rest:`);
  console.log(`  ${'running'.padStart(7)}  ${'CPU, list open'.padStart(15)}  ${'CPU, no page'.padStart(13)}  ${'RSS, list open'.padStart(15)}  ${'RSS, no page'.padStart(13)}  ${'list refresh'.padStart(13)}`);
  for (const r of rows) {
    console.log(`  ${String(r.running).padStart(7)}  ${`${fmt(r.open.cpu * 100, 1)} %`.padStart(15)}  ${`${fmt(r.closed.cpu * 100, 1)} %`.padStart(13)}  ${`${fmt(r.open.rss, 0)} MiB`.padStart(15)}  ${`${fmt(r.closed.rss, 0)} MiB`.padStart(13)}  ${r.refreshMs === null ? '-'.padStart(13) : `${fmt(r.refreshMs, 0)} ms`.padStart(13)}`);
  }
  const zero = rows[0];
  console.log('  per running VM, against none running (the event watcher: no page; the list page: open minus no page):');
  for (const r of rows.slice(1)) {
    const watcher = ((r.closed.cpu - zero.closed.cpu) / r.running) * 1000;
    const page = (((r.open.cpu - r.closed.cpu) - (zero.open.cpu - zero.closed.cpu)) / r.running) * 1000;
    const rss = ((r.closed.rss - zero.closed.rss) / r.running) * 1024;
    console.log(`  ${String(r.running).padStart(7)} running: watcher ${fmt(watcher, 2)} ms CPU/s per VM, list page ${fmt(page, 2)} ms CPU/s per VM, ${fmt(rss, 0)} KiB RSS per VM`);
  }
  const last = rows[rows.length - 1];
  const half = rows.find((r) => r.running === Math.round(RUNNING / 2));
  const perVm = (r: typeof last) => (r.open.cpu - zero.open.cpu) / r.running;
  const growth = half && half.running > 0 ? perVm(last) / perVm(half) : NaN;
  console.log('\nTargets (this bench\'s own; the issue sets none for these):');
  console.log(`  ${verdict(last.open.cpu < 0.1)}  server at rest with ${RUNNING} running and the list open < 10 % of a CPU: ${fmt(last.open.cpu * 100, 1)} %`);
  console.log(`  ${verdict(growth <= 1.25)}  linear: CPU per running VM at ${RUNNING} ≤ 1.25× that at ${half?.running}: ${fmt(growth, 2)}×`);
  console.log(`  ${verdict((last.refreshMs ?? Infinity) < 2000)}  the list shows a VM no longer paused < 2 s after its QEMU was killed, ${RUNNING} running: ${fmt(last.refreshMs ?? NaN, 0)} ms`);
  console.log(`\n(${fmt((Date.now() - t0) / 1000)} s)\n`);
}

main().then(() => process.exit(0), (e: Error) => {
  console.error(e.message);
  process.exit(1);
});
