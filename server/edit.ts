// Changing a VM's config after it is made: the assignments vmdeck owns are
// rewritten in place (lib/config-edit.ts), everything else the user wrote
// stays byte for byte, and the previous config is kept as create-conf
// --force keeps it (<L>.ctys.<stamp>). A running VM takes the change at its
// next start: until then it is pending (server/pending.ts). `vmdeck set` and
// PATCH /api/vms/:label both come here.
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setAssignment } from '../lib/config-edit';
import { specFromVars } from '../lib/options';
import { VmSpecSchema } from '../lib/spec';
import { checkChange, checkTogether, EDITABLE_FIELDS, type Change, type Field } from '../lib/settings';
import { CTYS_VARS, MARKED_VARS, setMarker } from '../lib/ctys';
import type { VmInfo } from '../lib/vm';
import { evalConfig, readConfig } from './config';
import { confineFields } from './confine';
import { removeDeadPidFiles } from './fsutil';
import { wrapperTakesLists } from './devices';
import { badInput, conflict, VmdeckError } from './errors';
import { recordPending, resumeSafe } from './pending';
import { vmStatus } from './runner';
import { resolveVm } from './runtime';
import { enumerate, keepCopy, stamp, wrapperCheck } from './store';
import { cpuError, machineError } from './qemu-machines';
import { task } from './tasks';
import { withVmLock } from './vm-lock';

/** One variable as the change writes it: its line now and before (null: added at the end). */
export interface WrittenLine {
  field: Field;
  variable: string;
  /** 1-based line number in the new config. */
  line: number;
  text: string;
  before: string | null;
}

export interface EditOutcome {
  vm: VmInfo;
  /** The previous config, kept (absent for a dry run or when nothing changed). */
  kept?: string;
  /** The config lines written, as the user will read them. */
  lines: string[];
  changes: WrittenLine[];
  /** True for a dry run: nothing was written. */
  dryRun: boolean;
  /** True when the VM runs: the change waits for its next start. */
  pending: boolean;
  /** What the wrapper's --check says of the config written (a config bash cannot load, a missing file), as create-conf says it. */
  problem?: string | null;
}

/** Where each variable's assignment is in a config that setAssignment wrote. */
function lineOf(text: string, variable: string): number {
  const re = new RegExp(String.raw`^\s*(?:export\s+)?${variable}=`);
  return text.split('\n').findIndex((l) => re.test(l));
}

export function editVm(labelOrPath: string, values: Record<string, unknown>, opts: { dryRun?: boolean; confined?: boolean } = {}): Promise<EditOutcome> {
  // A dry run writes nothing: it waits for no one.
  return opts.dryRun ? editVmNow(labelOrPath, values, opts) : task('set', labelOrPath, values, () => withVmLock(labelOrPath, 'set', () => editVmNow(labelOrPath, values, opts)));
}

