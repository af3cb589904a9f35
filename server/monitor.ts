// The HMP monitor, one command at a time through QMP (so it never competes
// with a person attached to monitor.sock).
import { badInput, VmdeckError } from './errors';
import { qmpCall, qmpMessage, resolveVm, withQmp } from './runtime';

/** Runs one HMP command (e.g. "info status") and returns what the monitor printed. */
export async function hmpCommand(label: string, line: string): Promise<string> {
  const command = (line ?? '').trim();
  if (!command) throw badInput('command', 'command: an HMP command is needed, e.g. info status');
  if (/[\r\n]/.test(command)) throw badInput('command', 'command: one line only');
  const vm = await resolveVm(label);
  return withQmp(vm, async (c) => {
    try {
      const out = await qmpCall<string>(c, 'human-monitor-command', { 'command-line': command }, 120000);
      return out.replace(/\r\n/g, '\n');
    } catch (e) {
      throw new VmdeckError(500, `command: '${command}' failed: ${qmpMessage(e)}`, 'command');
    }
  });
}
