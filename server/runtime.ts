// A VM's runtime directory as its wrapper and QEMU leave it: the pidfile, the
// sockets, the logs, and what they say about the VM's state. Nothing here is
// remembered between calls; the directory and /proc are the truth.
import { lstat, readdir, readFile, realpath, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createConnection } from 'node:net';
import { RESERVED_LABELS } from '../lib/spec';
import type { Pending, VmInfo, VmRuntime, VmState } from '../lib/vm';
import { conflict, VmdeckError } from './errors';
import { exists } from './fsutil';
import { runDir, runRoot, trustedRunRoot } from './paths';
import { processAlive } from './proc';
import { QmpClient } from './qmp';
import { findVm, readVmInfo } from './store';

export interface RuntimeStatus {
  state: VmState;
  pid?: number;
  /** Why the VM is not where one would expect it: a crash, a kill, a QEMU run state other than running/paused. */
  reason?: string;
  runDir: string;
  /** The console the wrapper was started with (VNC, SDL, CLI, CLI0, NONE). */
  console?: string;
  /** When QEMU started, ms since the epoch. */
  startedAt?: number;
  /** A running VM that seems stuck: no progress, or QEMU's KVM errors (server/progress.ts). */
  warning?: string;
  /** Config changes that wait for the next start (server/pending.ts). */
  pending?: Pending;
}

export interface RuntimePaths {
  dir: string;
  pidFile: string;
  qmp: string;
  qmpEvents: string;
  monitor: string;
  serial: string;
  vnc: string;
  serialLog: string;
  qemuLog: string;
  /** QEMU's stderr once daemonized (-D), emptied at each start. */
  qemuStderr: string;
  /** The wrapper writes the path of the VM's .ctys here, so a runtime dir leads back to its VM. */
  config: string;
  console: string;
}

export function runtimePaths(label: string): RuntimePaths {
  const dir = runDir(label);
  return {
    dir,
    pidFile: join(dir, 'qemu.pid'),
    qmp: join(dir, 'qmp.sock'),
    qmpEvents: join(dir, 'qmp-events.sock'),
    monitor: join(dir, 'monitor.sock'),
    serial: join(dir, 'serial.sock'),
    vnc: join(dir, 'vnc.sock'),
    serialLog: join(dir, 'serial.log'),
    qemuLog: join(dir, 'qemu.log'),
    qemuStderr: join(dir, 'qemu-stderr.log'),
    config: join(dir, 'config'),
    console: join(dir, 'console'),
  };
}

/** What the wrapper, QEMU and vmdeck leave in a runtime dir: a delete removes these and nothing else. */
const RUNTIME_FILES = new Set([
  'qemu.pid', 'qmp.sock', 'qmp-events.sock', 'monitor.sock', 'serial.sock', 'vnc.sock', 'serial.log', 'serial.log.1', 'serial.fifo',
  'qemu.log', 'qemu-stderr.log', 'lock', 'config', 'console', 'exit', 'serial.owner', 'monitor.owner', 'serial.start', 'progress',
  'pending', 'live', // server/pending.ts
  'swtpm.sock', 'swtpm.pid', 'swtpm.log', // TPM=2.0: the wrapper's swtpm
]);
/** Left behind by a process killed mid-way: screenshots (screen.ts), screen samples and progress writes (progress.ts). */
const RUNTIME_LEFTOVERS = /^(screendump-\d+-\d+\.(png|ppm)|progress-screen-\d+-\d+\.ppm|progress\.tmp-\d+-[0-9a-f]+)$/;

/**
 * The leftovers (RUNTIME_LEFTOVERS, each named by its process's pid) of
 * processes that are gone, in every VM's runtime dir: a server killed while
 * it sampled a screen left a 0.8 MB screen dump there for good. Asked when a
 * server starts.
 */
export async function removeDeadLeftovers(): Promise<number> {
  const root = await trustedRunRoot();
  let removed = 0;
  for (const label of await runtimeLabels(root).catch(() => [] as string[])) {
    for (const e of await readdir(join(root, label), { withFileTypes: true }).catch(() => [])) {
      const pid = Number(/^[a-z-]+?[.-](?:tmp-)?(\d+)-/.exec(e.name)?.[1]);
      if (!e.isFile() || !RUNTIME_LEFTOVERS.test(e.name) || !(pid > 0) || pid === process.pid || processAlive(pid)) continue;
      await unlink(join(root, label, e.name)).then(() => removed++, () => undefined);
    }
  }
  return removed;
}

