// Start on host boot. A VM's config says whether (AUTOSTART), in which
// order (AUTOSTART_ORDER) and how long to wait after it (AUTOSTART_DELAY);
// one systemd unit, vmdeck-autostart.service, runs `vmdeck autostart
// --boot`, which starts them (lib/autostart.ts), and at its stop (host
// shutdown) `--shutdown`, which powers them off in reverse order. The unit is a system unit
// for root and a user unit (systemctl --user) for anyone else; it is made
// when the first VM is marked and removed when the last one is unmarked.
// Where systemd is installed but not running (a container, this build
// host), systemctl enables it offline (SYSTEMD_OFFLINE=1) for the next boot
// that has it; without systemctl, nothing is made and the note says what
// to run from the host's own init (docs/AUTOSTART.md).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { autostartOf, bootOrder, renderUnit, UNIT_NAME, unitPlace, type AutostartSetting, type UnitPlace } from '../lib/autostart';
import { setAssignment } from '../lib/config-edit';
import { VmSpecSchema } from '../lib/spec';
import type { VmInfo } from '../lib/vm';
import { readConfig } from './config';
import { writeConfig } from './edit';
import { badInput, VmdeckError } from './errors';
import { runRoot, vmdeckHome } from './paths';
import { run, sleep } from './proc';
import { REPO } from './repo';
import { startVm, stopVm, vmStatus, type StartOptions } from './runner';
import { recordPending } from './pending';
import { resolveVm, runningQemuPid } from './runtime';
import { enumerate } from './store';
import { asActor, task } from './tasks';
import { withVmLock } from './vm-lock';

/** What the host's service manager is: running, installed but not running (units are enabled offline), or absent. */
export type Manager = 'running' | 'offline' | 'none';

export interface UnitStatus {
  path: string;
  scope: UnitPlace['scope'];
  manager: Manager;
  installed: boolean;
  enabled: boolean;
  /** What the user should know: the unit is for a later boot, a user unit needs linger, there is no systemd. */
  note?: string;
}

export interface AutostartState extends AutostartSetting {
  label: string;
  unit: UnitStatus;
}

function place(env = process.env): UnitPlace {
  return unitPlace({ uid: process.getuid?.() ?? 0, home: env.HOME || homedir(), xdgConfigHome: env.XDG_CONFIG_HOME, systemdRoot: env.VMDECK_SYSTEMD_ROOT });
}

const failure = (e: unknown) => {
  const err = e as NodeJS.ErrnoException & { stderr?: string };
  return (err.stderr?.trim().split('\n').pop() || err.message).trim();
};

