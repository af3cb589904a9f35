// Real install media from Debian's packages (scripts/build-media.sh, cached),
// and the text of a screenshot (tesseract, Debian's tesseract-ocr). Nothing of
// server/ here: the e2e specs use it too.
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

const fetched = new Map<string, string>();

function media(what: 'netboot' | 'rescue' | 'netinst', key: string): string {
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
/** An ISO with a Debian netinst CD's layout (/install.amd/vmlinuz, initrd.gz) around the netboot installer. */
export const netinstIso = () => media('netinst', 'NETINST_ISO');

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

