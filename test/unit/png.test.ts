import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inflateSync } from 'node:zlib';
import { crc32, encodePng, ocrImage, parsePpm, pngSize, ppmToPng, PNG_SIGNATURE } from '../../lib/png';

function ppm(width: number, height: number, comment = false): Buffer {
  const rgb = Buffer.alloc(width * height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 7) & 0xff;
  const head = `P6\n${comment ? '# made by a test\n' : ''}${width} ${height}\n255\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), rgb]);
}

/** Reads chunks back and checks each CRC. */
function chunks(png: Buffer): { type: string; data: Buffer }[] {
  const out = [];
  let pos = 8;
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.subarray(pos + 4, pos + 8).toString('latin1');
    const data = png.subarray(pos + 8, pos + 8 + len);
    assert.equal(png.readUInt32BE(pos + 8 + len), crc32(png.subarray(pos + 4, pos + 8 + len)), `CRC of ${type}`);
    out.push({ type, data });
    pos += 12 + len;
  }
  return out;
}

test('crc32 is the PNG (zlib) CRC', () => {
  assert.equal(crc32(Buffer.from('IEND', 'latin1')), 0xae426082);
  assert.equal(crc32(Buffer.from('123456789', 'latin1')), 0xcbf43926);
});

test('a PPM becomes a PNG with the same size and pixels', () => {
  const src = ppm(5, 3, true);
  const png = ppmToPng(src);
  assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE));
  assert.deepEqual(pngSize(png), { width: 5, height: 3 });
  const cs = chunks(png);
  assert.deepEqual(cs.map((c) => c.type), ['IHDR', 'IDAT', 'IEND']);
  assert.deepEqual([...cs[0].data.subarray(8)], [8, 2, 0, 0, 0]);
  const raw = inflateSync(cs[1].data);
  const { rgb } = parsePpm(src);
  for (let y = 0; y < 3; y++) {
    assert.equal(raw[y * 16], 0, 'filter type none');
    assert.ok(raw.subarray(y * 16 + 1, y * 16 + 16).equals(rgb.subarray(y * 15, y * 15 + 15)), `row ${y}`);
  }
});

test('a broken PPM is refused, not turned into a broken PNG', () => {
  assert.throws(() => parsePpm(Buffer.from('P3\n1 1\n255\n0 0 0')), /not a binary PPM/);
  assert.throws(() => parsePpm(Buffer.from('P6\n2 2\n255\n\0\0\0')), /shorter than its size/);
  assert.throws(() => parsePpm(Buffer.from('P6\n2 2\n65535\n')), /maxval 65535/);
  assert.equal(pngSize(Buffer.from('not a png at all, not at all')), null);
  assert.equal(pngSize(encodePng({ width: 1, height: 1, rgb: Buffer.from([1, 2, 3]) }))?.width, 1);
});

test('the image OCR reads: a dark console turned light, grey, scale times the size and smoothed between pixels, as a binary PGM', () => {
  // 2×1: a white letter pixel on black, and black.
  const pgm = ocrImage({ width: 2, height: 1, rgb: Buffer.from([255, 255, 255, 0, 0, 0]) }, 2);
  const header = 'P5\n4 2\n255\n';
  assert.equal(pgm.subarray(0, header.length).toString('latin1'), header);
  // Inverted (the letter dark), the edges as they were, a quarter and three quarters between.
  assert.deepEqual([...pgm.subarray(header.length)], [0, 64, 191, 255, 0, 64, 191, 255]);
  // Mostly light already: kept as it is.
  const light = ocrImage({ width: 2, height: 1, rgb: Buffer.from([255, 255, 255, 200, 200, 200]) }, 1);
  assert.deepEqual([...light.subarray('P5\n2 1\n255\n'.length)], [255, 200]);
});
