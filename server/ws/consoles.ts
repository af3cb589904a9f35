// The one registry of live consoles, reached by both the HTTP routes and the
// WebSocket endpoints: the serial and monitor hubs (one per VM each), the VNC
// bridges (one per browser client) and the CLI0 sessions (a pty per VM).
import { connect, type Socket } from 'node:net';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { IPty } from 'node-pty';
import type { WebSocket } from 'ws';
import type { VmInfo } from '../../lib/vm';
import { VmdeckError } from '../errors';
import { runDir } from '../paths';
import { vmStatus, startVmArgs, waitUntilUp, type StartOptions } from '../runner';
import { readPid, runtimePaths } from '../runtime';
import { claimConsole } from '../console-claim';
import { CLOSE } from './close-codes';
import { ConsoleHub, consoleClientCap, DEFAULT_LIMITS, tooManyClients, type HubStats } from './hub';
import { MonitorLineGuard, monitorUnsafe, MuxGuard } from '../../lib/console-guard';
import type { ConfigVars } from '../../lib/ctys';
import { evalConfig, readConfig } from '../config';
import { SlabReader, VncBridge } from './vnc';
import { task } from '../tasks';

export type SocketConsole = 'serial' | 'monitor';

const SOCKET_NAME: Record<SocketConsole, string> = { serial: 'serial.sock', monitor: 'monitor.sock' };

const hubs = new Map<string, ConsoleHub>();
/** Hubs being opened, so that clients arriving together share one. */
const opening = new Map<string, Promise<ConsoleHub>>();
const vncBridges = new Map<string, Set<VncBridge>>();
const cliSessions = new Map<string, { hub: ConsoleHub; pty: IPty }>();

const hubKey = (label: string, kind: string) => `${label}/${kind}`;

/** A refused console connection, as a close code the browser can act on. */
export class ConsoleRefused extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/**
 * QEMU listens on its console sockets with a short backlog (VNC's is 1), so
 * clients that come together find it full (EAGAIN): they try again for a
 * while, each after a short wait, rather than fail.
 */
const BUSY_RETRY_MS = 3000;

function connectUnix(path: string, what: string, label: string, onread?: SlabReader['onread']): Promise<Socket> {
  const until = Date.now() + BUSY_RETRY_MS;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = connect(onread ? { path, onread } : { path });
      sock.once('connect', () => {
        sock.removeAllListeners('error');
        resolve(sock);
      });
      sock.once('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EAGAIN' && Date.now() < until) {
          setTimeout(attempt, 10 + Math.random() * 40);
        } else if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
          reject(new ConsoleRefused(CLOSE.notRunning, `${what}: VM '${label}' is not running (no ${path})`));
        } else reject(new ConsoleRefused(CLOSE.internalError, `${what}: ${path}: ${e.message}`));
      });
    };
    attempt();
  });
}

/** The last `bytes` of serial.log up to its current end: what serial0 printed before we attached. */
async function logTail(path: string, bytes: number): Promise<Buffer> {
  try {
    const { size } = await stat(path);
    const start = Math.max(0, size - bytes);
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(size - start);
      const { bytesRead } = await fh.read(buf, 0, buf.length, start);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return Buffer.alloc(0);
  }
}

/** Whether the VM has really stopped, allowing QEMU a moment to finish exiting. */
async function hasStopped(vm: VmInfo, graceMs = 2000): Promise<boolean> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const s = await vmStatus(vm).catch(() => null);
    if (s && (s.state === 'stopped' || s.state === 'suspended')) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether the VM's config lifts the consoles' guards (MONITOR_UNSAFE=yes), read when a hub opens. */
async function configUnsafe(vm: VmInfo): Promise<boolean> {
  const read = await readConfig(vm.config).catch(() => null);
  if (!read) return false;
  let value = read.vars.MONITOR_UNSAFE;
  if (value === undefined && read.dynamic) value = (await evalConfig(vm.config, ['MONITOR_UNSAFE']).catch(() => ({} as ConfigVars))).MONITOR_UNSAFE;
  return monitorUnsafe(value);
}

/** The guard of a console that reaches an HMP monitor: the monitor's own line, or the serial line's Ctrl-a c. */
function guardFor(kind: SocketConsole | 'cli', unsafe: boolean): MonitorLineGuard | MuxGuard | undefined {
  if (unsafe) return undefined;
  return kind === 'monitor' ? new MonitorLineGuard() : new MuxGuard();
}

