// vmdeck set: changes settings of a VM's config (ctys's variable names), the
// same editVm as PATCH /api/vms/:label.
import { CTYS_VARS } from '../../lib/ctys';
import { fieldOf } from '../../lib/settings';
import { editVm, type EditOutcome } from '../edit';
import { VmdeckError } from '../errors';
import { parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck set L KEY=VALUE… [--dry-run] [--json]
                                         changes config variables (MEMSIZE=1024 SMP=2 VGA=virtio …);
                                         a running VM takes them at its next start`;

function describe(label: string, o: EditOutcome): string {
  // Written (a copy of the old config kept), or not: the config already said so.
  const unchanged = o.changes.length > 0 && !o.dryRun && !o.kept;
  const out = unchanged
    ? [`VM '${label}': nothing changed, the config already says so (${o.changes.map((c) => `line ${c.line}: ${c.text.trim()}`).join('; ')})\n`]
    : o.changes.map((c) => `${o.dryRun ? 'would write' : 'wrote'} line ${c.line}: ${c.text.trim()}${c.before === null ? ' (added)' : ''}\n`);
  if (!o.dryRun && o.kept) out.push(`kept the previous config as ${o.kept}\n`);
  if (o.pending) out.push(`VM '${label}' is running: ${o.dryRun ? 'this would be' : 'this is'} pending until its next start\n`);
  return out.join('');
}

/**
 * An error on a setting, named as the user typed it (MEMSIZE, not the API's
 * memsize) or by its config variable, as create-conf names it; the API's
 * PATCH keeps its field names.
 */
function namedAsTyped(e: unknown, values: Record<string, string>): unknown {
  if (!(e instanceof VmdeckError) || !e.field) return e;
  // The key typed for it, or (a field the change needs, as QEMUSOCK for NETMODE=vde) its config variable.
  // Never the label: every command names it label (a VM not found, a lock, a state that refuses).
  if (e.field === 'label') return e;
  const typed = Object.keys(values).find((k) => fieldOf(k) === e.field) ?? (CTYS_VARS as Record<string, string | undefined>)[e.field];
  const prefix = `${e.field}: `;
  if (!typed || typed === e.field || !e.message.startsWith(prefix)) return e;
  return new VmdeckError(e.status, `${typed}: ${e.message.slice(prefix.length)}`, e.field);
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
  let o: EditOutcome;
  try {
    o = await editVm(label, values, { dryRun: p.flags.has('dry-run') });
  } catch (e) {
    throw namedAsTyped(e, values);
  }
  io.out(p.flags.has('json') ? `${JSON.stringify(o, null, 2)}\n` : describe(o.vm.label, o));
  // Written all the same (the user's edit may be half of two), as create-conf writes and warns.
  if (o.problem) io.err(`vmdeck set: warning: ${o.problem}\n`);
  return 0;
}
