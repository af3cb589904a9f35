// Where things live, from the environment of SPEC.md.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function vmdeckHome(env = process.env): string {
  return resolve(env.VMDECK_HOME || join(homedir(), '.local/share/vmdeck'));
}

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

export function runDir(label: string, env = process.env): string {
  return join(runRoot(env), label);
}

export function templatesDir(env = process.env): string {
  return join(vmdeckHome(env), 'templates');
}