async function openSocketHub(vm: VmInfo, kind: SocketConsole): Promise<ConsoleHub> {
  const key = hubKey(vm.label, kind);
  const dir = runDir(vm.label);
  const guard = guardFor(kind, await configUnsafe(vm));
  const claim = claimConsole(dir, kind, 'the dashboard');
  if ('holder' in claim) {
    throw new ConsoleRefused(CLOSE.tryAgainLater, `${kind}: in use by ${claim.holder}; QEMU serves one client per socket`);
  }
  let sock: Socket;
  try {
    sock = await connectUnix(join(dir, SOCKET_NAME[kind]), kind, vm.label);
  } catch (e) {
    claim.release();
    throw e;
  }
  // Listeners for error and close before anything is awaited: connectUnix
  // dropped its own, and an 'error' nobody listens for ends the server.
  let hub: ConsoleHub | null = null;
  let lost = false;
  sock.on('error', () => { /* reported through close */ });
  sock.on('close', () => {
    lost = true;
    if (hub && !hub.isDisposed) void consoleLost(vm, hub, `${kind}: QEMU closed the console connection`);
  });
  // Output that arrives while serial.log is read comes after it.
  const early: Buffer[] = [];
  sock.on('data', (d: Buffer) => {
    (hub ? hub.output(d) : early.push(d));
    if (guard instanceof MuxGuard) {
      // The line may be (or be switched) on the monitor: see MuxGuard.
      const seen = guard.output(d);
      if (seen.toQemu) sock.write(seen.toQemu);
      if (seen.notice) {
        const notice = Buffer.from(`\r\nvmdeck: ${seen.notice}\r\n(qemu) `);
        (hub ? hub.output(notice) : early.push(notice));
      }
    }
  });
  const recent = kind === 'serial' ? await logTail(join(dir, 'serial.log'), DEFAULT_LIMITS.recentBytes) : null;
  if (lost) {
    // QEMU went away (or the connection broke) while the log was read.
    claim.release();
    const stopped = await hasStopped(vm);
    throw new ConsoleRefused(stopped ? CLOSE.vmStopped : CLOSE.internalError, stopped ? `VM '${vm.label}' stopped` : `${kind}: QEMU closed the console connection`);
  }
  // Whatever another program left on the monitor's line is not ours to enter.
  if (guard instanceof MonitorLineGuard) sock.write(MonitorLineGuard.reset());
  const opened: ConsoleHub = new ConsoleHub({
    name: kind,
    guard,
    onDispose: () => {
      if (hubs.get(key) === opened) hubs.delete(key);
      claim.release();
    },
  });
  if (recent) opened.seed(recent);
  for (const d of early) opened.output(d);
  opened.setLink({
    write: (d) => sock.write(d),
    pause: () => sock.pause(),
    resume: () => sock.resume(),
    close: () => sock.destroy(),
  });
  sock.on('drain', () => opened.drained());
  hub = opened;
  hubs.set(key, opened);
  return opened;
}

/** QEMU closed a hub's connection: the VM stopped, or (rarely) QEMU dropped the client. */
async function consoleLost(vm: VmInfo, hub: ConsoleHub, reason: string): Promise<void> {
  if (await hasStopped(vm)) hub.end(CLOSE.vmStopped, `VM '${vm.label}' stopped`);
  else hub.end(CLOSE.internalError, reason);
}

/** Attaches a browser client to the VM's serial console or monitor, shared with the other clients. */
export async function attachSocketConsole(ws: WebSocket, vm: VmInfo, kind: SocketConsole): Promise<void> {
  // A CLI0 VM's serial console is its pty.
  const cli = cliSessions.get(vm.label);
  if (kind === 'serial' && cli) {
    cli.hub.attach(ws);
    return;
  }
  const key = hubKey(vm.label, kind);
  const open = hubs.get(key);
  if (open && !open.isDisposed) {
    open.attach(ws);
    return;
  }
  let pending = opening.get(key);
  if (!pending) {
    pending = openSocketHub(vm, kind).finally(() => opening.delete(key));
    opening.set(key, pending);
  }
  (await pending).attach(ws);
}

/** Connects a browser client to the VM's VNC server: its own connection. */
export async function attachVnc(ws: WebSocket, vm: VmInfo): Promise<void> {
  const max = consoleClientCap();
  if ((vncBridges.get(vm.label)?.size ?? 0) >= max) throw new ConsoleRefused(CLOSE.tryAgainLater, tooManyClients('vnc', max));
  const reader = new SlabReader();
  const sock = await connectUnix(join(runDir(vm.label), 'vnc.sock'), 'vnc', vm.label, reader.onread);
  if (ws.readyState !== ws.OPEN) {
    sock.destroy();
    return;
  }
  let set = vncBridges.get(vm.label);
  if (!set) vncBridges.set(vm.label, (set = new Set()));
  const bridges = set;
  const bridge = new VncBridge(ws, sock, reader, (b) => {
    void hasStopped(vm).then((stopped) => {
      if (stopped) b.end(CLOSE.vmStopped, `VM '${vm.label}' stopped`);
      else b.end(CLOSE.normal, 'vnc: QEMU closed the VNC connection');
    });
  });
  bridges.add(bridge);
  ws.once('close', () => {
    bridges.delete(bridge);
    if (bridges.size === 0 && vncBridges.get(vm.label) === bridges) vncBridges.delete(vm.label);
  });
}

/** Attaches a browser client to the pty of a VM started with console CLI0. */
export function attachCli(ws: WebSocket, vm: VmInfo): void {
  const cli = cliSessions.get(vm.label);
  if (!cli) throw new ConsoleRefused(CLOSE.notRunning, `cli: VM '${vm.label}' is not running under the dashboard with console CLI0`);
  cli.hub.attach(ws);
}

