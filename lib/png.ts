// Screenshots: QEMU's screendump writes PPM (P6) where it cannot write PNG;
// this turns one into the other with nothing but zlib, and reads the size of
// either.
import { createRequire } from 'node:module';
import type * as Zlib from 'node:zlib';

/** node:zlib when an image is made, not at every command's start (1-2 ms of it: docs/PERFORMANCE.md). */
const zlib = () => createRequire(import.meta.url)('node:zlib') as typeof Zlib;

export interface Image {
  width: number;
  height: number;
  /** 8-bit RGB, row after row. */
  rgb: Buffer;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A binary PPM (P6, maxval 255): header fields are separated by whitespace and may carry comments. */
export function parsePpm(buf: Buffer): Image {
  let pos = 0;
  const token = (): string => {
    for (;;) {
      while (pos < buf.length && /\s/.test(String.fromCharCode(buf[pos]))) pos++;
      if (buf[pos] !== 0x23) break; // '#': a comment to the end of the line
      while (pos < buf.length && buf[pos] !== 0x0a) pos++;
    }
    const start = pos;
    while (pos < buf.length && !/\s/.test(String.fromCharCode(buf[pos]))) pos++;
    return buf.subarray(start, pos).toString('latin1');
  };
  if (token() !== 'P6') throw new Error('screendump: not a binary PPM (P6) image');
  const width = Number(token());
  const height = Number(token());
  const maxval = Number(token());
  if (!(width > 0 && height > 0)) throw new Error(`screendump: PPM has no size (${width}x${height})`);
  if (maxval !== 255) throw new Error(`screendump: PPM maxval ${maxval} is not 255`);
  pos++; // the single whitespace before the pixels
  const rgb = buf.subarray(pos, pos + width * height * 3);
  if (rgb.length !== width * height * 3) throw new Error('screendump: PPM is shorter than its size says');
  return { width, height, rgb };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** An 8-bit RGB PNG: each row with filter type 0 (none), one zlib stream. */
export function encodePng(img: Image): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(img.width, 0);
  ihdr.writeUInt32BE(img.height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  // compression, filter and interlace methods: 0
  const stride = img.width * 3;
  const raw = Buffer.alloc((stride + 1) * img.height);
  for (let y = 0; y < img.height; y++) {
    img.rgb.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  }
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib().deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export function ppmToPng(ppm: Buffer): Buffer {
  return encodePng(parsePpm(ppm));
}

/** Width and height from a PNG's IHDR, or null when it is not a PNG. */
export function pngSize(png: Buffer): { width: number; height: number } | null {
  if (png.length < 24 || !png.subarray(0, 8).equals(PNG_SIGNATURE)) return null;
  if (png.subarray(12, 16).toString('latin1') !== 'IHDR') return null;
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/**
 * A screen as OCR reads it best (tesseract wants dark text on a light
 * ground and letters larger than a VGA console's): grey, turned light when
 * it is mostly dark, scale times the size with bilinear smoothing (blocky
 * pixels read worse: a lone 7 as 2); a binary PGM (P5).
 */
export function ocrImage(img: Image, scale: number): Buffer {
  const { width, height, rgb } = img;
  const grey = new Float32Array(width * height);
  let sum = 0;
  for (let i = 0; i < grey.length; i++) {
    grey[i] = (rgb[i * 3] * 299 + rgb[i * 3 + 1] * 587 + rgb[i * 3 + 2] * 114) / 1000;
    sum += grey[i];
  }
  const invert = sum / Math.max(1, grey.length) < 128;
  const w = width * scale;
  const h = height * scale;
  const header = Buffer.from(`P5\n${w} ${h}\n255\n`, 'latin1');
  const out = Buffer.alloc(header.length + w * h);
  header.copy(out);
  // Where an output pixel's centre falls in the input, clamped to its edge pixels.
  const at = (i: number, n: number) => Math.min(n - 1, Math.max(0, (i + 0.5) / scale - 0.5));
  let o = header.length;
  for (let y = 0; y < h; y++) {
    const fy = at(y, height);
    const y0 = Math.floor(fy);
    const y1 = Math.min(height - 1, y0 + 1);
    const dy = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = at(x, width);
      const x0 = Math.floor(fx);
      const x1 = Math.min(width - 1, x0 + 1);
      const dx = fx - x0;
      const top = grey[y0 * width + x0] * (1 - dx) + grey[y0 * width + x1] * dx;
      const bottom = grey[y1 * width + x0] * (1 - dx) + grey[y1 * width + x1] * dx;
      const v = Math.round(top * (1 - dy) + bottom * dy);
      out[o++] = invert ? 255 - v : v;
    }
  }
  return out;
}
