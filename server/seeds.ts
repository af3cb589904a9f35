// Writes an unattended install's seeds beside the VM (lib/seeds.ts says what):
// the files mode 0600, the cidata/OEMDRV volume made with genisoimage, the
// preseed added to a copy of the installer's initrd.
import { execFile } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cpioNewc } from '../lib/cpio';
import type { SeedPlan } from '../lib/seeds';
import { badInput, VmdeckError } from './errors';

function genisoimage(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('genisoimage', args, { timeout: 60000 }, (err, _out, stderr) => {
      if (!err) return resolve();
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new VmdeckError(500, missing
        ? 'unattended: genisoimage is not installed (Debian package genisoimage)'
        : `unattended: genisoimage failed: ${String(stderr).trim().split('\n').pop()}`, 'unattended'));
    });
  });
}

/**
 * Writes the plan into dir (the VM's directory being made); relative paths
 * in the plan (the base initrd) are the VM's, resolved against vmDir.
 */
export async function writeSeeds(plan: SeedPlan, dir: string, vmDir: string): Promise<void> {
  for (const f of plan.files) {
    await writeFile(join(dir, f.file), f.text, { mode: 0o600 });
    await chmod(join(dir, f.file), 0o600);
  }
  if (plan.volume) {
    const out = join(dir, plan.volume.file);
    await genisoimage(['-quiet', '-output', out, '-volid', plan.volume.label, '-joliet', '-rock', '-graft-points',
      ...plan.files.map((f) => `${f.as}=${join(dir, f.file)}`)]);
    await chmod(out, 0o600);
  }
  if (plan.initrd) {
    const base = isAbsolute(plan.initrd.base) ? plan.initrd.base : join(vmDir, plan.initrd.base);
    const initrd = await readFile(base).catch(() => {
      throw badInput('initrd', `initrd: the installer's initrd '${base}' cannot be read (the preseed is added to it)`);
    });
    const extra = gzipSync(cpioNewc(plan.files.map((f) => ({ name: f.as, data: Buffer.from(f.text) }))));
    await writeFile(join(dir, plan.initrd.file), Buffer.concat([initrd, extra]), { mode: 0o600 });
  }
}
