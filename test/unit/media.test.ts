import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isoVolume, kindOf, parseSize, uploadNameError } from '../../lib/media';

/** An image with descriptors at sector 16 on: each [type, volume id]. */
function iso(descriptors: [number, string][]): Uint8Array {
  const buf = Buffer.alloc(16 * 2048 + (descriptors.length + 1) * 2048);
  descriptors.forEach(([type, label], i) => {
    const at = (16 + i) * 2048;
    buf[at] = type;
    buf.write('CD001', at + 1, 'latin1');
    buf[at + 6] = 1;
    buf.write('LINUX'.padEnd(32), at + 8, 'latin1');
    buf.write(label.padEnd(32), at + 40, 'latin1');
    buf.writeUInt32LE(1000, at + 80);
    buf.writeUInt16LE(2048, at + 128);
    buf.writeUInt32LE(20, at + 156 + 2);
    buf.writeUInt32LE(2048, at + 156 + 10);
  });
  return buf;
}

test('isoVolume reads the primary volume descriptor, after a boot record', () => {
  assert.deepEqual(isoVolume(iso([[0, ''], [1, 'DEBIAN 12']])), { label: 'DEBIAN 12', systemId: 'LINUX', bytes: 2048000, blockSize: 2048, root: { extent: 20, size: 2048 } });
  assert.equal(isoVolume(iso([[255, '']])), null);
  assert.equal(isoVolume(Buffer.alloc(40000)), null);
  assert.equal(isoVolume(Buffer.alloc(100)), null);
});

test('kindOf: ISO by its descriptor, floppy by extension or size, other .img a USB image', () => {
  assert.deepEqual(kindOf('anything.bin', 40000, iso([[1, 'CIDATA']])), { kind: 'iso', label: 'CIDATA' });
  assert.equal(kindOf('fake.iso', 40000, Buffer.alloc(40000)), null);
  assert.equal(kindOf('notes.txt', 10, Buffer.alloc(10)), null);
  assert.equal(kindOf('a.img', 1474560, Buffer.alloc(512))?.kind, 'floppy');
  assert.equal(kindOf('a.flp', 999, Buffer.alloc(10))?.kind, 'floppy');
  assert.equal(kindOf('stick.img', 64 * 1024 * 1024, Buffer.alloc(512))?.kind, 'usb');
  // ISO 9660 inside a floppy's or disk's name (GRUB's rescue floppy and USB images): what the name and size say.
  assert.deepEqual(kindOf('grub-rescue-floppy.img', 1296384, iso([[1, 'ISOIMAGE']])), { kind: 'floppy', label: 'ISOIMAGE' });
  assert.equal(kindOf('grub-rescue-usb.img', 5 * 1024 * 1024, iso([[1, 'ISOIMAGE']]))?.kind, 'usb');
  assert.equal(kindOf('boot.flp', 5 * 1024 * 1024, iso([[1, 'X']]))?.kind, 'floppy');
  assert.equal(kindOf('grub-rescue-cdrom.iso', 5 * 1024 * 1024, iso([[1, 'ISOIMAGE']]))?.kind, 'iso');
});

test('uploadNameError: a file name only, an image extension', () => {
  assert.equal(uploadNameError('debian-12.iso'), null);
  assert.equal(uploadNameError('a/b.iso'), "name: 'a/b.iso' has a path in it: give a file name only");
  assert.equal(uploadNameError('..\\b.iso'), "name: '..\\\\b.iso' has a path in it: give a file name only");
  assert.match(uploadNameError('.hidden.iso')!, /^name: .* may not start with '\.'$/);
  assert.match(uploadNameError('x.exe')!, /^name: 'x.exe' is not an image name/);
  assert.match(uploadNameError('a\nb.iso')!, /control characters/);
  assert.equal(uploadNameError(''), 'name: a file name is needed');
});

test('parseSize', () => {
  assert.equal(parseSize('4096'), 4096);
  assert.equal(parseSize('512M'), 512 * 1024 ** 2);
  assert.equal(parseSize('16G'), 16 * 1024 ** 3);
  assert.equal(parseSize('2GiB'), 2 * 1024 ** 3);
  assert.equal(parseSize('lots'), null);
});