/**
 * Removes a stopped VM's runtime dir with its logs, when it is surely this
 * VM's: a directory of ours (not a symlink) that names this VM's config, with
 * no QEMU running from it. Only vmdeck's own files go, each unlinked (a
 * symlink among them is removed, never followed); the directory itself only
 * if nothing else is left in it. Never rm -r.
 */
export async function removeRuntimeDir(vm: VmInfo): Promise<void> {
  const dir = join(await trustedRunRoot(), vm.label);
  const st = await lstat(dir).catch(() => null);
  if (!st?.isDirectory() || st.uid !== process.getuid?.()) return;
  // A VM of the same label in another base has a runtime dir of this name too.
  const recorded = (await readText(join(dir, 'config')))?.trim();
  if (!recorded) return;
  const same = async (a: string, b: string) => a === b || (await realpath(a).catch(() => a)) === (await realpath(b).catch(() => b));
  if (!(await same(recorded, vm.config))) return;
  const pid = await readPid(join(dir, 'qemu.pid'));
  if (pid !== undefined && (await isQemuOf(pid, dir))) return;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory() || !(RUNTIME_FILES.has(e.name) || RUNTIME_LEFTOVERS.test(e.name))) continue;
    await unlink(join(dir, e.name)).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err; });
  }
  await rmdir(dir).catch(() => undefined);
}

/** The saved state of a suspended VM, beside its config; the wrapper resumes from it. */
export const suspendFile = (vmDir: string, label: string) => join(vmDir, `${label}.suspend`);

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

export async function readPid(pidFile: string): Promise<number | undefined> {
  const text = await readText(pidFile);
  const pid = Number(text?.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The pid of the QEMU running from the label's runtime dir (its pidfile's, and that QEMU's own), or undefined. */
export async function runningQemuPid(label: string): Promise<number | undefined> {
  const p = runtimePaths(label);
  const pid = await readPid(p.pidFile).catch(() => undefined);
  return pid !== undefined && (await isQemuOf(pid, p.dir)) ? pid : undefined;
}

/**
 * True when pid is a live (not zombie) QEMU of this runtime dir: its command
 * line names the dir's pidfile, so a recycled pid is never mistaken for it.
 */
export async function isQemuOf(pid: number, dir: string): Promise<boolean> {
  if (!processAlive(pid)) return false;
  const cmdline = await readText(`/proc/${pid}/cmdline`);
  const pidFile = join(dir, 'qemu.pid');
  return Boolean(cmdline?.split('\0').some((a) => a.endsWith('qemu.pid') && resolve(a) === pidFile));
}

/** The labels of the runtime dirs in the runtime root (refused unless it is this user's alone). */
export async function runtimeLabels(root = runRoot()): Promise<string[]> {
  const entries = await readdir(await trustedRunRoot(root), { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && !RESERVED_LABELS.includes(e.name)).map((e) => e.name).sort();
}

/**
 * The path of the VM's config, as the wrapper recorded it in the runtime
 * dir; only a .ctys that is a regular file of this user's, since reading it
 * may mean running it with bash.
 */
export async function recordedConfig(label: string): Promise<string | undefined> {
  await trustedRunRoot();
  const config = (await readText(runtimePaths(label).config))?.trim();
  if (!config?.endsWith('.ctys')) return undefined;
  const st = await stat(config).catch(() => null);
  return st?.isFile() && st.uid === process.getuid?.() ? config : undefined;
}

const lines = (text: string | undefined) => (text ?? '').split('\n').map((l) => l.trimEnd()).filter((l) => l && !/module ui-ui/.test(l));

/**
 * What QEMU said since its last start: qemu.log from the wrapper's "starting"
 * line on (that line first), then QEMU's stderr once it daemonized.
 */
export async function qemuMessages(p: RuntimePaths): Promise<string[]> {
  const log = lines(await readText(p.qemuLog));
  let start = 0;
  log.forEach((l, i) => { if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d starting /.test(l)) start = i; });
  return [...log.slice(start), ...lines(await readText(p.qemuStderr))];
}

export async function lastLogLine(p: RuntimePaths): Promise<string> {
  const all = await qemuMessages(p);
  return all[all.length - 1] ?? '(qemu.log is empty)';
}

/** QEMU's run state (query-status) in vmdeck's words. */
export function stateOfRunstate(status: string): { state: VmState; reason?: string } {
  if (status === 'running') return { state: 'running' };
  // Paused by someone, or for a moment by QEMU itself: while it is started
  // with -S, saves or loads a snapshot, or saves or resumes a suspended state.
  if (status === 'paused' || PASSING_RUNSTATES.has(status)) return { state: 'paused' };
  // Stopped for QEMU's own reasons (panicked, an I/O error, …): the guest
  // does not run, so it is paused, and the reason says why.
  return { state: 'paused', reason: `QEMU run state: ${status}` };
}

const PASSING_RUNSTATES = new Set(['prelaunch', 'inmigrate', 'finish-migrate', 'postmigrate', 'save-vm', 'restore-vm']);

/** Resolves on the promise, or rejects after ms with message. */
export function within<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}

/**
 * Whether a UNIX socket's server is up, however busy: it takes a connection
 * (closed again at once), or its queue is full (EAGAIN: QEMU's QMP socket
 * holds one waiting client while another is served). Down is nobody
 * listening there (refused) or no socket at all.
 */
export function socketTakes(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection(path);
    const done = (up: boolean) => { clearTimeout(t); sock.destroy(); resolve(up); };
    const t = setTimeout(() => done(true), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', (e: NodeJS.ErrnoException) => done(!['ECONNREFUSED', 'ENOENT', 'ENOTSOCK', 'ENOTDIR', 'EACCES'].includes(e.code ?? '')));
  });
}

