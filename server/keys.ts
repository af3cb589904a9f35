// Keys into the guest's keyboard over QMP send-key: chords such as
// Ctrl-Alt-Del, and text typed as a US keyboard would.
import { parseKeys, textToPresses, type QCode } from '../lib/keys';
import { badInput, VmdeckError } from './errors';
import type { QmpClient } from './qmp';
import { qmpCall, qmpMessage, resolveVm, withQmp } from './runtime';

const MAX_TEXT = 4096;
/** How long a typed key is held, ms: long enough for a slow (TCG) guest, short of auto-repeat. */
const TYPE_HOLD_MS = 30;

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

/** Types text into the guest, one key (with shift where a US keyboard needs it) per character. */
export async function typeText(label: string, text: string): Promise<void> {
  if (typeof text !== 'string' || text === '') throw badInput('text', 'text: some text to type is needed');
  if (text.length > MAX_TEXT) throw badInput('text', `text: ${text.length} characters is more than ${MAX_TEXT} at once`);
  const parsed = textToPresses(text);
  if (!parsed.ok) throw badInput('text', parsed.error);
  const vm = await resolveVm(label);
  // QEMU queues the key events with their hold times, so the order holds
  // without waiting between commands.
  await withQmp(vm, async (c) => {
    for (const chord of parsed.presses) {
      await press(c, chord, TYPE_HOLD_MS).catch((e) => {
        throw new VmdeckError(500, `text: send-key failed for VM '${vm.label}': ${qmpMessage(e)}`, 'text');
      });
    }
  });
}
