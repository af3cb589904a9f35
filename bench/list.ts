// The dashboard's VM list with 1,000 VMs, against a short list that scrolls
// the same way, in the same run (the last part of npm run bench): `vmdeck
// serve` on worlds of their own, Debian's chromium (headless) on the list
// page, measuring
//   - load: from navigation until the list says "N VMs";
//   - scrolling: the table scrolled 300 px per animation frame for 120
//     frames; the intervals between frames (p50/p95/max), long tasks, and
//     chromium's own trace of the renderer's main thread (ms per frame of
//     script, style, layout, paint, GC);
//   - filtering: typing a label into the filter until one row is left;
//   - rows in the DOM (the list is windowed) and the page's JS heap;
//   - at rest after a scroll, rows that have their actions back (rows that
//     come into the window while the list scrolls leave them out).
//
// The peer. The question is whether a thousand VMs scroll as smoothly as a
// short list. A list of 10 does not scroll at all (it fits the window): its
// frames are idle ones, and a ratio to them is the cost of any scrolled
// frame, not of the thousand; it is still printed, labelled for what it is.
// The peer the target is judged against is SHORT: the same page with as many
// VMs as fill the table's window plus one step (300 px), scrolled 300 px down
// and back up in turns. Each of its frames moves the same distance over the
// same rows' markup, but the window's overscan (8 rows) holds all its rows,
// so windowing mounts nothing: its frames are the browser's scrolling and
// painting of a list as cheap as a list gets. The thousand's frames each
// bring ~7 rows into the window, which React renders and the browser lays
// out and paints for the first time: the ratio is what windowing a thousand
// costs per frame over scrolling a short list. What the peer hides: the
// short list shows rows it has shown before, so whatever a row costs the
// first time it is painted (text shaping, its raster) counts against the
// thousand only; a list without windowing would pay that too.
//
// The three lists run on three servers and are scrolled in turns (short,
// many, short, many…) so that the machine's load falls on both alike; the
// trace is taken in turns of its own (tracing slows the frames).
// Prints numbers, ratios and PASS/MISS per target; asserts nothing.
import { chromium, type Page } from 'playwright-core';
import { CHROMIUM_FLAGS, login, startServer, world } from './list-world';
import { fmt, median, percentile, verdict } from './report';
import { CATEGORIES, traceMainThread, type Category } from './trace';

const FEW = 10;
const MANY = Number(process.env.BENCH_LIST_VMS ?? 1000);
const STEP = 300;
const FRAMES = 120;
const TURNS = 3;
/** The list's row height (components/VmList.tsx's ROW). */
const ROW = 44;

/** Opens the list of n VMs (the page logged in on that server first); the ms until it says so. */
async function openList(page: Page, base: string, n: number): Promise<number> {
  await page.bringToFront();
  if (!page.url().startsWith(base)) await login(page, base);
  const t0 = Date.now();
  await page.goto(`${base}/`);
  await page.waitForFunction((want) => document.querySelector('[aria-live]')?.textContent?.startsWith(want), `${n} VMs`, { polling: 'raf', timeout: 60_000 });
  const ms = Date.now() - t0;
  await page.waitForTimeout(500); // let the page settle (fonts, the first thumbnails' observer)
  return ms;
}

interface Scroll { frames: number[]; longTasks: number; domRows: number; heapMiB: number }

