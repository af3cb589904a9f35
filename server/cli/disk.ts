// vmdeck disk: a VM's disks (N counts from 0, the first is HDDBOOTIMAGE).
import { addDisk, removeDisk, resizeDisk, setDiskOptions } from '../devices';
import { resolveVm } from '../runtime';
import { flagString, hereFile, itemNumber, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck disk L list | add [--size S] [--file F] [--if virtio|ide|scsi] [--readonly] [--cache C] [--discard] [--boot-index N]
                  | set N readonly=on|off cache=C discard=on|off bootindex=N | resize N SIZE [--shrink=L] | remove N [--json]
                                         the VM's disks; on a running VM add, resize and remove are live, set is pending`;

/** readonly=on cache=none …: the options of \`disk set\`. */
function optionWords(words: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(w);
    if (!m) throw new UsageError(`'${w}' is not OPTION=VALUE (readonly=on, cache=none, discard=on, bootindex=1)`);
    out[m[1]] = m[2];
  }
  return out;
}

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['size', 'file', 'if', 'shrink', 'cache', 'boot-index'], ['json', 'readonly', 'discard']);
  const [label, action = 'list', ...rest] = p.positional;
  if (!label) throw new UsageError('a VM label is needed');
  const json = (v: unknown) => io.out(`${JSON.stringify(v, null, 2)}\n`);
  if (action === 'list') {
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
    const vm = await resolveVm(label);
    if (p.flags.has('json')) json(vm.disks);
    else {
      for (const d of vm.disks) {
        const opts = [d.readOnly && 'read-only', d.cache && `cache=${d.cache}`, d.discard && 'discard', d.bootIndex !== null && `boot index ${d.bootIndex}`].filter(Boolean);
        io.out(`${d.index}  ${d.interface.padEnd(6)} ${d.format.padEnd(5)} ${d.file}${opts.length ? `  (${opts.join(', ')})` : ''}\n`);
      }
    }
    return 0;
  }
  if (action === 'add') {
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
    const options: Record<string, unknown> = {};
    if (p.flags.has('readonly')) options.readOnly = true;
    if (p.flags.has('discard')) options.discard = true;
    if (flagString(p, 'cache') !== undefined) options.cache = flagString(p, 'cache');
    if (flagString(p, 'boot-index') !== undefined) options.bootIndex = flagString(p, 'boot-index');
    const o = await addDisk(label, { size: flagString(p, 'size'), file: await hereFile(flagString(p, 'file'), label), interface: flagString(p, 'if'), options });
    if (p.flags.has('json')) json(o);
    else io.out(`VM '${o.vm.label}': disk ${o.device.index} ${o.device.file} (${o.device.interface}) added${o.live ? ', live' : ''}; wrote ${o.lines.join(' ')}\n`);
    return 0;
  }
  if (action === 'set') {
    const [n, ...words] = rest;
    if (!n || !/^\d+$/.test(n) || !words.length) throw new UsageError('set needs a disk number and options, like set 1 readonly=on cache=none');
    const o = await setDiskOptions(label, Number(n), optionWords(words));
    if (p.flags.has('json')) json(o);
    else io.out(`VM '${o.vm.label}': disk ${n}: wrote ${o.lines.join(' ')}${o.pending ? ' (pending until the next start)' : ''}\n`);
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
    const n = itemNumber('remove', rest, 'disk');
    const o = await removeDisk(label, n);
    if (p.flags.has('json')) json(o);
    else io.out(`VM '${o.vm.label}': disk ${n} removed${o.live ? ', live' : ''} (its image ${o.device.file} is kept)\n`);
    return 0;
  }
  throw new UsageError(`'${action}' is not one of list, add, set, resize, remove`);
}
