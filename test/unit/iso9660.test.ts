import assert from 'node:assert/strict';
import { test } from 'node:test';
import { directoryEntries, isoLookup, isoRead } from '../../lib/iso9660';

/** A directory record (ECMA-119 9.1): identifier, extent, size, flags, and a System Use area. */
function record(id: Buffer, extent: number, size: number, dir: boolean, use = Buffer.alloc(0)): Buffer {
  const pad = id.length % 2 === 0 ? 1 : 0;
  const r = Buffer.alloc(33 + id.length + pad + use.length);
  r[0] = r.length;
  r.writeUInt32LE(extent, 2);
  r.writeUInt32BE(extent, 6);
  r.writeUInt32LE(size, 10);
  r.writeUInt32BE(size, 14);
  r[25] = dir ? 2 : 0;
  r[32] = id.length;
  id.copy(r, 33);
  use.copy(r, 33 + id.length + pad);
  return r;
}
/** Rock Ridge's NM entry. */
const nm = (name: string, flags = 0) => Buffer.concat([Buffer.from([0x4e, 0x4d, 5 + name.length, 1, flags]), Buffer.from(name)]);
const dots = (extent: number) => [record(Buffer.from([0]), extent, 2048, true, nm('', 2)), record(Buffer.from([1]), extent, 2048, true, nm('', 4))];
const block = (records: Buffer[]) => {
  const b = Buffer.alloc(2048);
  Buffer.concat(records).copy(b);
  return b;
};

test('directoryEntries: Rock Ridge names, else the ISO name without its version; . and .. left out; a zero byte pads to the block', () => {
  const two = Buffer.concat([
    block([...dots(20), record(Buffer.from('INSTALL.AMD'), 21, 2048, true, nm('install.amd'))]),
    block([record(Buffer.from('VMLINUZ.;1'), 30, 8, false), record(Buffer.from('INITRD.GZ;1'), 31, 5, false)]),
  ]);
  assert.deepEqual(directoryEntries(two), [
    { name: 'install.amd', offset: 21 * 2048, size: 2048, dir: true },
    { name: 'VMLINUZ', offset: 30 * 2048, size: 8, dir: false },
    { name: 'INITRD.GZ', offset: 31 * 2048, size: 5, dir: false },
  ]);
});

test('isoLookup and isoRead walk an image from its primary volume descriptor; what is not there is null', async () => {
  const image = Buffer.alloc(32 * 2048);
  const pvd = 16 * 2048;
  image[pvd] = 1;
  image.write('CD001', pvd + 1, 'latin1');
  image[pvd + 6] = 1;
  image.writeUInt16LE(2048, pvd + 128);
  record(Buffer.from([0]), 20, 2048, true).copy(image, pvd + 156);
  image[17 * 2048] = 255;
  image.write('CD001', 17 * 2048 + 1, 'latin1');
  image[17 * 2048 + 6] = 1;
  block([...dots(20), record(Buffer.from('INSTALL.AMD'), 21, 2048, true, nm('install.amd'))]).copy(image, 20 * 2048);
  block([...dots(21), record(Buffer.from('VMLINUZ.;1'), 22, 6, false, nm('vmlinuz'))]).copy(image, 21 * 2048);
  image.write('kernel', 22 * 2048, 'latin1');
  const read = async (offset: number, length: number) => image.subarray(offset, offset + length);
  const kernel = await isoLookup(read, '/install.amd/vmlinuz');
  assert.equal(Buffer.from(await isoRead(read, kernel!)).toString(), 'kernel');
  assert.equal((await isoLookup(read, '/INSTALL.AMD/VMLINUZ'))?.offset, 22 * 2048, 'without case, as plain ISO names are upper case');
  assert.equal(await isoLookup(read, '/install.amd/initrd.gz'), null);
  assert.equal(await isoLookup(read, '/install.amd/vmlinuz/x'), null);
  await assert.rejects(isoLookup(async () => Buffer.alloc(40000), '/x'), /is not an ISO 9660 image/);
});
