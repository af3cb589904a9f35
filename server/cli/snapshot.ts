// vmdeck snapshot: internal qcow2 snapshots (ctys's S4 savevm/loadvm).
import { deleteSnapshot, listSnapshots, loadSnapshot, saveSnapshot } from '../snapshots';
import { parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck snapshot L save|load|delete NAME | list [--json]
                                         internal qcow2 snapshots: with RAM and devices while
                                         the VM runs, of the disk only while it is stopped`;

function size(bytes: number): string {
  if (bytes === 0) return 'disk only';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [], ['json']);
  const [label, action, name, ...extra] = p.positional;
  if (!label || !action) throw new UsageError('a VM label and one of save, load, delete, list are needed');
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const json = p.flags.has('json');
  if (action === 'list') {
    if (name) throw new UsageError('list takes no name');
    const list = await listSnapshots(label);
    if (json) io.out(`${JSON.stringify(list, null, 2)}\n`);
    else if (list.length === 0) io.out(`VM '${label}' has no snapshots\n`);
    else {
      const head = ['NAME', 'VM STATE', 'DATE', 'VM CLOCK'];
      const rows = list.map((s) => [s.name, size(s.vmStateSize), s.date.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), s.vmClock]);
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      for (const r of [head, ...rows]) io.out(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}\n`);
    }
    return 0;
  }
  if (!['save', 'load', 'delete'].includes(action)) throw new UsageError(`'${action}' is not one of save, load, delete, list`);
  if (!name) throw new UsageError(`${action} needs a snapshot NAME`);
  if (action === 'save') {
    const s = await saveSnapshot(label, name);
    if (json) io.out(`${JSON.stringify(s, null, 2)}\n`);
    else io.out(`saved snapshot '${name}' of VM '${label}' (${size(s.vmStateSize)})\n`);
  } else if (action === 'load') {
    const s = await loadSnapshot(label, name);
    if (json) io.out(`${JSON.stringify(s, null, 2)}\n`);
    else io.out(`VM '${label}' is back at snapshot '${name}'\n`);
  } else {
    await deleteSnapshot(label, name);
    if (json) io.out(`${JSON.stringify({ deleted: name }, null, 2)}\n`);
    else io.out(`deleted snapshot '${name}' of VM '${label}'\n`);
  }
  return 0;
}
