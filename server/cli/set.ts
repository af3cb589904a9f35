// vmdeck set: changes settings of a VM's config (ctys's variable names), the
// same editVm as PATCH /api/vms/:label.
import { editVm, type EditOutcome } from '../edit';
import { parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck set L KEY=VALUE… [--dry-run] [--json]
                                         changes config variables (MEMSIZE=1024 SMP=2 VGA=virtio …);
                                         a running VM takes them at its next start`;

function describe(label: string, o: EditOutcome): string {
  const out = o.changes.map((c) => `${o.dryRun ? 'would write' : 'wrote'} line ${c.line}: ${c.text.trim()}${c.before === null ? ' (added)' : ''}\n`);
  if (!o.dryRun && o.kept) out.push(`kept the previous config as ${o.kept}\n`);
  if (o.changes.length && !o.dryRun && !o.kept) out.push(`VM '${label}': nothing changed, the config already says so\n`);
  if (o.pending) out.push(`VM '${label}' is running: ${o.dryRun ? 'this would be' : 'this is'} pending until its next start\n`);
  return out.join('');
}

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [], ['dry-run', 'json']);
  const [label, ...assignments] = p.positional;
  if (!label) throw new UsageError('a VM label is needed');
  if (assignments.length === 0) throw new UsageError('give at least one KEY=VALUE, like MEMSIZE=1024');
  const values: Record<string, string> = {};
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new UsageError(`'${a}' is not KEY=VALUE`);
    values[a.slice(0, eq)] = a.slice(eq + 1);
  }
  const o = await editVm(label, values, { dryRun: p.flags.has('dry-run') });
  io.out(p.flags.has('json') ? `${JSON.stringify(o, null, 2)}\n` : describe(o.vm.label, o));
  // Written all the same (the user's edit may be half of two), as create-conf writes and warns.
  if (o.problem) io.err(`vmdeck set: warning: ${o.problem}\n`);
  return 0;
}
