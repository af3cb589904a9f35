// vmdeck autostart: start on host boot. `L on|off` marks a VM (AUTOSTART,
// AUTOSTART_ORDER, AUTOSTART_DELAY in its config) and makes or removes the
// systemd unit; `--boot` is what the unit runs; without a label, the list.
import { autostartVms, bootAutostart, setAutostart, SHUTDOWN_TIMEOUT_S, shutdownAutostart, unitStatus, type UnitStatus } from '../autostart';
import { flagString, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck autostart L on|off [--order N] [--delay S] [--json]
                                         starts L on host boot (systemd unit vmdeck-autostart.service), by
                                         order N (0-9999; none: after the ordered), waiting S s after it
vmdeck autostart [--json]                the VMs that start on host boot, and the unit
vmdeck autostart --boot                  starts them now, in order (what the unit runs); exit 1 if one failed
vmdeck autostart --shutdown [--timeout S]
                                         powers the running ones off, in reverse order (the unit's stop);
                                         a guest still up after S s (60) is quit`;

/** A flag's number as the API takes it; anything else is passed on for setAutostart's one refusal. */
function whole(value: string | undefined): number | string | null | undefined {
  if (value === undefined) return undefined;
  if (value === '') return null;
  return /^\d+$/.test(value) ? Number(value) : value;
}

const unitLine = (u: UnitStatus) => `unit ${u.path}: ${u.installed ? (u.enabled ? 'enabled' : 'installed, not enabled') : 'not installed'} (${u.scope}, systemd ${u.manager})\n${u.note ? `note: ${u.note}\n` : ''}`;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['order', 'delay', 'timeout'], ['boot', 'shutdown', 'json']);
  const json = p.flags.has('json');
  if (p.flags.has('shutdown')) {
    if (p.positional.length) throw new UsageError('--shutdown takes no label (it stops every running VM marked on)');
    const t = flagString(p, 'timeout') ?? String(SHUTDOWN_TIMEOUT_S);
    if (!/^\d+$/.test(t)) throw new UsageError(`--timeout: '${t}' is not a whole number of seconds`);
    const outcomes = await shutdownAutostart((line) => io.out(`${line}\n`), Number(t));
    return outcomes.some((o) => o.result === 'failed') ? 1 : 0;
  }
  if (p.flags.has('boot')) {
    if (p.positional.length) throw new UsageError('--boot takes no label (it starts every VM marked on)');
    const outcomes = await bootAutostart((line) => io.out(`${line}\n`));
    return outcomes.some((o) => o.result === 'failed') ? 1 : 0;
  }
  if (p.positional.length === 0) {
    const [vms, unit] = await Promise.all([autostartVms(), unitStatus()]);
    if (json) {
      io.out(`${JSON.stringify({ unit, vms: vms.map(({ vm, ...s }) => ({ label: vm.label, ...s })) }, null, 2)}\n`);
      return 0;
    }
    for (const { vm, order, delay } of vms) io.out(`${vm.label}\torder ${order ?? '-'}\tdelay ${delay} s\n`);
    if (vms.length === 0) io.out('no VM starts on host boot\n');
    io.out(unitLine(unit));
    return 0;
  }
  const [label, mode, ...rest] = p.positional;
  if (rest.length || (mode !== 'on' && mode !== 'off')) throw new UsageError('a VM label and on or off are needed');
  const state = await setAutostart(label, mode === 'on', { order: whole(flagString(p, 'order')), delay: whole(flagString(p, 'delay')) });
  if (json) io.out(`${JSON.stringify(state, null, 2)}\n`);
  else io.out(`VM '${state.label}': ${state.enabled ? `starts on host boot (order ${state.order ?? 'none'}, then ${state.delay} s)` : 'does not start on host boot'}\n${unitLine(state.unit)}`);
  return 0;
}
