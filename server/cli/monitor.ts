// vmdeck monitor: QEMU's HMP monitor, one command (through QMP) or this
// terminal attached to monitor.sock (ctys's `nc -U $QEMUMONSOCK`), through
// the dashboard's monitor hub while one runs.
import { hmpCommand } from '../monitor';
import { vmStatus } from '../runner';
import { notRunning, resolveVm, runtimePaths } from '../runtime';
import { UsageError, type Io } from './args';
import { attach } from './attach';
import { attachThroughServer } from './hub-client';

export const usage = `vmdeck monitor L [HMP COMMAND…]        one monitor command and its answer, or (no command)
                                         the terminal on the HMP monitor; Ctrl-] detaches`;

export async function run(argv: string[], io: Io): Promise<number> {
  // Everything after the label is the monitor's, options included.
  const [label, ...command] = argv;
  if (!label || label.startsWith('--')) throw new UsageError('a VM label is needed');
  if (command.length) {
    const out = await hmpCommand(label, command.join(' '));
    const text = out.endsWith('\n') || out === '' ? out : `${out}\n`;
    // HMP answers a command it does not know in words, not with an error.
    if (/^unknown command\b/.test(out.trimStart())) {
      io.err(text);
      return 1;
    }
    io.out(text);
    return 0;
  }
  const vm = await resolveVm(label);
  const { state } = await vmStatus(vm);
  if (state !== 'running' && state !== 'paused') throw notRunning(vm.label);
  const what = `monitor of '${vm.label}'`;
  const shared = await attachThroughServer(vm.label, 'monitor', what, 'vmdeck monitor', io);
  if (shared !== null) return shared;
  return attach(runtimePaths(vm.label).monitor, 'monitor', what, 'vmdeck monitor', io);
}
