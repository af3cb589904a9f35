// An A/B of the VM list's scrolling, in turns in one browser: the evidence
// for a change to the list (docs/PERFORMANCE.md, "The VM list's
// scrolling"). Not part of npm run bench. Each variant is a checkout (a
// directory with its own `next build`) and CSS added to the page; one server
// per checkout on one world of 1,000 VMs, one page per server, the variants
// scrolled in turns (the order turned each turn; the first turn a warm-up),
// chromium's trace of each turn. Prints medians per variant of the frame
// p50/p95 and main-thread ms per category (per frame in brackets).
//   BENCH_AB='[{"name":"before","dir":"/tmp/before"},{"name":"after","dir":"."}]' node --import tsx bench/list-ab.ts
// BENCH_AB_TURNS (4), BENCH_AB_FRAMES (100), BENCH_LIST_VMS (1000).
import { resolve } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { CHROMIUM_FLAGS, login, startServer, world } from './list-world';
import { median, percentile } from './report';
import { CATEGORIES, traceMainThread, type Category } from './trace';

const N = Number(process.env.BENCH_LIST_VMS ?? 1000);
const TURNS = Number(process.env.BENCH_AB_TURNS ?? 4);
const FRAMES = Number(process.env.BENCH_AB_FRAMES ?? 100);
const variants: { name: string; dir: string; css?: string }[] = JSON.parse(process.env.BENCH_AB ?? '[]');

async function turn(page: Page, css: string | undefined, base: string): Promise<{ frames: number[]; ms: Record<Category, number> }> {
  await page.bringToFront();
  await page.goto(`${base}/`);
  await page.waitForFunction((want) => document.querySelector('[aria-live]')?.textContent?.startsWith(want), `${N} VMs`, { timeout: 60_000 });
  if (css) await page.addStyleTag({ content: css });
  await page.waitForTimeout(700);
  const cdp = await page.context().newCDPSession(page);
  const stop = await traceMainThread(cdp);
  const frames = await page.evaluate(async (count) => {
    const el = document.querySelector('[role=table]') as HTMLElement;
    const f: number[] = [];
    await new Promise((r) => requestAnimationFrame(r));
    let last = performance.now();
    for (let i = 1; i <= count; i++) {
      el.scrollTop = i * 300;
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      f.push(now - last);
      last = now;
    }
    return f;
  }, FRAMES);
  const ms = await stop();
  await cdp.detach();
  return { frames, ms };
}

async function main(): Promise<void> {
  if (!variants.length) throw new Error('BENCH_AB: a JSON list of {name, dir, css?}');
  const vms = await world('ab', N);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  try {
    const servers = new Map<string, { base: string; page: Page }>();
    for (const v of variants) {
      const dir = resolve(v.dir);
      if (servers.has(dir)) continue;
      const base = await startServer(vms, dir);
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
      await login(page, base);
      servers.set(dir, { base, page });
    }
    const runs = new Map<string, { ms: Record<Category, number>[]; p50: number[]; p95: number[] }>();
    for (let t = 0; t <= TURNS; t++) {
      for (const v of t % 2 ? [...variants].reverse() : variants) {
        const { base, page } = servers.get(resolve(v.dir))!;
        const r = await turn(page, v.css, base);
        if (t === 0) continue; // warm-up
        const run = runs.get(v.name) ?? { ms: [], p50: [], p95: [] };
        run.ms.push(r.ms);
        run.p50.push(percentile(r.frames, 50));
        run.p95.push(percentile(r.frames, 95));
        runs.set(v.name, run);
      }
    }
    console.log(`The VM list, ${N} VMs, ${TURNS} turns of ${FRAMES} frames of 300 px; medians: main thread ms in all (per frame)`);
    for (const [name, r] of runs) {
      const cats = [...CATEGORIES, 'all' as const].map((c) => {
        const m = median(r.ms.map((x) => (c === 'all' ? CATEGORIES.reduce((s, k) => s + x[k], 0) : x[c])));
        return `${c} ${m.toFixed(0)} (${(m / FRAMES).toFixed(2)})`;
      });
      console.log(`  ${name.padEnd(12)} p50 ${median(r.p50).toFixed(1)} ms, p95 ${median(r.p95).toFixed(1)} ms (turns ${r.p95.map((x) => x.toFixed(1)).join(' ')}) | ${cats.join(' | ')}`);
    }
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), (e: Error) => {
  console.error(e.message);
  process.exit(1);
});
