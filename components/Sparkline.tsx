// A VM's CPU over the last minutes, as a tiny line (the VM list's rows):
// the last samples of GET /api/stats/cpu, 0–100 % of one core per vCPU.
export function CpuSparkline({ values, smp }: { values?: (number | null)[]; smp: number }) {
  if (!values || values.length < 2) return null;
  const W = 28;
  const H = 12;
  const top = 100 * Math.max(1, smp);
  const step = W / (values.length - 1);
  const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(H - (Math.min(v ?? 0, top) / top) * H).toFixed(1)}`).join(' ');
  const last = values.at(-1);
  return (
    <svg width={W} height={H} viewBox={`0 0 ${W} ${H}`} className="ml-1 shrink-0 text-accent" role="img" aria-label={`CPU ${last == null ? 'unknown' : `${Math.round(last)} %`}`} data-sparkline>
      <title>{`CPU ${last == null ? '—' : `${Math.round(last)} %`} (last ${values.length} samples)`}</title>
      <polyline points={pts} fill="none" stroke="currentColor" strokeWidth="1" />
    </svg>
  );
}
