// One change of a VM at a time, across processes: `vmdeck set` in a terminal,
// a PATCH from the dashboard, a disk added, a delete, the wrapper run of a
// start. Each reads the config, changes it and writes it back (or removes
// it); two at once lost one of the changes, or deleted the files a start was
// running from. The lock is a file made with O_EXCL in the runtime root's
// locks/ (private to the user), naming its holder by pid and start time; a
// holder that died (kill -9) is no holder, and its lock is taken over.
import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { LABEL_RE } from '../lib/spec';
import { conflict } from './errors';
import { trustedRunRoot } from './paths';
import { sleep } from './proc';

/** How long a change waits for another to finish before it is refused. */
const WAIT_MS = 30000;

/** A process's start time (/proc/PID/stat field 22), or undefined when it is gone or a zombie. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

const me = `${process.pid} ${startTimeOf(process.pid) ?? '?'}`;

/** The lock's name: the label, or a hash of the path a VM was named by. */
function keyOf(labelOrPath: string): string {
  return LABEL_RE.test(labelOrPath) ? labelOrPath : `path-${createHash('sha256').update(resolve(labelOrPath)).digest('hex').slice(0, 16)}`;
}

/** Whether the holder a lock file names is alive (the same process: its pid and start time). */
function holderAlive(text: string): boolean {
  const [pid, start] = text.trim().split(' ');
  return /^[1-9]\d*$/.test(pid ?? '') && startTimeOf(Number(pid)) === start;
}

/**
 * Runs fn holding the VM's lock; waits for another holder to finish (up to
 * WAIT_MS, then 409 naming what holds it). Not re-entrant: fn must not take
 * the same VM's lock again.
 */
export async function withVmLock<T>(labelOrPath: string, what: string, fn: () => Promise<T>): Promise<T> {
  const dir = join(await trustedRunRoot(), 'locks');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${keyOf(labelOrPath)}.lock`);
  const deadline = Date.now() + WAIT_MS;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    try {
      const fh = await open(file, 'wx', 0o600);
      try {
        await fh.writeFile(`${me} ${what}\n`);
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const held = await readFile(file, 'utf8').catch(() => '');
    // Empty: being written this moment, or its holder died before it wrote (then it is old).
    const dead = held === '' ? await stat(file).then((st) => Date.now() - st.mtimeMs > 5000, () => false) : !holderAlive(held);
    // A dead holder's is taken over: moved aside by one taker only (rename
    // is atomic), and put back if it was a live one's by then.
    if (dead) {
      const aside = `${file}.stale-${process.pid}`;
      if (await rename(file, aside).then(() => true, () => false)) {
        const moved = await readFile(aside, 'utf8').catch(() => '');
        if (moved !== held && holderAlive(moved)) await rename(aside, file).catch(() => undefined);
        else await rm(aside, { force: true });
      }
      continue;
    }
    if (Date.now() > deadline) {
      const [pid, , ...doing] = held.trim().split(' ');
      throw conflict(`label: VM '${labelOrPath}' is being changed by another command (${doing.join(' ') || 'a change'}, pid ${pid ?? '?'}); try again when it is done`, 'label');
    }
    await sleep(delay);
  }
  try {
    return await fn();
  } finally {
    await rm(file, { force: true });
  }
}
