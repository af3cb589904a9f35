import { checkHost } from '../check';
import { paint, parseArgs, type Io } from './args';

export const usage = 'vmdeck check [--json]                 prerequisites, green/red; exit 1 when one that is needed is missing';

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [], ['json']);
  const report = await checkHost();
  if (p.flags.has('json')) {
    io.out(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    for (const i of report.items) {
      const mark = paint(io, i.ok, i.ok ? 'ok  ' : i.needed ? 'FAIL' : 'miss');
      io.out(`${mark} ${i.name.padEnd(24)} ${i.detail}${i.fix ? `  (fix: ${i.fix})` : ''}\n`);
    }
    io.out(report.ok ? 'vmdeck can run VMs on this host.\n' : 'vmdeck cannot run VMs here until the FAIL lines are fixed.\n');
  }
  return report.ok ? 0 : 1;
}
