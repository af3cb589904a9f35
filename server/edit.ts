// Changing a VM's config after it is made: the assignments vmdeck owns are
// rewritten in place (lib/config-edit.ts), everything else the user wrote
// stays byte for byte, and the previous config is kept as create-conf
// --force keeps it (<L>.ctys.<stamp>). A running VM takes the change at its
// next start.
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { setAssignment } from '../lib/config-edit';
import type { VmInfo } from '../lib/vm';
import { badInput } from './errors';
import { resolveVm } from './runtime';
import { keepCopy, stamp } from './store';

/** The spec fields that can be changed so far, with their config variable and check. */
const EDITABLE: Record<string, { variable: string; check: (v: string) => string | null }> = {
  accelerator: { variable: 'ACCELERATOR', check: (v) => (v === 'KVM' || v === 'QEMU' ? null : `'${v}' is not one of KVM, QEMU`) },
};

export interface EditOutcome {
  vm: VmInfo;
  /** The previous config, kept. */
  kept: string;
  /** The config lines written, as the user will read them. */
  lines: string[];
}

export async function editVm(labelOrPath: string, values: Record<string, unknown>): Promise<EditOutcome> {
  const vm = await resolveVm(labelOrPath);
  const entries = Object.entries(values);
  if (entries.length === 0) throw badInput('body', `body: nothing to change (fields: ${Object.keys(EDITABLE).join(', ')})`);
  let text = await readFile(vm.config, 'utf8');
  const lines: string[] = [];
  for (const [field, value] of entries) {
    const e = EDITABLE[field];
    if (!e) throw badInput(field, `${field}: cannot be changed here (fields: ${Object.keys(EDITABLE).join(', ')})`);
    if (typeof value !== 'string') throw badInput(field, `${field}: must be a string`);
    const problem = e.check(value);
    if (problem) throw badInput(field, `${field}: ${problem}`);
    const r = setAssignment(text, e.variable, value);
    if (!r.ok) throw badInput(field, r.error);
    text = r.text;
    lines.push(text.split('\n').find((l) => l.trimStart().startsWith(`${e.variable}=`))!.trim());
  }
  const mode = (await stat(vm.config)).mode & 0o777;
  const tmp = `${vm.config}.edit-${process.pid}`;
  try {
    await writeFile(tmp, text, { mode, flag: 'wx' });
    const kept = await keepCopy(vm.config, `${vm.config}.${stamp()}`);
    await rename(tmp, vm.config);
    return { vm: await resolveVm(vm.config), kept, lines };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
