// Reads files off an ISO 9660 image on disk (lib/iso9660.ts finds them):
// positioned reads of the few blocks a look-up needs, never the whole image.
import { open } from 'node:fs/promises';
import { isoLookup, isoRead, type ReadAt } from '../lib/iso9660';

/**
 * The files at paths in the image, in order; null for one it does not
 * have. Throws when the image cannot be opened or is not ISO 9660.
 */
export async function readIsoFiles(image: string, paths: string[]): Promise<(Uint8Array | null)[]> {
  const handle = await open(image, 'r');
  try {
    const read: ReadAt = async (offset, length) => {
      const buf = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handle.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    };
    const out: (Uint8Array | null)[] = [];
    for (const p of paths) {
      const entry = await isoLookup(read, p);
      out.push(entry && !entry.dir ? await isoRead(read, entry) : null);
    }
    return out;
  } finally {
    await handle.close();
  }
}
