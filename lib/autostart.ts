// Start on host boot: which VMs, in which order, and the systemd unit that
// runs `vmdeck autostart --boot` (and `--shutdown` when it stops). Pure: the unit's text, where it goes and
// the order; server/autostart.ts writes it and asks systemctl.
import type { ConfigVars } from './ctys';
import { fieldValue } from './options';

export const UNIT_NAME = 'vmdeck-autostart.service';

/** A systemd user unit (the user's manager, `systemctl --user`) or a system unit (root). */
export type Scope = 'system' | 'user';

export interface UnitPlace {
  scope: Scope;
  /** The directory the unit file goes into. */
  dir: string;
  /** systemctl --root=DIR: a tree that is not the running system's (an image being prepared, a test). */
  root?: string;
  /** The target that wants it: multi-user.target for the system, default.target for a user. */
  wantedBy: string;
}

/** Where the unit goes for this user: root gets a system unit, anyone else a user unit. */
export function unitPlace(facts: { uid: number; home: string; xdgConfigHome?: string; systemdRoot?: string }): UnitPlace {
  if (facts.systemdRoot) return { scope: 'system', dir: `${facts.systemdRoot.replace(/\/+$/, '')}/etc/systemd/system`, root: facts.systemdRoot, wantedBy: 'multi-user.target' };
  if (facts.uid === 0) return { scope: 'system', dir: '/etc/systemd/system', wantedBy: 'multi-user.target' };
  const config = facts.xdgConfigHome || `${facts.home}/.config`;
  return { scope: 'user', dir: `${config}/systemd/user`, wantedBy: 'default.target' };
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * One word of a unit file's command line or Environment=, as systemd reads
 * it back: double-quoted with C escapes for \ and ", % doubled (specifiers)
 * and, where variables are expanded (ExecStart), $ doubled too. A value with
 * a control character or line break is refused: no quoting keeps it one line.
 */
export function systemdWord(value: string, where: 'exec' | 'environment'): string {
  if (CONTROL.test(value)) throw new Error(`'${JSON.stringify(value).slice(1, -1)}' has a control character or line break, which a unit file cannot hold`);
  let s = value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%');
  if (where === 'exec') s = s.replace(/\$/g, '$$$$');
  return `"${s}"`;
}

export interface UnitInput {
  scope: Scope;
  wantedBy: string;
  /** The command: node and bin/vmdeck.js, absolute. */
  command: readonly string[];
  /** vmdeck's environment that the boot run needs to find the same VMs (VMDECK_HOME, VMDECK_BASES, …). */
  environment: Record<string, string>;
}

/** The unit file's text: one oneshot service that starts the marked VMs and leaves them running. */
export function renderUnit(u: UnitInput): string {
  const env = Object.entries(u.environment).map(([k, v]) => `Environment=${systemdWord(`${k}=${v}`, 'environment')}`);
  const command = u.command.map((w) => systemdWord(w, 'exec')).join(' ');
  return [
    '# Written by vmdeck autostart: starts the VMs whose config says AUTOSTART=on,',
    '# by AUTOSTART_ORDER, waiting AUTOSTART_DELAY seconds after each, and powers',
    '# them off in reverse order when it stops (host shutdown). Made and removed',
    '# by vmdeck autostart L on|off; each start and stop is in vmdeck tasks.',
    '[Unit]',
    'Description=vmdeck: start the VMs marked to start on host boot',
    // A user manager has no network-online.target: it starts when the user's session (or linger) does.
    ...(u.scope === 'system' ? ['Wants=network-online.target', 'After=network-online.target local-fs.target'] : []),
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    // The VMs are daemons of their own: stopping or restarting this unit must not kill them.
    'KillMode=process',
    // Delays between VMs add up.
    'TimeoutStartSec=infinity',
    // Each guest has its own time to power off (vmdeck autostart --shutdown --timeout).
    'TimeoutStopSec=infinity',
    ...env,
    `ExecStart=${command} autostart --boot`,
    // At host shutdown (and systemctl stop): the guests powered off by ACPI, in reverse order.
    `ExecStop=${command} autostart --shutdown`,
    '',
    '[Install]',
    `WantedBy=${u.wantedBy}`,
    '',
  ].join('\n');
}

/** A VM's autostart settings as its config gives them. */
export interface AutostartSetting {
  enabled: boolean;
  /** null: no order, started after the ordered ones. */
  order: number | null;
  delay: number;
}

export function autostartOf(vars: ConfigVars): AutostartSetting {
  const order = vars.AUTOSTART_ORDER === undefined ? null : fieldValue('autostartOrder', vars.AUTOSTART_ORDER);
  const delay = vars.AUTOSTART_DELAY === undefined ? 0 : fieldValue('autostartDelay', vars.AUTOSTART_DELAY);
  return {
    enabled: vars.AUTOSTART === 'on',
    order: typeof order === 'number' && Number.isInteger(order) ? order : null,
    delay: typeof delay === 'number' && Number.isFinite(delay) && delay >= 0 ? delay : 0,
  };
}

/** The boot order: by AUTOSTART_ORDER, those without one after, then by label (as Proxmox's startup order). */
export function bootOrder<T extends { label: string; order: number | null }>(vms: readonly T[]): T[] {
  return [...vms].sort((a, b) => {
    if (a.order !== b.order) {
      if (a.order === null) return 1;
      if (b.order === null) return -1;
      return a.order - b.order;
    }
    return a.label < b.label ? -1 : a.label > b.label ? 1 : 0;
  });
}