/** FRAMES frames of STEP px: onwards from the top, or down and back up in turns. The position is the bench's own: it reads no layout. */
async function scroll(page: Page, pingPong: boolean): Promise<Scroll> {
  const r = await page.evaluate(async ({ pingPong, step, count }) => {
    const el = document.querySelector('[role=table]') as HTMLElement;
    el.scrollTop = 0;
    let longTasks = 0;
    const obs = new PerformanceObserver((l) => { longTasks += l.getEntries().length; });
    obs.observe({ entryTypes: ['longtask'] });
    const frames: number[] = [];
    await new Promise((r) => requestAnimationFrame(r));
    await new Promise((r) => requestAnimationFrame(r));
    let last = performance.now();
    for (let i = 1; i <= count; i++) {
      el.scrollTop = pingPong ? (i % 2) * step : i * step;
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      frames.push(now - last);
      last = now;
    }
    // The rows of the table's body that are in the DOM now.
    const domRows = el.querySelectorAll('[role=rowgroup]:last-child > [role=row]').length;
    obs.disconnect();
    el.scrollTop = 0;
    const heap = (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0;
    return { frames, longTasks, domRows, heap };
  }, { pingPong, step: STEP, count: FRAMES });
  return { frames: r.frames, longTasks: r.longTasks, domRows: r.domRows, heapMiB: r.heap / 1048576 };
}

/** One scroll under chromium's trace: main-thread ms per frame, per category. */
async function tracedScroll(page: Page, pingPong: boolean): Promise<Record<Category, number>> {
  const cdp = await page.context().newCDPSession(page);
  const stop = await traceMainThread(cdp);
  await scroll(page, pingPong);
  const ms = await stop();
  await cdp.detach();
  return Object.fromEntries(CATEGORIES.map((c) => [c, ms[c] / FRAMES])) as Record<Category, number>;
}

/**
 * After a scroll, once the list is at rest: how many of the rows in the DOM
 * have their actions back, of how many, and the longest task (ms) while they
 * came back (0: none over 50 ms).
 */
async function actionsAtRest(page: Page): Promise<[number, number, number]> {
  return page.evaluate(async () => {
    const el = document.querySelector('[role=table]') as HTMLElement;
    for (let y = 3000; y <= 12_000; y += 3000) {
      el.scrollTop = y;
      await new Promise((r) => requestAnimationFrame(r));
    }
    let longest = 0;
    const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) longest = Math.max(longest, e.duration); });
    obs.observe({ entryTypes: ['longtask'] });
    await new Promise((r) => setTimeout(r, 500)); // VmList's SETTLE_MS is 150
    obs.disconnect();
    const rows = [...el.querySelectorAll('[role=rowgroup]:last-child > [role=row]')];
    return [rows.filter((r) => r.querySelector('button[data-action]')).length, rows.length, Math.round(longest)] as [number, number, number];
  });
}

