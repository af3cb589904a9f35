// The install-media library's pure half: what an image is (ISO 9660, floppy,
// USB/disk image) and its volume label, read from its first bytes, and which
// file names an upload may take. server/media-library.ts does the reading.

export const MEDIA_KINDS = ['iso', 'floppy', 'usb'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

/** One image of the library (GET /api/media). */
export interface MediaFile {
  name: string;
  /** Absolute path on the vmdeck host: what INSTSRCCDROM and `media change` take. */
  path: string;
  dir: string;
  size: number;
  kind: MediaKind;
  /** The volume label (ISO 9660 volume identifier, FAT volume label), '' when there is none. */
  label: string;
  /** mtime in ms. */
  modified: number;
}

export interface MediaLibrary {
  /** The media directories searched, the first being where uploads go. */
  dirs: string[];
  uploadLimit: number;
  media: MediaFile[];
}

/** The result of POST /api/media. */
export interface UploadResult extends MediaFile {
  sha256: string;
}

/** How many leading bytes kindOf needs: up to the end of the ISO's primary volume descriptor. */
export const MEDIA_HEAD_BYTES = 32768 + 2048;

const SECTOR = 2048;
const PVD_OFFSET = 16 * SECTOR;

export interface IsoVolume {
  label: string;
  systemId: string;
  /** Volume space size × logical block size. */
  bytes: number;
  /** The logical block size (2048 on every CD) that extents count in. */
  blockSize: number;
  /** The root directory's record (bytes 156–189): where lib/iso9660.ts starts a look-up. */
  root: { extent: number; size: number };
}

const text = (buf: Uint8Array, from: number, length: number) =>
  String.fromCharCode(...buf.subarray(from, from + length)).replace(/[^\x20-\x7e]/g, '').trim();

/**
 * The primary volume descriptor of an ISO 9660 image (ECMA-119 8.4): sector
 * 16 is type 1, "CD001", version 1; the volume identifier is bytes 40–71
 * (d-characters padded with blanks), the system identifier 8–39, the volume
 * space size a both-endian 32-bit number at 80, the block size at 128 and
 * the root directory's record at 156.
 * Descriptors before the terminator (type 255) are searched, since a boot
 * record (type 0, El Torito) may come first.
 */
export function isoVolume(head: Uint8Array): IsoVolume | null {
  for (let at = PVD_OFFSET; at + SECTOR <= head.length; at += SECTOR) {
    const type = head[at];
    if (text(head, at + 1, 5) !== 'CD001' || head[at + 6] !== 1) return null;
    if (type === 255) return null;
    if (type !== 1) continue;
    const le32 = (o: number) => head[o] | (head[o + 1] << 8) | (head[o + 2] << 16) | (head[o + 3] * 2 ** 24);
    const blocks = le32(at + 80);
    const blockSize = head[at + 128] | (head[at + 129] << 8);
    const root = { extent: le32(at + 156 + 2), size: le32(at + 156 + 10) };
    return { label: text(head, at + 40, 32), systemId: text(head, at + 8, 32), bytes: blocks * blockSize, blockSize, root };
  }
  return null;
}

/** The sizes of PC floppy formats, 160 KiB to 2.88 MiB. */
const FLOPPY_SIZES = new Set([163840, 184320, 327680, 368640, 737280, 1228800, 1474560, 1720320, 2949120]);
const MAX_FLOPPY = 2949120;

/** The label of a FAT12/16 boot sector with an extended BPB (signature 0x29 at 38, label at 43). */
function fatLabel(head: Uint8Array): string {
  if (head.length < 512 || head[510] !== 0x55 || head[511] !== 0xaa) return '';
  if (head[38] === 0x29) {
    const label = text(head, 43, 11);
    return label === 'NO NAME' ? '' : label;
  }
  return '';
}

const IMAGE_EXT = /\.(iso|img|ima|flp|vfd|raw)$/i;

/** What a file of the library is, or null when it is none of the kinds listed. */
export function kindOf(name: string, size: number, head: Uint8Array): { kind: MediaKind; label: string } | null {
  const iso = isoVolume(head);
  // ISO 9660 inside a file named as a floppy or disk image is what its name says: GRUB's rescue
  // floppy (grub-rescue-floppy.img, 1.2 MiB) and USB image are ISO 9660 within; a floppy by the
  // extension or at most a 2.88 MB floppy's size, else a USB/disk image (a hybrid ISO for a stick).
  if (iso && /\.(ima|flp|vfd)$/i.test(name)) return { kind: 'floppy', label: iso.label };
  if (iso && /\.(img|raw)$/i.test(name)) return { kind: size <= MAX_FLOPPY ? 'floppy' : 'usb', label: iso.label };
  if (iso) return { kind: 'iso', label: iso.label };
  if (!IMAGE_EXT.test(name)) return null;
  if (/\.iso$/i.test(name)) return null;
  if (/\.(ima|flp|vfd)$/i.test(name) || FLOPPY_SIZES.has(size)) return { kind: 'floppy', label: fatLabel(head) };
  return { kind: 'usb', label: fatLabel(head) };
}

/**
 * The refusal of an upload's file name, or null: a file name only (no path),
 * not hidden, printable, at most 200 bytes, with an image's extension.
 */
export function uploadNameError(name: string): string | null {
  const shown = JSON.stringify(name).slice(1, -1);
  if (name === '') return 'name: a file name is needed';
  if (/[/\\]/.test(name)) return `name: '${shown}' has a path in it: give a file name only`;
  if (name.startsWith('.')) return `name: '${shown}' may not start with '.'`;
  if (/[\u0000-\u001f\u007f]/.test(name)) return `name: '${shown}' may not contain control characters`;
  if (new TextEncoder().encode(name).length > 200) return `name: '${shown}' is longer than 200 bytes`;
  if (!IMAGE_EXT.test(name)) return `name: '${shown}' is not an image name (.iso, .img, .ima, .flp, .vfd or .raw)`;
  return null;
}

/** A size like 4096, 512M or 16G in bytes; null when it is not one. */
export function parseSize(s: string): number | null {
  const m = /^\s*(\d+)\s*([KMGT]?)i?B?\s*$/i.exec(s);
  if (!m) return null;
  return Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
}
