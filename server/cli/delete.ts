// vmdeck delete: a stopped VM's files, as the dashboard's Delete (DELETE /api/vms/:label).
import { qcow2Backing } from '../fsutil';
import { deleteVm } from '../runner';
import { parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck delete L [--disks] [--json]
                                         a stopped VM's config, wrapper, seeds and logs; its
                                         disks are kept unless --disks, renamed IMAGE.STAMP, in the
                                         base (in its directory when that holds other files); a disk
                                         outside its directory, or another VM's too, is left as it is`;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [], ['disks', 'json']);
  const [label, ...extra] = p.positional;
  if (!label) throw new UsageError('give the label of the VM to delete');
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const o = await deleteVm(label, p.flags.has('disks'));
  if (p.flags.has('json')) {
    io.out(`${JSON.stringify(o, null, 2)}\n`);
    return 0;
  }
  io.out(`VM '${o.deleted}' deleted${p.flags.has('disks') ? ' with its disks' : ''}\n`);
  for (const kept of o.keptDisks ?? []) {
    // A linked clone's overlay reads through its source's disk: kept, it needs that disk.
    const backing = await qcow2Backing(kept);
    io.out(`  its disk is kept as ${kept}${backing ? ` (an overlay: it reads through ${backing}, which must stay)` : ''}\n`);
  }
  for (const left of o.leftDisks ?? []) io.out(`  ${left} is left where it is (not its own: outside its directory, or another VM's disk too)\n`);
  return 0;
}
