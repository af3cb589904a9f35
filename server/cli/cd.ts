// vmdeck cd: a VM's CD/DVD drives beside drive 0 (cd0, which every VM has),
// and what is in them and in floppy drives A and B.
import { addCd, changeDrive, removeCd } from '../devices';
import { resolveVm } from '../runtime';
import { flagString, hereFile, itemNumber, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck cd L list | add [--iso F] [--if ide|scsi] | remove N | change DRIVE IMAGE | eject DRIVE [--json]
                                         CD/DVD drives 1… (DRIVE cd1…) and floppies (DRIVE fda, fdb);
                                         change and eject are live on a running VM, add and remove pending`;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['iso', 'if'], ['json']);
  const [label, action = 'list', ...rest] = p.positional;
  if (!label) throw new UsageError('a VM label is needed');
  const json = (v: unknown) => io.out(`${JSON.stringify(v, null, 2)}\n`);
  const pending = (o: { live: boolean; pending: boolean }) => (o.live ? ', live' : o.pending ? ' (pending until the next start)' : '');
  if (action === 'list') {
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
    const vm = await resolveVm(label);
    if (p.flags.has('json')) json({ cds: vm.cds, floppies: vm.floppies });
    else {
      for (const d of vm.cds) io.out(`cd${d.index}  ${d.interface.padEnd(4)} ${d.file || '(empty)'}\n`);
      for (const f of vm.floppies) io.out(`fd${f.drive.toLowerCase()}  floppy ${f.file}\n`);
      if (!vm.cds.length && !vm.floppies.length) io.out(`VM '${vm.label}' has only CD/DVD drive 0 (vmdeck media ${vm.label} show) and no floppy image; vmdeck cd ${vm.label} add makes drive 1\n`);
    }
    return 0;
  }
  if (action === 'add') {
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
    const o = await addCd(label, { iso: await hereFile(flagString(p, 'iso'), label), interface: flagString(p, 'if') });
    if (p.flags.has('json')) json(o);
    else io.out(`VM '${o.vm.label}': CD/DVD drive ${o.device.index} (${o.device.interface}) added${pending(o)}; wrote ${o.lines.join(' ')}\n`);
    return 0;
  }
  if (action === 'remove') {
    const n = itemNumber('remove', rest, 'drive');
    const o = await removeCd(label, n);
    if (p.flags.has('json')) json(o);
    else io.out(`VM '${o.vm.label}': CD/DVD drive ${n} removed${pending(o)}\n`);
    return 0;
  }
  if (action === 'change' || action === 'eject') {
    const [drive, image, ...extra] = rest;
    if (!drive) throw new UsageError(`${action} needs a drive, like ${action} cd1${action === 'change' ? ' ISO' : ''} or fda`);
    if (action === 'change' && !image) throw new UsageError('change needs the image to put in');
    if (extra.length || (action === 'eject' && image)) throw new UsageError(`unexpected argument '${extra[0] ?? image}'`);
    const o = await changeDrive(label, drive, action === 'change' ? (await hereFile(image, label))! : '');
    if (p.flags.has('json')) json(o);
    else io.out(`VM '${o.vm.label}' ${o.drive}: ${o.file || 'empty'}${pending(o)}; wrote ${o.lines.join(' ')}\n`);
    return 0;
  }
  throw new UsageError(`'${action}' is not one of list, add, remove, change, eject`);
}
