// ctys's `create=…`/`cancel=…` suboption strings on vmdeck start and cancel
// (lib/subopts.ts): the VM they address, and vmdeck's options for the rest.
import { basename } from 'node:path';
import { isCtysAction, parseCtysAction, type CtysAddress } from '../../lib/subopts';
import { badInput, notFound } from '../errors';
import { bases } from '../paths';
import { enumerate } from '../store';

/** The label or config path of the VM a ctys address names. */
async function target(a: CtysAddress): Promise<string> {
  if (a.pname) return a.pname;
  const only = Object.entries(a).filter(([, v]) => v);
  if (only.length === 1 && a.label) return a.label;
  const where = a.base ? a.base.split('%').filter(Boolean) : bases();
  const found = (await enumerate(where)).filter((v) =>
    (!a.label || v.label === a.label)
    && (!a.fname || basename(v.config) === a.fname || basename(v.config, '.ctys') === a.fname)
    && (!a.uuid || v.uuid.toLowerCase() === a.uuid.toLowerCase())
    && (!a.mac || v.interfaces.some((i) => i.mac.toLowerCase() === a.mac!.toLowerCase()))
    && (!a.tcp || v.interfaces.some((i) => i.ip === a.tcp)));
  const said = only.map(([k, v]) => `${k}:${v}`).join(',');
  if (found.length === 0) throw notFound(`label: no VM with ${said} under ${where.join(', ')}`, 'label');
  if (found.length > 1) throw badInput('label', `label: ${said} names ${found.length} VMs (${found.map((v) => v.config).join(', ')}); add l: or p:`);
  return found[0].config;
}

/**
 * argv with a ctys action string (and the `-a` before it) replaced by the VM
 * it addresses and vmdeck's options; argv itself when it has none.
 */
export async function expandCtysAction(argv: string[], action: 'create' | 'cancel'): Promise<string[]> {
  const i = argv.findIndex(isCtysAction);
  if (i < 0) return argv;
  let parsed;
  try {
    parsed = parseCtysAction(argv[i]);
  } catch (e) {
    throw badInput(action, (e as Error).message);
  }
  if (parsed.action !== action) throw badInput(action, `${parsed.action}=… is not for this command (it takes ${action}=…)`);
  const before = argv.slice(0, i).filter((a, j) => !(a === '-a' && j === i - 1));
  return [...before, await target(parsed.address), ...parsed.options, ...argv.slice(i + 1)];
}
