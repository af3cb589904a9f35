// vmdeck start: ctys's `-a create=l:LABEL`. Runs the VM's wrapper detached,
// or, for the CLI/CLI0 consoles, in the foreground on this terminal.
import { spawn } from 'node:child_process';
import { startVm, startVmArgs, type StartOptions } from '../runner';
import { resolveVm } from '../runtime';
import { flagString, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck start L|PATH [--console=VNC|SDL|CLI|CLI0|NONE] [--bootmode=MODE[%PATH]]
             [--instmode[=MODE%SRC%TARGETMODE%TARGET%STAGE]] [--kernelmode=K%I%A]
             [--vncaccessdisplay=N] [--reuse] [--json]
                                         starts a VM, detached (CLI/CLI0: on this terminal);
                                         a suspended VM resumes`;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['console', 'bootmode', 'kernelmode', 'vncaccessdisplay'], ['instmode', 'reuse', 'json']);
  if (p.positional.length !== 1) throw new UsageError('one VM label or path is needed');
  const instmode = p.flags.get('instmode');
  const display = flagString(p, 'vncaccessdisplay');
  if (display !== undefined && !/^\d{1,2}$/.test(display)) throw new UsageError(`--vncaccessdisplay: '${display}' is not a display number 0-99`);
  const opts: StartOptions = {
    console: flagString(p, 'console'),
    bootmode: flagString(p, 'bootmode'),
    instmode: instmode === undefined ? undefined : instmode,
    kernelmode: flagString(p, 'kernelmode'),
    vncDisplay: display === undefined ? undefined : Number(display),
    reuse: p.flags.has('reuse'),
  };
  const vm = await resolveVm(p.positional[0]);
  const console = (opts.console ?? vm.console).toUpperCase();
  if (console === 'CLI' || console === 'CLI0') {
    // QEMU stays on this terminal, as the wrapper run by hand would.
    return new Promise((resolve, reject) => {
      const child = spawn('bash', startVmArgs(vm, opts), { stdio: 'inherit' });
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
  }
  const started = await startVm(p.positional[0], opts);
  if (p.flags.has('json')) {
    io.out(`${JSON.stringify(started, null, 2)}\n`);
    return 0;
  }
  io.out(`VM '${started.label}' is ${started.state} (pid ${started.pid ?? '?'})\n`);
  io.out(`  serial console: vmdeck console ${started.label}    monitor: vmdeck monitor ${started.label}\n`);
  io.out(`  stop it:        vmdeck cancel ${started.label}\n`);
  return 0;
}
