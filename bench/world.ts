// A benchmark's private world: a VMDECK_HOME and VMDECK_RUN of its own under
// a temporary root, and VMs written into a base directly (what create-conf
// writes, without its checks: thousands in seconds).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VmSpec } from '../lib/spec';

/**
 * Makes the world and sets it in process.env, which server/ reads when it is
 * loaded: call it before importing anything of server/. At exit, `cleanup`
 * runs and the root is removed.
 */
export function benchWorld(prefix: string, cleanup: () => void = () => undefined): { root: string; home: string; run: string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const home = join(root, 'home');
  const run = join(root, 'run');
  mkdirSync(run, { mode: 0o700 });
  Object.assign(process.env, { VMDECK_HOME: home, VMDECK_RUN: run, VMDECK_BASES: '' });
  process.on('exit', () => {
    cleanup();
    rmSync(root, { recursive: true, force: true });
  });
  process.on('SIGINT', () => process.exit(130));
  return { root, home, run };
}

/** VMs vm<from>…vm<to - 1> (five digits) in base, from the linux-x86_64 template, each with its own UUID and MAC and what `vary` gives it. */
export async function writeVms(base: string, from: number, to: number, vary: (i: number) => Partial<VmSpec> = () => ({})): Promise<void> {
  const { renderFiles, resolveSpec } = await import('../server/store');
  const { macFromBytes } = await import('../lib/options');
  const { spec } = await resolveSpec({ label: 'template', template: 'linux-x86_64', env: {} });
  for (let i = from; i < to; i++) {
    const label = `vm${String(i).padStart(5, '0')}`;
    const files = renderFiles({ ...spec, label, disk: `${label}.qcow2`, uuid: randomUUID(), mac: macFromBytes(randomBytes(3)), ...vary(i) });
    mkdirSync(join(base, label), { recursive: true });
    writeFileSync(join(base, label, `${label}.ctys`), files.ctys);
    writeFileSync(join(base, label, `${label}.sh`), files.wrapper, { mode: 0o755 });
  }
}
