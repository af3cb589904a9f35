// vmdeck disk: a VM's disks (N counts from 0, the first is HDDBOOTIMAGE).
import { addDisk, removeDisk, resizeDisk } from '../devices';
import { resolveVm } from '../runtime';
import { flagString, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck disk L list | add [--size S] [--file F] [--if virtio|ide|scsi] | resize N SIZE [--shrink=L] | remove N [--json]
                                         the VM's disks; on a running VM add, resize and remove are live`;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['size', 'file', 'if', 'shrink'], ['json']);
  const [label, action = 'list', ...rest] = p.positional;
  if (!label) throw new UsageError('a VM label is needed');
  const json = (v: unknown) => io.out(`${JSON.stringify(v, null, 2)}\n`);
  if (action === 'list') {
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
    const vm = await resolveVm(label);
    if (p.flags.has('json')) json(vm.disks);
    else for (const d of vm.disks) io.out(`${d.index}  ${d.interface.padEnd(6)} ${d.format.padEnd(5)} ${d.file}\n`);
    return 0;
  }
  if (action === 'add') {
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
    const o = await addDisk(label, { size: flagString(p, 'size'), file: flagString(p, 'file'), interface: flagString(p, 'if') });
    if (p.flags.has('json')) json(o);
    else io.out(`VM '${o.vm.label}': disk ${o.device.index} ${o.device.file} (${o.device.interface}) added${o.live ? ', live' : ''}; wrote ${o.lines.join(' ')}\n`);
    return 0;
  }
  if (action === 'resize') {
    const [n, size, ...extra] = rest;
    if (!n || !/^\d+$/.test(n) || !size) throw new UsageError('resize needs a disk number and a size, like resize 1 2G');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const o = await resizeDisk(label, Number(n), size, flagString(p, 'shrink'));
    if (p.flags.has('json')) json(o);
    else io.out(`VM '${o.vm.label}': disk ${n} ${o.from} -> ${o.to} bytes${o.live ? ', live: the guest sees it now' : ''}\n`);
    return 0;
  }
  if (action === 'remove') {
    const [n, ...extra] = rest;
    if (!n || !/^\d+$/.test(n)) throw new UsageError('remove needs a disk number, like remove 1');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const o = await removeDisk(label, Number(n));
    if (p.flags.has('json')) json(o);
    else io.out(`VM '${o.vm.label}': disk ${n} removed${o.live ? ', live' : ''} (its image ${o.device.file} is kept)\n`);
    return 0;
  }
  throw new UsageError(`'${action}' is not one of list, add, resize, remove`);
}
