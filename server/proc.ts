// Running a program to completion, and waiting: shared by everything in
// server/ that runs qemu-img, ip, vde_switch or the wrappers.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

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

/**
 * run() for a program that runs the user's code (a wrapper's --check or
 * --print sources the config): in a process group of its own, all of which
 * is killed at the timeout, and settled once the program itself exited (its
 * output being what came within a moment after), so that a process it left
 * behind holding the pipes cannot hold the caller. Rejects as run() does,
 * with `killed` set at the timeout.
 */
export function runGroup(cmd: string, args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const limit = opts.maxBuffer ?? 8 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let overflow = false;
    const sizes = [0, 0];
    // Past maxBuffer the output is not cut short and taken: the run fails, as execFile's does.
    const keep = (into: Buffer[], k: number) => (d: Buffer) => {
      sizes[k] += d.length;
      if (sizes[k] <= limit) into.push(d);
      else if (!overflow) {
        overflow = true;
        try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
      }
    };
    child.stdout.on('data', keep(out, 0));
    child.stderr.on('data', keep(err, 1));
    let killed = false;
    let grace: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      killed = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
    }, opts.timeout ?? 30000);
    let settled = false;
    const settle = (code: number | null, signal: NodeJS.Signals | null, error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      child.stdout.destroy();
      child.stderr.destroy();
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (!error && code === 0 && !overflow) return resolve({ stdout, stderr });
      const e = error ?? new Error(`Command failed: ${cmd} ${args.join(' ')}${killed ? ' (killed at its timeout)' : overflow ? ` (its output passed ${limit} bytes)` : ''}`);
      reject(Object.assign(e, { code, signal, killed, stdout, stderr }));
    };
    child.on('error', (e) => settle(null, null, e));
    child.on('close', (code, signal) => settle(code, signal));
    child.on('exit', (code, signal) => { grace = setTimeout(() => settle(code, signal), 500); });
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

/**
 * A live process's start time in clock ticks since boot (/proc/PID/stat
 * field 22): a pid taken again by another process has another. undefined
 * when it is gone or a zombie.
 */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** A live process's argv; null when it is gone or a zombie. */
export async function processArgv(pid: number): Promise<string[] | null> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline === '' ? null : cmdline.replace(/\0$/, '').split('\0');
}
