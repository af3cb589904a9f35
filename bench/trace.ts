// Where a page's main thread spends its time, from chromium's own trace
// (CDP Tracing, devtools.timeline): the self time of each event on the
// renderer's main thread, summed per category. What the list's bench prints
// per frame, and what an A/B of a change is judged by.
import type { CDPSession } from 'playwright-core';

export type Category = 'script' | 'style' | 'layout' | 'paint' | 'gc' | 'other';
export const CATEGORIES: Category[] = ['script', 'style', 'layout', 'paint', 'gc', 'other'];

const OF: Record<string, Category> = {
  FunctionCall: 'script', EvaluateScript: 'script', TimerFire: 'script', FireAnimationFrame: 'script', EventDispatch: 'script',
  RunMicrotasks: 'script', 'v8.compile': 'script', 'v8.run': 'script', 'V8.Execute': 'script', ResizeObserver: 'script',
  UpdateLayoutTree: 'style', RecalculateStyles: 'style', ScheduleStyleRecalculation: 'style',
  Layout: 'layout', IntersectionObserverController: 'layout', HitTest: 'layout',
  PrePaint: 'paint', Paint: 'paint', PaintImage: 'paint', Layerize: 'paint', UpdateLayer: 'paint', CompositeLayers: 'paint',
  Commit: 'paint', 'Decode Image': 'paint',
  MinorGC: 'gc', MajorGC: 'gc', 'V8.GCScavenger': 'gc', 'V8.GCFinalizeMC': 'gc', 'BlinkGC.AtomicPhase': 'gc',
  'V8.GC_MC_BACKGROUND_MARKING': 'gc', ThreadState_CompleteSweep: 'gc',
};

interface TraceEvent { name: string; ph: string; ts: number; dur?: number; pid: number; tid: number; args?: { name?: string } }

/** Starts a trace of the page's timeline; the returned function stops it and gives ms per category on the renderer's main thread. */
export async function traceMainThread(cdp: CDPSession): Promise<() => Promise<Record<Category, number>>> {
  const events: TraceEvent[] = [];
  const collect = (e: { value: object[] }) => { events.push(...(e.value as TraceEvent[])); };
  cdp.on('Tracing.dataCollected', collect);
  await cdp.send('Tracing.start', {
    categories: 'toplevel,devtools.timeline,disabled-by-default-devtools.timeline,v8,blink.user_timing',
    transferMode: 'ReportEvents',
  });
  return async () => {
    const done = new Promise<void>((r) => cdp.once('Tracing.tracingComplete', () => r()));
    await cdp.send('Tracing.end');
    await done;
    cdp.off('Tracing.dataCollected', collect);
    return selfTimes(events);
  };
}

/** Self time (ms) per category of the complete events on the busiest thread named CrRendererMain; a task's time outside any known event is 'other'. */
export function selfTimes(events: TraceEvent[]): Record<Category, number> {
  const out = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  // Each page of another site has a renderer of its own: the busiest main thread is the page's that was measured.
  const mains = events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  const spansOf = (m: TraceEvent) => events.filter((e) => e.pid === m.pid && e.tid === m.tid && e.ph === 'X' && e.dur !== undefined);
  const busy = (xs: TraceEvent[]) => xs.reduce((s, e) => s + (e.name === 'RunTask' ? e.dur! : 0), 0);
  const spans = mains.map(spansOf).sort((a, b) => busy(b) - busy(a))[0]?.sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  if (!spans) return out;
  // A stack of open spans: each span's time is its own less its children's.
  const stack: { end: number; cat: Category | undefined; child: number; dur: number }[] = [];
  const close = (upTo: number) => {
    while (stack.length && stack[stack.length - 1].end <= upTo) {
      const s = stack.pop()!;
      const self = s.dur - s.child;
      if (stack.length) stack[stack.length - 1].child += s.dur;
      // A span of no known kind inside a known one is the known one's work.
      const cat = s.cat ?? stack.findLast((o) => o.cat)?.cat ?? (stack.length ? undefined : 'other');
      if (cat) out[cat] += self / 1000;
      else stack[stack.length - 1].child -= self; // its self time stays with the parent, to be classed with it
    }
  };
  for (const e of spans) {
    close(e.ts);
    stack.push({ end: e.ts + e.dur!, cat: OF[e.name], child: 0, dur: e.dur! });
  }
  close(Infinity);
  return out;
}
