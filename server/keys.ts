// Keys into the guest's keyboard over QMP send-key: chords such as
// Ctrl-Alt-Del (text is typed by automation.ts, in the VM's layout).
import { parseKeys, type QCode } from '../lib/keys';
import { typeInto } from './automation';
import { badInput, VmdeckError } from './errors';
import type { QmpClient } from './qmp';
import { qmpCall, qmpMessage, resolveVm, withQmp } from './runtime';

function press(c: QmpClient, keys: readonly QCode[], holdMs?: number): Promise<unknown> {
  const args: Record<string, unknown> = { keys: keys.map((k) => ({ type: 'qcode', data: k })) };
  if (holdMs !== undefined) args['hold-time'] = holdMs;
  return qmpCall(c, 'send-key', args);
}

/** Presses the keys together and releases them, e.g. ['ctrl', 'alt', 'delete']. */
export async function sendKeys(label: string, keys: string[]): Promise<void> {
  if (!Array.isArray(keys)) throw badInput('keys', 'keys: a list of key names is needed, e.g. ["ctrl", "alt", "delete"]');
  const parsed = parseKeys(keys);
  if (!parsed.ok) throw badInput('keys', parsed.error);
  const vm = await resolveVm(label);
  await withQmp(vm, (c) => press(c, parsed.keys).catch((e) => {
    throw new VmdeckError(500, `keys: send-key failed for VM '${vm.label}': ${qmpMessage(e)}`, 'keys');
  }));
}

/** Types text into the guest's screen as it is, in the VM's keyboard layout (KBD_LAYOUT). */
export function typeText(label: string, text: string): Promise<void> {
  return typeInto(label, text, { tokens: false });
}
