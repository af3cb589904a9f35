// VDE switches for VMs, as ctys-setupVDE made them: a vde_switch run as the
// user, daemonized, with its files in $VMDECK_RUN/net/ (0700):
//   <NAME>/       the switch directory; a VM with NETMODE=vde QEMUSOCK=<NAME> plugs in here
//   <NAME>.mgmt   the management socket (port/allprint, hash/print, ...)
//   <NAME>.pid    the switch's pidfile
//   <NAME>.json   what vmdeck set up around it (TAP device, bridge), to undo on cancel
// `vmdeck net` and the dashboard's network page both call these functions.
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ifaceNameError, labelFromQemuArgv, parseHashTable, parsePortTable, SWITCH_NAME_RE, switchNameError,
  type CancelResult, type SwitchInfo, type SwitchPort,
} from '../lib/net';
import { badInput, conflict, notFound, VmdeckError } from './errors';
import { exists } from './fsutil';
import { runRoot, trustedRunRoot } from './paths';
import { processArgv, run, sleep } from './proc';
import { runtimeLabels } from './runtime';
import { enumerate } from './store';
import { vdeCommand } from './vde';
import { task } from './tasks';
import { bootServerPid, checkBootOptions, startBootServer, stopBootServer, type BootServerOptions } from './net-boot';

export type { CancelResult, SwitchInfo, SwitchPort } from '../lib/net';

export interface CreateSwitchOptions extends BootServerOptions {
  /** Also connect the switch to this TAP device (root only), created when missing. */
  tap?: string;
  /** Enslave the TAP device to this bridge, created when missing. */
  bridge?: string;
  /**
   * Through the API: a bridge of the host's own (one that exists) is joined
   * only when VMDECK_API_BRIDGES names it, since it puts the switch's VMs on
   * that bridge's network (the LAN, often), as a port forward on 0.0.0.0
   * would; a bridge the switch makes for itself is always taken.
   */
  confined?: boolean;
}

/** The host bridges the API may join (VMDECK_API_BRIDGES, names apart by commas or blanks). */
export const apiBridges = (): string[] => (process.env.VMDECK_API_BRIDGES ?? '').split(/[\s,]+/).filter(Boolean);

interface SwitchMeta {
  tap: string | null;
  bridge: string | null;
  tapCreated: boolean;
  bridgeCreated: boolean;
  created: string;
  /** The boot server on the switch (net-boot.ts), when asked for. */
  boot?: { pxe: string | null; bootfile: string | null } | null;
}

export function netDir(env = process.env): string {
  return join(runRoot(env), 'net');
}

function switchFiles(name: string) {
  const base = join(netDir(), name);
  return { dir: base, mgmt: `${base}.mgmt`, pidfile: `${base}.pid`, meta: `${base}.json`, boot: `${base}.boot.pid` };
}
type SwitchFiles = ReturnType<typeof switchFiles>;

function checkName(name: string): void {
  const err = switchNameError(name);
  if (err) throw badInput('name', err);
}

