// vmdeck console: this terminal on the VM's serial0 (with QEMU's monitor
// behind Ctrl-a c), as ctys's CLI console.
import { readFile } from 'node:fs/promises';
import { vmStatus } from '../runner';
import { notRunning, resolveVm, runtimePaths } from '../runtime';
import { parseArgs, UsageError, type Io } from './args';
import { attach } from './attach';

export const usage = 'vmdeck console L                       the terminal on the VM\'s serial console; Ctrl-] detaches';

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [], []);
  if (p.positional.length !== 1) throw new UsageError('one VM label is needed');
  const vm = await resolveVm(p.positional[0]);
  const { state } = await vmStatus(vm);
  if (state !== 'running' && state !== 'paused') throw notRunning(vm.label);
  const paths = runtimePaths(vm.label);
  // What the console printed lately, so the screen is not blank until the guest speaks.
  const log = await readFile(paths.serialLog).catch(() => Buffer.alloc(0));
  const tail = log.subarray(Math.max(0, log.length - 2048));
  const nl = tail.indexOf(0x0a);
  if (io.isTTY && tail.length) process.stdout.write(nl >= 0 && log.length > 2048 ? tail.subarray(nl + 1) : tail);
  return attach(paths.serial, `serial console of '${vm.label}'`, io);
}
