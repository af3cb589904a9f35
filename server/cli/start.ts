// vmdeck start: ctys's `-a create=l:LABEL`. Runs the VM's wrapper detached,
// or, for the CLI/CLI0 consoles, in the foreground on this terminal.
import { spawn } from 'node:child_process';
import { HOST_NAME_RE } from '../../lib/hosts';
import type { VmInfo } from '../../lib/vm';
import { requireWrapper, startVm, startVmArgs, withStatus, type StartOptions } from '../runner';
import { badInput } from '../errors';
import { expandCtysAction } from './ctys-action';
import { resolveVm } from '../runtime';
import { flagString, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck start L|PATH [--console=VNC|SDL|CLI|CLI0|NONE] [--bootmode=MODE[%PATH]]
             [--instmode[=MODE%SRC%TARGETMODE%TARGET%STAGE]] [--kernelmode=K%I%A]
             [--vncaccessdisplay=N] [--reuse] [--json] [--ctys-wrapper (refused)]
                                         starts a VM, detached (CLI/CLI0: on this terminal);
                                         a suspended VM resumes
       vmdeck start [-a] create=l:LABEL,b:BASE,reuse,console:vnc,…   ctys's suboptions`;

export async function run(args: string[], io: Io): Promise<number> {
  const argv = await expandCtysAction(args, 'create');
  const p = parseArgs(argv, ['console', 'bootmode', 'kernelmode', 'vncaccessdisplay'], ['instmode', 'reuse', 'json', 'ctys-wrapper']);
  if (p.flags.has('ctys-wrapper')) throw badInput('ctys-wrapper', CTYS_WRAPPER_REFUSED);
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
  const json = p.flags.has('json');
  let console = (opts.console ?? vm.console).toUpperCase();
  const onTerminal = console === 'CLI' || console === 'CLI0';
  // With --reuse, one that runs already is what was asked for; its console is where it was started.
  if (onTerminal && opts.reuse && (await alreadyRunning(vm, json, io))) return 0;
  let detached: string | undefined;
  if (onTerminal && (json || !io.isTTY)) {
    // QEMU on this terminal needs one, and a --json caller waits for an answer: started detached
    // instead, as ctys starts a CLI VM (-daemonize), its serial console on its socket. Said once it runs.
    detached = `vmdeck start: console ${console} runs QEMU on this terminal, and ${json ? '--json answers at once' : 'this is no terminal'}: VM '${vm.label}' started detached (console NONE); its serial console: vmdeck console ${calledAs(vm.label, io)}\n`;
    opts.console = console = 'NONE';
  }
  if (console === 'CLI' || console === 'CLI0') {
    await requireWrapper(vm);
    // QEMU stays on this terminal, as the wrapper run by hand would.
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn('bash', startVmArgs(vm, opts), { stdio: 'inherit' });
      child.once('error', reject);
      child.once('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
    });
    // Exit 3: another start got there first (the wrapper has said so).
    if (code === WRAPPER_ALREADY_RUNNING && opts.reuse && (await alreadyRunning(vm, json, io))) return 0;
    return code;
  }
  const started = await startVm(p.positional[0], opts);
  if (detached) io.err(detached);
  if (json) {
    io.out(`${JSON.stringify(started, null, 2)}\n`);
    return 0;
  }
  io.out(`VM '${started.label}' is ${started.state} (pid ${started.pid ?? '?'})\n`);
  const at = calledAs(started.label, io);
  io.out(`  serial console: vmdeck console ${at}    monitor: vmdeck monitor ${at}\n`);
  io.out(`  stop it:        vmdeck cancel ${at}\n`);
  return 0;
}

/**
 * The label as the hints give it: L@NAME when another host's vmdeck runs this
 * command over ssh (VMDECK_CALLED_AS, the name that host has for this one),
 * so that the command can be run where the user is.
 */
function calledAs(label: string, io: Io): string {
  const name = (io.env as NodeJS.ProcessEnv).VMDECK_CALLED_AS ?? '';
  return HOST_NAME_RE.test(name) ? `${label}@${name}` : label;
}

/** Why vmdeck does not start a VM through ctys's own wrapper (docs/CTYS.md). */
const CTYS_WRAPPER_REFUSED = "--ctys-wrapper: refused: the QEMU that ctys's wrapper starts cannot be adopted safely (no pidfile or QMP, its monitor in /var/tmp, VNC on every interface); vmdeck runs the ctys config through its own wrapper instead (vmdeck start L)";

/** The wrapper's exit status for a VM that is running already. */
const WRAPPER_ALREADY_RUNNING = 3;

/** Says so and returns true when the VM runs (or is paused). */
async function alreadyRunning(vm: VmInfo, json: boolean, io: Io): Promise<boolean> {
  const [now] = await withStatus([vm]);
  if (now.state !== 'running' && now.state !== 'paused') return false;
  if (json) io.out(`${JSON.stringify(now, null, 2)}\n`);
  else io.out(`VM '${now.label}' is already ${now.state} (pid ${now.pid ?? '?'})\n`);
  return true;
}
