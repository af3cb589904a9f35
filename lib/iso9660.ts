// Files in an ISO 9660 image, found by their path through the directory
// records (ECMA-119 9.1), with the Rock Ridge names (IEEE P1282, the NM entry
// of the System Use area) that Debian's CDs carry: how an installer's kernel
// and initrd are taken off its CD. Pure: the caller reads the image's bytes
// (server/iso.ts), these functions say which.
import { isoVolume, MEDIA_HEAD_BYTES } from './media';

/** One entry of a directory: its name (Rock Ridge's when there is one), where its data is. */
export interface IsoEntry {
  name: string;
  /** Where its data starts in the image, in bytes (its extent × the block size). */
  offset: number;
  size: number;
  dir: boolean;
}

/** Reads length bytes of the image at offset (fewer at its end). */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;

/**
 * Rock Ridge's NM (alternate name) entries in a record's System Use area,
 * joined; null when there is none. A continuation area (CE) is not followed,
 * nor an SP skip other than 0 (what mkisofs and xorriso write): the names an
 * installer's CD is looked up by are short.
 */
function rockRidgeName(use: Uint8Array): string | null {
  let name: string | null = null;
  for (let at = 0; at + 4 <= use.length;) {
    const length = use[at + 2];
    if (length < 4 || at + length > use.length) break;
    if (use[at] === 0x4e && use[at + 1] === 0x4d) {
      // Flags bit 1 (CURRENT) and 2 (PARENT) name '.' and '..': not a name to look up.
      if ((use[at + 4] & 0x06) === 0) name = (name ?? '') + Buffer.from(use.subarray(at + 5, at + length)).toString('utf8');
    }
    at += length;
  }
  return name;
}

/**
 * The entries of a directory's extent: each record is its length, the
 * extent (both-endian, little end at 2), the size (at 10), the flags (25,
 * bit 1 a directory) and the identifier (length at 32, from 33), then the
 * System Use area. A zero length byte pads to the next block. '.' and '..'
 * (identifiers 0 and 1) are left out; an ISO identifier without Rock Ridge
 * loses its version (';1') and a lone trailing dot.
 */
export function directoryEntries(extent: Uint8Array, blockSize = 2048): IsoEntry[] {
  const out: IsoEntry[] = [];
  const view = Buffer.from(extent.buffer, extent.byteOffset, extent.byteLength);
  for (let at = 0; at < view.length;) {
    const length = view[at];
    if (length === 0) {
      at = (Math.floor(at / blockSize) + 1) * blockSize;
      continue;
    }
    if (length < 34 || at + length > view.length) break;
    const idLength = view[at + 32];
    const id = view.subarray(at + 33, at + 33 + idLength);
    if (!(idLength === 1 && (id[0] === 0 || id[0] === 1))) {
      const useFrom = at + 33 + idLength + (idLength % 2 === 0 ? 1 : 0);
      const name = rockRidgeName(view.subarray(useFrom, at + length))
        ?? id.toString('latin1').replace(/;\d+$/, '').replace(/\.$/, '');
      out.push({ name, offset: view.readUInt32LE(at + 2) * blockSize, size: view.readUInt32LE(at + 10), dir: (view[at + 25] & 0x02) !== 0 });
    }
    at += length;
  }
  return out;
}

/** Nothing on an installer CD that vmdeck reads is bigger: a directory or file past this is a broken image. */
const MAX_READ = 1 << 30;

/**
 * The entry at path ('/install.amd/vmlinuz') in the image, or null when it
 * is not there (names compared as Rock Ridge gives them, else without case,
 * as plain ISO 9660 names are upper case). Throws when the image is not ISO 9660.
 */
export async function isoLookup(read: ReadAt, path: string): Promise<IsoEntry | null> {
  const volume = isoVolume(await read(0, MEDIA_HEAD_BYTES));
  if (!volume) throw new Error('is not an ISO 9660 image (no primary volume descriptor)');
  let here: IsoEntry = { name: '', offset: volume.root.extent * volume.blockSize, size: volume.root.size, dir: true };
  for (const part of path.split('/').filter((p) => p !== '')) {
    if (!here.dir || here.size > MAX_READ) return null;
    const entries = directoryEntries(await read(here.offset, here.size), volume.blockSize);
    const next = entries.find((e) => e.name === part) ?? entries.find((e) => e.name.toLowerCase() === part.toLowerCase());
    if (!next) return null;
    here = next;
  }
  return here;
}

/** A file's bytes (an entry from isoLookup). */
export async function isoRead(read: ReadAt, entry: IsoEntry): Promise<Uint8Array> {
  if (entry.size > MAX_READ) throw new Error(`'${entry.name}' is ${entry.size} bytes: not an installer's kernel or initrd`);
  const data = await read(entry.offset, entry.size);
  if (data.length !== entry.size) throw new Error(`'${entry.name}' ends past the image's end`);
  return data;
}