/** query-status on qmp.sock; undefined when QMP does not answer in time. */
export async function queryRunstate(qmpPath: string, timeoutMs = 3000): Promise<string | undefined> {
  let c: QmpClient | undefined;
  try {
    c = await QmpClient.connect(qmpPath, timeoutMs);
    const r = await within(c.execute<{ status: string }>('query-status'), timeoutMs, 'QMP: query-status timed out');
    return r.status;
  } catch {
    return undefined;
  } finally {
    c?.close();
  }
}

/**
 * The state of a VM from its runtime dir, /proc and QEMU's answer. vmDir is
 * the VM's directory (for its suspended state); runstate asks QEMU.
 */
export async function probe(label: string, vmDir: string | undefined, runstate: (p: RuntimePaths) => Promise<string | undefined>): Promise<RuntimeStatus> {
  await trustedRunRoot();
  const p = runtimePaths(label);
  const pid = await readPid(p.pidFile);
  if (pid !== undefined && (await isQemuOf(pid, p.dir))) {
    const [status, consoleText, pidStat] = await Promise.all([
      runstate(p), readText(p.console), stat(p.pidFile).catch(() => undefined),
    ]);
    // QMP may be busy with another client: the process is there, so it runs.
    const { state, reason } = status ? stateOfRunstate(status) : { state: 'running' as VmState, reason: undefined };
    return { state, pid, reason, runDir: p.dir, console: consoleText?.trim() || undefined, startedAt: pidStat ? Math.round(pidStat.mtimeMs) : undefined };
  }
  const dir = vmDir ?? (await recordedConfig(label).then((c) => (c ? dirname(c) : undefined)));
  if (dir && (await exists(suspendFile(dir, label)))) return { state: 'suspended', runDir: p.dir };
  // QEMU removes its pidfile as it exits: one left behind means it was killed
  // or crashed. (Read again: it may have gone while we looked at /proc.)
  if (pid !== undefined && (await readPid(p.pidFile)) === pid) {
    return { state: 'stopped', runDir: p.dir, reason: `QEMU (pid ${pid}) is gone: killed or crashed; last log line: ${await lastLogLine(p)}` };
  }
  return { state: 'stopped', runDir: p.dir };
}

export const isSocket = (path: string) => stat(path).then((s) => s.isSocket(), () => false);

/**
 * Where a VM's sockets and serial log are and when its QEMU started, for its
 * facts: only what exists now, nothing but the directory while it is stopped.
 */
