// vmdeck nic: a VM's NICs (N counts from 0, the first is NIC/MAC0).
import { addNic, removeNic } from '../devices';
import { resolveVm } from '../runtime';
import { flagString, itemNumber, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck nic L list | add [--model M] [--net user|vde:SWITCH|tap:IF|none] | remove N [--json]
                                         the VM's NICs; on a running VM add and remove are live`;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['model', 'net'], ['json']);
  const [label, action = 'list', ...rest] = p.positional;
  if (!label) throw new UsageError('a VM label is needed');
  if (action === 'remove') {
    const n = itemNumber('remove', rest, 'NIC');
    const o = await removeNic(label, n);
    io.out(p.flags.has('json') ? `${JSON.stringify(o, null, 2)}\n` : `VM '${o.vm.label}': NIC ${n} removed${o.live ? ', live' : ''}\n`);
    return 0;
  }
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  const json = (v: unknown) => io.out(`${JSON.stringify(v, null, 2)}\n`);
  if (action === 'list') {
    const vm = await resolveVm(label);
    if (p.flags.has('json')) json(vm.nics);
    else for (const n of vm.nics) io.out(`${n.index}  ${n.model.padEnd(15)} ${n.mac.padEnd(17)} ${n.netmode}${n.vdeSwitch ? `:${n.vdeSwitch}` : n.tapDevice ? `:${n.tapDevice}` : ''}\n`);
    return 0;
  }
  if (action === 'add') {
    const o = await addNic(label, { model: flagString(p, 'model'), net: flagString(p, 'net') });
    if (p.flags.has('json')) json(o);
    else io.out(`VM '${o.vm.label}': NIC ${o.device.index} ${o.device.model} ${o.device.mac} (${o.device.netmode}) added${o.live ? ', live' : ''}; wrote ${o.lines.join(' ')}\n`);
    if (o.warning) io.err(`vmdeck nic: warning: ${o.warning}\n`);
    return 0;
  }
  throw new UsageError(`'${action}' is not one of list, add, remove`);
}
