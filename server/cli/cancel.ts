// vmdeck cancel: ctys's `-a cancel=…`. ACPI power-down (then, with --force,
// quit after the delay), reset, pause/resume, or suspend to disk.
import { stopVm, type StopOptions } from '../runner';
import { resolveVm } from '../runtime';
import { parseArgs, UsageError, type Io } from './args';
import { expandCtysAction } from './ctys-action';

export const usage = `vmdeck cancel L [--poweroff[=SECONDS]] [--force] [--reset] [--pause] [--resume] [--suspend] [--json]
                                         power off (ACPI, default 20 s; --force then quits QEMU),
                                         --force alone quits at once; reset; pause/resume;
                                         suspend = save the state and quit (the next start resumes it)
       vmdeck cancel [-a] cancel=l:LABEL,poweroff:20,force   ctys's suboptions`;

export async function run(args: string[], io: Io): Promise<number> {
  const argv = await expandCtysAction(args, 'cancel');
  const p = parseArgs(argv, [], ['poweroff', 'force', 'reset', 'pause', 'resume', 'suspend', 'json']);
  if (p.positional.length !== 1) throw new UsageError('one VM label is needed');
  // A ctys address may name the VM by its config's path.
  const label = p.positional[0].includes('/') ? (await resolveVm(p.positional[0])).label : p.positional[0];
  const modes = (['poweroff', 'reset', 'pause', 'resume', 'suspend'] as const).filter((m) => p.flags.has(m));
  if (modes.length > 1) throw new UsageError(`--${modes[0]} and --${modes[1]} do not go together`);
  const force = p.flags.has('force');
  if (force && modes.length === 1 && modes[0] !== 'poweroff') throw new UsageError(`--force goes with --poweroff only, not --${modes[0]}`);
  let opts: StopOptions;
  if (modes.length === 0 && force) opts = { mode: 'force' };
  else if (modes.length === 0 || modes[0] === 'poweroff') {
    const v = p.flags.get('poweroff');
    let timeout: number | undefined;
    if (typeof v === 'string') {
      if (!/^\d+(\.\d+)?$/.test(v)) throw new UsageError(`--poweroff: '${v}' is not a number of seconds`);
      timeout = Number(v);
    }
    // --force with --poweroff: quit after the delay; without --poweroff it meant "at once" (above).
    opts = { mode: 'poweroff', timeout, force: modes.length === 1 && force };
  } else opts = { mode: modes[0] };

  const status = await stopVm(label, opts);
  if (p.flags.has('json')) io.out(`${JSON.stringify({ label, mode: opts.mode, ...status }, null, 2)}\n`);
  if (opts.mode === 'poweroff' && status.state !== 'stopped') {
    if (!p.flags.has('json')) io.err(`vmdeck cancel: VM '${label}' is still ${status.state}: ${status.reason ?? 'it did not power off'}; vmdeck cancel ${label} --force quits QEMU now, --poweroff=SECONDS --force after the wait\n`);
    return 1;
  }
  if (!p.flags.has('json')) {
    const what = opts.mode === 'reset' ? 'was reset and ' : '';
    io.out(`VM '${label}' ${what}is ${status.state}${status.reason ? ` (${status.reason})` : ''}\n`);
  }
  return 0;
}
