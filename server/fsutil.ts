// Small file-system questions asked all over server/.
import { stat, statfs } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';

/** A file as a VM's config names it: relative to the VM's directory, or absolute. */
export const inDir = (dir: string, file: string): string => (isAbsolute(file) ? file : join(dir, file));

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
