// Runs the real vmdeck command (bin/vmdeck.js) as a child process.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './guest';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function vmdeck(args: string[], env: NodeJS.ProcessEnv, opts: { timeoutMs?: number; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/vmdeck.js'), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`vmdeck ${args.join(' ')}: timed out; stderr: ${stderr}`)); }, opts.timeoutMs ?? 60000);
    child.on('close', (code) => { clearTimeout(t); resolve({ code: code ?? -1, stdout, stderr }); });
    child.stdin.end(opts.input ?? '');
  });
}
