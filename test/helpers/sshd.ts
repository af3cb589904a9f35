// A real OpenSSH server per remote host, for the multi-host tests: Debian's
// /usr/sbin/sshd with its own host key and an authorized_keys holding a key
// the lab makes, in a network namespace of its own (a veth pair whose two
// addresses exist only on that link), or on a 127.0.0.x address where
// namespaces cannot be made. The remote side gets its own VMDECK_HOME and
// VMDECK_RUN through authorized_keys `environment=` (PermitUserEnvironment)
// and runs this worktree's bin/vmdeck.js. The system's sshd service is never
// touched. The client side is one ssh_config (VMDECK_SSH_CONFIG) naming every
// host of the lab, with a known_hosts that holds their keys.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { REPO } from './guest';

const SSHD = '/usr/sbin/sshd';

/** How the remote host runs vmdeck: this worktree's, with the node that runs the tests. */
export const REMOTE_VMDECK = `${process.execPath} ${join(REPO, 'bin/vmdeck.js')}`;

export interface SshHost {
  /** The alias in the lab's ssh_config (what `vmdeck host add NAME DEST` takes as DEST). */
  alias: string;
  address: string;
  port: number;
  /** The remote side's VMDECK_HOME and VMDECK_RUN. */
  home: string;
  run: string;
  /** The remote environment, for running vmdeck there directly (checks, cleanup). */
  env: NodeJS.ProcessEnv;
  /** argv run inside the host's network (its namespace), e.g. to list what listens there. */
  inNetwork(argv: string[]): string[];
  /** What sshd logged (LogLevel VERBOSE: every authentication is a line). */
  log(): string;
  /** A new host key, sshd restarted with it; known_hosts keeps the old one. */
  changeHostKey(): Promise<void>;
  stop(): Promise<void>;
}

