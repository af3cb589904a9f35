// Reads files off an ISO 9660 image on disk (lib/iso9660.ts finds them):
// positioned reads of the few blocks a look-up needs, never the whole image.
import { open } from 'node:fs/promises';
import { isoLookup, isoRead, type IsoEntry, type ReadAt } from '../lib/iso9660';

/** The image opened for fn's reads, closed after. Throws when it cannot be opened. */
async function withIso<T>(image: string, fn: (read: ReadAt) => Promise<T>): Promise<T> {
  const handle = await open(image, 'r');
  try {
    return await fn(async (offset, length) => {
      const buf = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handle.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    });
  } finally {
    await handle.close();
  }
}

const fileAt = async (read: ReadAt, path: string): Promise<IsoEntry | null> => {
  const entry = await isoLookup(read, path);
  return entry && !entry.dir ? entry : null;
};

/** The files at paths in the image, in order; null for one it does not have. Throws when it is not ISO 9660. */
export function readIsoFiles(image: string, paths: string[]): Promise<(Uint8Array | null)[]> {
  return withIso(image, async (read) => {
    const out: (Uint8Array | null)[] = [];
    for (const p of paths) {
      const entry = await fileAt(read, p);
      out.push(entry && (await isoRead(read, entry)));
    }
    return out;
  });
}

/** Whether the image has a file at each of paths (its directories read, no file's data). */
export function isoHasFiles(image: string, paths: string[]): Promise<boolean> {
  return withIso(image, async (read) => {
    for (const p of paths) if (!(await fileAt(read, p))) return false;
    return true;
  });
}
