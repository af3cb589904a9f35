// The settings of a VM that can be changed after it is made: which spec
// fields, under which config variable, and how a value from `vmdeck set
// KEY=VALUE` or a PATCH body is checked. The check is the spec's own zod
// schema of that field, so a refusal reads as it does at create time.
import { CTYS_VARS } from './ctys';
import { fieldValue } from './options';
import { parseSpec, VmSpecSchema, type VmSpec } from './spec';

export type Field = keyof VmSpec;

const AUTOSTART_BY = 'is changed with vmdeck autostart L on|off [--order N] [--delay S], which also makes the host\'s unit';

/** Fields a change cannot take, and why (the first half of the refusal). */
const FIXED: Partial<Record<Field, string>> = {
  label: 'names the VM\'s directory and files and cannot be changed',
  uuid: 'is the VM\'s identity and cannot be changed',
  template: 'records what the VM was made from and cannot be changed',
  diskSize: 'is the size a new image was made with; it does not resize the image',
  argsAdd: 'is a bash array: change ARGSADD in the config by hand',
  // A secret: create writes it to the VM's seeds only (lib/seeds.ts), and a config is readable by all.
  passwordHash: 'is written to the VM\'s install seeds at create, never to its config; change the password in the guest (passwd)',
  autostart: AUTOSTART_BY,
  autostartOrder: AUTOSTART_BY,
  autostartDelay: AUTOSTART_BY,
};

export const EDITABLE_FIELDS: readonly Field[] = (Object.keys(CTYS_VARS) as Field[]).filter((f) => !(f in FIXED));

const FIELD_BY_VARIABLE = new Map<string, Field>(Object.entries(CTYS_VARS).map(([f, v]): [string, Field] => [v, f as Field]));

/** A spec field from what the user wrote: its config variable (MEMSIZE) or the field itself (memsize). */
export function fieldOf(name: string): Field | undefined {
  if (Object.hasOwn(CTYS_VARS, name)) return name as Field;
  return FIELD_BY_VARIABLE.get(name);
}

/** One checked change: the spec value and the text its config variable gets. */
export interface Change {
  field: Field;
  variable: string;
  value: unknown;
  text: string;
}

export type ChangeResult = { ok: true; change: Change } | { ok: false; field: string; error: string };

const refuse = (field: string, message: string): ChangeResult => ({ ok: false, field, error: `${field}: ${message}` });

/** A spec value as its config variable's text (what the wrapper reads back). */
function configText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.join(' ');
  return String(value);
}

/**
 * Checks one change. A string is read as the command line and the config
 * read it (`SMP=4`, `HOSTFWD=tcp:…  tcp:…`); other values must already have
 * the spec's type (the API's JSON).
 */
export function checkChange(name: string, raw: unknown): ChangeResult {
  const field = fieldOf(name);
  if (!field) return refuse(name, `is not a setting (settings: ${EDITABLE_FIELDS.map((f) => CTYS_VARS[f]).join(', ')})`);
  if (field in FIXED) return refuse(field, FIXED[field]!);
  const value = typeof raw === 'string' ? fieldValue(field, raw) : raw;
  const r = VmSpecSchema.shape[field].safeParse(value);
  if (!r.success) return refuse(field, r.error.issues[0].message);
  return { ok: true, change: { field, variable: CTYS_VARS[field], value: r.data, text: configText(r.data) } };
}

/**
 * The whole spec after the changes, checked as create checks it (boot mode
 * KERNEL needs a kernel, vde needs a switch): the refusal, or null. A config
 * that did not make a valid spec before (a ctys config without vmdeck's
 * fields) is only held to the checks of each field.
 */
export function checkTogether(before: Record<string, unknown>, changes: readonly Change[]): { field: string; error: string } | null {
  const old = parseSpec(before);
  if (!old.ok) return null;
  const after = { ...before, ...Object.fromEntries(changes.map((c) => [c.field, c.value])) };
  const r = parseSpec(after);
  return r.ok ? null : { field: r.field, error: r.error };
}
