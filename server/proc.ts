// Running a program to completion, and waiting: shared by everything in
// server/ that runs qemu-img, ip, vde_switch or the wrappers.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface RunOptions {
  /** ms before the program is killed; 30 s unless said. */
  timeout?: number;
  /** Bytes of stdout or stderr kept; 8 MiB unless said. */
  maxBuffer?: number;
}

/**
 * Runs cmd with args (no shell) and resolves with its output; rejects with
 * execFile's error, carrying stdout and stderr, when it fails or is killed.
 */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: opts.timeout ?? 30000, maxBuffer: opts.maxBuffer ?? 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Whether pid is a live process: there, and neither a zombie (killed, not yet
 * reaped by its parent) nor dead. The state is the field after "(comm)",
 * and comm itself may hold spaces and parentheses.
 */
export function processAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.charAt(stat.lastIndexOf(')') + 2);
  return state !== 'Z' && state !== 'X';
}
