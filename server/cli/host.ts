// vmdeck host: the other machines vmdeck reaches over OpenSSH (issue 14).
// `local` is this one; each other is a name, an ssh destination and the
// command that runs vmdeck there, kept in $VMDECK_HOME/hosts (0600).
import { LOCAL_HOST } from '../../lib/hosts';
import { addHost, checkRemoteHost, closeConnection, findHost, readHosts, removeHost, validateHost, type HostCheck, type HostEntry } from '../hosts';
import { flagString, paint, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck host add NAME DEST [--vmdeck CMD] [--no-check]
vmdeck host list|check [NAME|all] [--json]|remove NAME
                                         other hosts over OpenSSH (DEST: [user@]host[:port] or an
                                         ssh_config alias; CMD runs vmdeck there, default vmdeck);
                                         then any command takes --host NAME, LABEL@NAME or user@host`;

function printCheck(c: HostCheck, io: Io): void {
  const mark = paint(io, c.ok, c.ok ? 'ok  ' : 'FAIL');
  io.out(`${mark} ${c.name.padEnd(16)} ${c.dest}  ${c.ok ? `vmdeck ${c.version}` : c.error}\n`);
}

export async function run(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  const env = io.env as NodeJS.ProcessEnv;
  switch (sub) {
    case 'add': {
      const p = parseArgs(rest, ['vmdeck'], ['no-check', 'json']);
      if (p.positional.length !== 2) throw new UsageError('a NAME and a DEST are needed');
      const entry: HostEntry = { name: p.positional[0], dest: p.positional[1], vmdeck: flagString(p, 'vmdeck') ?? 'vmdeck' };
      validateHost(entry);
      if (!p.flags.has('no-check')) {
        // Kept only once it answers: a typo in DEST is said now, not at the first start.
        const c = await checkRemoteHost(entry, env);
        if (!c.ok) {
          // Its connection goes with it: nothing of a host not added stays open.
          await closeConnection(entry, env).catch(() => undefined);
          io.err(`vmdeck host add: ${c.error} (not added; --no-check adds it anyway)\n`);
          return 1;
        }
      }
      await addHost(entry, env);
      io.out(`host '${entry.name}' added (${entry.dest}, vmdeck: ${entry.vmdeck})\n`);
      return 0;
    }
    case 'remove': {
      const p = parseArgs(rest, [], []);
      if (p.positional.length !== 1) throw new UsageError('one host NAME is needed');
      await removeHost(p.positional[0], env);
      io.out(`host '${p.positional[0]}' removed\n`);
      return 0;
    }
    case 'list': {
      const p = parseArgs(rest, [], ['json']);
      const hosts = await readHosts(env);
      if (p.flags.has('json')) {
        io.out(`${JSON.stringify([{ name: LOCAL_HOST, dest: '', vmdeck: '' }, ...hosts], null, 2)}\n`);
        return 0;
      }
      const rows = [['NAME', 'DEST', 'VMDECK'], [LOCAL_HOST, '(this machine)', ''], ...hosts.map((h) => [h.name, h.dest, h.vmdeck])];
      const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
      for (const r of rows) io.out(`${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2]}\n`.replace(/ +\n$/, '\n'));
      return 0;
    }
    case 'check': {
      const p = parseArgs(rest, [], ['json']);
      if (p.positional.length > 1) throw new UsageError('one host NAME, or all');
      const which = p.positional[0] ?? 'all';
      const hosts = which === 'all' ? await readHosts(env) : [await findHost(which, env)];
      const checks = await Promise.all(hosts.map((h) => checkRemoteHost(h, env)));
      if (p.flags.has('json')) io.out(`${JSON.stringify(checks, null, 2)}\n`);
      else if (checks.length === 0) io.out('no hosts (vmdeck host add NAME DEST)\n');
      else for (const c of checks) printCheck(c, io);
      return checks.every((c) => c.ok) ? 0 : 1;
    }
    default:
      throw new UsageError(sub ? `unknown subcommand '${sub}' (add, list, remove, check)` : 'a subcommand is needed (add, list, remove, check)');
  }
}
