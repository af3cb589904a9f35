// Small file-system questions asked all over server/.
import { stat } from 'node:fs/promises';

/** Whether something is at path (following symlinks). */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
