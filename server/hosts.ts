// Other hosts over OpenSSH: `$VMDECK_HOME/hosts` (0600, JSON) and the ssh
// that reaches them. It is the system's ssh with the user's own keys, agent
// and known_hosts (VMDECK_SSH_CONFIG: an ssh_config for -F): BatchMode (no
// password prompt hidden in a server), StrictHostKeyChecking=yes (a host key
// is never accepted blindly; a changed one is refused before anything is
// sent) and one multiplexed connection per host, its ControlMaster socket in
// `$VMDECK_RUN/.hosts/` (0700). Every remote action is vmdeck itself run
// there, once its version is known to talk to ours.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  checkDest, checkHostName, checkVmdeckCommand, LOCAL_HOST, parseVersion, remoteCommand, sshDestination,
  sshRefusal, versionRefusal, versionsTalk, type HostEntry,
} from '../lib/hosts';
import { badInput, conflict, notFound, VmdeckError } from './errors';
import { trustedRunRoot, vmdeckHome } from './paths';
import { REPO } from './repo';

export type { HostEntry };

/** This vmdeck's version (package.json). */
export const VMDECK_VERSION: string = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version;

/** How long an idle multiplexed connection stays up. */
const CONTROL_PERSIST_S = 600;

export const hostsFile = (env = process.env) => join(vmdeckHome(env), 'hosts');

export async function readHosts(env = process.env): Promise<HostEntry[]> {
  let text: string;
  try {
    text = await readFile(hostsFile(env), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const v = JSON.parse(text) as { hosts?: HostEntry[] };
  return (v.hosts ?? []).filter((h) => typeof h.name === 'string' && typeof h.dest === 'string')
    .map((h) => ({ name: h.name, dest: h.dest, vmdeck: typeof h.vmdeck === 'string' && h.vmdeck ? h.vmdeck : 'vmdeck' }));
}

async function writeHosts(list: HostEntry[], env = process.env): Promise<void> {
  const file = hostsFile(env);
  await mkdir(vmdeckHome(env), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ hosts: list }, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

export function validateHost(entry: HostEntry): void {
  for (const [field, problem] of [['name', checkHostName(entry.name)], ['dest', checkDest(entry.dest)], ['vmdeck', checkVmdeckCommand(entry.vmdeck)]] as const) {
    if (problem) throw badInput(field, problem);
  }
}

export async function addHost(entry: HostEntry, env = process.env): Promise<void> {
  validateHost(entry);
  const list = await readHosts(env);
  if (list.some((h) => h.name === entry.name)) throw conflict(`name: a host '${entry.name}' exists already (vmdeck host remove ${entry.name} first)`, 'name');
  await writeHosts([...list, entry], env);
}

export async function removeHost(name: string, env = process.env): Promise<void> {
  const list = await readHosts(env);
  const entry = list.find((h) => h.name === name);
  if (!entry) throw notFound(`name: no host '${name}' (vmdeck host list)`, 'name');
  await closeConnection(entry, env).catch(() => undefined);
  await writeHosts(list.filter((h) => h.name !== name), env);
}

/** A host by name; a name that is none of them but looks like `user@host` is that destination, as ctys's targets. */
export async function findHost(name: string, env = process.env): Promise<HostEntry> {
  const hit = (await readHosts(env)).find((h) => h.name === name);
  if (hit) return hit;
  if (name.includes('@') && !checkDest(name)) return { name, dest: name, vmdeck: 'vmdeck' };
  throw notFound(checkHostName(name) === null ? `host: no host '${name}' (vmdeck host add ${name} [user@]host to add it)` : `host: '${name}' is neither a host name nor a user@host destination`, 'host');
}

/** `$VMDECK_RUN/.hosts`: control sockets, forwarded sockets, version notes. */
export async function hostsRunDir(): Promise<string> {
  const dir = join(await trustedRunRoot(), '.hosts');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * A host's file name in hostsRunDir: its name made plain (a destination given
 * directly may hold '@'), short enough for a socket's path, and a hash of the
 * name, the destination and the ssh config it is reached with. Named by the
 * name alone, a connection opened to one destination was used for another:
 * a refused `host add web hostA` left its master, and `host add web hostB`
 * then went to hostA; root@lab and a host named root_lab shared one.
 */
export const hostFileName = (host: HostEntry, env = process.env) =>
  `${host.name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 24)}-${createHash('sha256').update(`${host.name}\0${host.dest}\0${env.VMDECK_SSH_CONFIG ?? ''}`).digest('hex').slice(0, 12)}`;

/** ssh's options before the destination: the config file, the checks and the shared connection. */
export async function sshOptions(host: HostEntry, env = process.env): Promise<string[]> {
  const dir = await hostsRunDir();
  return [
    ...(env.VMDECK_SSH_CONFIG ? ['-F', env.VMDECK_SSH_CONFIG] : []),
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ControlMaster=auto',
    '-o', `ControlPath=${join(dir, `${hostFileName(host, env)}.ctl`)}`,
    '-o', `ControlPersist=${CONTROL_PERSIST_S}`,
    '-o', 'ServerAliveInterval=5',
    '-o', 'ServerAliveCountMax=3',
    '-o', 'StreamLocalBindUnlink=yes',
    '-o', 'ExitOnForwardFailure=yes',
    '-e', 'none',
  ];
}

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs ssh with these arguments to its end; 255 is ssh's own failure. */
export function runSsh(args: string[], input?: string, timeoutMs = 30000): Promise<SshResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => { stdout += d; });
    child.stderr!.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => { clearTimeout(timer); reject(e); });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === 'SIGKILL' ? 255 : 1), stdout, stderr: signal === 'SIGKILL' && !stderr ? `ssh: no answer in ${timeoutMs / 1000} s` : stderr });
    });
    if (child.stdin) {
      // ssh may be gone before it reads (a refusal): its answer says why, not EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
}

