// The text on a VM's screen: its screendump (server/screen.ts) made grey,
// light and twice the size, smoothed (lib/png.ts ocrImage: a VGA console's
// 8-pixel letters are small for tesseract, and blocky ones read worse),
// read by Debian's tesseract (tesseract-ocr, tesseract-ocr-eng). One thread
// and page segmentation 6 (a block of text, as a console is): on a shared
// machine that is faster than tesseract's own threads, and it reads VGA
// text better than the default layout analysis.
import { execFile } from 'node:child_process';
import { ocrImage, type Image } from '../lib/png';
import { VmdeckError } from './errors';

const SCALE = 2;

const OCR_TIMEOUT_MS = 30000;

export function readText(screen: Image): Promise<string> {
  const image = ocrImage(screen, SCALE);
  return new Promise((resolve, reject) => {
    const child = execFile('tesseract', ['stdin', 'stdout', '--psm', '6', '-l', 'eng'], {
      env: { ...process.env, OMP_THREAD_LIMIT: '1' }, timeout: OCR_TIMEOUT_MS, maxBuffer: 1 << 20, encoding: 'utf8',
    }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new VmdeckError(500, missing
        ? 'screen: tesseract is not installed (Debian: apt-get install tesseract-ocr tesseract-ocr-eng)'
        : `screen: tesseract could not read the screen: ${(stderr.trim().split('\n').pop() || err.message).trim()}`, 'screen'));
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(image);
  });
}