async function editVmNow(labelOrPath: string, values: Record<string, unknown>, opts: { dryRun?: boolean; confined?: boolean }): Promise<EditOutcome> {
  const vm = await resolveVm(labelOrPath);
  const entries = Object.entries(values);
  const fields = EDITABLE_FIELDS.map((f) => CTYS_VARS[f]).join(', ');
  if (entries.length === 0) throw badInput('body', `body: nothing to change (settings: ${fields})`);
  const { text: original, vars, dynamic } = await readConfig(vm.config);
  const changes: Change[] = [];
  for (const [name, value] of entries) {
    const r = checkChange(name, value);
    if (!r.ok) throw badInput(r.field, r.error);
    changes.push(r.change);
  }
  const together = checkTogether(specFromVars(vars), changes);
  if (together) throw badInput(together.field, together.error);
  // A machine type this QEMU has (create checks it the same way).
  if (changes.some((c) => c.field === 'machine' || c.field === 'qemu')) {
    const next = { ...specFromVars(vars), ...Object.fromEntries(changes.map((c) => [c.field, c.value])) } as { qemu?: string; machine?: string };
    // No STARTERCALL (a ctys config may have none): the wrapper's own default.
    const wrong = await machineError(String(next.qemu || 'qemu-system-x86_64'), String(next.machine ?? ''));
    if (wrong) throw badInput('machine', wrong);
  }
  // A CPU model this QEMU has, under the accelerator it needs (create checks it the same way).
  if (changes.some((c) => c.field === 'cpu' || c.field === 'qemu' || c.field === 'accelerator')) {
    const next = { ...specFromVars(vars), ...Object.fromEntries(changes.map((c) => [c.field, c.value])) } as { qemu?: string; cpu?: string; accelerator?: string };
    const wrong = await cpuError(String(next.qemu || 'qemu-system-x86_64'), String(next.cpu ?? ''), String(next.accelerator || 'QEMU'));
    if (wrong) throw badInput('cpu', wrong);
  }
  // As create refuses it: two VMs with one MAC clash on a network, and in ctys's ENUMERATE.
  const mac = changes.find((c) => c.field === 'mac' && typeof c.value === 'string' && c.value !== '');
  if (mac) {
    const wanted = (mac.value as string).toLowerCase();
    const owner = (await enumerate()).find((v) => v.label !== vm.label && v.interfaces.some((i) => i.mac.toLowerCase() === wanted));
    if (owner) throw badInput('mac', `mac: ${wanted} is the MAC of VM '${owner.label}' already`);
  }
  // From the API: no path outside the bases and media directories, no program by path (server/confine.ts).
  if (opts.confined) await confineFields(Object.fromEntries(changes.map((c) => [c.field, c.value])), vm.dir);
  let text = original;
  for (const c of changes) {
    const r = setAssignment(text, c.variable, c.text);
    if (!r.ok) throw badInput(c.field, r.error);
    // ENUMERATE (vmdeck's and ctys's) reads the markers: they say what the variables now say.
    text = MARKED_VARS.has(c.variable) ? setMarker(r.text, c.variable, c.text) : r.text;
  }
  const before = original.split('\n');
  const after = text.split('\n');
  const written = changes.map((c): WrittenLine => {
    const i = lineOf(text, c.variable);
    const j = lineOf(original, c.variable);
    return { field: c.field, variable: c.variable, line: i + 1, text: after[i], before: j >= 0 ? before[j] : null };
  });
  // A config with logic (a file it sources, an eval) may set a variable again after the line written.
  if (dynamic && text !== original) await refuseOverridden(vm, text, changes);
  const { state } = await vmStatus(vm);
  const running = state === 'running' || state === 'paused';
  // Suspended: its saved state resumes into the machine the config makes, and only into the one it was saved of.
  const machine = written.filter((w) => !resumeSafe(w.variable) && w.before !== w.text);
  if (state === 'suspended' && machine.length) {
    throw conflict(`label: VM '${vm.label}' is suspended: its saved state would not resume into the machine ${machine.map((w) => w.variable).join(', ')} would make; start it (it resumes) and change it then, or remove ${join(vm.dir, `${vm.label}.suspend`)} to boot it afresh`, 'label');
  }
  const outcome = { lines: written.map((w) => w.text.trim()), changes: written, pending: running };
  if (opts.dryRun || text === original) return { vm, ...outcome, dryRun: Boolean(opts.dryRun) };
  // A wrapper written before firmware and TPM were settings would start the VM without them.
  if (changes.some((c) => c.field === 'firmware' || c.field === 'secureBoot' || c.field === 'tpm')) await wrapperTakesLists(vm, 'firmware');
  const kept = await writeConfig(vm, text);
  if (running) await recordPending(vm.label, changes.map((c) => c.variable));
  const updated = await resolveVm(vm.config);
  return { vm: updated, kept, ...outcome, dryRun: false, problem: await wrapperCheck(updated, [], updated.accelerator) };
}

/**
 * Refuses a change that the config's own logic undoes: the text it would
 * write, sourced by bash as the wrapper sources it, must give each variable
 * the value written. Otherwise the change would say "wrote" and the VM would
 * start as before.
 */
async function refuseOverridden(vm: VmInfo, text: string, changes: Change[]): Promise<void> {
  // Beside the config (its logic may source files next to it), a name of its own: dry runs take no lock.
  const probe = join(dirname(vm.config), `.${basename(vm.config)}.check-${randomBytes(6).toString('hex')}`);
  let got: Awaited<ReturnType<typeof evalConfig>>;
  try {
    await writeFile(probe, text, { mode: 0o600, flag: 'wx' });
    got = await evalConfig(vm.config, changes.map((c) => c.variable), { source: probe });
  } catch (e) {
    throw new VmdeckError(400, `config: the change cannot be checked, bash cannot source the config it would write (${(e as Error).message.replace(probe, vm.config)}); nothing was changed`, 'config');
  } finally {
    await rm(probe, { force: true });
  }
  for (const c of changes) {
    const value = got[c.variable];
    const now = Array.isArray(value) ? value.join(' ') : value ?? '';
    if (now !== c.text) {
      throw badInput(c.field, `${c.variable}: the config's own logic sets it again after the line vmdeck would write (it would be ${JSON.stringify(now)}, not ${JSON.stringify(c.text)}); change it where the config sets it (${vm.config}); nothing was changed`);
    }
  }
}