export function hasCliSession(label: string): boolean {
  return cliSessions.has(label);
}

/**
 * Starts a VM with console CLI0 in a pty that the server holds: the VM
 * lives as long as the pty. Resolves once QEMU is up; rejects with the
 * wrapper's own complaint when it ends first.
 */
export function startCliSession(vm: VmInfo, options: StartOptions, timeoutMs = 30000): Promise<void> {
  return task('start', vm.label, { ...options, console: 'CLI0' }, () => startCliSessionNow(vm, options, timeoutMs));
}

async function startCliSessionNow(vm: VmInfo, options: StartOptions, timeoutMs: number): Promise<void> {
  const argv = startVmArgs(vm, { ...options, console: 'CLI0' });
  // Loaded here, not with the module: its native addon is no cost of every other command.
  const pty = await import('node-pty');
  // A QEMU that was killed left its pidfile: the wrapper replaces it, but
  // until then it names a dead QEMU that is not this start's.
  const stalePid = await readPid(runtimePaths(vm.label).pidFile);
  // Checked after the awaits, right before the session is taken.
  if (cliSessions.has(vm.label)) throw new VmdeckError(409, `label: VM '${vm.label}' is already running (console CLI0)`, 'label');
  const term = pty.spawn('bash', argv, {
    name: 'xterm-256color', cols: 80, rows: 24, cwd: vm.dir, env: process.env as Record<string, string>, encoding: null,
  });
  // The pty is QEMU's stdio, serial0 muxed with the monitor as on serial.sock.
  const hub = new ConsoleHub({ name: 'cli', persistent: true, guard: guardFor('cli', await configUnsafe(vm)) });
  const session = { hub, pty: term };
  cliSessions.set(vm.label, session);
  hub.setLink({
    write: (d) => {
      term.write(d);
      return true;
    },
    pause: () => term.pause(),
    resume: () => term.resume(),
    resize: (cols, rows) => term.resize(cols, rows),
    close: () => term.kill('SIGHUP'),
  });
  term.onData((d: string | Buffer) => hub.output(typeof d === 'string' ? Buffer.from(d) : d));
  let started = false;
  const exited = new Promise<{ exitCode: number }>((resolve) => {
    term.onExit((e) => {
      resolve(e);
      const current = cliSessions.get(vm.label) === session;
      if (current) cliSessions.delete(vm.label);
      // A wrapper that refused to start (e.g. already running) stopped nothing.
      if (started && current) {
        hub.end(CLOSE.vmStopped, `VM '${vm.label}' stopped`);
        vmStopped(vm.label);
      } else hub.dispose();
    });
  });
  const up = waitUntilUp(vm, timeoutMs, { ignorePid: stalePid });
  const first = await Promise.race([exited.then((e) => ({ exited: e })), up.then(() => ({ exited: null }), (err: Error) => ({ exited: null, err }))]);
  if (first.exited) {
    const lastLine = hub.recent().toString('utf8').trim().split('\n').pop()?.trim() ?? '';
    const message = lastLine.replace(/^[^:]*\.sh: /, '') || `the wrapper exited with status ${first.exited.exitCode}`;
    throw new VmdeckError(first.exited.exitCode === 3 ? 409 : 400, message, 'label');
  }
  if ('err' in first && first.err) {
    term.kill('SIGKILL');
    throw first.err;
  }
  started = true;
}

/** Every socket console of the VM closes with 4410; a client that comes back after a restart gets the new session. */
export function vmStopped(label: string, reason = `VM '${label}' stopped`): void {
  for (const kind of ['serial', 'monitor'] as const) {
    const key = hubKey(label, kind);
    hubs.get(key)?.end(CLOSE.vmStopped, reason);
    hubs.delete(key);
  }
  for (const bridge of vncBridges.get(label) ?? []) bridge.end(CLOSE.vmStopped, reason);
  vncBridges.delete(label);
  // A CLI0 session is not ended from here: its pty is the VM's life, and its end closes the session.
}

export interface ConsoleStats {
  label: string;
  console: string;
  stats: HubStats;
}

/** What every hub holds now (for tests and benchmarks: memory must stay bounded). */
export function consoleStats(): ConsoleStats[] {
  const out: ConsoleStats[] = [];
  for (const [key, hub] of hubs) {
    const [label, kind] = key.split('/');
    out.push({ label, console: kind, stats: hub.stats() });
  }
  for (const [label, { hub }] of cliSessions) out.push({ label, console: 'cli', stats: hub.stats() });
  return out;
}

/** Closes every console (server shutdown); the VMs keep running. */
export function closeAllConsoles(): void {
  for (const hub of hubs.values()) hub.end(CLOSE.goingAway, 'the dashboard is shutting down');
  hubs.clear();
  for (const set of vncBridges.values()) for (const b of set) b.end(CLOSE.goingAway, 'the dashboard is shutting down');
  vncBridges.clear();
  for (const { hub } of cliSessions.values()) hub.end(CLOSE.goingAway, 'the dashboard is shutting down');
}
