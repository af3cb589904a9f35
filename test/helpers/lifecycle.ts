// Helpers for the lifecycle tests: the vmdeck CLI as a separate process,
// counting a VM's QEMU processes, a recorder of state events, and the demo
// guest's shell on its serial console.
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { VmStateEvent } from '../../server/events';
import { PROMPT, REPO } from './guest';
import { SocketTerminal } from './serial';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `vmdeck ARGS` as its own process, as a user would. */
export function vmdeck(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 90000): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO, 'bin/vmdeck.js'), ...args], { env, timeout: timeoutMs, cwd: REPO }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - started });
    });
  });
}

/** The pids of the QEMU processes of a VM's runtime dir (normally none or one). */
export function qemuPids(run: string, label: string): number[] {
  try {
    const out = execFileSync('pgrep', ['-f', `pidfile ${join(run, label)}/qemu.pid`], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean).map(Number).filter((pid) => pid !== process.pid);
  } catch {
    return [];
  }
}

export async function waitFor(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Collects state events and waits for one that matches. */
export class EventRecorder {
  readonly events: VmStateEvent[] = [];
  private waiters: { ok: (e: VmStateEvent) => boolean; resolve: (e: VmStateEvent) => void }[] = [];

  readonly listener = (e: VmStateEvent): void => {
    this.events.push(e);
    this.waiters = this.waiters.filter((w) => {
      if (!w.ok(e)) return true;
      w.resolve(e);
      return false;
    });
  };

  /** The first event after index `from` that matches. */
  next(ok: (e: VmStateEvent) => boolean, timeoutMs = 5000, from = this.events.length): Promise<VmStateEvent> {
    const seen = this.events.slice(from).find(ok);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { ok, resolve: (e: VmStateEvent) => { clearTimeout(t); resolve(e); } };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no matching state event within ${timeoutMs} ms; got ${JSON.stringify(this.events.slice(from))}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }
}

/** The demo guest's root shell on serial0, once its prompt shows. */
export async function guestShell(run: string, label: string, timeoutMs = 90000): Promise<SocketTerminal> {
  const t = await SocketTerminal.open(join(run, label, 'serial.sock'));
  t.write('\r');
  await t.waitFor(PROMPT, timeoutMs, 0);
  return t;
}

/**
 * A VM of the test guest from the kernel-initrd template, made by `vmdeck
 * create-conf`. ACCELERATOR pinned to QEMU: this host's /dev/kvm (kvm_pvm)
 * runs no ordinary guests, and the KVM probe is not what its tests test.
 */
export async function createGuestVm(env: NodeJS.ProcessEnv, label: string): Promise<void> {
  const { guestImages } = await import('./guest');
  const g = guestImages();
  const made = await vmdeck(['create-conf', '--label', label, '--template', 'kernel-initrd', '--auto-all'],
    // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
    { ...env, ACCELERATOR: 'QEMU', INST_KERNEL: g.kernel, INST_INITRD: g.initrd, INST_APPEND: g.append });
  if (made.code !== 0) throw new Error(`create-conf ${label}: ${made.stderr}`);
}