/** How many earlier configs a VM's directory keeps (<L>.ctys.<stamp>): the newest, the older removed as a change adds one. */
export const KEPT_CONFIGS = 20;

/**
 * Replaces a VM's config with text, keeping the previous one as
 * <L>.ctys.<stamp> (the newest KEPT_CONFIGS of them); returns the kept
 * copy's path. A write the file system refuses (full, read-only, not
 * permitted) is one line naming the config, and changes nothing.
 */
export async function writeConfig(vm: VmInfo, text: string, opts: { prune?: boolean } = {}): Promise<string> {
  const mode = (await stat(vm.config)).mode & 0o777;
  // Temporary configs (<L>.ctys.edit-<pid>) of writers that died before they renamed them.
  await removeDeadPidFiles(dirname(vm.config), `${basename(vm.config)}.edit-`);
  const tmp = `${vm.config}.edit-${process.pid}`;
  let kept: string;
  try {
    await writeFile(tmp, text, { mode, flag: 'wx' });
    kept = await keepCopy(vm.config, `${vm.config}.${stamp()}`);
    await rename(tmp, vm.config);
  } catch (e) {
    await rm(tmp, { force: true });
    throw writeRefused(e, vm.config) ?? e;
  }
  // A change that may be undone (a hot-add QEMU refuses) prunes once it stands: an undo would have lost the oldest copies.
  if (opts.prune !== false) await pruneKept(vm.config, kept);
  return kept;
}

/** A refusal of the file system to write config, in one line; null for another error. */
function writeRefused(e: unknown, config: string): VmdeckError | null {
  const code = (e as NodeJS.ErrnoException).code;
  const dir = dirname(config);
  const why = code === 'ENOSPC' ? `no space left in '${dir}' (nothing was changed; free some space)`
    : code === 'EDQUOT' ? `no space left in '${dir}': the disk quota is used up (nothing was changed)`
      : code === 'EROFS' ? `'${dir}' is on a read-only file system (nothing was changed)`
        : code === 'EACCES' ? `this user may not write in '${dir}' (nothing was changed)`
          : code === 'EPERM' ? `the file system of '${dir}' refused it (EPERM: one without hard links keeps no copies; nothing was changed)` : null;
  return why ? new VmdeckError(500, `config: cannot write '${config}': ${why}`, 'config') : null;
}

/**
 * All but the newest KEPT_CONFIGS earlier configs (<L>.ctys.<YYYYMMDDhhmmss>[-n],
 * as keepCopy names them) removed; never the one just made (justKept), even
 * when copies stamped by a clock set ahead sort after it.
 */
export async function pruneKept(config: string, justKept?: string): Promise<void> {
  const name = basename(config);
  const kept = (await readdir(dirname(config)).catch(() => [] as string[]))
    .map((n) => ({ n, m: /^\.(\d{14})(?:-(\d+))?$/.exec(n.slice(name.length)) }))
    .filter((k) => k.n.startsWith(name) && k.m)
    .sort((a, b) => a.m![1].localeCompare(b.m![1]) || Number(a.m![2] ?? 1) - Number(b.m![2] ?? 1));
  for (const k of kept.slice(0, Math.max(0, kept.length - KEPT_CONFIGS))) {
    if (join(dirname(config), k.n) !== justKept) await rm(join(dirname(config), k.n), { force: true });
  }
}

const UNSET_IS_DEFAULT = new Set<Field>(['firmware', 'secureBoot', 'tpm']);

/** The editable settings of a VM as its config gives them now, and those its logic sets (with the refusal). */
export async function vmSettings(vm: VmInfo): Promise<{ values: Partial<Record<Field, unknown>>; locked: Partial<Record<Field, string>> }> {
  const { text, vars } = await readConfig(vm.config);
  const all = specFromVars(vars);
  const values: Partial<Record<Field, unknown>> = {};
  const locked: Partial<Record<Field, string>> = {};
  for (const f of EDITABLE_FIELDS) {
    // A config from before firmware and TPM were settings starts as the wrapper's defaults say (BIOS, no TPM).
    values[f] = all[f] ?? (UNSET_IS_DEFAULT.has(f) ? VmSpecSchema.shape[f].parse(undefined) : undefined);
    const r = setAssignment(text, CTYS_VARS[f], '');
    if (!r.ok) locked[f] = r.error;
  }
  return { values, locked };
}
