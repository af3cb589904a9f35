// Real install media from Debian's packages (scripts/build-media.sh, cached),
// and reading a VM's screen as text with tesseract (Debian's tesseract-ocr).
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { screenshot } from '../../server/screen';
import { REPO } from './guest';

const fetched = new Map<string, string>();

function media(what: 'netboot' | 'rescue', key: string): string {
  const hit = fetched.get(key);
  if (hit) return hit;
  const out = execFileSync('bash', [join(REPO, 'scripts/build-media.sh'), what], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const m = new RegExp(`^${key}=(.*)$`, 'm').exec(out);
  if (!m) throw new Error(`build-media.sh printed no ${key}=`);
  fetched.set(key, m[1]);
  return m[1];
}

/** The Debian installer's PXE tree (pxelinux.0 at its top) from debian-installer-12-netboot-amd64. */
export const netbootTree = () => media('netboot', 'NETBOOT');
/** GRUB's rescue ISO from grub-rescue-pc. */
export const rescueIso = () => media('rescue', 'RESCUE_ISO');

/** The text tesseract reads in a PNG. */
export function ocr(png: Buffer): Promise<string> {
  const file = join(tmpdir(), `vmdeck-ocr-${process.pid}-${Date.now()}.png`);
  writeFileSync(file, png);
  return new Promise((resolve, reject) => {
    execFile('tesseract', [file, '-'], { timeout: 30000 }, (err, out) => {
      rmSync(file, { force: true });
      if (err) reject(new Error(`tesseract failed (install Debian's tesseract-ocr): ${err.message}`));
      else resolve(out);
    });
  });
}

/** Reads the VM's screen until its text matches; returns that text. */
export async function waitForScreen(label: string, re: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  for (;;) {
    text = await screenshot(label).then(ocr, () => '');
    if (re.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`the screen of ${label} never showed ${re} in ${timeoutMs} ms; it read: ${JSON.stringify(text)}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}
