// Starting and stopping test VMs through their wrappers (no runner needed),
// and a shell on a booted demo guest's serial console.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QmpClient } from '../../server/qmp';
import type { VmInfo } from '../../lib/vm';
import { PROMPT } from './guest';
import { SocketTerminal } from './serial';

/** Whether a program (a qemu-system binary) is on PATH. */
export function installed(binary: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', binary], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs a VM's wrapper (which daemonizes QEMU); rejects with the wrapper's stderr. */
export function startWrapper(vm: VmInfo, env: NodeJS.ProcessEnv, options: string[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('bash', [vm.wrapper, ...options], { env, timeout: 30000 }, (err, _out, stderr) => {
      if (err) reject(new Error(`${vm.label}.sh ${options.join(' ')} failed (${err.code}): ${String(stderr).trim()}`));
      else resolve();
    });
  });
}

export function qemuPid(run: string, label: string): number {
  return Number(readFileSync(join(run, label, 'qemu.pid'), 'utf8').trim());
}

export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export async function waitFor(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Ends a VM's QEMU through QMP quit and waits until the process is gone. */
export async function quitVm(run: string, label: string): Promise<void> {
  const pid = qemuPid(run, label);
  const qmp = await QmpClient.connect(join(run, label, 'qmp.sock'));
  await qmp.execute('quit').catch(() => undefined);
  qmp.close();
  await waitFor(`QEMU of ${label} (pid ${pid}) to end`, () => !alive(pid));
}

/** The demo guest's root shell on serial0, once its prompt shows. */
export async function guestShell(run: string, label: string, timeoutMs = 90000): Promise<SocketTerminal> {
  const t = await SocketTerminal.open(join(run, label, 'serial.sock'));
  t.write('\r');
  await t.waitFor(PROMPT, timeoutMs);
  return t;
}
