// Small file-system questions asked all over server/.
import { closeSync, openSync, writeSync } from 'node:fs';
import { link, open, readdir, realpath, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { processAlive } from './proc';

/** A file as a VM's config names it: relative to the VM's directory, or absolute. */
export const inDir = (dir: string, file: string): string => (isAbsolute(file) ? file : join(dir, file));

/** A path's real path, or the path itself when it cannot be resolved (gone, unreadable). */
export const realOrSelf = (path: string): Promise<string> => realpath(path).catch(() => path);

/**
 * The backing file a qcow2 image's header names (a linked clone's overlay,
 * an external snapshot), as a path: a relative name is the image's
 * directory's. Null for an image of another format, or one with none.
 */
export async function qcow2Backing(image: string): Promise<string | null> {
  const fh = await open(image, 'r').catch(() => null);
  if (!fh) return null;
  try {
    const head = Buffer.alloc(20);
    const { bytesRead } = await fh.read(head, 0, 20, 0);
    if (bytesRead < 20 || head.readUInt32BE(0) !== 0x514649fb) return null; // 'QFI\xfb'
    const offset = Number(head.readBigUInt64BE(8));
    const size = head.readUInt32BE(16);
    if (offset === 0 || size === 0 || size > 1023) return null;
    const name = Buffer.alloc(size);
    if ((await fh.read(name, 0, size, offset)).bytesRead !== size) return null;
    const file = name.toString('utf8');
    // A protocol (nbd:, json:) is no file of this host's.
    if (/^[a-z]+:/.test(file)) return null;
    return isAbsolute(file) ? file : join(dirname(image), file);
  } finally {
    await fh.close();
  }
}

/** Whether something is at path (following symlinks). */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/**
 * After a write that failed: `no space left in 'DIR' (N KiB free)` when the
 * file system holding dir is (nearly) full, so the one line says why rather
 * than what the failed write looked like from inside QEMU; else null.
 */
export async function noSpaceLeft(dir: string): Promise<string | null> {
  const fs = await statfs(dir).catch(() => null);
  if (!fs) return null;
  const free = fs.bavail * fs.bsize;
  if (free >= Math.max(16 * 1024 ** 2, fs.blocks * fs.bsize * 0.01)) return null;
  return `no space left in '${dir}' (${Math.floor(free / 1024)} KiB free)`;
}

/**
 * f over items, at most `limit` at a time, results in order: a directory of
 * 10,000 VMs is read in parallel without running out of file descriptors.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The buffer writeTexts encodes into, kept between calls. */
let textBuffer: Buffer | undefined;

/**
 * The texts written one after another to fd (synchronously, whole), through
 * one reused buffer of 1 MiB: ENUMERATE's 14-16 MB of records joined into one
 * string and encoded whole cost two copies of it in fresh memory, 30-60 ms of
 * page faults and copies a command (docs/PERFORMANCE.md), where this is ~15.
 */
export function writeTexts(fd: number, texts: Iterable<string>): void {
  const buf = (textBuffer ??= Buffer.allocUnsafe(1 << 20));
  let at = 0;
  const flush = () => {
    for (let done = 0; done < at; ) done += writeSync(fd, buf, done, at - done);
    at = 0;
  };
  for (const text of texts) {
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    if (at + text.length * 3 > buf.length) flush();
    if (text.length * 3 > buf.length) {
      const bytes = Buffer.from(text);
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    } else at += buf.write(text, at);
  }
  flush();
}

/** writeTexts to a new file at path (made with mode, or truncated), closed after. */
export function writeTextsFile(path: string, texts: Iterable<string>, mode = 0o600): void {
  const fd = openSync(path, 'w', mode);
  try {
    writeTexts(fd, texts);
  } finally {
    closeSync(fd);
  }
}

/**
 * Puts part in place at path without replacing a file there: linked (then
 * part is removed), or renamed on a file system without hard links. False
 * when path exists (nothing is moved; part stays for the caller to remove).
 */
export async function linkIntoPlace(part: string, path: string): Promise<boolean> {
  try {
    await link(part, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // A filesystem without hard links: the rename then has to do.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw e;
    if (await exists(path)) return false;
    await rename(part, path);
  }
  await rm(part, { force: true });
  return true;
}

/** The files in dir named `<prefix><pid>` whose process is gone (a writer killed before it renamed its file), removed. */
export async function removeDeadPidFiles(dir: string, prefix: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = Number(name.slice(prefix.length));
    if (name.startsWith(prefix) && Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid)) await rm(join(dir, name), { force: true });
  }
}
