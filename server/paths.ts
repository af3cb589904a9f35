// Where things live, from the environment of SPEC.md.
import { lstatSync } from 'node:fs';
import { chmod, lstat, mkdir } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { VmdeckError } from './errors';

export function vmdeckHome(env = process.env): string {
  return resolve(env.VMDECK_HOME || join(homedir(), '.local/share/vmdeck'));
}

/**
 * A VM's graphs' history ($VMDECK_HOME/stats/<LABEL>.rrd, server/stats.ts):
 * by label, so a delete removes it and a create of a label no VM has starts
 * none (a deleted VM's history was shown as the new one's).
 */
export const historyFile = (label: string, env = process.env) => join(vmdeckHome(env), 'stats', `${label}.rrd`);

export function defaultBase(env = process.env): string {
  return join(vmdeckHome(env), 'vms');
}

/** The default base first, then VMDECK_BASES ('%'-separated, as ctys's paths). */
export function bases(env = process.env, extra?: string): string[] {
  const list = [defaultBase(env), ...(env.VMDECK_BASES ?? '').split('%'), ...(extra ?? '').split('%')]
    .filter((p) => p.trim() !== '')
    .map((p) => resolve(p));
  return [...new Set(list)];
}

export function runRoot(env = process.env): string {
  const uid = process.getuid?.() ?? 0;
  return resolve(env.VMDECK_RUN || join(env.XDG_RUNTIME_DIR || '/tmp', `vmdeck-${uid}`));
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.()}`;
  }
}

/**
 * The runtime root, once it is known to be this user's alone: a directory,
 * not a symlink, owned by us, mode 0700 (made so when missing). What lies in
 * it (pidfiles, the config paths wrappers record, sockets) is then ours too.
 * Without XDG_RUNTIME_DIR it is /tmp/vmdeck-<uid>, which another user could
 * make first, with a config for us to evaluate: refused in the words of the
 * wrapper's --check. Everything that reads the runtime root asks this first.
 */
export async function trustedRunRoot(root = runRoot()): Promise<string> {
  const made = await mkdir(root, { recursive: true, mode: 0o700 }).catch(() => undefined);
  if (made !== undefined) await chmod(root, 0o700);
  const st = await lstat(root).catch(() => null);
  if (!st) throw new VmdeckError(500, `runtime dir: cannot create '${root}' (set VMDECK_RUN to a directory of your own)`);
  if (!st.isDirectory() || st.uid !== process.getuid?.()) {
    throw new VmdeckError(500, `runtime dir: '${root}' is not a directory owned by ${userName()} (remove it, or set VMDECK_RUN to a private directory)`);
  }
  if ((st.mode & 0o777) !== 0o700) throw new VmdeckError(500, `runtime dir: '${root}' must be private (chmod 700 '${root}')`);
  return root;
}

/** Whether root is a directory (not a symlink) of this user's with mode 0700: what trustedRunRoot asks, without making it. */
export function isPrivateDirSync(root: string): boolean {
  try {
    const st = lstatSync(root);
    return st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o777) === 0o700;
  } catch {
    return false;
  }
}

export function runDir(label: string, env = process.env): string {
  return join(runRoot(env), label);
}

export function templatesDir(env = process.env): string {
  return join(vmdeckHome(env), 'templates');
}

/**
 * The install-media directories: `$VMDECK_HOME/media` first (uploads go
 * there), then VMDECK_MEDIA ('%'-separated, as the bases).
 */
export function mediaDirs(env = process.env): string[] {
  const list = [join(vmdeckHome(env), 'media'), ...(env.VMDECK_MEDIA ?? '').split('%')]
    .filter((p) => p.trim() !== '')
    .map((p) => resolve(p));
  return [...new Set(list)];
}
