// Changes waiting for a running VM's next start. QEMU read the config when it
// started (its pidfile's time): a config written later is pending, unless
// the write was a change QEMU made live (a hot-added disk or NIC, a grown
// disk), after which the runtime dir's `live` is touched. What vmdeck changed
// for the next start is listed, one variable a line, in the runtime dir's
// `pending`, which counts only when newer than the pidfile (a start makes
// every earlier list void); a hand edit shows as pending without names.
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { argvHardware, type Pending } from '../lib/vm';
import { trustedRunRoot } from './paths';
import { processArgv } from './proc';
import { runtimePaths } from './runtime';

const pendingFile = (label: string) => join(runtimePaths(label).dir, 'pending');
const liveFile = (label: string) => join(runtimePaths(label).dir, 'live');

/** Records variables written into a running VM's config. */
export async function recordPending(label: string, variables: readonly string[]): Promise<void> {
  await trustedRunRoot();
  const lines = variables.map((v) => `${v}\n`).join('');
  // A start took every change listed before it: those lines go, not stay beside the new ones.
  if (await sinceStart(label, pendingFile(label))) await appendFile(pendingFile(label), lines, { mode: 0o600 });
  else await writeFile(pendingFile(label), lines, { mode: 0o600 });
}

/** What recordLive records of a medium put into or taken out of a drive: no change of the machine's devices. */
export const MEDIUM_CHANGED = 'medium changed';

/**
 * Records that the config was just written with a change QEMU already made
 * live, and which (`NIC 1 added`, MEDIUM_CHANGED): the runtime dir's `live`,
 * a line each since the start (a start makes every earlier line void).
 */
export async function recordLive(label: string, change: string): Promise<void> {
  await trustedRunRoot();
  const line = `${change}\n`;
  if (await sinceStart(label, liveFile(label))) await appendFile(liveFile(label), line, { mode: 0o600 });
  else await writeFile(liveFile(label), line, { mode: 0o600 });
}

/** Whether the runtime dir's file was written since QEMU started (its pidfile), which makes every earlier write void. */
async function sinceStart(label: string, file: string): Promise<boolean> {
  const [started, written] = await Promise.all([mtime(runtimePaths(label).pidFile), mtime(file)]);
  return started !== undefined && written !== undefined && written > started;
}

/**
 * Variables whose change leaves the machine QEMU makes as it was: a saved
 * state loads into it. Any other (memory, CPUs, a device, the firmware, a
 * boot medium) makes another machine at the next start, where it would not.
 */
/** Whether a changed variable leaves a saved state loadable (RESUME_SAFE). */
export const resumeSafe = (variable: string): boolean => RESUME_SAFE.test(variable);

/** Variables that take effect without a start of the VM: the host's boot reads them (vmdeck autostart). */
const NO_RESTART = /^(?:AUTOSTART|AUTOSTART_ORDER|AUTOSTART_DELAY)$/;

const RESUME_SAFE = /^(?:DIST|DISTREL|OS|OSREL|KBD_LAYOUT|HOSTFWD|VNCACCESSDISPLAY|DEFAULTCONSOLE|VMUSER|SSHKEY|TIMEZONE|MIRROR|TARGETDISK|UNATTENDED|AUTOSTART|AUTOSTART_ORDER|AUTOSTART_DELAY|IP\d*|NETMASK\d*|GATEWAY\d*)$/;

/**
 * Why a running VM's state, saved now, would not load at its next start
 * (which makes the VM from its config as it is now); undefined when it would.
 * QEMU loads a saved state only into the same machine: a device added or
 * removed while it ran (hot-plugged ones sit where a start would not put
 * them), or a change of its memory, CPUs or devices waiting for the start.
 */
export async function resumeBlocker(label: string, config: string, vm: RunningVm): Promise<string | undefined> {
  if (await sinceStart(label, liveFile(label))) {
    const changes = (await readFile(liveFile(label), 'utf8').catch(() => '')).split('\n').filter((l) => l && l !== MEDIUM_CHANGED);
    if (changes.length) return `had hardware changed while it ran (${[...new Set(changes)].join(', ')})`;
  }
  const pending = await pendingChanges(label, config, vm);
  if (!pending) return undefined;
  if (pending.variables.length === 0) return 'has a config edited since it started';
  const machine = pending.variables.filter((v) => !RESUME_SAFE.test(v));
  return machine.length ? `has changes waiting for its next start (${machine.join(', ')})` : undefined;
}

/** A running VM's QEMU pid, and its config's memory and CPUs. */
interface RunningVm { pid?: number; memsize: number; smp: number }

const mtime = (path: string) => stat(path).then((s) => s.mtimeMs, () => undefined);

/**
 * Memory and CPUs the QEMU of this pid runs with, each where the config's
 * differ: what the list and the page show while the change waits.
 */
async function runningHardware({ pid, ...config }: RunningVm): Promise<Pending['running']> {
  if (!pid) return undefined;
  const now = argvHardware((await processArgv(pid)) ?? []);
  const running: NonNullable<Pending['running']> = {};
  if (now.memsize !== undefined && now.memsize !== config.memsize) running.memsize = now.memsize;
  if (now.smp !== undefined && now.smp !== config.smp) running.smp = now.smp;
  return Object.keys(running).length ? running : undefined;
}

/**
 * What waits for the next start of a running VM with this config; undefined
 * when nothing does. With what QEMU runs with where the config's memory and
 * CPUs differ.
 */
export async function pendingChanges(label: string, config: string, vm: RunningVm): Promise<Pending | undefined> {
  const [started, written, live, listed] = await Promise.all([
    mtime(runtimePaths(label).pidFile), mtime(config), mtime(liveFile(label)), mtime(pendingFile(label)),
  ]);
  if (started === undefined || written === undefined || written <= started) return undefined;
  const text = listed !== undefined && listed > started ? await readFile(pendingFile(label), 'utf8').catch(() => '') : '';
  const listedNames = [...new Set(text.split('\n').filter(Boolean))];
  const variables = listedNames.filter((v) => !NO_RESTART.test(v));
  const liveSince = live !== undefined && live > started ? live : started;
  if (variables.length === 0 && written <= liveSince) return undefined;
  // Only changes that need no start (autostart's), and no write after them: nothing waits.
  if (listedNames.length > 0 && variables.length === 0 && written <= Math.max(listed!, liveSince)) return undefined;
  const running = await runningHardware(vm);
  return { since: Math.round(written), variables, ...(running ? { running } : {}) };
}
