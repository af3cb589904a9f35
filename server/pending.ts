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
  await appendFile(pendingFile(label), variables.map((v) => `${v}\n`).join(''), { mode: 0o600 });
}

/** Records that the config was just written with a change QEMU already made live. */
export async function recordLive(label: string): Promise<void> {
  await trustedRunRoot();
  await writeFile(liveFile(label), `${new Date().toISOString()}\n`, { mode: 0o600 });
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
  const variables = [...new Set(text.split('\n').filter(Boolean))];
  const liveSince = live !== undefined && live > started ? live : started;
  if (variables.length === 0 && written <= liveSince) return undefined;
  const running = await runningHardware(vm);
  return { since: Math.round(written), variables, ...(running ? { running } : {}) };
}
