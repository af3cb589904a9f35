import { existsSync } from 'node:fs';
import { bases } from '../paths';
import { withStatus } from '../runner';
import { enumerate, filterVmstate } from '../store';
import { flagString, parseArgs, type Io } from './args';

export const usage = 'vmdeck enumerate [--base DIR%DIR…] [--vmstate=S%S…|all] [--json]   every VM under the bases (vmdeck\'s and ctys-made); --vmstate as ctys\'s MATCHVSTAT (default ACTIVE%DISABLED%EMPTY)';

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['base', 'vmstate'], ['json']);
  const base = flagString(p, 'base');
  const given = base ? base.split('%').filter(Boolean) : [];
  // A base asked for by name that is not there is a typo more often than an empty base.
  for (const b of given) if (!existsSync(b)) io.err(`vmdeck enumerate: warning: base '${b}' does not exist\n`);
  const found = await enumerate(base ? given : bases(io.env as NodeJS.ProcessEnv));
  const list = await withStatus(filterVmstate(found, flagString(p, 'vmstate')));
  if (p.flags.has('json')) {
    io.out(`${JSON.stringify(list, null, 2)}\n`);
    return 0;
  }
  const rows = list.map((v) => [v.label, v.state, v.vmstate || '-', v.arch, `${v.os}${v.dist ? `/${v.dist}` : ''}`, `${v.memsize}M`, String(v.smp), v.mac, v.uuid, v.config]);
  const head = ['LABEL', 'STATE', 'VMSTATE', 'ARCH', 'OS/DIST', 'MEM', 'CPUS', 'MAC', 'UUID', 'CONFIG'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows]) io.out(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}\n`);
  return 0;
}
