// The dashboard's VM list with 1,000 VMs, against the same list with 10 in
// the same run (the last part of npm run bench): `vmdeck serve` on a world of
// its own, Debian's chromium (headless) on the list page, measuring
//   - load: from navigation until the list says "N VMs";
//   - scrolling: the table scrolled 300 px per animation frame for 120
//     frames; the intervals between frames (p50/p95/max) and long tasks;
//   - filtering: typing a label into the filter until one row is left;
//   - rows in the DOM (the list is windowed) and the page's JS heap.
// Prints numbers, ratios and PASS/MISS per target; asserts nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { fmt, percentile, verdict } from './report';
import { benchWorld, writeVms } from './world';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'bench-list-token';
const FEW = 10;
const MANY = Number(process.env.BENCH_LIST_VMS ?? 1000);
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

let server: ChildProcess | undefined;
const { home } = benchWorld('vd-bench-list-', () => server?.kill('SIGKILL'));


/** VMs vm00000… in the default base, all stopped, a third of them FreeBSD. */
const addVms = (from: number, to: number) => writeVms(join(home, 'vms'), from, to, (i) => ({ os: i % 3 ? 'Linux' : 'FreeBSD' }));

function startServer(): Promise<string> {
  server = spawn(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'serve', '--host', '127.0.0.1', '--port', '0'],
    { env: { ...process.env, VMDECK_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`bench: the server did not start: ${out}`)), 30_000);
    const look = (d: Buffer) => {
      out += d;
      const m = /dashboard on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) { clearTimeout(t); resolve(m[1]); }
    };
    server!.stdout!.on('data', look);
    server!.stderr!.on('data', look);
    server!.once('exit', (code) => reject(new Error(`bench: the server exited with ${code}: ${out}`)));
  });
}

interface ListRun {
  loadMs: number;
  frames: number[];
  longTasks: number;
  filterMs: number;
  domRows: number;
  heapMiB: number;
}

async function measure(page: Page, base: string, n: number): Promise<ListRun> {
  const t0 = Date.now();
  await page.goto(`${base}/`);
  await page.waitForFunction((want) => document.querySelector('[aria-live]')?.textContent?.startsWith(want), `${n} VMs`, { polling: 'raf', timeout: 60_000 });
  const loadMs = Date.now() - t0;
  await page.waitForTimeout(500); // let the page settle (fonts, the first thumbnails' observer)

  const scroll = await page.evaluate(async () => {
    const el = document.querySelector('[role=table]') as HTMLElement;
    let longTasks = 0;
    const obs = new PerformanceObserver((l) => { longTasks += l.getEntries().length; });
    obs.observe({ entryTypes: ['longtask'] });
    const frames: number[] = [];
    await new Promise((r) => requestAnimationFrame(r));
    let last = performance.now();
    for (let i = 0; i < 120; i++) {
      el.scrollTop += 300;
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      frames.push(now - last);
      last = now;
    }
    // The rows of the table's body that are in the DOM now.
    const domRows = el.querySelectorAll('[role=rowgroup]:last-child > [role=row]').length;
    obs.disconnect();
    const heap = (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0;
    return { frames, longTasks, domRows, heap };
  });

  const target = `vm${String(n - 1).padStart(5, '0')}`;
  await page.evaluate(() => { (document.querySelector('[role=table]') as HTMLElement).scrollTop = 0; });
  const t1 = Date.now();
  await page.fill('#vm-filter', target);
  await page.waitForFunction((want) => document.querySelector('[aria-live]')?.textContent?.startsWith(want), `1 of ${n} VMs`, { polling: 'raf' });
  await page.locator(`[role=row][data-label="${target}"]`).waitFor();
  const filterMs = Date.now() - t1;
  return { loadMs, frames: scroll.frames, longTasks: scroll.longTasks, filterMs, domRows: scroll.domRows, heapMiB: scroll.heap / 1048576 };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  await addVms(0, FEW);
  const base = await startServer();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(`${base}/login?token=${TOKEN}`);
    await measure(page, base, FEW); // warm-up: the pages' code compiled and cached
    const few = await measure(page, base, FEW);
    await addVms(FEW, MANY);
    await measure(page, base, MANY);
    const many = await measure(page, base, MANY);

    console.log(`Dashboard VM list in chromium (headless), ${MANY} VMs against ${FEW}:`);
    const row = (name: string, a: string, b: string) => console.log(`  ${name.padEnd(34)} ${a.padStart(12)} ${b.padStart(12)}`);
    row('', `${FEW} VMs`, `${MANY} VMs`);
    row('load until listed', `${few.loadMs} ms`, `${many.loadMs} ms`);
    row('scroll frame interval p50', `${fmt(percentile(few.frames, 50))} ms`, `${fmt(percentile(many.frames, 50))} ms`);
    row('scroll frame interval p95', `${fmt(percentile(few.frames, 95))} ms`, `${fmt(percentile(many.frames, 95))} ms`);
    row('scroll frame interval max', `${fmt(Math.max(...few.frames))} ms`, `${fmt(Math.max(...many.frames))} ms`);
    row('long tasks while scrolling', String(few.longTasks), String(many.longTasks));
    row('filter to one row', `${few.filterMs} ms`, `${many.filterMs} ms`);
    row('rows in the DOM', String(few.domRows), String(many.domRows));
    row('JS heap', `${fmt(few.heapMiB)} MiB`, `${fmt(many.heapMiB)} MiB`);
    const p95Ratio = percentile(many.frames, 95) / percentile(few.frames, 95);
    console.log(`  scroll p95 ${MANY} / ${FEW}: ${fmt(p95Ratio, 2)}×; filter ${MANY} / ${FEW}: ${fmt(many.filterMs / few.filterMs, 2)}×`);
    console.log('\nTargets:');
    console.log(`  ${verdict(p95Ratio <= 1.25)}  scrolling ${MANY} VMs as smooth as ${FEW}: p95 frame interval ≤ 1.25× (${fmt(p95Ratio, 2)}×)`);
    console.log(`  ${verdict(many.longTasks === 0)}  no long task (>50 ms) while scrolling ${MANY} VMs: ${many.longTasks}`);
    console.log(`  ${verdict(many.filterMs < 250)}  filter ${MANY} VMs to one in < 250 ms: ${many.filterMs} ms`);
    console.log(`  ${verdict(many.domRows < 60)}  windowed: < 60 rows in the DOM with ${MANY} VMs: ${many.domRows}`);
  } finally {
    await browser.close();
  }
  console.log(`\n(${fmt((Date.now() - t0) / 1000)} s)\n`);
}

main().then(() => process.exit(0), (e: Error) => {
  console.error(e.message);
  process.exit(1);
});
