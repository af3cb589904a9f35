// A command for another host: vmdeck itself, run there over the host's
// shared ssh connection once its version is known to talk to ours. The
// terminal is handed through (ssh -tt when this is one), so consoles and
// create-conf's questions work as they do here. `--host all` runs a
// listing command here and on every host.
import { spawn } from 'node:child_process';
import { ALL_HOSTS, LOCAL_HOST, remoteCommand, sshDestination, type Target } from '../../lib/hosts';
import { connectHost, findHost, readHosts, runRemote, sshOptions, type HostEntry } from '../hosts';
import { UsageError, type Io } from './args';
import { shellQuote } from '../../lib/ctys';

/** Runs `vmdeck ARGS` on the host with this terminal; resolves with its exit code. */
export async function passthrough(host: HostEntry, args: string[], io: Io): Promise<number> {
  await connectHost(host, io.env as NodeJS.ProcessEnv);
  const tty = Boolean(process.stdin.isTTY);
  // VMDECK_CALLED_AS: the name this host has for it, which its hints then give (vmdeck console L@NAME).
  // Through env(1): a login shell of csh's kind takes no NAME=value before a command.
  const command = `env ${shellQuote(`VMDECK_CALLED_AS=${host.name}`)} ${remoteCommand(host.vmdeck, args)}`;
  const argv = [...(await sshOptions(host, io.env as NodeJS.ProcessEnv)), tty ? '-tt' : '-T', '--', sshDestination(host.dest), command];
  return new Promise<number>((resolve, reject) => {
    const child = spawn('ssh', argv, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** `list|enumerate --host all`: a section per host; with --json one array whose entries name their host. */
async function everyHost(name: string, args: string[], io: Io, local: (io: Io) => Promise<number>): Promise<number> {
  if (name !== 'list' && name !== 'enumerate') throw new UsageError(`--host ${ALL_HOSTS} goes with list and enumerate`);
  const env = io.env as NodeJS.ProcessEnv;
  const hosts = await readHosts(env);
  const json = args.includes('--json');
  const machineRecords = name === 'enumerate' && (args.includes('--ctys') || args.some((a) => /^enumerate=(.*,)?machine(,|$)/i.test(a)));
  const captured = (code: number, out: string, err: string) => ({ code, out, err });
  const results = await Promise.all([
    (async () => {
      let out = '';
      let err = '';
      const code = await local({ ...io, out: (s) => { out += s; }, err: (s) => { err += s; } });
      return captured(code, out, err);
    })(),
    ...hosts.map(async (h) => {
      try {
        await connectHost(h, env);
        const r = await runRemote(h, [name, ...args], env);
        return captured(r.code, r.stdout, r.stderr);
      } catch (e) {
        return captured(1, json ? '[]' : '', `vmdeck ${name}: ${(e as Error).message}\n`);
      }
    }),
  ]);
  const names = [LOCAL_HOST, ...hosts.map((h) => h.name)];
  if (json) {
    const all = results.flatMap((r, i) => {
      try {
        return (JSON.parse(r.out) as object[]).map((v) => ({ host: names[i], ...v }));
      } catch {
        return [];
      }
    });
    io.out(`${JSON.stringify(all, null, 2)}\n`);
  } else if (machineRecords) {
    // ctys's machine records are for programs: records only (each names its machine), the title once.
    let titled = false;
    for (const r of results) {
      for (const line of r.out.split('\n').filter(Boolean)) {
        const title = line.startsWith('ContainingMachine;');
        if (!title || !titled) io.out(`${line}\n`);
        titled ||= title;
      }
    }
  } else {
    results.forEach((r, i) => io.out(`== ${names[i]}\n${r.out}`));
  }
  for (const r of results) if (r.err) io.err(r.err);
  return results.every((r) => r.code === 0) ? 0 : 1;
}

export async function runTargeted(name: string, target: Target, io: Io, local: (io: Io) => Promise<number>): Promise<number> {
  if (target.host === ALL_HOSTS) return everyHost(name, target.args, io, local);
  const host = await findHost(target.host, io.env as NodeJS.ProcessEnv);
  return passthrough(host, [name, ...target.args], io);
}
