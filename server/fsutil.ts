// Small file-system questions asked all over server/.
import { stat } from 'node:fs/promises';

/** Whether something is at path (following symlinks). */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
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
