// vmdeck console: this terminal on the VM's serial0 (with QEMU's monitor
// behind Ctrl-a c), as ctys's CLI console. While a dashboard runs it holds
// QEMU's serial socket for its browsers, so the terminal joins its hub.
import { readFile } from 'node:fs/promises';
import { vmStatus } from '../runner';
import { notRunning, resolveVm, runtimePaths } from '../runtime';
import { parseArgs, UsageError, type Io } from './args';
import { attach, replayTail } from './attach';
import { attachThroughServer } from './hub-client';

export const usage = 'vmdeck console L                       the terminal on the VM\'s serial console; Ctrl-] detaches';

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [], []);
  if (p.positional.length !== 1) throw new UsageError('one VM label is needed');
  const vm = await resolveVm(p.positional[0]);
  const { state } = await vmStatus(vm);
  if (state !== 'running' && state !== 'paused') throw notRunning(vm.label);
  // CLI/CLI0: serial0 is QEMU's stdio, on the terminal (or the dashboard's pty) that started it.
  const mode = (await readFile(runtimePaths(vm.label).console, 'utf8').catch(() => '')).trim();
  if (mode === 'CLI' || mode === 'CLI0') {
    io.err(`vmdeck console: VM '${vm.label}' runs with its serial console on ${mode === 'CLI' ? 'the terminal that started it' : "the dashboard's CLI0 console"} (console ${mode}); there is no serial socket to attach to\n`);
    return 1;
  }
  const what = `serial console of '${vm.label}'`;
  const shared = await attachThroughServer(vm.label, 'serial', what, 'vmdeck console', io);
  if (shared !== null) return shared;
  const paths = runtimePaths(vm.label);
  // What the console printed lately, so the screen is not blank until the guest speaks.
  const log = await readFile(paths.serialLog).catch(() => Buffer.alloc(0));
  if (io.isTTY && log.length) process.stdout.write(replayTail(log));
  return attach(paths.serial, 'serial', what, 'vmdeck console', io);
}
