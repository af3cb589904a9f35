// Who holds a VM's console socket. QEMU serves one client per chardev socket
// and queues the next one silently: a second client sees nothing, and what it
// types reaches the guest later, when the first lets go. So a program that
// connects to serial.sock or monitor.sock itself (the dashboard's hub, a
// `vmdeck console` while no dashboard runs) first claims it: <kind>.owner in
// the runtime directory, made with O_EXCL, naming the holder's pid. A claim
// whose process is gone is stale and taken over.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from './proc';

export interface ConsoleClaim {
  release(): void;
}

/** Claims this process holds: file -> its token. */
const held = new Map<string, string>();

/** The claim, or the holder ("vmdeck console (pid 123)") when another live process has it. */
export function claimConsole(runDir: string, kind: 'serial' | 'monitor', who: string): ConsoleClaim | { holder: string } {
  const file = join(runDir, `${kind}.owner`);
  for (let attempt = 0; attempt < 3; attempt++) {
    const token = randomBytes(8).toString('hex');
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${process.pid} ${token} ${who}\n`);
      closeSync(fd);
      held.set(file, token);
      return { release: () => release(file, token) };
    } catch (e) {
      // No runtime directory: the VM is not running, and connecting says so.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { release: () => undefined };
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readHolder(file);
    if (!holder && youngerThan(file, 2000)) return { holder: 'another program' }; // being written this moment
    if (holder && held.get(file) === holder.token) return { release: () => undefined }; // this process holds it already
    // Alive, and not an earlier process that had this pid (a restarted dashboard in a container).
    if (holder && holder.pid !== process.pid && processAlive(holder.pid)) return { holder: `${holder.who} (pid ${holder.pid})` };
    // Stale: taken over by moving it aside first, so that of two processes
    // doing this at once only one removes it (and never a fresh claim).
    const aside = `${file}.stale-${process.pid}-${token}`;
    try {
      renameSync(file, aside);
      if (readHolder(aside)?.token === holder?.token) unlinkSync(aside);
      else renameSync(aside, file); // a fresh claim came between: put it back
    } catch { /* another claimant moved it first */ }
  }
  return { holder: 'another program' };
}

function readHolder(file: string): { pid: number; token: string; who: string } | null {
  try {
    const m = /^(\d+) ([0-9a-f]+) (.*)$/m.exec(readFileSync(file, 'utf8'));
    return m ? { pid: Number(m[1]), token: m[2], who: m[3] } : null;
  } catch {
    return null;
  }
}

function youngerThan(file: string, ms: number): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs < ms;
  } catch {
    return false;
  }
}

function release(file: string, token: string): void {
  if (held.get(file) === token) held.delete(file);
  if (readHolder(file)?.token !== token) return;
  try {
    unlinkSync(file);
  } catch { /* gone already */ }
}
