// The runner: starting a VM through its wrapper, stopping, pausing and
// suspending it over QMP, and finding the VMs that run. A running VM is a
// daemonized QEMU that needs nothing of vmdeck; every answer here comes from
// its runtime dir, /proc and QMP, never from memory.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { shellQuote } from '../lib/ctys';
import { labelError } from '../lib/spec';
import type { VmInfo, VmState } from '../lib/vm';
import { stateSaveRefusal } from '../lib/snapshots';
import { badInput, conflict, VmdeckError } from './errors';
import { exists, noSpaceLeft } from './fsutil';
import { kvmVerdict } from './kvm-probe';
import { processAlive, sleep } from './proc';
import { wrapperArgs } from './wrapper';
import { complaint, stripSelf } from '../lib/wrapper/complaint';
import {
  isQemuOf, notRunning, probe, qmpCall, qmpMessage, queryRunstate, readPid,
  qemuMessages, recordedConfig, removeRuntimeDir, resolveVm, runtimeLabels, runtimePaths, socketTakes, suspendFile, withQmp, type RuntimePaths, type RuntimeStatus,
} from './runtime';
import { CD_DRIVE } from './media';
import { pendingChanges, resumeBlocker } from './pending';
import { historyFile, trustedRunRoot } from './paths';
import { progressOf } from './progress';
import { recordText } from './enumerate-cache';
import { deleteVmFiles, enumerateFound, imageUsers, refuseBackingUse, filterVmstate, readVmInfo, SLICE, yieldToLoop, type SkippedConfig } from './store';
import { task, taskFailed, taskLabel, taskOutput } from './tasks';
import { withVmLock } from './vm-lock';

export type { RuntimeStatus } from './runtime';

/**
 * A VM's state from its runtime dir, /proc and QMP (query-status on qmp.sock);
 * a running VM's "no progress" warning too (sample: a fresh screen sample
 * first, see server/progress.ts).
 */
export async function vmStatus(vm: VmInfo, opts: { sample?: boolean } = {}): Promise<RuntimeStatus> {
  const status = await probe(vm.label, vm.dir, (p) => queryRunstate(p.qmp));
  const warning = await progressOf(vm.label, status, opts);
  if (status.state === 'running' || status.state === 'paused') status.pending = await pendingChanges(vm.label, vm.config, { pid: status.pid, memsize: vm.memsize, smp: vm.smp });
  return warning ? { ...status, warning } : status;
}

/** The VM with state, pid, reason and warning from a status. */
export function applyStatus(vm: VmInfo, s: RuntimeStatus): VmInfo {
  const out: VmInfo = { ...vm, state: s.state };
  delete out.pid;
  delete out.reason;
  delete out.warning;
  delete out.pending;
  if (s.pid !== undefined) out.pid = s.pid;
  if (s.reason !== undefined) out.reason = s.reason;
  if (s.warning !== undefined) out.warning = s.warning;
  if (s.pending !== undefined) out.pending = s.pending;
  return out;
}

/**
 * The VMs with state, pid and reason filled in. Only a VM with a runtime
 * directory can be running, paused or crashed: those are probed; for the
 * others (most of a large list) whether a saved state waits is all to know.
 */
export async function withStatus(vms: VmInfo[]): Promise<VmInfo[]> {
  if (vms.length === 0) return [];
  const { root, live } = await liveLabels();
  const probed = Promise.all(vms.map((vm) => (live.has(vm.label) ? vmStatus(vm) : null)));
  probed.catch(() => undefined); // awaited below; not unhandled while the loop yields
  const out: VmInfo[] = [];
  for (const [i, vm] of vms.entries()) {
    if (i % SLICE === SLICE - 1) await yieldToLoop();
    if (live.has(vm.label)) {
      out.push(vm); // filled in below
      continue;
    }
    // Its run directory is not there (not in live): no path.join for each of 10,000 VMs.
    out.push(applyStatus(vm, { state: stoppedState(vm), runDir: `${root}/${vm.label}` }));
  }
  (await probed).forEach((status, i) => { if (status) out[i] = applyStatus(vms[i], status); });
  return out;
}

