// vmdeck stats: a VM's CPU, memory, disk and network now, and over a range
// of its history (what the dashboard's graphs draw).
import { RANGES, type StatPoint } from '../../lib/stats';
import { vmStats } from '../stats';
import { flagString, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck stats L [--range 10m|1h|1d|1w|30d] [--json]
                                         CPU, memory, disk and network now, and the range's average and peak`;

const FIGURES: { field: keyof Omit<StatPoint, 't'>; name: string; unit: (v: number) => string }[] = [
  { field: 'cpu', name: 'CPU (QEMU)', unit: (v) => `${v.toFixed(1)} %` },
  { field: 'vcpu', name: 'CPU (vCPUs)', unit: (v) => `${v.toFixed(1)} %` },
  { field: 'rss', name: 'memory (RSS)', unit: (v) => `${(v / 2 ** 20).toFixed(1)} MiB` },
  { field: 'rd', name: 'disk read', unit: (v) => `${(v / 2 ** 10).toFixed(1)} KiB/s` },
  { field: 'wr', name: 'disk write', unit: (v) => `${(v / 2 ** 10).toFixed(1)} KiB/s` },
  { field: 'rx', name: 'net receive', unit: (v) => `${(v / 2 ** 10).toFixed(1)} KiB/s` },
  { field: 'tx', name: 'net send', unit: (v) => `${(v / 2 ** 10).toFixed(1)} KiB/s` },
];

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['range'], ['json']);
  if (p.positional.length !== 1) throw new UsageError('one VM label is needed');
  const range = flagString(p, 'range') ?? '1h';
  if (RANGES[range] === undefined) throw new UsageError(`--range: '${range}' is not one of ${Object.keys(RANGES).join(', ')}`);
  const s = await vmStats(p.positional[0], range);
  if (p.flags.has('json')) {
    io.out(`${JSON.stringify(s, null, 2)}\n`);
    return 0;
  }
  if (!s.now && s.points.length === 0) {
    io.out(`VM '${s.label}' is not running and has no recorded figures (the dashboard records them while it runs)\n`);
    return 0;
  }
  io.out(`${'VM ' + s.label}`.padEnd(16) + 'now'.padStart(16) + `avg ${range}`.padStart(16) + `peak ${range}`.padStart(16) + '\n');
  for (const f of FIGURES) {
    const xs = s.points.map((pt) => pt[f.field]).filter((v): v is number => v !== null);
    const now = s.now?.[f.field];
    const cell = (v: number | null | undefined) => (v === null || v === undefined ? '—' : f.unit(v)).padStart(16);
    io.out(f.name.padEnd(16) + cell(now) + cell(xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null) + cell(xs.length ? Math.max(...xs) : null) + '\n');
  }
  io.out(`${s.points.length} points of ${s.step} s over ${range}\n`);
  return 0;
}
