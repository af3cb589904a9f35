// A small argument parser for the vmdeck commands: --name, --name=value,
// --name value (for options declared as taking a value), and positionals.
import { statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { isatty } from 'node:tty';

export interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

export class UsageError extends Error {}

export function parseArgs(argv: string[], takesValue: readonly string[], known: readonly string[]): Parsed {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { positional.push(...argv.slice(i + 1)); break; }
    if (!a.startsWith('--') || a === '--') { positional.push(a); continue; }
    const eq = a.indexOf('=');
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    if (!known.includes(name) && !takesValue.includes(name)) throw new UsageError(`unknown option --${name}`);
    if (eq >= 0) flags.set(name, a.slice(eq + 1));
    else if (takesValue.includes(name)) {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      flags.set(name, argv[++i]);
    } else flags.set(name, true);
  }
  return { positional, flags };
}

/** A subcommand's `ACTION N` (remove 1): N, a number with nothing after it, or a usage error naming what N counts. */
export function itemNumber(action: string, rest: readonly string[], what: string): number {
  const [n, ...extra] = rest;
  if (!n || !/^\d+$/.test(n)) throw new UsageError(`${action} needs a ${what} number, like ${action} 1`);
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
  return Number(n);
}

export const flagString = (p: Parsed, name: string): string | undefined => {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : undefined;
};

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: Record<string, string | undefined>;
  isTTY: boolean;
}

export const processIo = (): Io => ({
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  env: process.env,
  // isatty, not process.stdin.isTTY: that getter opens stdin's stream, a cost of every command's start.
  isTTY: isatty(0) && isatty(1),
});

/** Green or red when a person is looking, plain otherwise. */
export const paint = (io: Io, ok: boolean, s: string) =>
  io.isTTY && !io.env.NO_COLOR ? `\x1b[${ok ? 32 : 31}m${s}\x1b[0m` : s;

/**
 * A file named on the command line, as the shell's user means it: a
 * relative name of a file in the working directory is that file (made
 * absolute, or relative to the VM's directory when it lies in it); any other
 * name goes on as given, to be looked for in the VM's directory and the
 * media library.
 */
export async function hereFile(name: string | undefined, label: string): Promise<string | undefined> {
  if (!name || isAbsolute(name)) return name;
  const here = resolve(name);
  if (!statSync(here, { throwIfNoEntry: false })?.isFile()) return name;
  // In the VM's own directory (the user works there): relative to it, as the config keeps its files, and moves with it.
  const vmDir = await vmDirOf(label);
  if (vmDir && here.startsWith(`${resolve(vmDir)}/`)) return relative(resolve(vmDir), here);
  return here;
}

/** The VM's directory, looked up only for a file of the working directory; undefined when there is no such VM (the command then says so itself). */
async function vmDirOf(label: string): Promise<string | undefined> {
  const { resolveVm } = await import('../runtime');
  return resolveVm(label).then((vm) => vm.dir, () => undefined);
}
