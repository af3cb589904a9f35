'use client';
// A VM's graphs: CPU, memory, disk and network over a range of its history
// (GET /api/vms/:label/stats), drawn as small SVG line charts, fetched again
// each sampling step while the tab shows. Loaded on the VM page only.
import { useCallback, useEffect, useState } from 'react';
import { timeTicks, type StatPoint, type TimeTick } from '@/lib/stats';
import { api, type VmStats } from '../api';

const RANGE_NAMES = ['10m', '1h', '1d', '1w', '30d'] as const;

const W = 600;
const H = 120;

type Series = { field: keyof Omit<StatPoint, 't'>; name: string; colour: string };

const CHARTS: { title: string; series: Series[]; format: (v: number) => string }[] = [
  { title: 'CPU', series: [{ field: 'cpu', name: 'QEMU', colour: '#2563eb' }, { field: 'vcpu', name: 'vCPUs', colour: '#16a34a' }], format: (v) => `${v.toFixed(0)} %` },
  { title: 'Memory (RSS)', series: [{ field: 'rss', name: 'RSS', colour: '#9333ea' }], format: (v) => bytes(v) },
  { title: 'Disk I/O', series: [{ field: 'rd', name: 'read', colour: '#0891b2' }, { field: 'wr', name: 'write', colour: '#ea580c' }], format: (v) => `${bytes(v)}/s` },
  { title: 'Network', series: [{ field: 'rx', name: 'receive', colour: '#0891b2' }, { field: 'tx', name: 'send', colour: '#ea580c' }], format: (v) => `${bytes(v)}/s` },
];

function bytes(v: number): string {
  if (v >= 2 ** 30) return `${(v / 2 ** 30).toFixed(1)} GiB`;
  if (v >= 2 ** 20) return `${(v / 2 ** 20).toFixed(1)} MiB`;
  if (v >= 2 ** 10) return `${(v / 2 ** 10).toFixed(0)} KiB`;
  return `${v.toFixed(0)} B`;
}

function Chart({ title, series, format, points, from, to, ticks, running }: (typeof CHARTS)[number] & { points: StatPoint[]; from: number; to: number; ticks: TimeTick[]; running: boolean }) {
  const values = points.flatMap((p) => series.map((s) => p[s.field]).filter((v): v is number => v !== null));
  const top = Math.max(title === 'CPU' ? 100 : 1, ...values) * 1.05;
  const x = (t: number) => ((t - from) / Math.max(1, to - from)) * W;
  const y = (v: number) => H - (v / top) * H;
  const last = points.at(-1);
  return (
    <figure className="rounded border border-line bg-panel p-2" data-chart={title}>
      <figcaption className="mb-1 flex items-baseline gap-3 text-xs">
        <span className="font-medium">{title}</span>
        {series.map((s) => (
          <span key={s.field} className="text-muted">
            <span aria-hidden className="mr-1 inline-block h-0.5 w-3 align-middle" style={{ background: s.colour }} />
            {s.name} <span className="tabular-nums text-fg" data-now={s.field}>{last?.[s.field] == null ? '—' : `${running ? '' : 'last '}${format(last[s.field] as number)}`}</span>
          </span>
        ))}
        <span className="ml-auto tabular-nums text-muted">max {values.length ? format(Math.max(...values)) : '—'}</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" className="h-28 w-full" role="img" aria-label={`${title} graph`}>
        <line x1="0" y1={H - 0.5} x2={W} y2={H - 0.5} stroke="currentColor" strokeOpacity="0.2" />
        {ticks.map((k) => (
          <line key={k.t} x1={x(k.t)} y1="0" x2={x(k.t)} y2={H} stroke="currentColor" strokeOpacity="0.1" vectorEffect="non-scaling-stroke" />
        ))}
        {series.map((s) => {
          // A gap (the VM was stopped, or the figure unknown) breaks the line.
          const runs: string[][] = [[]];
          let prev: number | undefined;
          for (const p of points) {
            const v = p[s.field];
            if (v === null || (prev !== undefined && p.t - prev > 3 * ((to - from) / Math.max(points.length, 1)) + 30)) runs.push([]);
            if (v !== null) runs[runs.length - 1].push(`${x(p.t).toFixed(1)},${y(v).toFixed(1)}`);
            prev = p.t;
          }
          return runs.filter((r) => r.length).map((r, i) => (
            // A lone point (the first sample, or one between gaps) as a dot: a line of one point draws nothing.
            <polyline key={`${s.field}-${i}`} points={r.length === 1 ? `${r[0]} ${r[0]}` : r.join(' ')} fill="none" stroke={s.colour} strokeWidth={r.length === 1 ? 3 : 1.5} strokeLinecap="round" vectorEffect="non-scaling-stroke" />
          ));
        })}
      </svg>
      {/* The time axis: HTML, where the stretched SVG would stretch its text too. */}
      <div className="relative h-4 text-[10px] tabular-nums text-muted" data-axis="time">
        {ticks.map((k) => (
          <span key={k.t} className="absolute top-0 -translate-x-1/2 whitespace-nowrap" style={{ left: `${(x(k.t) / W) * 100}%` }}>{k.text}</span>
        ))}
      </div>
    </figure>
  );
}

export default function Graphs({ label, running }: { label: string; running: boolean }) {
  const [range, setRange] = useState<(typeof RANGE_NAMES)[number]>('1h');
  const [stats, setStats] = useState<VmStats | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setStats(await api.stats(label, range));
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [label, range]);

  useEffect(() => {
    void load();
    if (!running) return;
    const t = setInterval(() => { if (document.visibilityState === 'visible') void load(); }, 5000);
    return () => clearInterval(t);
  }, [load, running]);

  const to = Math.floor(Date.now() / 1000);
  const from = to - ({ '10m': 600, '1h': 3600, '1d': 86400, '1w': 7 * 86400, '30d': 30 * 86400 } as const)[range];
  // Marks at round local times, said as this browser says times and dates; the outermost ones left out where their text would stick out.
  const ticks = timeTicks(from, to, new Date(to * 1000).getTimezoneOffset(),
    (t) => new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
    (t) => new Date(t * 1000).toLocaleDateString([], { month: 'short', day: 'numeric' }))
    .filter((k) => k.t - from > (to - from) * 0.04 && to - k.t > (to - from) * 0.04);
  return (
    <div className="flex min-h-0 flex-1 flex-col overflow-auto p-3">
      <div className="mb-2 flex items-center gap-2 text-xs">
        <span className="text-muted">Range</span>
        {RANGE_NAMES.map((r) => (
          <button key={r} type="button" aria-pressed={r === range} onClick={() => setRange(r)} className={`btn btn-sm ${r === range ? 'font-semibold' : ''}`}>{r}</button>
        ))}
        <span className="ml-auto text-muted">{stats ? `${stats.points.length} point${stats.points.length === 1 ? '' : 's'} of ${stats.step} s` : ''}{running ? '' : ' · not running'}</span>
      </div>
      {error && <p role="alert" className="mb-2 text-xs text-danger">{error}</p>}
      {stats && stats.points.length === 0 && (
        <p className="mb-2 text-xs text-muted">No figures recorded yet: the dashboard samples a running VM every few seconds.</p>
      )}
      <div className="grid gap-3 lg:grid-cols-2">
        {CHARTS.map((c) => <Chart key={c.title} {...c} points={stats?.points ?? []} from={from} to={to} ticks={ticks} running={running} />)}
      </div>
    </div>
  );
}
