// Small file-system questions asked all over server/.
import { open, realpath, stat, statfs } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';

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