/**
 * The records of `vmdeck enumerate --json` (recordText) of the VMs under the
 * bases that vmstate lets through (filterVmstate), in withStatus's states: a
 * stopped VM's is the text ENUMERATE kept (its facts not parsed); the
 * others' are made from their facts with withStatus. Whether a saved state
 * waits comes from the walk's listing of the VM's directory for a VM with
 * no runtime directory before the walk or after it: a suspend puts the
 * saved state in place while QEMU runs, so none came meanwhile.
 */
export async function enumerateRecords(baseList: string[], vmstate?: string, skipped?: SkippedConfig): Promise<string[]> {
  const before = (await liveLabels()).live;
  const found = filterVmstate(await enumerateFound(baseList, skipped), vmstate);
  if (found.length === 0) return [];
  const { root, live } = await liveLabels();
  const probed = await withStatus(found.filter((f) => live.has(f.label)).map((f) => f.info()));
  let next = 0;
  const out: string[] = [];
  for (const [i, f] of found.entries()) {
    if (i % SLICE === SLICE - 1) await yieldToLoop();
    if (live.has(f.label)) {
      out.push(recordText(probed[next++]));
      continue;
    }
    const state = before.has(f.label) ? stoppedState(f) : f.suspendListed ? 'suspended' : 'stopped';
    const text = state === 'stopped' ? f.stoppedText() : undefined;
    out.push(text ?? recordText(applyStatus(f.info(), { state, runDir: `${root}/${f.label}` })));
  }
  return out;
}

/** The run root and the labels with a runtime directory in it: only their VMs can be running, paused or crashed. */
async function liveLabels(): Promise<{ root: string; live: Set<string> }> {
  const root = await trustedRunRoot();
  return { root, live: new Set(await readdir(root).catch(() => [] as string[])) };
}

/** The state of a VM without a runtime directory: whether a saved state waits. */
const stoppedState = (vm: { dir: string; label: string }): VmState => (existsSync(suspendFile(vm.dir, vm.label)) ? 'suspended' : 'stopped');

// --- start ------------------------------------------------------------------

export interface StartOptions {
  /** VNC, SDL, CLI, CLI0 or NONE; the config's DEFAULTCONSOLE when absent. */
  console?: string;
  bootmode?: string;
  /** true: the config's install mode (--instmode); a string: --instmode=… */
  instmode?: string | true;
  kernelmode?: string;
  /** An already running VM is success, not a conflict. */
  reuse?: boolean;
  /** Also a TCP VNC display on 127.0.0.1 (--vncaccessdisplay=N). */
  vncDisplay?: number;
}

const START_TIMEOUT_MS = 30000;
const RESUME_TIMEOUT_MS = 90000;

/**
 * The wrapper and its options for a start, to run with bash (`bash ...args`):
 * what startVm runs, and what the CLI0 console's pty runs itself.
 */
export function startVmArgs(vm: VmInfo, opts: StartOptions = {}): string[] {
  const args: string[] = [];
  if (opts.console !== undefined) args.push(`--console=${opts.console.toUpperCase()}`);
  if (opts.bootmode !== undefined) args.push(`--bootmode=${opts.bootmode}`);
  if (opts.instmode === true) args.push('--instmode');
  else if (opts.instmode !== undefined) args.push(`--instmode=${opts.instmode}`);
  if (opts.kernelmode !== undefined) args.push(`--kernelmode=${opts.kernelmode}`);
  if (opts.vncDisplay !== undefined) {
    if (!Number.isInteger(opts.vncDisplay) || opts.vncDisplay < 0 || opts.vncDisplay > 99) {
      throw badInput('vncDisplay', `vncDisplay: '${opts.vncDisplay}' is not a display number 0-99`);
    }
    args.push(`--vncaccessdisplay=${opts.vncDisplay}`);
  }
  return wrapperArgs(vm, args);
}

function runWrapper(args: string[], timeoutMs: number): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Its own process group: a Ctrl-C meant for vmdeck never reaches a QEMU
    // that is still daemonizing.
    const child = spawn('bash', args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => { stderr += d; });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => { clearTimeout(t); reject(e); });
    child.once('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code: code ?? (signal ? 128 : 1), stderr });
    });
  });
}

