// The vmdeck command line: one module per command, each with usage and run.
import { LOCAL_HOST, takeTarget } from '../../lib/hosts';
import { visible } from '../../lib/spec';
import { VmdeckError } from '../errors';
import { processIo, UsageError, type Io } from './args';

interface Command {
  usage: string;
  run: (argv: string[], io: Io) => Promise<number>;
}

/** Loaded on demand, so `vmdeck check` does not pay for the server's modules. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  'create-conf': () => import('./create-conf'),
  enumerate: () => import('./enumerate'),
  check: () => import('./check'),
  net: () => import('./net'),
  serve: () => import('./serve'),
  start: () => import('./start'),
  list: () => import('./list'),
  cancel: () => import('./cancel'),
  snapshot: () => import('./snapshot'),
  media: () => import('./media'),
  monitor: () => import('./monitor'),
  console: () => import('./console'),
  set: () => import('./set'),
  disk: () => import('./disk'),
  nic: () => import('./nic'),
  cd: () => import('./cd'),
  clone: () => import('./clone'),
  delete: () => import('./delete'),
  tasks: () => import('./tasks'),
  stats: () => import('./stats'),
  type: () => import('./type'),
  expect: () => import('./expect'),
  autostart: () => import('./autostart'),
  host: () => import('./host'),
};

/** The command names: bin/vmdeck.js keeps a code cache per command, and for no other word. */
export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

/** The commands that take a target host (--host H, LABEL@H, user@host), and whether their first argument is a label. */
const TARGETED: Record<string, boolean> = {
  start: true, console: true, monitor: true, cancel: true, snapshot: true, media: true, delete: true,
  list: false, enumerate: false, check: false, net: false, 'create-conf': false,
};

async function help(io: Io): Promise<void> {
  io.out('vmdeck: create, run and reach QEMU/KVM virtual machines\n\n');
  for (const load of Object.values(COMMANDS)) io.out(`${(await load()).usage}\n`);
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    await help(io);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === 'version') {
    // What another host's vmdeck asks before it talks to this one (server/hosts.ts).
    io.out(`vmdeck ${(await import('../hosts')).VMDECK_VERSION}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.err(`vmdeck: unknown command '${name}' (vmdeck --help lists them)\n`);
    return 2;
  }
  const cmd = await load();
  if (rest.includes('-h') || rest.includes('--help')) {
    io.out(`${cmd.usage}\n`);
    return 0;
  }
  try {
    const target = name in TARGETED ? takeTarget(rest, TARGETED[name]) : null;
    if (target && target.host !== LOCAL_HOST) {
      const { runTargeted } = await import('./remote');
      return await runTargeted(name, target, io, (here) => cmd.run(target.args, here));
    }
    return await cmd.run(target ? target.args : rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      // One line too: the usage's first line after the error, in brackets.
      io.err(`vmdeck ${name}: ${visible(e.message)} (usage: ${cmd.usage.split('\n')[0]})\n`);
      return 2;
    }
    // One line, whatever a value in it held (a newline, a mark that reorders text).
    if (e instanceof VmdeckError) {
      io.err(`vmdeck ${name}: ${visible(e.message)}\n`);
      return 1;
    }
    io.err(`vmdeck ${name}: ${visible((e as Error).message)}\n`);
    return 1;
  }
}
