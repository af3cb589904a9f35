// The real guest for integration tests: Debian's cloud kernel and a busybox
// initramfs (scripts/build-guest.sh, cached), made into VMs through the
// generator, in a private VMDECK_HOME and VMDECK_RUN per test file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const PROMPT = /guest:[^\r\n]*# /;

export interface GuestImages {
  kernel: string;
  initrd: string;
  append: string;
}

const built = new Map<string, GuestImages>();

/** Kernel, initrd and kernel command line of the test guest for an architecture. */
export function guestImages(arch: 'amd64' | 'arm64' = 'amd64'): GuestImages {
  const hit = built.get(arch);
  if (hit) return hit;
  const out = execFileSync('bash', [join(REPO, 'scripts/build-guest.sh'), arch], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const get = (k: string) => {
    const m = new RegExp(`^${k}=(.*)$`, 'm').exec(out);
    if (!m) throw new Error(`build-guest.sh printed no ${k}=`);
    return m[1];
  };
  const images = { kernel: get('KERNEL'), initrd: get('INITRD'), append: get('APPEND') };
  built.set(arch, images);
  return images;
}

export interface Sandbox {
  home: string;
  run: string;
  env: NodeJS.ProcessEnv;
  /** Applies the sandbox to process.env (for in-process server/ calls). */
  enter(): void;
  cleanup(): void;
}

/** A private VMDECK_HOME and VMDECK_RUN (short, so socket paths fit in 107 bytes). */
export function sandbox(name: string): Sandbox {
  const root = mkdtempSync(join(tmpdir(), `vd-${name.slice(0, 8)}-`));
  const home = join(root, 'home');
  const run = join(root, 'run');
  // The test guests' kernels and initrds are media: the API takes files from the bases and the media directories only.
  const media = join(REPO, '.cache', 'guest');
  const env = { ...process.env, VMDECK_HOME: home, VMDECK_RUN: run, VMDECK_BASES: '', VMDECK_MEDIA: media };
  const saved = { VMDECK_HOME: process.env.VMDECK_HOME, VMDECK_RUN: process.env.VMDECK_RUN, VMDECK_BASES: process.env.VMDECK_BASES, VMDECK_MEDIA: process.env.VMDECK_MEDIA };
  return {
    home, run, env,
    enter() { Object.assign(process.env, { VMDECK_HOME: home, VMDECK_RUN: run, VMDECK_BASES: '', VMDECK_MEDIA: media }); },
    cleanup() {
      // Any QEMU still running from this sandbox's runtime dir is ended.
      for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
      // A process that was still going (a serial copier finishing its last write, a killed QEMU
      // not yet reaped) may write into the directory while it is removed: end them and try again.
      for (let attempt = 0; ; attempt++) {
        try { execFileSync('pkill', ['-9', '-f', `${run}/`]); } catch { /* none left */ }
        try {
          rmSync(root, { recursive: true, force: true });
          return;
        } catch (e) {
          if (attempt >= 20 || (e as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw e;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        }
      }
    },
  };
}

/**
 * ctys-style environment options for a demo-guest VM under TCG. Pinned, not
 * the host's default: TCG behaves the same on every host, and these tests
 * check vmdeck's behaviour, not the accelerator's. The host's own defaults
 * are run end to end by test/integration/default-path.test.ts and the e2e.
 */
export function demoVmEnv(images = guestImages(), extra: Record<string, string> = {}): Record<string, string> {
  return {
    ACCELERATOR: 'QEMU', INST_KERNEL: images.kernel, INST_INITRD: images.initrd, INST_APPEND: images.append,
    MEMSIZE: '256', ...extra,
  };
}

/** The same demo guest as a POST /api/vms body (KERNEL mode from the template): the host's accelerator, not pinned. */
export function demoVmSpec(memsize: number, images = guestImages()): { template: string; kernel: string; initrd: string; append: string; memsize: number } {
  return { template: 'kernel-initrd', kernel: images.kernel, initrd: images.initrd, append: images.append, memsize };
}