/** The wrapper's one-line complaint ("<L>.sh: FIELD: message") as a VmdeckError. */
function wrapperError(stderr: string, code: number, log: string): VmdeckError {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const last = stripSelf(lines.pop() ?? `wrapper exited with status ${code}`);
  if (/^QEMU did not start/.test(last)) {
    // QEMU's last two lines: its last alone can be only the question after the cause
    // ("Could not open backing file: Failed to get shared \"write\" lock" / "Is another process using the image?").
    const said = lines.map((l) => l.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z? /, '').replace(/^qemu-system-\S+: /, ''));
    const cause = said.length ? said.slice(-2).join(' / ') : undefined;
    return new VmdeckError(500, `qemu: QEMU did not start${cause ? `: ${cause}` : ''} (log: ${log})`, 'qemu');
  }
  const said = stripSelf(complaint(stderr) ?? last);
  const m = /^(--[a-z]+|[A-Z][A-Z0-9_]*|runtime dir): /.exec(said);
  const field = m ? m[1].replace(/^--/, '').replace(/ /g, '') : undefined;
  return new VmdeckError(code === 2 ? 400 : m ? 400 : 500, said, field);
}

/** A VM that went away while starting, with what qemu.log says about it. */
async function startFailure(vm: VmInfo, pid: number | undefined, what: string): Promise<VmdeckError> {
  const p = runtimePaths(vm.label);
  const said = (await qemuMessages(p)).slice(1).map((l) => l.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z? /, ''));
  const cause = said.length ? said.slice(-2).join(' / ') : 'QEMU said nothing';
  return new VmdeckError(500, `qemu: QEMU${pid ? ` (pid ${pid})` : ''} exited while ${what}: ${cause} (logs: ${p.qemuLog}, ${p.qemuStderr})`, 'qemu');
}

/**
 * Waits until the VM's QEMU answers on QMP and any resume from a suspended
 * state has finished; throws with qemu.log's words if QEMU exits instead.
 */
export function waitUntilUp(vm: VmInfo, timeoutMs = START_TIMEOUT_MS, opts: { ignorePid?: number } = {}): Promise<RuntimeStatus> {
  return waitUp(vm, timeoutMs, false, opts.ignorePid);
}

/**
 * daemonized: the wrapper has returned, so QEMU wrote its pidfile already; none means it has exited.
 * ignorePid: the pid in the pidfile before the start (a QEMU that was killed left it): until the
 * wrapper replaces that file it is not the new QEMU, unless that pid is a live QEMU of this VM again.
 */
async function waitUp(vm: VmInfo, timeoutMs: number, daemonized: boolean, ignorePid?: number): Promise<RuntimeStatus> {
  const p = runtimePaths(vm.label);
  const deadline = Date.now() + timeoutMs;
  let seen: number | undefined;
  for (;;) {
    let pid = await readPid(p.pidFile);
    if (pid !== undefined && pid === ignorePid && seen === undefined && !(await isQemuOf(pid, p.dir))) pid = undefined;
    if (pid !== undefined) {
      if (!(await isQemuOf(pid, p.dir))) throw await startFailure(vm, pid, 'starting');
      seen = pid;
      const status = await queryRunstate(p.qmp, 2000);
      if (status && status !== 'inmigrate') return vmStatus(vm);
    } else if (seen !== undefined || daemonized) {
      // QEMU removes its pidfile as it exits.
      throw await startFailure(vm, seen, 'starting');
    }
    if (Date.now() > deadline) {
      throw new VmdeckError(500, `qemu: VM '${vm.label}' did not come up within ${Math.round(timeoutMs / 1000)} s (log: ${p.qemuLog})`, 'qemu');
    }
    await sleep(150);
  }
}

/**
 * Starts a VM by running its wrapper, detached: QEMU daemonizes and lives on
 * without vmdeck. Resolves once QMP answers (and a suspended VM has resumed).
 * Consoles CLI and CLI0 keep QEMU on a terminal: those are started by whoever
 * holds that terminal, with startVmArgs.
 */
/**
 * Refuses a VM whose config is gone before anything runs. A ctys config
 * needs no wrapper: vmdeck runs it through its own (server/wrapper.ts).
 */
export async function requireWrapper(vm: VmInfo): Promise<void> {
  if (!(await exists(vm.config))) {
    throw badInput('config', `config: '${vm.config}' does not exist any more`);
  }
}

const LOCK_WAIT_MS = 10000;

