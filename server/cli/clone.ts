// vmdeck clone: a new VM from a stopped one (full copy, or --linked overlays).
import { cloneVm } from '../clone';
import { parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck clone SRC NEW [--linked] [--json]
                                         a copy of a stopped VM with a new label, UUID and MACs`;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [], ['linked', 'json']);
  const [source, label, ...extra] = p.positional;
  if (!source || !label) throw new UsageError('give the VM to clone and the new label');
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const o = await cloneVm(source, label, { linked: p.flags.has('linked') });
  io.out(p.flags.has('json') ? `${JSON.stringify(o, null, 2)}\n`
    : `VM '${o.vm.label}' cloned from '${source}' (${o.linked ? 'linked: its disks are overlays of the source\'s' : 'a full copy'}) in ${o.vm.dir}\n`);
  return 0;
}
