// The e2e run's private world, made once when playwright.config.ts is first
// loaded and handed to the workers through the environment: a VMDECK_HOME and
// VMDECK_RUN of its own (short paths: socket names must fit in 107 bytes),
// a free port, a token, and the test guest (scripts/build-guest.sh, cached).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const SCREENSHOTS = join(REPO, 'e2e-artifacts', 'screenshots');

export interface E2eEnv {
  root: string;
  home: string;
  run: string;
  port: number;
  token: string;
  baseURL: string;
  /** The ssh_config of the run's sshd lab (e2e/hosts.spec.ts writes it), for the server's VMDECK_SSH_CONFIG. */
  sshConfig: string;
  kernel: string;
  initrd: string;
  append: string;
}

function freePort(): number {
  const out = execFileSync(process.execPath, ['-e',
    "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"], { encoding: 'utf8' });
  return Number(out);
}

function guest(): { kernel: string; initrd: string; append: string } {
  const out = execFileSync('bash', [join(REPO, 'scripts/build-guest.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const get = (k: string) => {
    const m = new RegExp(`^${k}=(.*)$`, 'm').exec(out);
    if (!m) throw new Error(`scripts/build-guest.sh printed no ${k}=`);
    return m[1];
  };
  return { kernel: get('KERNEL'), initrd: get('INITRD'), append: get('APPEND') };
}

export function e2eEnv(): E2eEnv {
  const e = process.env;
  if (!e.VMDECK_E2E_ROOT) {
    const root = mkdtempSync(join(tmpdir(), 'vd-e2e-'));
    mkdirSync(join(root, 'home'));
    const g = guest();
    Object.assign(e, {
      VMDECK_E2E_ROOT: root,
      VMDECK_E2E_PORT: String(freePort()),
      VMDECK_E2E_TOKEN: randomBytes(16).toString('hex'),
      VMDECK_E2E_KERNEL: g.kernel,
      VMDECK_E2E_INITRD: g.initrd,
      VMDECK_E2E_APPEND: g.append,
    });
  }
  const root = e.VMDECK_E2E_ROOT!;
  const port = Number(e.VMDECK_E2E_PORT);
  return {
    root,
    home: join(root, 'home'),
    run: join(root, 'run'),
    port,
    token: e.VMDECK_E2E_TOKEN!,
    baseURL: `http://127.0.0.1:${port}`,
    sshConfig: join(root, 'ssh', 'ssh_config'),
    kernel: e.VMDECK_E2E_KERNEL!,
    initrd: e.VMDECK_E2E_INITRD!,
    append: e.VMDECK_E2E_APPEND!,
  };
}