/** The pid of this VM's QEMU when it is up: in its pidfile, alive, its QMP socket taking connections (busy or not). */
async function lockHolderUp(p: RuntimePaths): Promise<number | undefined> {
  const pid = await readPid(p.pidFile);
  if (pid === undefined || !(await isQemuOf(pid, p.dir))) return undefined;
  return (await socketTakes(p.qmp)) ? pid : undefined;
}

async function startVmNow(labelOrPath: string, opts: StartOptions): Promise<VmInfo> {
  const vm = await resolveVm(labelOrPath);
  const console = (opts.console ?? vm.console ?? '').toUpperCase();
  if (console === 'CLI' || console === 'CLI0') {
    throw badInput('console', `console: ${console} keeps QEMU on a terminal; start it from a terminal (vmdeck start ${vm.label} --console=${console}) or in the dashboard's CLI console`);
  }
  const resuming = opts.instmode === undefined && (await exists(suspendFile(vm.dir, vm.label)));
  await requireWrapper(vm);
  // The wrapper refuses KVM where the probe found it does not run guests: probe first.
  if (vm.accelerator.toUpperCase() === 'KVM') await kvmVerdict();
  const p = runtimePaths(vm.label);
  // Refused for the lock: exit 3 with the wrapper's own words (a config is
  // bash, and one that exits 3 is no lock). By a QEMU that is up, the VM
  // runs. One that is still starting, or is exiting (a Start clicked as the
  // console says the VM stopped: QEMU has closed its sockets, not yet let go
  // of the lock), is waited for and the start tried again.
  const locked = (r: { code: number; stderr: string }) => r.code === 3 && /: VM '.*' is already running \(pid /.test(r.stderr);
  // While the wrapper reads the config and makes the runtime dir, no change or delete of the VM's files (vm-lock.ts).
  const { code, stderr } = await withVmLock(vm.label, 'start', async () => {
    let r = await runWrapper(startVmArgs(vm, opts), 60000);
    for (const deadline = Date.now() + LOCK_WAIT_MS; locked(r) && (await lockHolderUp(p)) === undefined && Date.now() < deadline;) {
      await sleep(200);
      r = await runWrapper(startVmArgs(vm, opts), 60000);
    }
    return r;
  });
  taskOutput(stderr);
  taskLabel(vm.label);
  if (locked({ code, stderr })) {
    if (!opts.reuse) {
      const pid = (await lockHolderUp(p)) ?? (await readPid(p.pidFile));
      // Paused, a Start means "go on": said how.
      const paused = (await queryRunstate(p.qmp, 2000)) === 'paused';
      throw conflict(`label: VM '${vm.label}' is already running (pid ${pid ?? '?'})${paused ? `, paused: vmdeck cancel ${vm.label} --resume (or Resume) continues it` : ''}`, 'label');
    }
  } else if (code !== 0) {
    throw wrapperError(stderr, code, p.qemuLog);
  }
  const resumed = `${suspendFile(vm.dir, vm.label)}.resumed`;
  try {
    await waitUp(vm, resuming ? RESUME_TIMEOUT_MS : START_TIMEOUT_MS, code === 0);
  } catch (e) {
    if (!resuming || !(e instanceof VmdeckError)) throw e;
    if (await exists(resumed)) throw new VmdeckError(e.status, `${e.message}; the saved state is kept as ${resumed} (rename it to ${vm.label}.suspend to try again)`, e.field);
    // QEMU gave up before it had read it all: every start would try it again.
    const saved = suspendFile(vm.dir, vm.label);
    if (await exists(saved)) throw new VmdeckError(e.status, `${e.message}; the saved state ${saved} was not loaded (every start tries it again): if it cannot be, remove or rename it to start the VM afresh, losing what ran in it`, e.field);
    throw e;
  }
  // The wrapper keeps a used state file as .resumed; once QEMU runs from it, it is only disk space.
  if (resuming) await Promise.all([rm(resumed, { force: true }), rm(`${suspendFile(vm.dir, vm.label)}.cd`, { force: true })]);
  return (await withStatus([vm]))[0];
}

// --- delete -----------------------------------------------------------------

export interface Deleted {
  deleted: string;
  /** The first disk's copy, kept (moved aside) when the disks are not deleted. */
  keptDisk?: string;
  keptDisks?: string[];
  /** Images it named that were not its own (outside its directory, or another VM's disk too): left where they are. */
  leftDisks?: string[];
}

/**
 * Deletes a stopped VM (or a suspended one: no QEMU runs, its saved state
 * goes with it): its runtime dir and logs first (that dir names the config),
 * then its files; its disks are kept, moved aside, unless deleteDisks.
 */
export function deleteVm(label: string, deleteDisks: boolean): Promise<Deleted> {
  return withVmLock(label, 'delete', () => deleteVmNow(label, deleteDisks));
}

async function deleteVmNow(label: string, deleteDisks: boolean): Promise<Deleted> {
  const [vm] = await withStatus([await resolveVm(label)]);
  if (vm.state !== 'stopped' && vm.state !== 'suspended') throw conflict(`label: VM '${vm.label}' is ${vm.state}; stop it before deleting it`, 'label');
  const users = await imageUsers(vm);
  refuseBackingUse(vm, users);
  await removeRuntimeDir(vm);
  const { keptDisk, keptDisks, leftDisks } = await deleteVmFiles(vm, deleteDisks, users);
  await rm(historyFile(vm.label), { force: true });
  return { deleted: vm.label, ...(keptDisk ? { keptDisk } : {}), ...(keptDisks.length ? { keptDisks } : {}), ...(leftDisks.length ? { leftDisks } : {}) };
}

// --- stop -------------------------------------------------------------------

export type StopMode = 'poweroff' | 'force' | 'reset' | 'pause' | 'resume' | 'suspend';

export interface StopOptions {
  mode: StopMode;
  /** poweroff: seconds to wait for the guest to power off (default 20). */
  timeout?: number;
  /** poweroff: quit QEMU when the guest has not powered off in time. */
  force?: boolean;
}

const STOP_MODES: readonly StopMode[] = ['poweroff', 'force', 'reset', 'pause', 'resume', 'suspend'];
const DEFAULT_POWEROFF_S = 20;

/** Waits until the QEMU with pid has exited; true if it did within ms. */
async function waitGone(pid: number, dir: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (await isQemuOf(pid, dir)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** QMP quit; when QEMU does not answer or does not go, SIGTERM, then SIGKILL. */
async function forceQuit(vm: VmInfo, pid: number): Promise<string | undefined> {
  const p = runtimePaths(vm.label);
  try {
    await withQmp(vm, (c) => qmpCall(c, 'quit', undefined, 5000), 3000);
  } catch {
    // QMP is wedged or gone: signals below.
  }
  if (await waitGone(pid, p.dir, 10000)) return undefined;
  process.kill(pid, 'SIGTERM');
  if (await waitGone(pid, p.dir, 3000)) return undefined;
  process.kill(pid, 'SIGKILL');
  await waitGone(pid, p.dir, 3000);
  // Our own kill: its leftover pidfile must not read as a crash.
  await rm(p.pidFile, { force: true });
  return `QEMU (pid ${pid}) did not quit; ended with SIGKILL`;
}

/** Saves the VM's state to <dir>/<LABEL>.suspend and quits; the next start resumes it. */
async function suspend(vm: VmInfo, pid: number): Promise<void> {
  const p = runtimePaths(vm.label);
  // Saved now, its state would not load into what the next start makes: the VM would be stuck suspended.
  const blocker = await resumeBlocker(vm.label, vm.config, { pid, memsize: vm.memsize, smp: vm.smp });
  if (blocker) {
    throw conflict(`suspend: VM '${vm.label}' ${blocker}: its saved state would not load into the VM its next start makes; stop it and start it again (the start takes the change), then suspend; it keeps running`, 'suspend');
  }
  const target = suspendFile(vm.dir, vm.label);
  // Named by this process: one that dies meanwhile leaves a save that the next dashboard finishes (finishInterruptedSuspends).
  const part = `${target}.part-${process.pid}`;
  // A live migration, not stop-then-migrate: the stream then records the
  // guest as running, so QEMU resumes it running on its own, even when the
  // wrapper is started by hand. A paused VM stays paused across it.
  await withQmp(vm, async (c) => {
    // What is in the CD/DVD drive now (a medium changed while it ran is not
    // in the config): the wrapper puts it back in the drive when it resumes.
    const blocks = await qmpCall<{ device: string; inserted?: { file?: string } }[]>(c, 'query-block');
    const cd = blocks.find((b) => b.device === CD_DRIVE);
    if (cd) await writeFile(`${target}.cd`, `${cd.inserted?.file ?? ''}\n`, { mode: 0o600 });
    else await rm(`${target}.cd`, { force: true });
    await qmpCall(c, 'migrate-set-parameters', { 'max-bandwidth': 8 * 1024 ** 3 });
    // The guest's memory, the user's only: QEMU daemonized with umask 027, which its shell would keep.
    await qmpCall(c, 'migrate', { uri: `exec:umask 077 && cat > ${shellQuote(part)}` }).catch(async (e: unknown) => {
      // Refused at once (a migration blocker: CLIPBOARD=vdagent): nothing was saved, the VM runs on.
      await Promise.all([rm(part, { force: true }), rm(`${target}.cd`, { force: true })]);
      const said = qmpMessage(e);
      throw conflict(stateSaveRefusal(vm.label, said, 'suspend') ?? `suspend: QEMU would not save the state of VM '${vm.label}': ${said}; it keeps running`, 'suspend');
    });
  });
  const started = Date.now();
  let relaxed = false;
  for (;;) {
    await sleep(100);
    const info = await withQmp(vm, (c) => qmpCall<{ status?: string; 'error-desc'?: string }>(c, 'query-migrate'));
    if (info.status === 'completed') break;
    if (info.status === 'failed' || info.status === 'cancelled') {
      await Promise.all([rm(part, { force: true }), rm(`${target}.cd`, { force: true })]);
      // A full disk shows up inside QEMU as the writer's broken pipe: say the cause (the space is checked with the part removed, as it was).
      const full = await noSpaceLeft(dirname(target));
      const why = full ? `${full}; QEMU said: ${info['error-desc'] ?? info.status}` : info['error-desc'] ?? info.status;
      throw new VmdeckError(500, `suspend: saving the state of VM '${vm.label}' failed: ${why}; it keeps running`, 'suspend');
    }
    const waited = Date.now() - started;
    if (waited > 10000 && !relaxed) {
      // A guest that dirties memory faster than it is saved: allow a longer final pause.
      await withQmp(vm, (c) => qmpCall(c, 'migrate-set-parameters', { 'downtime-limit': 5000 }));
      relaxed = true;
    }
    if (waited > 120000) {
      await withQmp(vm, (c) => qmpCall(c, 'migrate_cancel')).catch(() => undefined);
      await Promise.all([rm(part, { force: true }), rm(`${target}.cd`, { force: true })]);
      throw new VmdeckError(500, `suspend: saving the state of VM '${vm.label}' did not finish within 120 s; it keeps running`, 'suspend');
    }
  }
  await rename(part, target);
  const killed = await forceQuit(vm, pid);
  if (killed) throw new VmdeckError(500, `suspend: state saved to ${target}, but ${killed}`, 'suspend');
}

/**
 * A suspend whose process died (a dashboard killed, a `vmdeck cancel
 * --suspend` interrupted) leaves QEMU saving, or saved and paused, and a
 * `<L>.suspend.part-PID`: QEMU finishes the save by itself, so it is taken
 * as the suspend it was meant to be (renamed, QEMU quit), or, when the save
 * failed or QEMU is gone, the part is removed and the VM runs on as it is.
 * Said in one line per VM; the dashboard calls it when it starts.
 */
export async function finishInterruptedSuspends(vms: readonly VmInfo[], report: (line: string) => void = () => {}): Promise<void> {
  for (const vm of vms) {
    const target = suspendFile(vm.dir, vm.label);
    const parts = (await readdir(vm.dir).catch(() => [] as string[])).filter((f) => f.startsWith(`${basename(target)}.part`));
    for (const name of parts) {
      const owner = Number(/\.part-(\d+)$/.exec(name)?.[1]);
      if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) continue;
      const part = join(vm.dir, name);
      const p = runtimePaths(vm.label);
      const pid = await readPid(p.pidFile);
      const live = pid !== undefined && (await isQemuOf(pid, p.dir));
      let status = 'gone';
      for (let waited = 0; live && waited < 120_000; waited += 200) {
        status = (await withQmp(vm, (c) => qmpCall<{ status?: string }>(c, 'query-migrate')).catch(() => ({ status: 'gone' }))).status ?? 'none';
        if (status !== 'active' && status !== 'setup' && status !== 'device' && status !== 'pre-switchover') break;
        await sleep(200);
      }
      if (live && status === 'completed' && !(await exists(target))) {
        await rename(part, target);
        const killed = await forceQuit(vm, pid!);
        report(`suspend: VM '${vm.label}': the save a process that ended left was complete; ${killed ?? 'it is suspended'}`);
      } else {
        await Promise.all([rm(part, { force: true }), rm(`${target}.cd`, { force: true })]);
        report(`suspend: VM '${vm.label}': removed ${name}, a save that did not complete (${status}); the VM is as it was`);
      }
    }
  }
}

/**
 * Stops, resets, pauses, resumes or suspends a running VM. A poweroff that
 * the guest ignores, without force, reports the VM still running with a
 * reason (the CLI prints it and exits 1).
 */
async function stopVmNow(label: string, opts: StopOptions): Promise<RuntimeStatus> {
  if (!STOP_MODES.includes(opts.mode)) throw badInput('mode', `mode: '${opts.mode}' is not one of ${STOP_MODES.join(', ')}`);
  const timeout = opts.timeout ?? DEFAULT_POWEROFF_S;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0 || timeout > 3600) {
    throw badInput('timeout', `timeout: '${opts.timeout}' is not a number of seconds from 0 to 3600`);
  }
  // A VM whose directory was moved or deleted under it runs on: it is still stopped by its label.
  const vm = await resolveVm(label).catch(async (e: unknown) => {
    const orphan = await runningOrphan(label);
    if (!orphan) throw e;
    return orphan;
  });
  if (opts.mode === 'suspend' && !(await exists(vm.config))) {
    throw conflict(`suspend: the config of VM '${vm.label}' is gone (moved or deleted while it ran): nothing could resume its saved state; stop it instead (vmdeck cancel ${vm.label} --force)`, 'suspend');
  }
  const before = await vmStatus(vm);
  if (before.pid === undefined || (before.state !== 'running' && before.state !== 'paused')) {
    throw notRunning(vm.label, before.state === 'suspended' ? ' (it is suspended: vmdeck start resumes it)' : '');
  }
  const pid = before.pid;
  const dir = runtimePaths(vm.label).dir;
  const qmp = (command: string, args?: Record<string, unknown>) => withQmp(vm, (c) => qmpCall(c, command, args)).catch((e) => {
    if (e instanceof VmdeckError) throw e;
    throw new VmdeckError(500, `qmp: ${command} failed for VM '${vm.label}': ${qmpMessage(e)}`);
  });

  switch (opts.mode) {
    case 'poweroff': {
      await qmp('system_powerdown');
      if (await waitGone(pid, dir, timeout * 1000)) return vmStatus(vm);
      if (opts.force) {
        const killed = await forceQuit(vm, pid);
        return { ...(await vmStatus(vm)), reason: killed ?? `the guest did not power off within ${timeout} s; QEMU quit` };
      }
      const now = await vmStatus(vm);
      return {
        ...now,
        reason: `guest did not power off within ${timeout} s${now.state === 'paused' ? ' (the VM is paused)' : ' (it may ignore the ACPI power button)'}`,
      };
    }
    case 'force': {
      const killed = await forceQuit(vm, pid);
      const after = await vmStatus(vm);
      return killed ? { ...after, reason: killed } : after;
    }
    case 'reset':
      await qmp('system_reset');
      return vmStatus(vm);
    case 'pause':
      await qmp('stop');
      return vmStatus(vm);
    case 'resume':
      await qmp('cont');
      return vmStatus(vm);
    case 'suspend':
      await suspend(vm, pid);
      return vmStatus(vm);
  }
}

// --- running VMs ------------------------------------------------------------

/** What can be said of a running VM whose config cannot be read any more. */
function orphanInfo(label: string, config: string): VmInfo {
  return {
    label, uuid: '', mac: '', ip: '', interfaces: [], vmstate: '', dist: '', distrel: '', os: '', osrel: '', arch: '', accelerator: '', qemu: '',
    memsize: 0, smp: 0, console: '', template: '', dir: config ? dirname(config) : '', config,
    wrapper: config.replace(/\.ctys$/, '.sh'), disk: '', disks: [], nics: [], cds: [], floppies: [], source: 'ctys', dynamic: false, state: 'running',
  };
}

/**
 * The VM whose QEMU runs in this label's runtime dir, through the config
 * path the wrapper recorded (its facts, or only what the runtime dir tells
 * when that config is gone); null when none runs.
 */
async function runningByRuntime(label: string): Promise<VmInfo | null> {
  const p = runtimePaths(label);
  const pid = await readPid(p.pidFile);
  if (pid === undefined || !(await isQemuOf(pid, p.dir))) return null;
  const config = (await recordedConfig(label)) ?? '';
  const info = (config ? await readVmInfo(config).catch(() => null) : null) ?? orphanInfo(label, config);
  // The runtime dir is named after the label the wrapper used.
  return info.label === label ? info : { ...info, label };
}

/**
 * A running VM that no base has (its directory moved or deleted under it,
 * or outside the bases), by its label, with a warning that says so.
 */
export async function runningOrphan(label: string): Promise<VmInfo | null> {
  if (labelError(label)) return null;
  const vm = await runningByRuntime(label).catch(() => null);
  if (!vm) return null;
  const said = vm.config
    ? `its config '${vm.config}' is under no base (VMDECK_BASES): vmdeck finds it only while it runs`
    : `its config is gone (moved or deleted while it ran, recorded as '${(await readFile(runtimePaths(label).config, 'utf8').catch(() => '')).trim() || '?'}'): it runs until stopped, and cannot be started again`;
  // Its config gone, its console is what its runtime dir has: the screen when QEMU has a VNC socket.
  const console = vm.console || (existsSync(join(runtimePaths(label).dir, 'vnc.sock')) ? 'VNC' : 'NONE');
  return { ...vm, console, warnings: [...(vm.warnings ?? []), said] };
}

/** The VM of a label (resolveVm), or, where no base has it, the one that runs by that label (runningOrphan); resolveVm's 404 otherwise. */
export async function resolveOrOrphan(label: string): Promise<VmInfo> {
  return resolveVm(label).catch(async (e: unknown) => {
    const orphan = (e as { status?: number }).status === 404 ? await runningOrphan(label) : null;
    if (!orphan) throw e;
    return orphan;
  });
}

/** The VMs that run and that ENUMERATE did not find (runningOrphan), beside those it found (known, by label). */
export async function runningUnlisted(known: ReadonlySet<string>): Promise<VmInfo[]> {
  const labels = (await runtimeLabels().catch(() => [] as string[])).filter((l) => !known.has(l));
  return (await Promise.all(labels.map(runningOrphan))).filter((v): v is VmInfo => v !== null);
}

/**
 * The VMs whose QEMU runs now, found in the runtime root whoever started
 * them (vmdeck, the dashboard, or the wrapper by hand), each mapped to its
 * VM through the config path the wrapper recorded.
 */
export async function listRunning(): Promise<VmInfo[]> {
  const labels = await runtimeLabels();
  const found = await Promise.all(labels.map(runningByRuntime));
  const running = await withStatus(found.filter((v): v is VmInfo => v !== null));
  return running.filter((v) => v.state === 'running' || v.state === 'paused');
}

// --- as tasks ---------------------------------------------------------------

/** Starts a VM (startVmNow), recorded in the task log. */
export function startVm(labelOrPath: string, opts: StartOptions = {}): Promise<VmInfo> {
  return task('start', labelOrPath, { ...opts }, () => startVmNow(labelOrPath, opts));
}

/** Stops, resets, pauses, resumes or suspends a VM (stopVmNow), recorded in the task log; a poweroff the guest ignored is a failed task. */
export function stopVm(label: string, opts: StopOptions): Promise<RuntimeStatus> {
  return task(`stop:${opts.mode}`, label, { ...opts }, async () => {
    const status = await stopVmNow(label, opts);
    if (opts.mode === 'poweroff' && status.state !== 'stopped') taskFailed(`VM '${label}' is still ${status.state}: ${status.reason ?? 'it did not power off'}`);
    else if (status.reason) taskOutput(status.reason);
    return status;
  });
}
