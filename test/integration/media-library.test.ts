// The install-media library over the API: GET /api/media lists the images of
// the media directories with kind and volume label (GRUB's rescue ISO from
// grub-rescue-pc, an ISO made here with genisoimage, a floppy); POST
// /api/media streams an upload to disk, and refuses a path in the name, a body
// past the limit and an interrupted upload, leaving no file under the name.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sandbox, type Sandbox } from '../helpers/guest';
import { rescueIso } from '../helpers/media';
import { api, bearer, spawnServer, type ChildServer } from '../helpers/server';

let sb: Sandbox;
let server: ChildServer;
let extra: string;
const LIMIT = 8 * 1024 * 1024;

before(async () => {
  sb = sandbox('media');
  extra = join(sb.home, 'more-media');
  mkdirSync(join(sb.home, 'media'), { recursive: true });
  mkdirSync(extra);
  copyFileSync(rescueIso(), join(sb.home, 'media', 'grub-rescue.iso'));
  const src = join(sb.home, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'hello.txt'), 'hello\n');
  execFileSync('genisoimage', ['-quiet', '-V', 'VMDECK_TEST', '-o', join(extra, 'made.iso'), src]);
  // A 1.44 MB floppy whose FAT boot sector carries a label.
  const floppy = Buffer.alloc(1474560);
  floppy[38] = 0x29;
  floppy.write('BOOTDISK   ', 43, 'latin1');
  floppy[510] = 0x55; floppy[511] = 0xaa;
  writeFileSync(join(extra, 'boot.img'), floppy);
  writeFileSync(join(extra, 'notes.txt'), 'not an image\n');
  server = await spawnServer(sb, 0, { VMDECK_MEDIA: extra, VMDECK_UPLOAD_LIMIT: String(LIMIT) });
});
after(async () => {
  await server?.kill();
  sb.cleanup();
});

/** POST /api/media with a raw body; `cut` ends the connection after that many bytes. */
function upload(name: string, body: Buffer, opts: { cut?: number; length?: number } = {}): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.base}/api/media?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { ...bearer, 'Content-Type': 'application/octet-stream', 'Content-Length': String(opts.length ?? body.length) },
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', (e) => (opts.cut !== undefined ? resolve({ status: 0, json: null }) : reject(e)));
    if (opts.cut !== undefined) {
      req.write(body.subarray(0, opts.cut), () => setTimeout(() => req.destroy(), 200));
    } else {
      req.end(body);
    }
  });
}

const mediaFiles = () => readdirSync(join(sb.home, 'media')).sort();

test('GET /api/media lists ISOs and floppies with size, kind and volume label', async () => {
  const r = await api(server.base, 'GET', '/api/media');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.dirs, [join(sb.home, 'media'), extra]);
  assert.equal(r.json.uploadLimit, LIMIT);
  const byName = Object.fromEntries(r.json.media.map((m: any) => [m.name, m]));
  assert.deepEqual(Object.keys(byName).sort(), ['boot.img', 'grub-rescue.iso', 'made.iso']);
  assert.equal(byName['made.iso'].kind, 'iso');
  assert.equal(byName['made.iso'].label, 'VMDECK_TEST');
  assert.equal(byName['made.iso'].path, join(extra, 'made.iso'));
  assert.equal(byName['grub-rescue.iso'].kind, 'iso');
  assert.equal(byName['grub-rescue.iso'].size, readFileSync(rescueIso()).length);
  assert.deepEqual([byName['boot.img'].kind, byName['boot.img'].label, byName['boot.img'].size], ['floppy', 'BOOTDISK', 1474560]);
});

test('an upload is streamed to disk and answers its SHA-256; the same name again is 409', async () => {
  const body = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
  const r = await upload('blob.img', body);
  assert.equal(r.status, 201, JSON.stringify(r.json));
  assert.equal(r.json.sha256, createHash('sha256').update(body).digest('hex'));
  assert.equal(r.json.size, body.length);
  assert.equal(r.json.kind, 'usb');
  assert.ok(readFileSync(join(sb.home, 'media', 'blob.img')).equals(body));
  const again = await upload('blob.img', Buffer.from('x'));
  assert.equal(again.status, 409);
  assert.equal(again.json.field, 'name');
  assert.ok(readFileSync(join(sb.home, 'media', 'blob.img')).equals(body), 'the first upload is kept');
});

test('refused: a path in the name, a body past the limit, not an image name, an .iso that is not ISO 9660; nothing is left behind', async () => {
  const before = mediaFiles();
  const path = await upload('../evil.iso', Buffer.from('x'));
  assert.deepEqual([path.status, path.json], [400, { error: "name: '../evil.iso' has a path in it: give a file name only", field: 'name' }]);
  const big = await upload('big.iso', Buffer.alloc(16), { length: LIMIT + 1 }).catch(() => ({ status: -1, json: null }));
  assert.deepEqual([big.status, big.json], [413, { error: 'size: the upload is larger than the limit of 8 MiB (VMDECK_UPLOAD_LIMIT)', field: 'size' }]);
  const txt = await upload('notes.txt', Buffer.from('x'));
  assert.equal(txt.json.field, 'name');
  // An .iso whose content is not ISO 9660: the library would not list it (so nor could the page delete it).
  for (let i = 0; i < 2; i++) {
    const text = await upload('readme.iso', Buffer.from('hello\n'));
    assert.deepEqual([text.status, text.json], [400, { error: "name: 'readme.iso' is not an ISO 9660 image (no volume descriptor at 32 KiB): upload a disk image as .img; nothing was kept", field: 'name' }]);
  }
  const json = await api(server.base, 'POST', '/api/media?name=x.iso', { a: 1 });
  assert.equal(json.status, 415);
  assert.deepEqual(mediaFiles(), before);
});

test('an interrupted upload leaves no file under its name, nor a partial one', async () => {
  const before = mediaFiles();
  await upload('half.iso', Buffer.alloc(2 * 1024 * 1024, 1), { cut: 1024 * 1024 });
  // The server sees the connection end and removes the temporary file.
  const deadline = Date.now() + 5000;
  while (mediaFiles().length !== before.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(mediaFiles(), before);
  const list = await api(server.base, 'GET', '/api/media');
  assert.ok(!list.json.media.some((m: any) => m.name === 'half.iso'));
});