/** Runs vmdeck on the host with these arguments (over the shared connection) and collects what it says. */
export async function runRemote(host: HostEntry, args: string[], env = process.env, input?: string): Promise<SshResult> {
  const r = await runSsh([...(await sshOptions(host, env)), '-T', '--', sshDestination(host.dest), remoteCommand(host.vmdeck, args)], input);
  if (r.code === 255) throw new VmdeckError(500, sshRefusal(host.name, host.dest, r.stderr, env.VMDECK_SSH_CONFIG), 'host');
  return r;
}

/** The version note: which master connection it was learnt on, so a new connection asks again. */
interface VersionNote { version: string; master: string; vmdeck: string }

async function masterId(host: HostEntry, env = process.env): Promise<string | null> {
  const st = await stat(join(await hostsRunDir(), `${hostFileName(host, env)}.ctl`)).catch(() => null);
  return st ? `${st.ino}:${st.mtimeMs}` : null;
}

/**
 * Makes sure the host can be talked to: connected (ssh's refusal in one
 * line otherwise) and its vmdeck's version one that talks to ours (both
 * named otherwise). Asked once per master connection.
 */
export async function connectHost(host: HostEntry, env = process.env): Promise<{ version: string }> {
  const note = join(await hostsRunDir(), `${hostFileName(host, env)}.version`);
  const master = await masterId(host, env);
  if (master) {
    const known = await readFile(note, 'utf8').then((t) => JSON.parse(t) as VersionNote).catch(() => null);
    if (known && known.master === master && known.vmdeck === host.vmdeck && versionsTalk(known.version, VMDECK_VERSION)) return { version: known.version };
  }
  const r = await runRemote(host, ['--version'], env);
  const version = parseVersion(r.stdout);
  if (version === null || !versionsTalk(version, VMDECK_VERSION)) {
    throw new VmdeckError(409, versionRefusal(host.name, version, VMDECK_VERSION, `${r.stdout}\n${r.stderr}`, host.dest), 'host');
  }
  const now = await masterId(host, env);
  if (now) await writeFile(note, `${JSON.stringify({ version, master: now, vmdeck: host.vmdeck } satisfies VersionNote)}\n`, { mode: 0o600 });
  return { version };
}

/** Ends the shared connection (ssh -O exit); nothing when there is none. */
export async function closeConnection(host: HostEntry, env = process.env): Promise<void> {
  await runSsh([...(await sshOptions(host, env)), '-O', 'exit', '--', sshDestination(host.dest)], undefined, 5000);
  await rm(join(await hostsRunDir(), `${hostFileName(host, env)}.version`), { force: true });
}

/** The pid of the host's ControlMaster, or null when none runs. */
export async function masterPid(host: HostEntry, env = process.env): Promise<number | null> {
  const r = await runSsh([...(await sshOptions(host, env)), '-O', 'check', '--', sshDestination(host.dest)], undefined, 5000);
  const m = /pid=(\d+)/.exec(r.stderr);
  return r.code === 0 && m ? Number(m[1]) : null;
}

export interface HostCheck {
  name: string;
  dest: string;
  vmdeck: string;
  ok: boolean;
  /** The remote vmdeck's version, once it answered. */
  version?: string;
  /** Why the host cannot be used: ssh's one-line reason, or the versions. */
  error?: string;
  /** The host's own `vmdeck check --json`. */
  report?: unknown;
}

/** Connects, checks the version and asks the host's vmdeck check; never throws for a host that is down. */
export async function checkRemoteHost(host: HostEntry, env = process.env): Promise<HostCheck> {
  const base = { name: host.name, dest: host.dest, vmdeck: host.vmdeck };
  try {
    const { version } = await connectHost(host, env);
    const r = await runRemote(host, ['check', '--json'], env);
    let report: unknown;
    try {
      report = JSON.parse(r.stdout);
    } catch {
      return { ...base, ok: false, version, error: `host: ${host.name}: vmdeck check answered no report: ${r.stderr.trim().split('\n').pop() ?? ''}` };
    }
    return { ...base, ok: true, version, report };
  } catch (e) {
    return { ...base, ok: false, error: (e as Error).message };
  }
}

export const isLocal = (name: string) => name === LOCAL_HOST;
