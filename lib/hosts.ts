// Other hosts, reached with OpenSSH (issue 14): the host entry, its checks,
// the remote command line and ssh's refusals in one line. Pure: the ssh
// processes are server/hosts.ts's.
import { shellQuote } from './ctys';

/** The local machine's name among the hosts. */
export const LOCAL_HOST = 'local';
/** `--host all`: the local machine and every host. */
export const ALL_HOSTS = 'all';

export interface HostEntry {
  name: string;
  /** As ssh takes it: `[user@]host[:port]` or an alias of the ssh config. */
  dest: string;
  /** How vmdeck is run there (words, each passed as one argument). */
  vmdeck: string;
}

export const HOST_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function checkHostName(name: string): string | null {
  if (!HOST_NAME_RE.test(name)) return `name: '${name}' is not a valid host name: use letters, digits, '.', '_' and '-' (at most 63), starting with a letter or digit`;
  if (name === LOCAL_HOST || name === ALL_HOSTS) return `name: '${name}' is reserved (${LOCAL_HOST} is this machine, ${ALL_HOSTS} every host)`;
  return null;
}

/** `[user@]host[:port]` or an ssh_config alias; never something ssh would read as an option. */
export function checkDest(dest: string): string | null {
  if (dest === '' || dest.startsWith('-') || /[\s'"\\`$;|&<>(){}*?]/.test(dest)) {
    return `dest: '${dest}' is not an ssh destination: use [user@]host[:port] or an alias of the ssh config`;
  }
  const port = /:(\d+)$/.exec(dest);
  if (port && (Number(port[1]) < 1 || Number(port[1]) > 65535)) return `dest: port ${port[1]} is not a port number (1-65535)`;
  return null;
}

export function checkVmdeckCommand(cmd: string): string | null {
  if (cmd.trim() === '') return 'vmdeck: the command that runs vmdeck on the host is empty';
  return null;
}

/**
 * The vmdeck command of a host added through the API (the dashboard's form):
 * vmdeck itself, by name or path, or node with the path of vmdeck.js. Any
 * other program (`sh -c …`, `node -e …`, a script of the client's) would let
 * a token's holder run what it likes on every host ssh reaches, this one
 * too; the CLI, whose user has a shell already, takes any command.
 */
export function checkApiVmdeckCommand(cmd: string): string | null {
  const empty = checkVmdeckCommand(cmd);
  if (empty) return empty;
  const words = cmd.trim().split(/\s+/);
  const plain = (w: string) => /^[A-Za-z0-9_@+./-]+$/.test(w) && !w.startsWith('-');
  const base = (w: string) => w.slice(w.lastIndexOf('/') + 1);
  const ok = words.every(plain) && (
    (words.length === 1 && /^vmdeck(\.js)?$/.test(base(words[0])))
    || (words.length === 2 && /^node(js)?$/.test(base(words[0])) && /^vmdeck(\.js)?$/.test(base(words[1]))));
  if (ok) return null;
  const shown = JSON.stringify(cmd).slice(1, -1);
  return `vmdeck: '${shown}' is not how vmdeck is run: through the dashboard, give vmdeck's path (/opt/vmdeck/bin/vmdeck.js) or node and that path; any other command only with vmdeck host add --vmdeck`;
}

/** What ssh is given as its destination: host:port becomes ssh://host:port, which ssh takes since 7.7. */
export function sshDestination(dest: string): string {
  return /^(?:[^@]+@)?[^:@]+:\d+$/.test(dest) ? `ssh://${dest}` : dest;
}

/**
 * The remote command line: ssh hands the remote shell one string, so every
 * word is quoted; the vmdeck command's words too (split on blanks, never
 * evaluated there).
 */
export function remoteCommand(vmdeck: string, args: readonly string[]): string {
  return [...vmdeck.trim().split(/\s+/), ...args].map(shellQuote).join(' ');
}

/**
 * What a host's answer may say to the browser: the headers vmdeck's own
 * routes send, and no others. The host is another machine: its cookies, its
 * Content-Security-Policy or X-Frame-Options must not replace this
 * dashboard's (set on every answer before it is routed), nor may it serve a
 * page on this origin: a type vmdeck's API does not answer with is sent as
 * bytes, and never sniffed.
 */
const PASSED = ['content-type', 'content-length', 'content-disposition', 'cache-control', 'allow', 'x-accel-buffering'];
const PASSED_TYPES = /^(application\/json|text\/plain|text\/event-stream|image\/png|application\/octet-stream)(;|$)/i;

export function passedHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of PASSED) {
    const v = headers[k];
    if (typeof v === 'string') out[k] = v;
  }
  if (out['content-type'] !== undefined && !PASSED_TYPES.test(out['content-type'].trim())) out['content-type'] = 'application/octet-stream';
  // Only an attachment: a host cannot make a download of its own show inline.
  if (out['content-disposition'] !== undefined && !/^attachment(;|$)/i.test(out['content-disposition'].trim())) delete out['content-disposition'];
  out['x-content-type-options'] = 'nosniff';
  return out;
}

