// The install-media library: ISOs, floppy and USB images in mediaDirs(),
// listed with their size, kind and volume label, and uploads into the first
// directory, streamed to disk under a temporary name and linked into place
// only when complete (never buffered whole, never a partial file under the
// final name, never replacing one that is there).
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { kindOf, MEDIA_HEAD_BYTES, parseSize, uploadNameError, type MediaFile, type MediaLibrary, type UploadResult } from '../lib/media';
import { badInput, conflict, VmdeckError } from './errors';
import { mediaDirs } from './paths';

/**
 * A bare name as the media library lists it (grub-rescue-usb.img) as the
 * path of that file in the media directories, where the VM's own directory
 * has no file of that name; anything else as it was given.
 */
export async function mediaByName(file: string, vmDir: string): Promise<string> {
  const there = (p: string) => stat(p).then((st) => st.isFile(), () => false);
  if (file === '' || file.includes('/') || file.startsWith('.') || (await there(join(vmDir, file)))) return file;
  for (const dir of mediaDirs()) if (await there(join(dir, file))) return join(dir, file);
  return file;
}

const DEFAULT_LIMIT = 16 * 1024 ** 3;

/** The largest upload: VMDECK_UPLOAD_LIMIT (bytes, or 512M, 16G…), default 16 GiB. */
export function uploadLimit(env = process.env): number {
  const raw = env.VMDECK_UPLOAD_LIMIT;
  if (raw === undefined || raw === '') return DEFAULT_LIMIT;
  const n = parseSize(raw);
  if (n === null || n <= 0) throw new VmdeckError(500, `VMDECK_UPLOAD_LIMIT: '${raw}' is not a size like 4G`, 'VMDECK_UPLOAD_LIMIT');
  return n;
}

async function head(path: string): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(MEDIA_HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function describe(dir: string, name: string): Promise<MediaFile | null> {
  const path = join(dir, name);
  const st = await stat(path).catch(() => null);
  if (!st?.isFile()) return null;
  const what = kindOf(name, st.size, await head(path).catch(() => new Uint8Array()));
  return what && { name, path, dir, size: st.size, kind: what.kind, label: what.label, modified: st.mtimeMs };
}

/** Every image in the media directories, by directory then name; hidden files (uploads under way) are left out. */
export async function listMedia(env = process.env): Promise<MediaLibrary> {
  const dirs = mediaDirs(env);
  const media: MediaFile[] = [];
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => !n.startsWith('.')).sort()) {
      const m = await describe(dir, name);
      if (m) media.push(m);
    }
  }
  return { dirs, uploadLimit: uploadLimit(env), media };
}

const limitText = (n: number) => (n % 1024 ** 3 === 0 ? `${n / 1024 ** 3} GiB` : n % 1024 ** 2 === 0 ? `${n / 1024 ** 2} MiB` : `${n} bytes`);
const tooLarge = (limit: number) =>
  new VmdeckError(413, `size: the upload is larger than the limit of ${limitText(limit)} (VMDECK_UPLOAD_LIMIT)`, 'size');

/**
 * Writes the request body to `<first media dir>/NAME`. The body goes to a
 * hidden `.NAME.part-XXXX` while the SHA-256 is computed on the way; once it
 * is complete the file is hard-linked under its name (which fails rather than
 * replace another) and the temporary name removed. A refusal, a body past
 * the limit or a connection that ends early removes the temporary file.
 */
export async function uploadMedia(name: string, body: IncomingMessage, env = process.env): Promise<UploadResult> {
  const problem = uploadNameError(name);
  if (problem) throw badInput('name', problem);
  const limit = uploadLimit(env);
  const declared = body.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const dir = mediaDirs(env)[0];
  const final = join(dir, name);
  const exists = () => conflict(`name: '${name}' is already in ${dir}: delete it or upload under another name`, 'name');
  if (await stat(final).then(() => true, () => false)) throw exists();
  await mkdir(dir, { recursive: true });
  const part = join(dir, `.${name}.part-${randomBytes(6).toString('hex')}`);
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > limit) return done(tooLarge(limit));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    // 'aborted' before 'end': pipeline sees a premature close and rejects.
    await pipeline(body, count, createWriteStream(part, { flags: 'wx', mode: 0o644 }));
    if (declared !== undefined && size !== Number(declared)) {
      throw badInput('size', `size: the upload ended after ${size} of ${declared} bytes`);
    }
    // Only what the library lists is kept: a file it would not show could be neither used nor deleted from the page.
    if (!kindOf(name, size, await head(part))) {
      throw badInput('name', `name: '${name}' is not an ISO 9660 image (no volume descriptor at 32 KiB): upload a disk image as .img; nothing was kept`);
    }
    await link(part, final).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'EEXIST' ? exists() : e;
    });
  } catch (e) {
    if (e instanceof VmdeckError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET') {
      throw badInput('size', `size: the upload of '${name}' ended early after ${size} bytes; nothing was kept`);
    }
    throw new VmdeckError(500, `name: cannot write '${final}': ${err.code ?? err.message}`, 'name');
  } finally {
    await unlink(part).catch(() => undefined);
  }
  const m = await describe(dir, name);
  if (!m) throw new VmdeckError(500, `name: '${final}' vanished after the upload`, 'name');
  return { ...m, sha256: hash.digest('hex') };
}
