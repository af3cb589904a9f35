// vmdeck monitor: QEMU's HMP monitor, one command (through QMP) or this
// terminal attached to monitor.sock (ctys's `nc -U $QEMUMONSOCK`).
import { hmpCommand } from '../monitor';
import { vmStatus } from '../runner';
import { notRunning, resolveVm, runtimePaths } from '../runtime';
import { UsageError, type Io } from './args';
import { attach } from './attach';

export const usage = `vmdeck monitor L [HMP COMMAND…]        one monitor command and its answer, or (no command)
                                         the terminal on the HMP monitor; Ctrl-] detaches`;

export async function run(argv: string[], io: Io): Promise<number> {
  // Everything after the label is the monitor's, options included.
  const [label, ...command] = argv;
  if (!label || label.startsWith('--')) throw new UsageError('a VM label is needed');
  if (command.length) {
    const out = await hmpCommand(label, command.join(' '));
    io.out(out.endsWith('\n') || out === '' ? out : `${out}\n`);
    return 0;
  }
  const vm = await resolveVm(label);
  const { state } = await vmStatus(vm);
  if (state !== 'running' && state !== 'paused') throw notRunning(vm.label);
  return attach(runtimePaths(vm.label).monitor, `monitor of '${vm.label}'`, io);
}