/** `ip ARGS`, failing with a one-line error on FIELD. */
async function ip(field: string, args: string[]): Promise<void> {
  try {
    await run('ip', args, { timeout: 10000 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new VmdeckError(500, `${field}: the ip command is missing (apt-get install iproute2)`, field);
    throw new VmdeckError(500, `${field}: ip ${args.join(' ')} failed: ${(err.stderr || err.message).trim().split('\n')[0]}`, field);
  }
}

/** The pid of the switch's vde_switch, or null when it is not running. */
async function switchPid(f: SwitchFiles): Promise<number | null> {
  const pid = Number((await readFile(f.pidfile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const argv = await processArgv(pid);
  return argv && /(^|\/)vde_switch$/.test(argv[0]) ? pid : null;
}

async function readMeta(f: SwitchFiles): Promise<SwitchMeta | null> {
  try {
    return JSON.parse(await readFile(f.meta, 'utf8')) as SwitchMeta;
  } catch {
    return null;
  }
}

/** Whether another switch of vmdeck's made this bridge (its saved settings say so): not the host's own. */
async function madeByVmdeck(bridge: string): Promise<boolean> {
  const entries = await readdir(netDir()).catch(() => [] as string[]);
  for (const e of entries) {
    if (!e.endsWith('.json') || e.endsWith('.boot.json')) continue;
    const name = e.slice(0, -'.json'.length);
    if (!SWITCH_NAME_RE.test(name)) continue;
    const meta = await readMeta(switchFiles(name));
    if (meta?.bridgeCreated && meta.bridge === bridge) return true;
  }
  return false;
}

/** A directory only the user may enter, as vde_switch's files want. */
async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await stat(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.()) {
    throw new VmdeckError(500, `runtime dir: '${dir}' is not a directory owned by this user`);
  }
  if ((st.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
}

async function removeFiles(f: SwitchFiles): Promise<void> {
  await Promise.all([f.dir, f.mgmt, f.pidfile, f.meta, f.boot].map((p) => rm(p, { recursive: true, force: true })));
}

const ifaceExists = (name: string) => exists(`/sys/class/net/${name}`);

/** Running VMs by the pid of their QEMU, from the runtime dirs ($VMDECK_RUN/<LABEL>/qemu.pid). */
async function runningVmPids(): Promise<Map<number, string>> {
  const byPid = new Map<number, string>();
  for (const label of await runtimeLabels()) {
    const pid = Number((await readFile(join(runRoot(), label, 'qemu.pid'), 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0) byPid.set(pid, label);
  }
  return byPid;
}

/** The VM behind a port: its QEMU's pid, else its argv's -name, else a MAC learned on the port. */
async function portsOf(mgmt: string): Promise<SwitchPort[]> {
  const endpoints = parsePortTable(await vdeCommand(mgmt, 'port/allprint'));
  const learned = parseHashTable(await vdeCommand(mgmt, 'hash/print').catch(() => []));
  const byPid = await runningVmPids();
  let byMac: Map<string, string> | null = null;
  const ports: SwitchPort[] = [];
  for (const e of endpoints) {
    const macs = learned.get(e.port) ?? [];
    let vm: string | null = e.pid === null ? null : byPid.get(e.pid) ?? null;
    if (vm === null && e.pid !== null) {
      const argv = await processArgv(e.pid);
      if (argv && /qemu-system-/.test(argv[0])) vm = labelFromQemuArgv(argv);
    }
    if (vm === null && e.module !== 'tuntap' && macs.length) {
      byMac ??= new Map((await enumerate()).filter((v) => v.mac).map((v) => [v.mac.toLowerCase(), v.label]));
      vm = macs.map((m) => byMac!.get(m)).find((l) => l !== undefined) ?? null;
    }
    const kind = e.module === 'tuntap' ? 'tap' : vm !== null ? 'vm' : 'client';
    ports.push({ port: e.port, kind, vm, descr: e.descr, pid: e.pid, user: e.user, macs });
  }
  return ports;
}

/** One switch: its state, files, TAP device and bridge, and who is on which port. */
export async function switchInfo(name: string): Promise<SwitchInfo> {
  checkName(name);
  await trustedRunRoot();
  const f = switchFiles(name);
  const pid = await switchPid(f);
  if (pid === null && !(await Promise.all([f.dir, f.mgmt, f.pidfile, f.meta].map(exists))).some(Boolean)) {
    throw notFound(`name: no switch '${name}' (make it with: vmdeck net create ${name})`, 'name');
  }
  const meta = await readMeta(f);
  const info: SwitchInfo = {
    name, state: pid === null ? 'stale' : 'running', pid, dir: f.dir, mgmt: f.mgmt,
    tap: meta?.tap ?? null, bridge: meta?.bridge ?? null, ports: [], vms: [],
  };
  if (meta?.boot) info.boot = { pid: await bootServerPid(f.boot, name), ...meta.boot };
  if (pid === null) return info;
  try {
    info.ports = await portsOf(f.mgmt);
  } catch (e) {
    info.problem = (e as Error).message;
  }
  // The switch's own boot server is a QEMU too, but no VM.
  for (const p of info.ports) {
    if (info.boot?.pid != null && p.pid === info.boot.pid) Object.assign(p, { kind: 'client', vm: null, descr: 'vmdeck boot server' });
  }
  info.vms = [...new Set(info.ports.flatMap((p) => (p.vm ? [p.vm] : [])))];
  return info;
}

/** Every switch under $VMDECK_RUN/net, running or stale, by name. */
export async function listSwitches(): Promise<SwitchInfo[]> {
  await trustedRunRoot();
  let entries: string[] = [];
  try {
    entries = await readdir(netDir());
  } catch {
    return [];
  }
  const names = [...new Set(entries.map((e) => e.replace(/\.(mgmt|pid|json|boot\.pid)$/, '')))]
    .filter((n) => SWITCH_NAME_RE.test(n)).sort();
  const out: SwitchInfo[] = [];
  for (const name of names) {
    // Gone between readdir and now: not listed.
    const info = await switchInfo(name).catch(() => null);
    if (info) out.push(info);
  }
  return out;
}

/** Waits until the new switch writes its pidfile and answers on its management socket. */
async function waitUp(f: SwitchFiles, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = await switchPid(f);
    if (pid !== null && (await vdeCommand(f.mgmt, 'showinfo', 1000).then(() => true, () => false))) return pid;
    if (Date.now() > deadline) {
      throw new VmdeckError(500, `name: vde_switch for '${f.dir}' did not come up within ${timeoutMs / 1000} s (its messages go to syslog)`, 'name');
    }
    await sleep(50);
  }
}

/** Ends a process with SIGTERM (vde_switch then removes its sockets), SIGKILL after 5 s. */
async function endProcess(pid: number): Promise<void> {
  for (const [signal, ms] of [['SIGTERM', 5000], ['SIGKILL', 2000]] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if ((await processArgv(pid)) === null) return;
      await sleep(50);
    }
  }
  throw new VmdeckError(500, `name: vde_switch (pid ${pid}) did not end`, 'name');
}

/**
 * Starts a switch. With tap (root only) the switch is also connected to that
 * TAP device, brought up and, with bridge, enslaved to that bridge; vmdeck
 * creates what is missing and remembers it, so that cancel removes exactly that.
 */
export function createSwitch(name: string, opts: CreateSwitchOptions = {}): Promise<SwitchInfo> {
  return task('net:create', name, { ...opts }, () => createSwitchNow(name, opts));
}

async function createSwitchNow(name: string, opts: CreateSwitchOptions): Promise<SwitchInfo> {
  checkName(name);
  const { tap, bridge } = opts;
  if (bridge !== undefined && tap === undefined) {
    throw badInput('bridge', 'bridge: a bridge is joined through a TAP device: give --tap IFACE as well');
  }
  for (const [field, value] of [['tap', tap], ['bridge', bridge]] as const) {
    const err = value === undefined ? null : ifaceNameError(field, value);
    if (err) throw badInput(field, err);
  }
  if (tap !== undefined && process.getuid?.() !== 0) {
    throw badInput('tap', 'tap: connecting a switch to a TAP device needs root (run as root, or leave out --tap)');
  }
  if (opts.confined && bridge !== undefined && (await ifaceExists(bridge)) && !apiBridges().includes(bridge) && !(await madeByVmdeck(bridge))) {
    throw badInput('bridge', `bridge: '${bridge}' is a bridge of this host's (it puts the switch's VMs on its network): the dashboard joins one only when VMDECK_API_BRIDGES names it; or use vmdeck net create ${name} --tap ${tap} --bridge ${bridge}`);
  }
  const boot = await checkBootOptions(opts);
  await trustedRunRoot();
  const f = switchFiles(name);
  const running = await switchPid(f);
  if (running !== null) throw conflict(`name: switch '${name}' is already running (pid ${running})`, 'name');
  // sun_path holds 108 bytes including the terminating NUL.
  if (`${f.dir}/ctl`.length > 107) {
    throw badInput('name', `name: the switch socket '${f.dir}/ctl' is longer than 107 bytes (set VMDECK_RUN to a shorter path)`);
  }
  if (tap !== undefined && (await ifaceExists(tap)) && !(await exists(`/sys/class/net/${tap}/tun_flags`))) {
    throw conflict(`tap: interface '${tap}' exists and is not a TAP device`, 'tap');
  }
  if (bridge !== undefined && (await ifaceExists(bridge)) && !(await exists(`/sys/class/net/${bridge}/bridge`))) {
    throw conflict(`bridge: interface '${bridge}' exists and is not a bridge`, 'bridge');
  }
  await privateDir(netDir());
  await stopBootServer(f.boot, name); // a stale switch's leftovers
  await removeFiles(f);

  const meta: SwitchMeta = {
    tap: tap ?? null, bridge: bridge ?? null,
    tapCreated: tap !== undefined && !(await ifaceExists(tap)),
    bridgeCreated: bridge !== undefined && !(await ifaceExists(bridge)),
    created: new Date().toISOString(),
    boot,
  };
  let pid: number | null = null;
  try {
    if (meta.bridgeCreated) {
      await ip('bridge', ['link', 'add', 'name', bridge!, 'type', 'bridge']);
      await ip('bridge', ['link', 'set', bridge!, 'up']);
    }
    const args = [
      '--daemon', '--sock', f.dir, '--dirmode', '0700', '--mode', '0600',
      '--mgmt', f.mgmt, '--mgmtmode', '0600', '--pidfile', f.pidfile,
    ];
    if (tap !== undefined) args.push('--tap', tap);
    try {
      await run('vde_switch', args, { timeout: 10000 });
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: string };
      if (err.code === 'ENOENT') throw new VmdeckError(500, 'vde_switch: not found (apt-get install vde2)');
      throw new VmdeckError(500, `name: vde_switch did not start: ${(err.stderr || err.message).trim().split('\n')[0]}`, 'name');
    }
    pid = await waitUp(f, 5000);
    if (tap !== undefined) {
      // vde_switch carries on without the TAP device when it cannot open it.
      const ports = parsePortTable(await vdeCommand(f.mgmt, 'port/allprint'));
      if (!ports.some((p) => p.module === 'tuntap')) {
        throw new VmdeckError(500, `tap: vde_switch could not open TAP device '${tap}'`, 'tap');
      }
      await ip('tap', ['link', 'set', tap, 'up']);
      if (bridge !== undefined) await ip('bridge', ['link', 'set', tap, 'master', bridge]);
    }
    if (boot) await startBootServer(name, f.dir, f.boot, boot);
    await writeFile(f.meta, `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
  } catch (e) {
    await stopBootServer(f.boot, name).catch(() => undefined);
    if (pid !== null) await endProcess(pid).catch(() => undefined);
    await removeFiles(f);
    if (meta.tapCreated && (await ifaceExists(tap!))) await ip('tap', ['link', 'del', tap!]).catch(() => undefined);
    if (meta.bridgeCreated && (await ifaceExists(bridge!))) await ip('bridge', ['link', 'del', bridge!]).catch(() => undefined);
    throw e;
  }
  return switchInfo(name);
}

const describe = (p: SwitchPort) => p.vm ?? `${p.descr.replace(/:$/, '') || 'client'} (pid ${p.pid ?? '?'})`;

/**
 * Stops a switch and removes its files, its TAP device and a bridge vmdeck
 * made for it. Refused while VMs (or other clients) are on it, unless force:
 * they then keep running with their network cable pulled.
 */
export function cancelSwitch(name: string, opts: { force?: boolean } = {}): Promise<CancelResult> {
  return task('net:cancel', name, { ...opts }, () => cancelSwitchNow(name, opts));
}

async function cancelSwitchNow(name: string, opts: { force?: boolean }): Promise<CancelResult> {
  const info = await switchInfo(name);
  const f = switchFiles(name);
  if (info.problem && !opts.force) {
    throw new VmdeckError(500, `name: cannot tell who is on switch '${name}' (${info.problem}); --force cancels it anyway`, 'name');
  }
  // The switch's own boot server is no client of it.
  const clients = info.ports.filter((p) => p.kind !== 'tap' && (p.pid === null || p.pid !== info.boot?.pid));
  if (clients.length && !opts.force) {
    const vms = clients.filter((p) => p.kind === 'vm').map(describe);
    const others = clients.filter((p) => p.kind !== 'vm').map(describe);
    const who = [
      vms.length ? `${vms.length === 1 ? 'VM' : 'VMs'} ${vms.join(', ')}` : '',
      others.length ? `${others.length === 1 ? 'client' : 'clients'} ${others.join(', ')}` : '',
    ].filter(Boolean).join(' and ');
    throw conflict(`name: switch '${name}' is in use by ${who}: stop them first, or cancel with --force`, 'name');
  }
  await stopBootServer(f.boot, name);
  if (info.pid !== null) await endProcess(info.pid);
  const meta = await readMeta(f);
  await removeFiles(f);
  const removed: string[] = [];
  // A TAP device of vde_switch's own goes with it; one it did not make stays.
  if (meta?.tap && meta.tapCreated && (await ifaceExists(meta.tap))) {
    await ip('tap', ['link', 'del', meta.tap]);
  }
  if (meta?.tap && meta.tapCreated) removed.push(meta.tap);
  if (meta?.bridge && meta.bridgeCreated && (await ifaceExists(meta.bridge))) {
    await ip('bridge', ['link', 'del', meta.bridge]);
    removed.push(meta.bridge);
  }
  return { name, detached: clients.map(describe), removed };
}