export interface SshLab {
  dir: string;
  /** The ssh_config file, for VMDECK_SSH_CONFIG. */
  config: string;
  knownHosts: string;
  addHost(alias: string): Promise<SshHost>;
  cleanup(): Promise<void>;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function keygen(file: string, comment: string): string {
  rmSync(file, { force: true });
  rmSync(`${file}.pub`, { force: true });
  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** A free TCP port on an address (the fallback without namespaces). */
function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, address, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

let namespacesWork: boolean | undefined;
function canMakeNamespaces(): boolean {
  if (namespacesWork !== undefined) return namespacesWork;
  const probe = `vdk-probe-${process.pid}`;
  try {
    sh('ip', ['netns', 'add', probe]);
    sh('ip', ['netns', 'del', probe]);
    namespacesWork = true;
  } catch {
    namespacesWork = false;
  }
  return namespacesWork;
}

interface Network {
  address: string;
  port: number;
  /** Runs argv inside the host's network. */
  wrap(argv: string[]): string[];
  /** The pids of every process in it (for cleanup), or null when it is not a namespace. */
  pids(): number[] | null;
  remove(): void;
}

let hosts = 0;

async function makeNetwork(): Promise<Network> {
  const n = hosts++;
  if (!canMakeNamespaces()) {
    const address = `127.0.${(process.pid % 200) + 20}.${(n % 250) + 2}`;
    return { address, port: await freePort(address), wrap: (a) => a, pids: () => null, remove() {} };
  }
  // A /30 of the shared address space (RFC 6598), picked by pid and host number.
  const third = process.pid % 250;
  const fourth = (n % 60) * 4;
  const ns = `vdk-${process.pid}-${n}`;
  const outer = `vdk${process.pid % 100000}h${n}`;
  const inner = `vdk${process.pid % 100000}g${n}`;
  const hostSide = `100.100.${third}.${fourth + 1}`;
  const address = `100.100.${third}.${fourth + 2}`;
  sh('ip', ['netns', 'add', ns]);
  try {
    sh('ip', ['link', 'add', outer, 'type', 'veth', 'peer', 'name', inner]);
    sh('ip', ['link', 'set', inner, 'netns', ns]);
    sh('ip', ['addr', 'add', `${hostSide}/30`, 'dev', outer]);
    sh('ip', ['link', 'set', outer, 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${address}/30`, 'dev', inner]);
    sh('ip', ['-n', ns, 'link', 'set', inner, 'up']);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    try { sh('ip', ['netns', 'del', ns]); } catch { /* gone */ }
    try { sh('ip', ['link', 'del', outer]); } catch { /* gone with the namespace */ }
    throw e;
  }
  const pids = () => sh('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean).map(Number);
  return {
    address,
    port: 22,
    wrap: (a) => ['ip', 'netns', 'exec', ns, ...a],
    pids,
    remove() {
      for (const pid of pids()) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      try { sh('ip', ['netns', 'del', ns]); } catch { /* gone */ }
      try { sh('ip', ['link', 'del', outer]); } catch { /* went with the namespace */ }
    },
  };
}

/** The lab in `at` (made; the e2e names it in advance for the server's VMDECK_SSH_CONFIG), else in a new temporary directory. */
export function sshLab(at?: string): SshLab {
  const dir = at ?? mkdtempSync(join(tmpdir(), 'vd-ssh-'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = join(dir, 'ssh_config');
  const knownHosts = join(dir, 'known_hosts');
  const clientKey = join(dir, 'id_ed25519');
  const pub = keygen(clientKey, 'vmdeck-test-client');
  writeFileSync(config, `# The vmdeck test lab's hosts (test/helpers/sshd.ts)\n`, { mode: 0o600 });
  writeFileSync(knownHosts, '', { mode: 0o600 });
  // sshd refuses to start without its privilege separation directory (made by root; a user's sshd needs none).
  try { mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); } catch { /* not root */ }
  const made: SshHost[] = [];

  async function addHost(alias: string): Promise<SshHost> {
    const hdir = join(dir, alias);
    const home = join(hdir, 'home');
    const run = join(hdir, 'run');
    mkdirSync(home, { recursive: true });
    mkdirSync(run, { recursive: true, mode: 0o700 });
    const hostKey = join(hdir, 'host_key');
    let hostPub = keygen(hostKey, alias);
    const net = await makeNetwork();
    // `vmdeck` on the remote PATH is this worktree's, as an installed one would be.
    const bin = join(hdir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'vmdeck'), `#!/bin/sh\nexec ${REMOTE_VMDECK} "$@"\n`, { mode: 0o755 });
    // The test guests' kernels are media there too (the API takes files from the bases and media directories only).
    const remoteEnv = { VMDECK_HOME: home, VMDECK_RUN: run, VMDECK_BASES: '', VMDECK_MEDIA: join(REPO, '.cache', 'guest'), PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
    const envOptions = Object.entries(remoteEnv).map(([k, v]) => `environment="${k}=${v}"`).join(',');
    writeFileSync(join(hdir, 'authorized_keys'), `${envOptions} ${pub}\n`, { mode: 0o600 });
    const logFile = join(hdir, 'sshd.log');
    writeFileSync(join(hdir, 'sshd_config'), [
      `ListenAddress ${net.address}:${net.port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(hdir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(hdir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The lab lives under /tmp (mode 1777), which StrictModes refuses for authorized_keys.
      'StrictModes no',
      'PermitUserEnvironment yes',
      'AllowStreamLocalForwarding yes',
      'StreamLocalBindUnlink yes',
      // sshd gates forwarding to a UNIX socket by AllowTcpForwarding and PermitOpen too
      // ("no" and "none" deny it): local forwarding, as a default sshd allows.
      'AllowTcpForwarding local',
      'X11Forwarding no',
      'PrintMotd no',
      'MaxSessions 100',
      'MaxStartups 100',
      'LogLevel VERBOSE',
      '',
    ].join('\n'));
    const hostName = net.port === 22 ? net.address : `[${net.address}]:${net.port}`;
    appendFileSync(knownHosts, `${hostName} ${hostPub.split(' ').slice(0, 2).join(' ')}\n`);
    appendFileSync(config, [
      `Host ${alias}`,
      `  HostName ${net.address}`,
      `  Port ${net.port}`,
      `  User ${userInfo().username}`,
      `  IdentityFile ${clientKey}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHosts}`,
      '  GlobalKnownHostsFile /dev/null',
      '  ConnectTimeout 5',
      '',
    ].join('\n'));

    let proc: ChildProcess | null = null;
    const start = async () => {
      writeFileSync(logFile, '', { flag: 'a' });
      const argv = net.wrap([SSHD, '-D', '-f', join(hdir, 'sshd_config'), '-E', logFile]);
      proc = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
      // Listening once the log says so.
      const until = Date.now() + 10000;
      while (!/Server listening on/.test(readFileSync(logFile, 'utf8').split('\n').slice(-5).join('\n'))) {
        if (proc.exitCode !== null) throw new Error(`sshd exited: ${readFileSync(logFile, 'utf8')}`);
        if (Date.now() > until) throw new Error(`sshd did not listen: ${readFileSync(logFile, 'utf8')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const stopSshd = () => new Promise<void>((resolve) => {
      const p = proc;
      proc = null;
      if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
    await start();
    const host: SshHost = {
      alias,
      address: net.address,
      port: net.port,
      home,
      run,
      env: { ...process.env, ...remoteEnv },
      inNetwork: net.wrap,
      log: () => readFileSync(logFile, 'utf8'),
      async changeHostKey() {
        await stopSshd();
        hostPub = keygen(hostKey, `${alias}-new`);
        writeFileSync(logFile, '');
        await start();
      },
      async stop() {
        await stopSshd();
        net.remove();
      },
    };
    made.push(host);
    return host;
  }

  return {
    dir,
    config,
    knownHosts,
    addHost,
    async cleanup() {
      for (const h of made) await h.stop().catch(() => undefined);
      // Whatever the remote side left running in the fallback's shared network (QEMU, vmdeck serve).
      try { execFileSync('pkill', ['-9', '-f', `${dir}/`]); } catch { /* none left */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
