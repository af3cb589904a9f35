'use client';
// The host's load beside its checks: CPU, memory, the disk space of each
// base, and what the running VMs use together (GET /api/host/stats), fetched
// again every few seconds while the tab shows.
import { useEffect, useState } from 'react';
import { api, type HostStats as Stats } from './api';

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

function Meter({ label, used, total, text }: { label: string; used: number; total: number; text: string }) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  return (
    <div className="min-w-0" data-meter={label}>
      <div className="flex items-baseline gap-2 text-xs">
        <span className="truncate font-medium" title={label}>{label}</span>
        <span className="ml-auto whitespace-nowrap tabular-nums text-muted">{text}</span>
      </div>
      <div className="mt-1 h-1.5 rounded bg-sunken" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)}>
        <div className={`h-full rounded ${pct > 90 ? 'bg-red-600' : 'bg-accent'}`} style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

export function HostStats() {
  const [s, setS] = useState<Stats | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const load = () => {
      if (document.visibilityState !== 'visible') return;
      api.hostStats().then((x) => { setS(x); setError(null); }, (e: Error) => setError(e.message));
    };
    load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, []);
  if (error && !s) return <p role="alert" className="px-3 py-2 text-xs text-danger">{error}</p>;
  if (!s) return <p className="px-3 py-2 text-xs text-muted">Measuring the host…</p>;
  const memUsed = s.memTotal - s.memAvailable;
  return (
    <section aria-label="Host load" className="grid gap-3 border-b border-line px-3 py-3 md:grid-cols-3">
      <Meter label="CPU" used={s.cpu} total={100} text={`${s.cpu.toFixed(0)} % of ${s.cores} cores · VMs ${s.vms.cpu.toFixed(0)} % of a core`} />
      <Meter label="Memory" used={memUsed} total={s.memTotal} text={`${gib(memUsed)} of ${gib(s.memTotal)} · ${s.vms.running} VM${s.vms.running === 1 ? '' : 's'} ${gib(s.vms.rss)}`} />
      {s.bases.map((b) => (
        <Meter key={b.path} label={b.path} used={b.total - b.free} total={b.total} text={b.total ? `${gib(b.free)} free of ${gib(b.total)}` : 'not there yet'} />
      ))}
    </section>
  );
}