async function manager(p: UnitPlace): Promise<Manager> {
  try {
    await run('systemctl', ['--version'], { timeout: 5000 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
  }
  if (p.root) return 'offline';
  // sd_booted(3): the system manager is PID 1 when this directory exists.
  if (p.scope === 'system') return existsSync('/run/systemd/system') ? 'running' : 'offline';
  try {
    await run('systemctl', ['--user', 'show-environment'], { timeout: 5000 });
    return 'running';
  } catch {
    return 'offline';
  }
}

/** systemctl for the unit's place: --user for a user unit, --root for a tree, offline where no manager runs. */
async function systemctl(p: UnitPlace, m: Manager, args: string[]): Promise<string> {
  const argv = [...(p.scope === 'user' ? ['--user'] : []), ...(p.root ? [`--root=${p.root}`] : []), ...args];
  const env = m === 'offline' && !p.root ? { ...process.env, SYSTEMD_OFFLINE: '1' } : process.env;
  return new Promise((resolve, reject) => {
    execFile('systemctl', argv, { env, timeout: 60000 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve(stdout);
    });
  });
}

/** The environment the boot run needs to find the same VMs: where vmdeck keeps them, as this process sees it. */
function unitEnvironment(env = process.env): Record<string, string> {
  const out: Record<string, string> = { VMDECK_HOME: vmdeckHome(env) };
  for (const name of ['VMDECK_BASES', 'VMDECK_RUN', 'VMDECK_MEDIA', 'VMDECK_MACMAP']) {
    const v = env[name];
    if (v) out[name] = v;
  }
  return out;
}

export function unitText(env = process.env): string {
  const p = place(env);
  return renderUnit({ scope: p.scope, wantedBy: p.wantedBy, command: [process.execPath, join(REPO, 'bin/vmdeck.js')], environment: unitEnvironment(env) });
}

function noteOf(p: UnitPlace, m: Manager, enabled: boolean): string | undefined {
  if (m === 'none') return `no systemd on this host (systemctl not found): run 'vmdeck autostart --boot' from the host's init at boot (docs/AUTOSTART.md)`;
  if (!enabled) return undefined;
  const notes: string[] = [];
  if (m === 'offline') notes.push(`systemd is not running here: ${UNIT_NAME} is enabled for the next boot that runs it`);
  if (p.scope === 'user') {
    notes.push(`a user unit starts with your user manager: for a start at boot without a login, run 'loginctl enable-linger ${userInfo().username}'`);
  } else {
    // A system unit has no XDG_RUNTIME_DIR: its VMs' sockets are where this session would not look.
    const atBoot = runRoot({ ...process.env, ...unitEnvironment(), XDG_RUNTIME_DIR: undefined });
    const here = runRoot();
    if (atBoot !== here) notes.push(`VMs started at boot keep their sockets in ${atBoot}, this session looks in ${here} (XDG_RUNTIME_DIR): run the dashboard and the CLI with VMDECK_RUN=${atBoot} to reach them`);
  }
  return notes.length ? notes.join('; ') : undefined;
}

/** Whether the unit file is there and enabled, and what manager this host has. */
export async function unitStatus(): Promise<UnitStatus> {
  const p = place();
  const m = await manager(p);
  const path = join(p.dir, UNIT_NAME);
  const installed = existsSync(path);
  let enabled = false;
  if (installed && m !== 'none') {
    enabled = await systemctl(p, m, ['is-enabled', UNIT_NAME]).then((out) => out.trim() === 'enabled', () => false);
  }
  const note = noteOf(p, m, enabled);
  return { path, scope: p.scope, manager: m, installed, enabled, ...(note ? { note } : {}) };
}

/** Writes the unit (when its text changed) and enables it. */
export async function installUnit(): Promise<UnitStatus> {
  const p = place();
  const m = await manager(p);
  if (m === 'none') return unitStatus();
  const path = join(p.dir, UNIT_NAME);
  const text = unitText();
  const old = await readFile(path, 'utf8').catch(() => null);
  try {
    if (old !== text) {
      await mkdir(p.dir, { recursive: true, mode: 0o755 });
      const tmp = `${path}.vmdeck-${process.pid}`;
      await writeFile(tmp, text, { mode: 0o644 });
      await rename(tmp, path);
    }
    // enable reloads a running manager itself; a changed unit that was enabled already needs the reload.
    await systemctl(p, m, ['enable', UNIT_NAME]);
    if (old !== null && old !== text && m === 'running') await systemctl(p, m, ['daemon-reload']);
  } catch (e) {
    throw new VmdeckError(500, `autostart: cannot make ${path}: ${failure(e)}`, 'autostart');
  }
  return unitStatus();
}

/** Disables and removes the unit. */
async function removeUnit(): Promise<UnitStatus> {
  const p = place();
  const m = await manager(p);
  const path = join(p.dir, UNIT_NAME);
  if (m !== 'none' && existsSync(path)) {
    try {
      await systemctl(p, m, ['disable', UNIT_NAME]);
      await rm(path, { force: true });
      if (m === 'running') await systemctl(p, m, ['daemon-reload']);
    } catch (e) {
      throw new VmdeckError(500, `autostart: cannot remove ${path}: ${failure(e)}`, 'autostart');
    }
  }
  return unitStatus();
}

/** Every VM marked to start on host boot, in boot order. */
export async function autostartVms(): Promise<(AutostartSetting & { vm: VmInfo })[]> {
  const marked: (AutostartSetting & { vm: VmInfo; label: string })[] = [];
  for (const vm of await enumerate()) {
    const setting = await readConfig(vm.config).then(({ vars }) => autostartOf(vars), () => null);
    if (setting?.enabled) marked.push({ ...setting, vm, label: vm.label });
  }
  return bootOrder(marked);
}

/** A VM's autostart settings, as its config says now. */
export async function vmAutostart(vm: VmInfo): Promise<AutostartSetting> {
  return autostartOf((await readConfig(vm.config)).vars);
}

function checked(field: 'order' | 'delay', value: unknown): string {
  const schema = field === 'order' ? VmSpecSchema.shape.autostartOrder : VmSpecSchema.shape.autostartDelay;
  const r = schema.safeParse(value);
  if (!r.success) throw badInput(field, `${field}: ${r.error.issues[0].message}`);
  return r.data === null ? '' : String(r.data);
}

/**
 * `vmdeck autostart L on|off [--order N] [--delay S]` and POST
 * /api/vms/:label/autostart: the config's AUTOSTART (and order, delay), and
 * the unit made with the first VM marked, removed with the last. Everything
 * is checked before anything is written; on, the unit is made before the
 * config says so, so a refusal of systemctl leaves the config as it was.
 */
export function setAutostart(label: string, enabled: boolean, opts: { order?: unknown; delay?: unknown } = {}): Promise<AutostartState> {
  if (typeof enabled !== 'boolean') throw badInput('enabled', 'enabled: must be true or false');
  const assignments: [string, string][] = [['AUTOSTART', enabled ? 'on' : 'off']];
  if (opts.order !== undefined) assignments.push(['AUTOSTART_ORDER', checked('order', opts.order)]);
  if (opts.delay !== undefined) assignments.push(['AUTOSTART_DELAY', checked('delay', opts.delay)]);
  return task('autostart', label, { enabled, order: opts.order, delay: opts.delay }, () => withVmLock(label, 'autostart', async () => {
    const vm = await resolveVm(label);
    const { text: original } = await readConfig(vm.config);
    let text = original;
    for (const [name, value] of assignments) {
      const r = setAssignment(text, name, value);
      if (!r.ok) throw badInput(name === 'AUTOSTART' ? 'autostart' : name === 'AUTOSTART_ORDER' ? 'order' : 'delay', r.error);
      text = r.text;
    }
    let unit: UnitStatus | undefined;
    if (enabled) unit = await installUnit();
    try {
      if (text !== original) {
        await writeConfig(vm, text);
        // Said as vmdeck's change (no hand edit), one the running VM needs no restart for (pending.ts's NO_RESTART).
        if (await runningQemuPid(vm.label)) await recordPending(vm.label, assignments.map(([name]) => name));
      }
    } catch (e) {
      // The config not written (a full or read-only disk): a unit made for this VM alone goes again.
      if (enabled && (await autostartVms()).length === 0) await removeUnit().catch(() => undefined);
      throw e;
    }
    if (!enabled) unit = (await autostartVms()).length === 0 ? await removeUnit() : await unitStatus();
    return { label: vm.label, ...autostartOf((await readConfig(vm.config)).vars), unit: unit! };
  }));
}

/** A console the boot can start: none of them has a terminal or a display to show CLI or SDL on. */
function bootConsole(vm: VmInfo): StartOptions {
  return ['CLI', 'CLI0', 'SDL'].includes(vm.console.toUpperCase()) ? { console: 'VNC' } : {};
}

export interface BootOutcome {
  label: string;
  result: 'started' | 'running' | 'stopped' | 'failed';
  error?: string;
}

/**
 * `vmdeck autostart --boot` (what the unit runs): the marked VMs in boot
 * order, each start a task of its own by 'autostart' (a failure is a failed
 * task with its one line), AUTOSTART_DELAY seconds after each one started.
 */
export async function bootAutostart(say: (line: string) => void = () => undefined): Promise<BootOutcome[]> {
  const outcomes: BootOutcome[] = [];
  const vms = await autostartVms();
  const who = `autostart:${userInfo().username}`;
  for (const [i, { vm, delay }] of vms.entries()) {
    const { state } = await vmStatus(vm);
    if (state === 'running' || state === 'paused') {
      outcomes.push({ label: vm.label, result: 'running' });
      say(`${vm.label}: already ${state}`);
      continue;
    }
    try {
      await asActor(who, () => startVm(vm.label, bootConsole(vm)));
      outcomes.push({ label: vm.label, result: 'started' });
      say(`${vm.label}: started`);
    } catch (e) {
      const error = (e as Error).message.split('\n')[0];
      outcomes.push({ label: vm.label, result: 'failed', error });
      say(`${vm.label}: failed: ${error}`);
      continue;
    }
    if (delay > 0 && i < vms.length - 1) {
      say(`waiting ${delay} s`);
      await sleep(delay * 1000);
    }
  }
  return outcomes;
}

/** How long a guest has to power itself off at host shutdown before QEMU is quit. */
export const SHUTDOWN_TIMEOUT_S = 60;

/**
 * `vmdeck autostart --shutdown` (the unit's ExecStop, so at host shutdown):
 * the marked VMs that run, in reverse boot order, each powered off by ACPI
 * and quit after timeout seconds if its guest did not, each a task.
 */
export async function shutdownAutostart(say: (line: string) => void = () => undefined, timeout = SHUTDOWN_TIMEOUT_S): Promise<BootOutcome[]> {
  const outcomes: BootOutcome[] = [];
  const who = `autostart:${userInfo().username}`;
  for (const { vm } of (await autostartVms()).reverse()) {
    const { state } = await vmStatus(vm);
    if (state !== 'running' && state !== 'paused') continue;
    try {
      const after = await asActor(who, () => stopVm(vm.label, { mode: 'poweroff', timeout, force: true }));
      outcomes.push({ label: vm.label, result: 'stopped' });
      say(`${vm.label}: stopped${after.reason ? ` (${after.reason})` : ''}`);
    } catch (e) {
      const error = (e as Error).message.split('\n')[0];
      outcomes.push({ label: vm.label, result: 'failed', error });
      say(`${vm.label}: failed: ${error}`);
    }
  }
  return outcomes;
}
