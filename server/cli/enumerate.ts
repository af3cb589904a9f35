import { existsSync, readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { readMarkers } from '../../lib/ctys';
import { CTYS_RECORD_FIELDS, ctysRecords } from '../../lib/ctys-record';
import type { VmInfo } from '../../lib/vm';
import { loadMacmap } from '../macmap';
import { bases } from '../paths';
import { enumerateRecords, withStatus } from '../runner';
import { enumerateFound, filterVmstate } from '../store';
import { flagString, parseArgs, UsageError, type Io } from './args';
import { isCtysEnumerate, parseCtysEnumerate } from '../../lib/subopts';

export const usage = `vmdeck enumerate [--base DIR%DIR…] [--vmstate=S%S…|all] [--json|--ctys [--title]]   (or ctys's -a enumerate=machine,title,b:DIR,matchvstat:S)
                                         every VM under the bases (vmdeck's and ctys-made); --vmstate as
                                         ctys's MATCHVSTAT (default ACTIVE%DISABLED%EMPTY); --ctys: ctys's
                                         machine records (enumerate=machine), one per interface`;

/** Records a write of `vmdeck enumerate --json`: some 40 KB, young-generation strings. */
const RECORDS_A_WRITE = 32;

export async function run(args: string[], io: Io): Promise<number> {
  // ctys's `-a enumerate=machine,b:…` as vmdeck's options.
  const action = args.findIndex(isCtysEnumerate);
  let argv = args;
  if (action >= 0) {
    let options: string[];
    try {
      options = parseCtysEnumerate(args[action]);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    argv = [...args.slice(0, action).filter((a, j) => !(a === '-a' && j === action - 1)), ...options, ...args.slice(action + 1)];
  }
  const p = parseArgs(argv, ['base', 'vmstate'], ['json', 'ctys', 'title']);
  // A base is --base's (or b: of enumerate=…): a word given as one, or anything else, is not taken for one in silence.
  if (p.positional.length) throw new UsageError(`unexpected argument '${p.positional[0]}' (a base is given with --base DIR%DIR…)`);
  const base = flagString(p, 'base');
  const given = base ? base.split('%').filter(Boolean) : [];
  // A base asked for by name that is not there is a typo more often than an empty base.
  for (const b of given) if (!existsSync(b)) io.err(`vmdeck enumerate: warning: base '${b}' does not exist\n`);
  const baseList = base ? given : bases(io.env as NodeJS.ProcessEnv);
  // Said on stderr in every format: what is left out, and why (stdout stays the list).
  const skipped = (config: string, why: string) => io.err(`vmdeck enumerate: warning: skipped ${config}: ${why}\n`);
  if (p.flags.has('json') && !p.flags.has('ctys')) {
    // JSON.stringify(list, null, 2), made of each VM's record: a stopped VM's as ENUMERATE kept it.
    const records = await enumerateRecords(baseList, flagString(p, 'vmstate'), skipped);
    if (records.length === 0) io.out('[]\n');
    // Written in pieces of a few dozen records: 10,000 VMs' 14 MB joined into one string, then
    // encoded whole, cost two copies of it in fresh memory (docs/PERFORMANCE.md).
    for (let i = 0; i < records.length; i += RECORDS_A_WRITE) {
      const last = i + RECORDS_A_WRITE >= records.length;
      io.out(`${i === 0 ? '[\n' : ''}${records.slice(i, i + RECORDS_A_WRITE).join(',\n')}${last ? '\n]\n' : ',\n'}`);
    }
    return 0;
  }
  const list = await withStatus(filterVmstate((await enumerateFound(baseList, skipped)).map((f) => f.info()), flagString(p, 'vmstate')));
  if (!p.flags.has('json')) {
    for (const v of list) for (const w of v.warnings ?? []) io.err(`vmdeck enumerate: warning: ${v.label}: ${w}\n`);
  }
  if (p.flags.has('ctys')) {
    if (p.flags.has('title')) io.out(`${CTYS_RECORD_FIELDS.join(';')}\n`);
    for (const line of machineRecords(list)) io.out(`${line}\n`);
    return 0;
  }
  const rows = list.map((v) => [v.label, v.state, v.vmstate || '-', v.arch, `${v.os}${v.dist ? `/${v.dist}` : ''}`, `${v.memsize}M`, String(v.smp), v.mac, v.uuid, v.config]);
  const head = ['LABEL', 'STATE', 'VMSTATE', 'ARCH', 'OS/DIST', 'MEM', 'CPUS', 'MAC', 'UUID', 'CONFIG'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows]) io.out(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}\n`);
  return 0;
}

/** ctys's machine records of the VMs, markers read again from each config. */
function machineRecords(list: VmInfo[]): string[] {
  const me = userInfo();
  const group = groupName(me.gid);
  const db = loadMacmap();
  const host = { host: hostname().split('.')[0], uid: me.username, gid: group, netname: (ip: string) => db?.nameOf(ip) ?? '' };
  return list.flatMap((vm) => {
    let text = '';
    try {
      text = readFileSync(vm.config, 'utf8');
    } catch {
      // gone since ENUMERATE read it: the facts are all there is
    }
    return ctysRecords(vm, readMarkers(text).values, host);
  });
}

/** The name of a group id, from /etc/group (ctys's MYGID), else the number. */
function groupName(gid: number): string {
  try {
    const line = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.split(':')[2] === String(gid));
    return line?.split(':')[0] ?? String(gid);
  } catch {
    return String(gid);
  }
}
