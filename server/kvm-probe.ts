// Whether KVM runs guests on this host: /dev/kvm opened, then the probe guest
// (lib/kvm-probe-image.ts) run under -accel kvm with a time limit. The verdict
// (lib/kvm.ts) is cached in the runtime root per host boot and kvm modules,
// where the wrappers' --check reads it too.
import { spawn } from 'node:child_process';
import { constants, promises as fsp } from 'node:fs';
import { mkdtemp, open, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decideKvm, parseProbeCache, probeKey, probeOutcome, renderProbeCache, type KvmDevice, type KvmFacts, type KvmVerdict, type ProbeOutcome } from '../lib/kvm';
import { kvmProbeFirmware } from '../lib/kvm-probe-image';
import { qemuArch } from '../lib/host';
import { trustedRunRoot } from './paths';

/** The probe's time limit: a probe under working KVM answers in well under a second. */
function probeTimeout(): number {
  const ms = Number(process.env.VMDECK_KVM_PROBE_TIMEOUT);
  return Number.isFinite(ms) && ms > 0 ? ms : 6000;
}

export async function kvmDevice(path = '/dev/kvm'): Promise<KvmDevice> {
  try {
    const fh = await open(path, constants.O_RDWR);
    await fh.close();
    return { kind: 'opens' };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    return code === 'ENOENT' ? { kind: 'missing' } : { kind: 'refused', code };
  }
}

export async function kvmModules(): Promise<string[]> {
  const names = await readdir('/sys/module').catch(() => [] as string[]);
  return names.filter((n) => n === 'kvm' || n.startsWith('kvm_')).sort();
}

async function bootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => 'unknown-boot')).trim();
}

/** How long the probe's output pipes may stay open after QEMU exited, and QEMU may live on after its SIGKILL. */
const PIPES_GRACE_MS = 1000;
const KILL_GRACE_MS = 5000;

/** Runs the probe guest once under -accel kvm and says how it ended. */
export async function runProbe(opts: { qemu?: string; accel?: 'kvm' | 'tcg'; timeoutMs?: number } = {}): Promise<ProbeOutcome> {
  const arch = qemuArch(process.arch);
  if (arch !== 'x86_64' && !opts.qemu) return { kind: 'unprobed', arch };
  const dir = await mkdtemp(join(await trustedRunRoot().catch(() => '/tmp'), '.kvm-probe-'));
  try {
    const image = join(dir, 'probe.rom');
    await writeFile(image, kvmProbeFirmware(), { mode: 0o600 });
    const timeoutMs = opts.timeoutMs ?? probeTimeout();
    const t0 = Date.now();
    const qemu = spawn(opts.qemu ?? 'qemu-system-x86_64', [
      '-accel', opts.accel ?? 'kvm', '-machine', 'pc', '-m', '32', '-nodefaults', '-no-user-config',
      '-display', 'none', '-serial', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
      '-bios', image,
    ], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } as unknown as NodeJS.ProcessEnv });
    let serial = '';
    let stderr = '';
    qemu.stdout.setEncoding('latin1').on('data', (d: string) => { if (serial.length < 4096) serial += d; });
    qemu.stderr.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 4096) stderr += d; });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; qemu.kill('SIGKILL'); }, timeoutMs);
    let streamsGrace: NodeJS.Timeout | undefined;
    let killGrace: NodeJS.Timeout | undefined;
    const exitCode = await new Promise<number | null>((resolve) => {
      qemu.on('error', (e) => { stderr += `${e.message}\n`; resolve(null); });
      qemu.on('close', (code) => resolve(code));
      // 'close' also waits for the output pipes, which something QEMU left behind may hold open for
      // good: once QEMU itself is gone, its output is what came within this grace.
      qemu.on('exit', (code) => { streamsGrace = setTimeout(() => resolve(code), PIPES_GRACE_MS); });
      // A QEMU that SIGKILL does not end (stuck in the kernel) is stuck as far as the verdict goes.
      killGrace = setTimeout(() => resolve(null), timeoutMs + KILL_GRACE_MS);
    });
    clearTimeout(timer);
    clearTimeout(streamsGrace);
    clearTimeout(killGrace);
    qemu.stdout.destroy();
    qemu.stderr.destroy();
    return probeOutcome({ exitCode, timedOut, serial, stderr, ms: Date.now() - t0 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface KvmAnswer extends KvmVerdict {
  /** The verdict came from the cache (no probe run now). */
  cached: boolean;
}

let inflight: Promise<KvmAnswer> | null = null;

/**
 * The verdict for this host: from the cache while the boot and the kvm
 * modules are the same, else from a new probe (once at a time per process).
 */
export function kvmVerdict(): Promise<KvmAnswer> {
  inflight ??= decide().finally(() => { inflight = null; });
  return inflight;
}

async function decide(): Promise<KvmAnswer> {
  const device = await kvmDevice();
  const modules = await kvmModules();
  // Nothing to probe: the device is not there or not ours (the wrappers check that themselves).
  if (device.kind !== 'opens') return { ...decideKvm({ device, modules }), cached: false };
  const key = probeKey(await bootId(), modules);
  const root = await trustedRunRoot().catch(() => null);
  const cacheFile = root ? join(root, 'kvm-probe') : null;
  if (cacheFile) {
    const hit = parseProbeCache(await readFile(cacheFile, 'utf8').catch(() => ''));
    if (hit && hit.key === key) return { ...hit.verdict, cached: true };
  }
  const facts: KvmFacts = { device, modules, probe: await runProbe() };
  const verdict = decideKvm(facts);
  if (cacheFile) {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    await writeFile(tmp, renderProbeCache(key, verdict), { mode: 0o600 });
    await rename(tmp, cacheFile).catch(() => fsp.rm(tmp, { force: true }));
  }
  return { ...verdict, cached: false };
}
