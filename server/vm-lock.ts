// One change of a VM at a time, across processes: `vmdeck set` in a terminal,
// a PATCH from the dashboard, a disk added, a delete, the wrapper run of a
// start. Each reads the config, changes it and writes it back (or removes
// it); two at once lost one of the changes, or deleted the files a start was
// running from. The lock is a file made with O_EXCL in the runtime root's
// locks/ (private to the user), naming its holder by pid and start time; a
// holder that died (kill -9) is no holder, and its lock is taken over, by
// one taker at a time.
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { LABEL_RE } from '../lib/spec';
import { conflict } from './errors';
import { trustedRunRoot } from './paths';
import { processStart, sleep } from './proc';

/** How long a change waits for another to finish before it is refused. */
const WAIT_MS = 30000;

/** A process's start time (proc.ts), as the lock file writes it; undefined when it is gone or a zombie. */
const startTimeOf = (pid: number): string | undefined => processStart(pid)?.toString();

const me = `${process.pid} ${startTimeOf(process.pid) ?? '?'}`;

/** The lock's name: the VM's label (a VM named by its config's path is looked up), else a hash of the path. */
async function keyOf(labelOrPath: string): Promise<string> {
  if (LABEL_RE.test(labelOrPath)) return labelOrPath;
  const { resolveVm } = await import('./runtime');
  const label = await resolveVm(labelOrPath).then((vm) => vm.label, () => undefined);
  if (label !== undefined && LABEL_RE.test(label)) return label;
  return `path-${createHash('sha256').update(resolve(labelOrPath)).digest('hex').slice(0, 16)}`;
}

/** Whether the holder a lock file names is alive (the same process: its pid and start time). */
function holderAlive(text: string): boolean {
  const [pid, start] = text.trim().split(' ');
  return /^[1-9]\d*$/.test(pid ?? '') && startTimeOf(Number(pid)) === start;
}

/** A file older than ms (its holder died before it wrote, or while it took a lock over). */
const olderThan = (path: string, ms: number) => stat(path).then((st) => Date.now() - st.mtimeMs > ms, () => false);

/**
 * Removes a dead holder's lock: under a guard (one taker at a time, made
 * with O_EXCL), and only if the lock is still the one seen dead; a live
 * holder's, made meanwhile, is never touched.
 */
async function takeOver(file: string, seen: string): Promise<void> {
  const guard = `${file}.takeover`;
  const fh = await open(guard, 'wx', 0o600).catch(async (e: NodeJS.ErrnoException) => {
    // Another taker is at it; one that died at it leaves its guard, old soon.
    if (e.code === 'EEXIST' && (await olderThan(guard, 5000))) await rm(guard, { force: true });
    return null;
  });
  if (!fh) return;
  try {
    await fh.close();
    if ((await readFile(file, 'utf8').catch(() => null)) === seen) await rm(file, { force: true });
  } finally {
    await rm(guard, { force: true });
  }
}

/**
 * Runs fn holding the VM's lock; waits for another holder to finish (up to
 * WAIT_MS, then 409 naming what holds it). Not re-entrant: fn must not take
 * the same VM's lock again.
 */
export async function withVmLock<T>(labelOrPath: string, what: string, fn: () => Promise<T>): Promise<T> {
  const dir = join(await trustedRunRoot(), 'locks');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${await keyOf(labelOrPath)}.lock`);
  const mine = `${me} ${randomBytes(6).toString('hex')} ${what}\n`;
  const deadline = Date.now() + WAIT_MS;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    try {
      const fh = await open(file, 'wx', 0o600);
      try {
        await fh.writeFile(mine);
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const held = await readFile(file, 'utf8').catch(() => null);
    if (held === null) continue; // let go this moment
    // Empty: being written this moment, or its holder died before it wrote (then it is old).
    if (held === '' ? await olderThan(file, 5000) : !holderAlive(held)) {
      await takeOver(file, held);
      continue;
    }
    if (Date.now() > deadline) {
      const [pid, , , ...doing] = held.trim().split(' ');
      throw conflict(`label: VM '${labelOrPath}' is being changed by another command (${doing.join(' ') || 'a change'}, pid ${pid ?? '?'}); try again when it is done`, 'label');
    }
    await sleep(delay);
  }
  try {
    return await fn();
  } finally {
    // Ours still (a lock taken over as dead is another's now): removed.
    if ((await readFile(file, 'utf8').catch(() => null)) === mine) await rm(file, { force: true });
  }
}