/** `vmdeck 0.1.0` (what `vmdeck --version` prints) → `0.1.0`, or null. */
export function parseVersion(text: string): string | null {
  const m = /^vmdeck (\d+\.\d+\.\d+\S*)\s*$/m.exec(text);
  return m ? m[1] : null;
}

/** Two vmdecks talk when their major version is the same, and for 0.x their minor too. */
export function versionsTalk(a: string, b: string): boolean {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am === bm && (am !== 0 || an === bn);
}

export function versionRefusal(host: string, remote: string | null, local: string, said: string, dest = host): string {
  if (remote === null) {
    // The line that says what went wrong (node's 'Error: Cannot find module …'), not the last (node's version).
    const lines = said.split('\n').map((l) => l.trim()).filter(Boolean);
    const what = lines.find((l) => /error|not found|no such|denied/i.test(l)) ?? lines.pop() ?? 'nothing';
    // A user@host target is no host name: the command goes with a host added under a name.
    const fix = host === dest ? `add it under a name with its command: vmdeck host add NAME ${dest} --vmdeck CMD`
      : `set its command: vmdeck host remove ${host}, then vmdeck host add ${host} ${dest} --vmdeck CMD`;
    return `host: ${host}: its vmdeck did not say its version (it answered: ${what}); ${fix}`;
  }
  return `host: ${host} runs vmdeck ${remote} and this is vmdeck ${local}: they cannot talk; install vmdeck ${local} there (or this one's version there)`;
}

/**
 * ssh's own reason in one line, named after the host. A changed host key
 * is ssh's long warning: refused, with ssh's own `ssh-keygen -R` line.
 */
export function sshRefusal(host: string, dest: string, stderr: string, sshConfig?: string): string {
  // vmdeck's own ssh config names the aliases: the ssh to run by hand reads it too.
  const ssh = `ssh${sshConfig ? ` -F ${sshConfig}` : ''} ${dest}`;
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
    const fix = lines.find((l) => l.startsWith('ssh-keygen ')) ?? `ssh-keygen -R ${dest.replace(/^.*@/, '')}`;
    return `host: ${host} (${dest}): its host key has changed and ssh refused to connect (nothing was sent); if the change is expected, remove the old key with ${fix} and check the new one with ${ssh}`;
  }
  if (/host key is known for|Host key verification failed/.test(stderr)) {
    return `host: ${host} (${dest}): its host key is not known; check and accept it once with ${ssh}`;
  }
  const reason = lines.filter((l) => !/^Warning: Permanently added/.test(l)).pop() ?? 'ssh failed without a word';
  return `host: ${host} (${dest}): ${reason}`;
}

export interface Target {
  /** A host name of the hosts file, or a destination given directly (`user@host`). */
  host: string;
  /** The arguments with the target taken out (LABEL@H becomes LABEL). */
  args: string[];
}

/**
 * The target of a command line, as ctys takes it: `--host H` (or --host=H),
 * `LABEL@H`, or for a command without a label (list, enumerate, check, net
 * list) a lone `user@host`; with a ctys action string, which names the VM
 * itself (`-a create=l:X [user@]host`), the one word besides it. Null: the
 * command is for this machine.
 */
/** The flags of start, cancel and enumerate that take no value: a word after one of them is not its value. */
const VALUELESS_FLAGS = new Set(['--json', '--reuse', '--force', '--instmode', '--title', '--ctys', '--reset', '--pause', '--suspend', '--resume']);

export function takeTarget(args: readonly string[], labelFirst: boolean): Target | null {
  const rest = [...args];
  let host: string | null = null;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--') break;
    if (a === '--host' && i + 1 < rest.length) {
      host = rest[i + 1];
      rest.splice(i, 2);
      break;
    }
    if (a.startsWith('--host=')) {
      host = a.slice('--host='.length);
      rest.splice(i, 1);
      break;
    }
  }
  const action = rest.findIndex((a) => /^(create|cancel|enumerate)=/i.test(a));
  if (action >= 0 && host === null && (labelFirst || /^enumerate=/i.test(rest[action]))) {
    // ctys's `ctys -a cancel=l:X,force lab`: the VM in the action string, the host the last word, right
    // after the action string or a flag that takes no value (`--console VNC`'s VNC is no host).
    const last = rest.length - 1;
    const before = rest[last - 1];
    if (last > action && !rest[last].startsWith('-') && (last - 1 === action || VALUELESS_FLAGS.has(before))) {
      host = rest[last];
      rest.splice(last, 1);
    }
  }
  const at = rest.findIndex((a) => !a.startsWith('-') && !a.includes('=') && a.includes('@') && !a.includes('/'));
  if (at >= 0) {
    const word = rest[at];
    if (labelFirst) {
      const i = word.indexOf('@');
      if (host === null) host = word.slice(i + 1);
      rest[at] = word.slice(0, i);
    } else if (host === null) {
      host = word;
      rest.splice(at, 1);
    }
  }
  if (host === null || host === LOCAL_HOST) return host === LOCAL_HOST ? { host, args: rest } : null;
  return { host, args: rest };
}