export async function runtimeFacts(label: string, status: RuntimeStatus): Promise<VmRuntime> {
  await trustedRunRoot();
  const p = runtimePaths(label);
  const facts: VmRuntime = { runDir: status.runDir, sockets: {} };
  if (status.state !== 'running' && status.state !== 'paused') return facts;
  if (status.startedAt !== undefined) facts.startedAt = status.startedAt;
  // serial.sock is a symlink when QEMUMONSOCK put the socket elsewhere: name where it is.
  const serial = await realpath(p.serial).catch(() => p.serial);
  const found = await Promise.all(([['qmp', p.qmp], ['monitor', p.monitor], ['serial', serial], ['vnc', p.vnc]] as const)
    .map(async ([k, path]) => ((await isSocket(path)) ? [k, path] as const : null)));
  for (const f of found) if (f) facts.sockets[f[0]] = f[1];
  if (await exists(p.serialLog)) facts.serialLog = p.serialLog;
  return facts;
}

/** A VM by label or path; a running VM whose base is not configured is found through its runtime dir. */
export async function resolveVm(labelOrPath: string): Promise<VmInfo> {
  try {
    return await findVm(labelOrPath);
  } catch (e) {
    if (!(e instanceof VmdeckError) || e.status !== 404 || labelOrPath.includes('/')) throw e;
    const config = await recordedConfig(labelOrPath);
    const info = config ? await readVmInfo(config).catch(() => null) : null;
    if (!info) throw e;
    return info;
  }
}

export const notRunning = (label: string, extra = '') => conflict(`label: VM '${label}' is not running${extra}`, 'label');

/**
 * Why the VM's serial socket cannot be had: it is not running, or it runs
 * with its serial console on the terminal it was started from (console CLI,
 * QEMU's -serial stdio), which makes no socket.
 */
export async function noSerialSocket(label: string): Promise<VmdeckError> {
  const p = runtimePaths(label);
  const pid = await readPid(p.pidFile).catch(() => undefined);
  if (pid !== undefined && (await isQemuOf(pid, p.dir)) && !(await exists(p.serial))) {
    return conflict(`serial: VM '${label}' runs with its serial console on the terminal it was started from (console CLI): there is no serial socket to type into or read; start it with another console (VNC, NONE) for that`, 'serial');
  }
  return notRunning(label);
}

/** Runs fn on a QMP connection to a running VM; a VM that is not running is refused with 409. */
export async function withQmp<T>(vm: VmInfo, fn: (c: QmpClient) => Promise<T>, timeoutMs = 10000): Promise<T> {
  await trustedRunRoot();
  const p = runtimePaths(vm.label);
  const pid = await readPid(p.pidFile);
  if (pid === undefined || !(await isQemuOf(pid, p.dir))) {
    const suspended = await exists(suspendFile(vm.dir, vm.label));
    throw notRunning(vm.label, suspended ? ' (it is suspended: vmdeck start resumes it)' : '');
  }
  // A VM that stops meanwhile (a force off while a screenshot is taken) is
  // not running (409), not a QMP failure (500).
  const goneMeanwhile = async () => !(await isQemuOf(pid, p.dir));
  let c: QmpClient;
  try {
    c = await QmpClient.connect(p.qmp, timeoutMs);
  } catch (e) {
    if (await goneMeanwhile()) throw notRunning(vm.label);
    throw new VmdeckError(500, `qmp: VM '${vm.label}' does not answer on ${p.qmp}: ${(e as Error).message}`);
  }
  try {
    return await fn(c);
  } catch (e) {
    if (!(e instanceof VmdeckError && e.status < 500) && (await goneMeanwhile())) throw notRunning(vm.label);
    throw e;
  } finally {
    c.close();
  }
}

/** One QMP command with a bound on how long QEMU may take. */
export function qmpCall<T>(c: QmpClient, command: string, args?: Record<string, unknown>, timeoutMs = 30000): Promise<T> {
  return within(c.execute<T>(command, args), timeoutMs, `qmp: ${command} got no answer within ${timeoutMs / 1000} s`);
}

/** An HMP command through QMP; HMP reports failure as text, which becomes an error here. */
export async function hmpStrict(c: QmpClient, line: string, field: string, timeoutMs = 120000): Promise<string> {
  const out = (await qmpCall<string>(c, 'human-monitor-command', { 'command-line': line }, timeoutMs)).replace(/\r\n/g, '\n');
  const first = out.trim().split('\n')[0] ?? '';
  if (/^Error: /.test(first) || /^unknown command/.test(first)) {
    throw new VmdeckError(500, `${field}: ${line.split(' ')[0]} failed: ${first.replace(/^Error: /, '')}`, field);
  }
  return out;
}

/** The words of a QMP failure: QEMU's own error description, or what went wrong with the socket. */
export function qmpMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