/** Typing the last VM's label into the filter until it is the one row left. */
async function filterToOne(page: Page, n: number): Promise<number> {
  const target = `vm${String(n - 1).padStart(5, '0')}`;
  const t1 = Date.now();
  await page.fill('#vm-filter', target);
  await page.waitForFunction((want) => document.querySelector('[aria-live]')?.textContent?.startsWith(want), `1 of ${n} VMs`, { polling: 'raf' });
  await page.locator(`[role=row][data-label="${target}"]`).waitFor();
  const ms = Date.now() - t1;
  await page.fill('#vm-filter', '');
  return ms;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  try {
    const few = { n: FEW, base: await startServer(await world('few', FEW)), page: await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage() };
    await openList(few.page, few.base, FEW); // warm-up: the pages' code compiled and cached
    const fewLoad = await openList(few.page, few.base, FEW);
    const windowPx = await few.page.evaluate(() => (document.querySelector('[role=table]') as HTMLElement).clientHeight);
    // The body's window is the table's less its header row (32 px).
    const SHORT = Math.ceil((windowPx - 32 + STEP) / ROW) + 1;
    const short = { n: SHORT, base: await startServer(await world('short', SHORT)), page: await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage() };
    const many = { n: MANY, base: await startServer(await world('many', MANY)), page: await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage() };
    await openList(short.page, short.base, SHORT);
    const shortLoad = await openList(short.page, short.base, SHORT);
    await openList(many.page, many.base, MANY);
    const manyLoad = await openList(many.page, many.base, MANY);

    // The pages take turns in front: a page in the back gets no animation frames.
    const runs: Record<'few' | 'short' | 'many', Scroll[]> = { few: [], short: [], many: [] };
    const traces: Record<'few' | 'short' | 'many', Record<Category, number>[]> = { few: [], short: [], many: [] };
    for (let t = 0; t < TURNS; t++) {
      for (const [name, l, pingPong] of [['short', short, true], ['many', many, false]] as const) {
        await l.page.bringToFront();
        runs[name].push(await scroll(l.page, pingPong));
      }
    }
    await few.page.bringToFront();
    runs.few.push(await scroll(few.page, false));
    for (const [name, l, pingPong] of [['short', short, true], ['many', many, false], ['few', few, false]] as const) {
      await l.page.bringToFront();
      traces[name].push(await tracedScroll(l.page, pingPong));
    }
    await many.page.bringToFront();
    const [withActions, inDom, settleTask] = await actionsAtRest(many.page);
    const filterMany = await filterToOne(many.page, MANY);
    await few.page.bringToFront();
    const filterFew = await filterToOne(few.page, FEW);

    const frames = (rs: Scroll[]) => rs.flatMap((r) => r.frames);
    const p95 = (rs: Scroll[]) => percentile(frames(rs), 95);
    const lastMany = runs.many[runs.many.length - 1];
    console.log(`Dashboard VM list in chromium (headless), ${MANY} VMs scrolled ${STEP} px a frame, against ${SHORT} (window + one step, down and up in turns) and ${FEW} (fits the window: not scrolled):`);
    const row = (name: string, a: string, b: string, c: string) => console.log(`  ${name.padEnd(34)} ${a.padStart(14)} ${b.padStart(14)} ${c.padStart(14)}`);
    row('', `${FEW} VMs (idle)`, `${SHORT} VMs`, `${MANY} VMs`);
    row('load until listed', `${fewLoad} ms`, `${shortLoad} ms`, `${manyLoad} ms`);
    for (const p of [50, 95]) {
      row(`scroll frame interval p${p}`, ...(['few', 'short', 'many'] as const).map((k) => `${fmt(percentile(frames(runs[k]), p))} ms`) as [string, string, string]);
    }
    row('scroll frame interval max', ...(['few', 'short', 'many'] as const).map((k) => `${fmt(Math.max(...frames(runs[k])))} ms`) as [string, string, string]);
    row(`  p95 of each turn (of ${TURNS})`, runs.few.map((r) => fmt(percentile(r.frames, 95))).join(' '), runs.short.map((r) => fmt(percentile(r.frames, 95))).join(' '), runs.many.map((r) => fmt(percentile(r.frames, 95))).join(' '));
    row('long tasks while scrolling', ...(['few', 'short', 'many'] as const).map((k) => String(runs[k].reduce((s, r) => s + r.longTasks, 0))) as [string, string, string]);
    console.log('  main thread per frame (trace):');
    for (const c of [...CATEGORIES, 'all'] as const) {
      const v = (k: 'few' | 'short' | 'many') => { const t = traces[k][0]; return c === 'all' ? CATEGORIES.reduce((s, x) => s + t[x], 0) : t[c]; };
      row(`    ${c}`, `${fmt(v('few'), 2)} ms`, `${fmt(v('short'), 2)} ms`, `${fmt(v('many'), 2)} ms`);
    }
    row('filter to one row', `${filterFew} ms`, '', `${filterMany} ms`);
    row('rows in the DOM', String(runs.few[0].domRows), String(runs.short[0].domRows), String(lastMany.domRows));
    row('JS heap', `${fmt(runs.few[0].heapMiB)} MiB`, `${fmt(runs.short[0].heapMiB)} MiB`, `${fmt(lastMany.heapMiB)} MiB`);
    const ratio = p95(runs.many) / p95(runs.short);
    const turnRatios = runs.many.map((r, i) => percentile(r.frames, 95) / percentile(runs.short[i].frames, 95));
    const idleRatio = p95(runs.many) / p95(runs.few);
    console.log(`  scroll p95 ${MANY} / ${SHORT}: ${fmt(ratio, 2)}× (turn by turn ${turnRatios.map((x) => fmt(x, 2)).join(', ')}; median ${fmt(median(turnRatios), 2)}×)`);
    console.log(`  scroll p95 ${MANY} / ${FEW} not scrolled (idle frames: the cost of any scrolled frame, not of the thousand): ${fmt(idleRatio, 2)}×`);
    console.log(`  filter ${MANY} / ${FEW}: ${fmt(filterMany / filterFew, 2)}×`);
    const manyLong = runs.many.reduce((s, r) => s + r.longTasks, 0);
    console.log('\nTargets:');
    console.log(`  ${verdict(ratio <= 1.25)}  scrolling ${MANY} VMs as smooth as a short list (${SHORT}): p95 frame interval ≤ 1.25× (${fmt(ratio, 2)}×)`);
    console.log(`  ${verdict(manyLong === 0)}  no long task (>50 ms) while scrolling ${MANY} VMs: ${manyLong}`);
    console.log(`  ${verdict(filterMany < 250)}  filter ${MANY} VMs to one in < 250 ms: ${filterMany} ms`);
    console.log(`  ${verdict(lastMany.domRows < 60)}  windowed: < 60 rows in the DOM with ${MANY} VMs: ${lastMany.domRows}`);
    console.log(`  ${verdict(withActions === inDom && inDom > 0)}  at rest after a scroll, every row in the DOM has its actions: ${withActions} of ${inDom}`);
    console.log(`  ${verdict(settleTask === 0)}  no long task (>50 ms) as they come back: ${settleTask ? `${settleTask} ms` : 'none'}`);
  } finally {
    await browser.close();
  }
  console.log(`\n(${fmt((Date.now() - t0) / 1000)} s)\n`);
}

main().then(() => process.exit(0), (e: Error) => {
  console.error(e.message);
  process.exit(1);
});
