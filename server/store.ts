// The VM store: VM directories on disk are the truth. Creating them (the
// ctys-createConfVM equivalent), finding them (ENUMERATE), reading and
// deleting them, and asking a wrapper for its QEMU command.
import { confineSpec } from './confine';
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, constants, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { access, chmod, link, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir, totalmem, userInfo } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { DEFAULT_MATCHVSTAT, interfacesOf, matchesVstat, parseCtysPlain, parseMatchVstat, renderCtys, readMarkers, type ConfigVars } from '../lib/ctys';
import { cdsOf, ctysDeviceVars, ctysMachine, disksOf, floppiesOf, nicsOf, TPM_STATE_FILE_RE, tpmStateDir, uefiVarsFiles } from '../lib/hardware';
import { kvmRuns, qemuArch } from '../lib/host';
import { kvmVerdict } from './kvm-probe';
import { composeSpec, envValues, macFromBytes, specFromVars, type HostFacts } from '../lib/options';
import { LABEL_RE, labelError, MAC_RE, parseSpec, UUID_RE, type VmSpec, type VmSpecInput } from '../lib/spec';
import type { VmInfo } from '../lib/vm';
import { renderWrapper } from '../lib/wrapper';
import { complaint, stripSelf } from '../lib/wrapper/complaint';
import { cpuError, machineError } from './qemu-machines';
import { accountWarning, PRESEED_MIN_MIB, redactSeed, seedName, seedPlan, SSH_KEY_RE, type SeedPlan } from '../lib/seeds';
import { checkSeedSources, removePxeTree, writeSeeds } from './seeds';
import { buildDebootstrapDisk } from './debootstrap';
import { debianSuite, debootstrapBootFiles, debootstrapValues } from '../lib/debootstrap';
import { readConfig } from './config';
import { badInput, conflict, notFound, VmdeckError } from './errors';
import { exists, inDir, linkIntoPlace, mapLimit, qcow2Backing, realOrSelf } from './fsutil';
import { loadMacmap } from './macmap';
import { bases, defaultBase, historyFile, isPrivateDirSync, runRoot } from './paths';
import { infoOf, loadEnumerateCache, recordText, sameStamp, saveEnumerateCache, settled, textOf, type CachedDir, type CachedInfo, type FactDep, type Stamp } from './enumerate-cache';
import { processStart, run, runGroup } from './proc';
import { wrapperArgs, type WrapperOf } from './wrapper';
import { findTemplate, loadCatalog } from './templates';
import { task, taskOutput, taskProgress } from './tasks';
import { withVmLock } from './vm-lock';

export const GENERATOR = 'vmdeck create-conf 0.1';

// --- finding VMs (ENUMERATE) ------------------------------------------------

/**
 * How far below a base ENUMERATE looks. ctys's `find` has no limit, and its
 * default bases are whole trees; this bound only stops a runaway tree (a
 * directory loop through bind mounts). Symbolic links are not followed, as
 * `find` does not.
 */
export const MAX_DEPTH = 64;

/**
 * ENUMERATE reads thousands of small files: synchronous calls cost a few
 * microseconds each where a promise round trip through libuv's pool costs
 * tens, so they run synchronously, in slices of this many files with a turn
 * of the event loop between (the server's consoles wait at most a few ms).
 */
export const SLICE = 200;
/** A turn of the event loop, between slices (runner.ts's withStatus takes its slices so too). */
export const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/** A name in a directory: path.join's answer for a resolved directory and a plain name, without its normalising. */
const child = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/**
 * What ENUMERATE walks of dir: from the listing kept while the directory's
 * stamp holds (a stat, not an open, a read and a close of it), else read.
 * null when it vanished or cannot be read.
 */
function listDir(dir: string, readAtMs: number): CachedDir | null {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return null;
  const hit = dirCache.get(dir);
  if (hit && sameStamp(hit, st)) return hit;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return null; // vanished or unreadable
  }
  const listing: CachedDir = { mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: st.size, ino: st.ino, configs: [], subdirs: [], suspends: [] };
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    if (e.isFile() && e.name.endsWith('.ctys')) listing.configs.push(e.name);
    else if (e.isFile() && e.name.endsWith('.suspend')) listing.suspends.push(e.name);
    else if (e.isDirectory()) listing.subdirs.push(e.name);
  }
  if (settled(st, readAtMs)) {
    dirCache.set(dir, listing);
    changed.add(dir);
  } else if (dirCache.delete(dir)) {
    changed.add(dir);
  }
  return listing;
}

/** The .ctys files under base, up to MAX_DEPTH levels down, sorted; the directories walked go into walkedDirs with their listings. */
async function findConfigs(base: string, walkedDirs: Map<string, CachedDir>): Promise<string[]> {
  const out: string[] = [];
  const readAtMs = Date.now();
  let level = [base];
  let done = 0;
  for (let depth = 1; depth <= MAX_DEPTH && level.length; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      if (++done % SLICE === 0) await yieldToLoop();
      const listing = listDir(dir, readAtMs);
      if (!listing) continue;
      walkedDirs.set(dir, listing);
      for (const name of listing.configs) out.push(child(dir, name));
      for (const name of listing.subdirs) next.push(child(dir, name));
    }
    level = next;
  }
  return out.sort();
}

/** Each config's facts by its path, while its stamp holds; loaded from the runtime root's copy at the first ENUMERATE. */
const cache = new Map<string, CachedInfo>();
/** Each directory's listing by its path, while its stamp holds; loaded with the configs' facts. */
const dirCache = new Map<string, CachedDir>();
/** The runtime root whose copies were loaded into the cache, and the bases whose copies were. */
let cacheLoadedFrom: string | null = null;
const basesLoaded = new Set<string>();
/** The paths whose entries were made or dropped since their base's copy was read or written. */
const changed = new Set<string>();
const isUnder = (path: string, base: string) => base === '/' || path === base || path.startsWith(`${base}/`);

function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : fallback;
}

/** A VM's facts from its config; null when the config is not an enumerable QEMU VM. */
export async function readVmInfo(configPath: string): Promise<VmInfo | null> {
  const entry = await readEntry(configPath);
  return entry && { ...infoOf(entry) };
}

/** A config's entry, read with bash when it needs it; null when it is not an enumerable QEMU VM. */
async function readEntry(configPath: string): Promise<CachedInfo | null> {
  const readAtMs = Date.now();
  const st = await stat(configPath);
  const hit = cache.get(configPath);
  if (hit && sameStamp(hit, st) && depsHold(hit)) return hit;
  const { text, vars, dynamic, syntaxError } = await readConfig(configPath);
  const read = vmInfo(configPath, text, vars, dynamic);
  // Read as far as bash got: say where it stopped, in the list and the API.
  if (read && syntaxError) read.info.warnings = [...(read.info.warnings ?? []), `config: bash stops reading it at ${syntaxError}: what it sets after that line is not read, and the VM will not start (the wrapper refuses a config bash cannot read)`];
  return remember(configPath, st, read, !dynamic, readAtMs);
}

/**
 * readVmInfo for ENUMERATE, synchronous, its entry: a cached or plain
 * config is read here; undefined for a config that only bash can evaluate
 * (or that changed while read), which readVmInfo then reads.
 */
function readEntrySync(configPath: string): CachedInfo | null | undefined {
  const readAtMs = Date.now();
  const st = statSync(configPath);
  const hit = cache.get(configPath);
  if (hit && sameStamp(hit, st) && depsHold(hit)) return hit;
  const text = readSizedSync(configPath, st.size);
  if (text === undefined) return undefined;
  const vars = parseCtysPlain(text);
  return vars ? remember(configPath, st, vmInfo(configPath, text, vars, false), true, readAtMs) : undefined;
}

/** The buffer readSizedSync reads into, kept between calls (grown for a larger config). */
let readBuffer = Buffer.allocUnsafe(1 << 16);

/**
 * A file's text when it is still size bytes long (the size its stat said):
 * one read of up to size + 1 bytes into a buffer kept between calls, where
 * readFileSync makes a buffer per file and asks its size again (an fstat),
 * 14 ms of ENUMERATE's 10,000 reads (docs/PERFORMANCE.md). undefined when
 * it is not that size (changed since the stat).
 */
function readSizedSync(path: string, size: number): string | undefined {
  if (size >= 1 << 24) {
    const text = readFileSync(path, 'utf8'); // not a config vmdeck or ctys writes: read as it is
    return Buffer.byteLength(text) === size ? text : undefined;
  }
  if (readBuffer.length <= size) readBuffer = Buffer.allocUnsafe(size + 1);
  const fd = openSync(path, 'r');
  try {
    // One read: a short one (a signal, a network file system) is taken as a change, and readEntry reads the file again.
    const got = readSync(fd, readBuffer, 0, size + 1, null);
    return got === size ? readBuffer.toString('utf8', 0, got) : undefined;
  } finally {
    closeSync(fd);
  }
}

/** Drops a config's entry; its base's file is written again if the entry was in it. */
function forget(configPath: string): void {
  if (cache.get(configPath)?.plain) changed.add(configPath);
  cache.delete(configPath);
}

/**
 * The entry of a config read at readAtMs (before its stat), kept while its
 * stamp holds. A config changed this close to the read is not kept: an edit
 * in place in the same tick of the file system's clock, of the same size,
 * would leave its stamp as it was (settled, as for the listings).
 */
function remember(configPath: string, st: Stamp, read: ConfigFacts | null, plainRead: boolean, readAtMs: number): CachedInfo | null {
  if (!read) {
    forget(configPath);
    return null;
  }
  const { info, deps } = read;
  // Facts read from more files than the config (a ctys config's machines cache and disk) are kept in
  // memory with those files' stamps, never in a base's cache file, which another process would trust.
  const plain = plainRead && !deps;
  const fields = { mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: st.size, ino: st.ino, label: info.label, vmstate: info.vmstate, plain, ...(deps ? { deps } : {}) };
  if (!settled(st, readAtMs)) {
    forget(configPath);
    return { ...fields, info };
  }
  // Only plain configs' entries are kept on disk: a config that bash evaluates, read again at every
  // command, does not make its base's file written again.
  if (plain || cache.get(configPath)?.plain) changed.add(configPath);
  // A kept plain entry holds its record text alone, as one loaded from the base's file does: its facts
  // (and the config's text, which their values are slices of) die young, where 10,000 of them kept until
  // the command's end were most of its garbage collection (docs/PERFORMANCE.md). infoOf parses them back
  // when asked.
  const entry: CachedInfo = plain ? { ...fields, text: recordText(info) } : { ...fields, info };
  cache.set(configPath, entry);
  return entry;
}

/**
 * The runtime root, where the cache's copy is kept, when it is there and
 * this user's alone (as trustedRunRoot checks it); null otherwise, and then
 * nothing is kept. Asked synchronously at every ENUMERATE: an ENUMERATE that
 * waited on the file system here would let a console's attach fall behind
 * what it raced (a VM that stopped meanwhile).
 */
function cacheRoot(): string | null {
  const root = runRoot();
  return isPrivateDirSync(root) ? root : null;
}

/**
 * The label of a config, one rule for ENUMERATE and the wrapper: ctys's
 * #@#LABEL marker (ctys addresses a VM by it), else the LABEL variable, else
 * the config's file name.
 */
export function labelOf(markerLabel: string | undefined, variable: unknown, configPath: string): string {
  return markerLabel || str(variable) || basename(configPath, '.ctys');
}

/** The spec fields a VmInfo is made of. */
const INFO_FIELDS = ['label', 'uuid', 'dist', 'distrel', 'os', 'osrel', 'arch', 'accelerator', 'qemu', 'memsize', 'smp', 'console', 'template', 'disk'] as const;

/**
 * What a ctys-made config's devices depend on beside its variables, read as
 * the wrapper reads them (lib/hardware.ts's ctysDeviceVars): the user, the
 * machine's buses from the wrapper's machines cache in the runtime root
 * (kept there at its first start; IDE is taken until then, as the wrapper
 * does when QEMU cannot be asked), and the first disk's format from its
 * first four bytes. Only ctys configs pay these reads.
 */
function ctysDeviceFacts(vars: ConfigVars, dir: string): CtysDeviceFactsOut & { deps: FactDep[] } {
  let user = process.env.USER || process.env.LOGNAME || '';
  if (!user) try { user = userInfo().username; } catch { user = String(process.getuid?.() ?? ''); }
  const bin = binaryOnPath(str(vars.STARTERCALL) || 'qemu-system-x86_64');
  const deps: FactDep[] = [];
  let buses: string | null = null;
  if (bin) {
    const cache = join(runRoot(), 'machines', `${bin.replaceAll('/', '_')}.${ctysMachine(vars) || 'default'}`);
    const st = statSync(cache, { throwIfNoEntry: false });
    deps.push([cache, 'mtime', st?.mtimeMs ?? -1]);
    // As the wrapper takes it: a cache older than the binary is asked again (IDE until then).
    const binSt = statSync(bin, { throwIfNoEntry: false });
    if (st?.isFile() && (!binSt || st.mtimeMs > binSt.mtimeMs)) {
      try { buses = readFileSync(cache, 'latin1').split('\n')[0] || null; } catch { /* gone meanwhile */ }
    }
  }
  let diskFormat: string | null = null;
  const disk = str(vars.HDDBOOTIMAGE);
  if (disk !== '') {
    const path = isAbsolute(disk) ? disk : join(dir, disk);
    const st = statSync(path, { throwIfNoEntry: false });
    // By its inode, not its time: a running guest's writes change that, a new image (qemu-img convert, a copy) this.
    deps.push([path, 'ino', st?.ino ?? -1]);
    // A regular file only, as the wrapper's -f: a FIFO would block the read (and the server with it).
    if (st?.isFile()) {
      try {
        const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
        try {
          const head = Buffer.alloc(4);
          const got = readSync(fd, head, 0, 4, 0);
          diskFormat = got === 4 && head.toString('latin1') === 'QFI\xfb' ? 'qcow2' : 'raw';
        } finally {
          closeSync(fd);
        }
      } catch { /* gone meanwhile */ }
    }
  }
  return { user, buses, diskFormat, deps };
}

/** Whether the files an entry's facts came from are as they were (a ctys config's machines cache and disk). */
function depsHold(entry: CachedInfo): boolean {
  return !entry.deps || entry.deps.every(([path, kind, was]) => {
    const st = statSync(path, { throwIfNoEntry: false });
    return (st ? (kind === 'ino' ? st.ino : st.mtimeMs) : -1) === was;
  });
}

/**
 * A config's variables as its devices are read from them: a ctys-made
 * config's with ctys's meanings (ctysDeviceVars, with the files those facts
 * came from), vmdeck's own as they are.
 */
export function deviceVars(vars: ConfigVars, source: VmInfo['source'], dir: string): { vars: ConfigVars; deps?: FactDep[] } {
  if (source !== 'ctys') return { vars };
  const facts = ctysDeviceFacts(vars, dir);
  return { vars: ctysDeviceVars(vars, facts), deps: facts.deps };
}

/** A VM's facts as a config gives them, and the other files they were read from (deviceVars). */
interface ConfigFacts {
  info: VmInfo;
  deps?: FactDep[];
}

/** A program as bash's PATH lookup finds it (the wrapper's ctys_which), looked up once per name and PATH. */
const onPath = new Map<string, string | undefined>();
function binaryOnPath(name: string): string | undefined {
  if (name.includes('/')) return name;
  const key = `${name}\0${process.env.PATH ?? ''}`;
  if (!onPath.has(key)) {
    onPath.set(key, (process.env.PATH ?? '').split(':').map((d) => join(d, name)).find((p) => statSync(p, { throwIfNoEntry: false })?.isFile()));
  }
  return onPath.get(key);
}
type CtysDeviceFactsOut = Parameters<typeof ctysDeviceVars>[1];

function vmInfo(configPath: string, text: string, vars: ConfigVars, dynamic: boolean): ConfigFacts | null {
  const markers = readMarkers(text);
  if (markers.magic !== 'QEMU') return null;
  const f = specFromVars(vars, INFO_FIELDS);
  const dir = dirname(configPath);
  const m = markers.values;
  const disk = str(f.disk);
  const interfaces = interfacesOf(vars, m);
  const source = text.includes('Written by vmdeck') ? 'vmdeck' : 'ctys';
  const { vars: devices, deps } = deviceVars(vars, source, dir);
  const info: VmInfo = {
    label: labelOf(m.LABEL, f.label, configPath),
    uuid: str(f.uuid, m.UUID ?? ''),
    mac: interfaces[0]?.mac ?? '',
    ip: interfaces[0]?.ip ?? '',
    interfaces,
    vmstate: m.VMSTATE ?? '',
    dist: str(f.dist, m.DIST ?? ''),
    distrel: str(f.distrel, m.DISTREL ?? ''),
    os: str(f.os, m.OS ?? ''),
    osrel: str(f.osrel, m.OSREL ?? ''),
    arch: str(f.arch, m.ARCH || 'x86_64'),
    accelerator: str(f.accelerator, 'QEMU'),
    qemu: str(f.qemu),
    memsize: typeof f.memsize === 'number' ? f.memsize : Number(f.memsize) || 0,
    smp: typeof f.smp === 'number' ? f.smp : Number(f.smp) || 1,
    console: str(f.console, m.DEFAULTCONSOLE || 'VNC').toUpperCase(),
    template: str(f.template),
    dir,
    config: configPath,
    wrapper: join(dir, `${basename(configPath, '.ctys')}.sh`),
    disk: disk === '' ? '' : isAbsolute(disk) ? disk : join(dir, disk),
    disks: disksOf(devices),
    nics: nicsOf(devices),
    cds: cdsOf(devices),
    floppies: floppiesOf(devices),
    source,
    dynamic,
    state: 'stopped',
  };
  return deps ? { info, deps } : { info };
}

/**
 * One VM ENUMERATE found: its label, #@#VMSTATE and directory at once, its
 * facts when asked (a config unchanged since the cache's copy is parsed
 * only then), and its record as `vmdeck enumerate --json` prints it while
 * the VM is stopped.
 */
export class FoundVm {
  constructor(
    private readonly entry: CachedInfo,
    readonly config: string,
    /** Whether the walk's listing of its directory had its saved state (<label>.suspend; runtime.ts's suspendFile). */
    readonly suspendListed: boolean,
    /** What ENUMERATE found suspicious (VmInfo's warnings); none when undefined. */
    readonly warnings?: string[],
  ) {}

  get label(): string {
    return this.entry.label;
  }

  get vmstate(): string {
    return this.entry.vmstate;
  }

  /** The VM's directory: its config's (vmInfo). */
  get dir(): string {
    return this.config.slice(0, this.config.lastIndexOf('/'));
  }

  /** Its NICs' MACs and IPs (the macmap check), from its facts without a copy of them. */
  get interfaces(): VmInfo['interfaces'] {
    return infoOf(this.entry).interfaces;
  }

  /** A copy of its facts, state 'stopped'. */
  info(): VmInfo {
    const info = { ...infoOf(this.entry) };
    return this.warnings ? { ...info, warnings: [...(info.warnings ?? []), ...this.warnings] } : info;
  }

  /** The same VM with the macmap database's disagreements (enumerateFound). */
  withWarnings(warnings: string[]): FoundVm {
    return new FoundVm(this.entry, this.config, this.suspendListed, warnings);
  }

  /** Its --json record while stopped; undefined with warnings (the record then has them). */
  stoppedText(): string | undefined {
    return this.warnings ? undefined : textOf(this.entry);
  }
}

/** Every VM under the bases, the first of each label winning (the default base comes first). */
export async function enumerate(baseList = bases()): Promise<VmInfo[]> {
  return (await enumerateFound(baseList)).map((f) => f.info());
}

/** A config that ENUMERATE leaves out although it may be meant as a VM, and why. */
export type SkippedConfig = (config: string, why: string) => void;

/**
 * enumerate, each VM's facts read only when asked (FoundVm). skipped hears
 * of each config left out that is not marked so (unreadable, bash failing on
 * it, a label that another config has already).
 */
/** Whether two paths are one file (asked of configs found twice only: rare). */
const sameFile = async (a: string, b: string) => a === b || (await realOrSelf(a)) === (await realOrSelf(b));

export async function enumerateFound(baseList = bases(), skipped?: SkippedConfig): Promise<FoundVm[]> {
  const found: FoundVm[] = [];
  /** Each label's config, the first found. */
  const seen = new Map<string, string>();
  /** Each label's other configs, skipped. */
  const others = new Map<string, string[]>();
  // Each skipped file said once, however many bases (overlapping, or through a symlink) reach it.
  const said = new Set<string>();
  const skip = async (config: string, why: string) => {
    const real = await realOrSelf(config);
    if (said.has(real)) return;
    said.add(real);
    skipped?.(config, why);
  };
  const root = cacheRoot();
  if (root !== cacheLoadedFrom) {
    cacheLoadedFrom = root;
    basesLoaded.clear();
  }
  // Absolute: a config that bash evaluates is sourced from its directory.
  const walked = [...new Set(baseList.map((b) => resolve(b)))];
  for (const base of walked) {
    // Each base's copy, the first time it is walked: a create-conf in the
    // default base reads nothing of the 10,000 VMs of another.
    if (!root || basesLoaded.has(base)) continue;
    basesLoaded.add(base);
    const kept = loadEnumerateCache(root, base);
    for (const [path, entry] of kept.configs) if (!cache.has(path)) cache.set(path, entry);
    for (const [path, entry] of kept.dirs) if (!dirCache.has(path)) dirCache.set(path, entry);
  }
  for (const base of walked) {
    const dirsSeen = new Map<string, CachedDir>();
    const configs = await findConfigs(base, dirsSeen);
    const configsSeen = new Set(configs);
    const entries: (CachedInfo | null)[] = [];
    for (const [i, c] of configs.entries()) {
      if (i % SLICE === SLICE - 1) await yieldToLoop();
      let entry: CachedInfo | null | undefined;
      try {
        entry = readEntrySync(c);
        if (entry === undefined) entry = await readEntry(c);
      } catch (e) {
        entry = null; // unreadable or vanished while we looked: not a VM we can show
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') await skip(c, (e as Error).message.replace(`${c}: `, ''));
      }
      entries.push(entry);
    }
    for (const [i, entry] of entries.entries()) {
      if (!entry) continue;
      const config = configs[i];
      const first = seen.get(entry.label);
      if (first !== undefined) {
        // The same file found again (bases that overlap, or one through a symlink) is no second VM, nor said again.
        const also = others.get(entry.label) ?? [];
        if (!(await Promise.all([first, ...also].map((p) => sameFile(p, config)))).includes(true)) {
          await skip(config, `label '${entry.label}' is taken by ${first} (the first found wins)`);
          others.set(entry.label, [...also, config]);
        }
        continue;
      }
      seen.set(entry.label, config);
      const suspends = dirsSeen.get(config.slice(0, config.lastIndexOf('/')))!.suspends;
      found.push(new FoundVm(entry, config, suspends.length > 0 && suspends.includes(`${entry.label}.suspend`)));
    }
    // Configs and directories gone from the base are forgotten; the others' entries stay.
    for (const path of cache.keys()) if (!configsSeen.has(path) && isUnder(path, base)) forget(path);
    for (const path of dirCache.keys()) {
      if (!dirsSeen.has(path) && isUnder(path, base)) {
        dirCache.delete(path);
        changed.add(path);
      }
    }
    const ofBase = [...changed].filter((path) => isUnder(path, base));
    if (root && ofBase.length > 0) {
      saveEnumerateCache(root, base, { configs: cache, dirs: dirCache });
      for (const path of ofBase) changed.delete(path);
    }
  }
  // A MAC/IP pair the macmap database has otherwise, flagged as ctys's ENUMERATE does; a label
  // (ctys's #@#LABEL, with its blanks or slashes) that vmdeck's commands and wrapper refuse.
  const db = loadMacmap();
  return found.map((f) => {
    const warnings = [
      ...(LABEL_RE.test(f.label) ? [] : [`label '${f.label}' is not one vmdeck can start or change (letters, digits, '.', '_' and '-', at most 63, starting with a letter or digit): give the config a plain #@#LABEL`]),
      ...(db ? db.disagreements(f.interfaces) : []),
    ];
    return warnings.length ? f.withWarnings(warnings) : f;
  });
}

/**
 * The VMs whose #@#VMSTATE a MATCHVSTAT value (`ACTIVE%BACKUP`, `all`, …)
 * lets through; without one, ctys's default: ACTIVE, DISABLED and none.
 * The same for `vmdeck enumerate --vmstate` and GET /api/vms?vmstate=.
 */
export function filterVmstate<T extends { vmstate: string }>(vms: T[], matchvstat?: string): T[] {
  let allowed: Set<string> | null;
  try {
    allowed = matchvstat === undefined ? new Set<string>(DEFAULT_MATCHVSTAT) : parseMatchVstat(matchvstat);
  } catch (e) {
    throw badInput('vmstate', (e as Error).message);
  }
  return vms.filter((v) => matchesVstat(v.vmstate, allowed));
}

/** A VM by label, or by the path of its directory, config or wrapper. */
export async function findVm(labelOrPath: string, baseList = bases()): Promise<VmInfo> {
  if (labelOrPath.includes('/')) {
    const p = resolve(labelOrPath);
    const candidates = p.endsWith('.ctys') ? [p]
      : p.endsWith('.sh') ? [p.replace(/\.sh$/, '.ctys')]
        : [join(p, `${basename(p)}.ctys`)];
    for (const c of candidates) {
      const info = await readVmInfo(c).catch(() => null);
      if (info) return info;
    }
    throw notFound(`VM: no vmdeck or ctys VM config at '${labelOrPath}'`, 'label');
  }
  const vm = (await enumerate(baseList)).find((v) => v.label === labelOrPath);
  if (!vm) {
    await unreadableConfig(labelOrPath, baseList);
    throw notFound(`label: no VM '${labelOrPath}' under ${baseList.join(', ')}`, 'label');
  }
  return vm;
}

/**
 * A config where a VM of this label would be (<BASE>/<LABEL>/<LABEL>.ctys,
 * <BASE>/<LABEL>.ctys) that ENUMERATE left out because it cannot be read
 * (bash exits, loops or fails on it) or is no QEMU VM: refused saying so,
 * rather than as no VM at all.
 */
async function unreadableConfig(label: string, baseList: string[]): Promise<void> {
  if (labelError(label)) return;
  for (const base of baseList) {
    for (const path of [join(base, label, `${label}.ctys`), join(base, `${label}.ctys`)]) {
      if (!(await exists(path))) continue;
      let info: VmInfo | null;
      try {
        info = await readVmInfo(path);
      } catch (e) {
        throw badInput('config', `config: VM '${label}' is left out, its config cannot be read: ${(e as Error).message.split('\n')[0]}`);
      }
      if (!info) throw badInput('config', `config: '${path}' is no QEMU VM for ENUMERATE (no #@#MAGICID-QEMU line, or an IGNORE or NOENUM one)`);
    }
  }
}

// --- creating VMs (ctys-createConfVM) ---------------------------------------

export interface CreateRequest {
  label: string;
  template?: string;
  base?: string;
  /** ctys's environment options, e.g. process.env for the CLI. */
  env?: Record<string, string | undefined>;
  /** What the user chose: spec fields. */
  values?: Partial<VmSpecInput>;
  createImage?: boolean;
  force?: boolean;
  /** From the API: paths under the bases and media directories, ARGSADD from the allowlist (server/confine.ts). */
  confined?: boolean;
  /** debootstrap: build the disk with a Debian system instead of an empty image (server/debootstrap.ts). */
  install?: string;
  /** Lines that say how a long step goes (the debootstrap build). */
  progress?: (line: string) => void;
}

/**
 * Whether KVM runs guests here (a probe guest, cached per boot), and the
 * host's architecture. probe false: the accelerator is given, so KVM's
 * verdict decides no default and no probe is run for it.
 */
export async function hostFacts(probe = true): Promise<HostFacts> {
  return { kvm: probe ? (await kvmVerdict()).usable : false, arch: qemuArch(process.arch) };
}

/** A MAC that no NIC of the known VMs has. */
export function uniqueMac(known: VmInfo[]): string {
  const used = new Set(known.flatMap((v) => [v.mac, ...(v.nics ?? []).map((n) => n.mac), ...(v.interfaces ?? []).map((i) => i.mac)]).map((m) => m.toLowerCase()));
  for (;;) {
    const mac = macFromBytes(randomBytes(3));
    if (!used.has(mac)) return mac;
  }
}

/**
 * What the macmap database says of a new VM (ctys-createConfVM's lookups):
 * the MAC of the label as host name (when it has exactly one), and the IP
 * of that MAC or of the MAC given.
 */
function macmapFor(label: string, givenMac: string | undefined): { mac: string; ip: string } {
  const db = loadMacmap();
  if (!db) return { mac: '', ip: '' };
  if (givenMac) return { mac: '', ip: db.ipOf(givenMac) };
  const macs = [...new Set(db.byName(label).map((e) => e.mac))];
  if (macs.length !== 1) return { mac: '', ip: '' };
  return { mac: macs[0], ip: db.byName(label).find((e) => e.ip)?.ip ?? db.ipOf(macs[0]) };
}

/**
 * The full, validated spec for a new VM and where each value came from, and
 * the VMs that ENUMERATE found (read once here, for the MAC, UUID and label).
 */
/** The most a public key file is read of: an OpenSSH key line is far below it. */
const SSH_KEY_FILE_MAX = 16 * 1024;

/**
 * SSHKEY may name a file holding the key (~/.ssh/id_ed25519.pub): its first
 * line, which must be a key. For the command line only: through the API
 * (confined) a path is refused, as the API reads no file of the host for its
 * client. A FIFO or device is not opened, and what a file holds that is not
 * a key is not echoed.
 */
async function sshKeyFromFile(env: Record<string, string | undefined>, confined: boolean): Promise<Record<string, string | undefined>> {
  const key = env.SSHKEY?.trim();
  if (!key || SSH_KEY_RE.test(key) || !/^[~/.]/.test(key)) return env;
  if (confined) throw badInput('sshKey', 'SSHKEY: give the public key itself (ssh-ed25519 AAAA…): through the API a file name is not read');
  const file = key.startsWith('~/') ? join(homedir(), key.slice(2)) : resolve(key);
  const unreadable = () => badInput('sshKey', `SSHKEY: '${key}' is neither an OpenSSH public key nor a readable file`);
  const st = await stat(file).catch(() => { throw unreadable(); });
  if (!st.isFile()) throw badInput('sshKey', `SSHKEY: '${key}' is not a regular file`);
  if (st.size > SSH_KEY_FILE_MAX) throw badInput('sshKey', `SSHKEY: '${key}' is larger than a public key file (${SSH_KEY_FILE_MAX} bytes at most)`);
  const text = await readFile(file, 'utf8').catch(() => { throw unreadable(); });
  const line = text.split('\n')[0].trim();
  if (!SSH_KEY_RE.test(line)) throw badInput('sshKey', `SSHKEY: the first line of '${key}' is not an OpenSSH public key (ssh-ed25519 AAAA…): give the .pub file`);
  return { ...env, SSHKEY: line };
}

export async function resolveSpec(req: CreateRequest): Promise<{ spec: VmSpec; origin: Record<string, string>; known: VmInfo[]; seeds: SeedPlan | null; suite?: string }> {
  // An empty base would be the current directory.
  if (req.base !== undefined && req.base.trim() === '') throw badInput('base', `base: is empty (leave it out for the default base, ${defaultBase()})`);
  const env = req.env ? envValues(await sshKeyFromFile(req.env, Boolean(req.confined))) : {};
  let suite: string | undefined;
  if (req.install !== undefined && req.install !== '') {
    if (req.install !== 'debootstrap') throw badInput('install', `install: '${req.install}' is not an install method vmdeck runs (debootstrap)`);
    const dist = String(req.values?.dist ?? env.dist ?? '');
    if (dist !== '' && dist.toLowerCase() !== 'debian') {
      throw badInput('dist', `dist: '${dist}': --install=debootstrap builds Debian only, from this host's apt sources (DIST=Debian or empty)`);
    }
    const distrel = String(req.values?.distrel ?? env.distrel ?? '12');
    const r = debianSuite(distrel);
    if ('error' in r) throw badInput('distrel', r.error);
    suite = r.suite;
    req = { ...req, values: { ...req.values, ...debootstrapValues(req.label, distrel) } };
  }
  const known = await enumerate();
  // An architecture asked for without a template takes the catalog's first template for it.
  const wantedArch = (env.arch ?? req.values?.arch) as string | undefined;
  const chosen = req.template ?? (req.values?.template as string | undefined);
  const forArch = !chosen && wantedArch ? (await loadCatalog()).find((t) => t.defaults.arch === wantedArch)?.id : undefined;
  const templateId = chosen ?? forArch ?? 'linux-x86_64';
  const template = await findTemplate(templateId);
  const given = (req.values?.mac || env.mac) as string | undefined;
  const fromDb = macmapFor(req.label, given);
  const generated = {
    uuid: randomUUID(),
    mac: given ? '' : fromDb.mac || uniqueMac(known),
  };
  // The IP the database has for this MAC, as ctys-createConfVM's "(m)", unless one is given.
  if (fromDb.ip && env.ip === undefined && req.values?.ip === undefined) env.ip = fromDb.ip;
  const host = await hostFacts((env.accelerator ?? req.values?.accelerator) === undefined);
  const { input, origin } = composeSpec(req.label, template, host, generated, env, req.values ?? {});
  const r = parseSpec(input);
  if (!r.ok) throw badInput(r.field, r.error);
  const spec = r.spec;
  if (req.confined) await confineSpec(spec, join(resolve(req.base ?? defaultBase()), spec.label));
  // A MAC or UUID the user gave that another VM has: two such VMs would clash on a network, or in ctys's ENUMERATE.
  const others = known.filter((v) => v.label !== spec.label);
  const macOwner = others.find((v) => v.mac.toLowerCase() === spec.mac);
  if (macOwner) throw badInput('mac', `mac: ${spec.mac} is the MAC of VM '${macOwner.label}' already`);
  const uuidOwner = others.find((v) => v.uuid.toLowerCase() === spec.uuid.toLowerCase());
  if (uuidOwner) throw badInput('uuid', `uuid: ${spec.uuid} is the UUID of VM '${uuidOwner.label}' already`);
  // Another architecture than the template's: its machine would not exist there (q35 on aarch64).
  if (template.defaults.arch && spec.arch !== template.defaults.arch && origin.machine === 'template') {
    throw badInput('machine', `machine: template ${template.id}'s machine '${spec.machine}' is for ${template.defaults.arch}; give the machine (and CPU) for ${spec.arch}, or take a template for ${spec.arch}`);
  }
  // A machine type the template did not choose: one this QEMU has, or it would refuse it at every start.
  if (origin.machine !== 'template') {
    const wrong = await machineError(spec.qemu, spec.machine);
    if (wrong) throw badInput('machine', wrong);
  }
  // The same of a CPU model the template did not choose (asking QEMU costs a process), and of the accelerator any needs (host: KVM).
  const wrongCpu = await cpuError(origin.cpu === 'template' ? '' : spec.qemu, spec.cpu, spec.accelerator);
  if (wrongCpu) throw badInput('cpu', wrongCpu);
  // QEMU would refuse it at start ("Cannot allocate memory"), or the host would swap itself to a halt.
  const hostMiB = Math.floor(totalmem() / 1048576);
  if (spec.memsize > hostMiB) {
    throw badInput('memsize', `memsize: ${spec.memsize} MiB is more than this host's memory (${hostMiB} MiB)`);
  }
  if (spec.accelerator === 'KVM' && !kvmRuns(host.arch, spec.arch)) {
    throw badInput('accelerator', `accelerator: KVM cannot run ${spec.arch} guests on this ${host.arch} host (use QEMU, emulation)`);
  }
  if (!template.bootModes.includes(spec.bootmode)) {
    throw badInput('bootmode', `bootmode: '${spec.bootmode}' is not a boot mode of template ${template.id} (one of ${template.bootModes.join(', ')})`);
  }
  if (!template.instModes.includes(spec.instmode)) {
    throw badInput('instmode', `instmode: '${spec.instmode}' is not an install mode of template ${template.id} (one of ${template.instModes.join(', ')})`);
  }
  // An unattended install: its seeds, and the config as it attaches them.
  const seeded = seedPlan({ spec, passwordHash: spec.passwordHash });
  if (!seeded) return { spec, origin, known, seeds: null, suite };
  return { spec: seeded.spec, origin, known, seeds: seeded.plan, suite };
}

export interface VmFiles {
  ctys: string;
  wrapper: string;
}

export function renderFiles(spec: VmSpec, date = new Date()): VmFiles {
  const ctx = { generator: GENERATOR, date: date.toISOString().slice(0, 10) };
  return { ctys: renderCtys(spec, ctx), wrapper: renderWrapper(spec.label, ctx) };
}

/**
 * A hard link of path at copy (copy-2, copy-3… when that name is taken: two
 * --force or deletes in one second must not lose the first copy). A link
 * never replaces anything, and path stays until the caller replaces or
 * removes it.
 */
export async function keepCopy(path: string, copy: string): Promise<string> {
  for (let n = 1; ; n++) {
    const name = n === 1 ? copy : `${copy}-${n}`;
    try {
      await link(path, name);
      return name;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

export function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '').slice(0, 14);
}

async function createImage(path: string, format: string, size: string): Promise<void> {
  try {
    await run('qemu-img', ['create', '-q', '-f', format, path, size]);
    taskOutput(`qemu-img create -f ${format} ${path} ${size}`);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new VmdeckError(500, 'qemu-img: not found (install Debian\'s qemu-utils)', 'disk');
    throw badInput('disk', `disk: qemu-img could not create '${path}': ${(err.stderr ?? err.message).trim().split('\n')[0]}`);
  }
}

export interface Created {
  vm: VmInfo;
  spec: VmSpec;
  /** Old files kept with a timestamp suffix by --force. */
  kept: string[];
  imageCreated: boolean;
  /** What the wrapper's --check says would stop the new VM from starting (a missing kernel, …), or null. */
  problem: string | null;
  /** What is made as asked but likely not as meant (an unattended account nobody can log in to). */
  warnings: string[];
}

/** A create's or clone's temporary directory: `.<LABEL>.tmp-<PID>-<START>-XXXXXX`, beside its target. */
export const tmpPrefix = (label: string) => `.${label}.tmp-`;
/** This process's part of it: its pid and start time (proc.ts), which tell its directory from a dead one's. */
export const tmpDirPrefix = (label: string) => `${tmpPrefix(label)}${process.pid}-${processStart(process.pid) ?? 0}-`;
/** A directory of an older vmdeck (no start time in its name) this old is a leftover even if its pid is alive again. */
const STALE_TMP_MS = 10 * 60 * 1000;

/**
 * Removes what interrupted creates and clones of this label left in the
 * base: temporary directories whose process is gone (or is another process
 * now, by its start time). Another's directory, still being filled, is left
 * alone however long it takes (a clone's copy of a large disk may take an
 * hour, and its directory's time does not move meanwhile).
 */
export async function removeStaleTmp(base: string, label: string): Promise<void> {
  const prefix = tmpPrefix(label);
  for (const name of await readdir(base)) {
    if (!name.startsWith(prefix)) continue;
    const p = join(base, name);
    const m = /^(\d+)-(?:(\d+)-(?=.))?/.exec(name.slice(prefix.length));
    const pid = Number(m?.[1]);
    const st = await stat(p).catch(() => null);
    if (!st || !(pid > 0)) continue;
    const started = processStart(pid);
    const stale = m?.[2] !== undefined
      ? started === undefined || String(started) !== m[2]
      : started === undefined || Date.now() - st.mtimeMs > STALE_TMP_MS;
    if (stale) await rm(p, { recursive: true, force: true });
  }
}

/**
 * Makes an image outside the VM directory: beside its final place, then
 * linked there, so that an image that appeared meanwhile is never replaced.
 * False when one did.
 */
async function createOutsideImage(path: string, format: string, size: string): Promise<boolean> {
  const part = `${path}.vmdeck-part-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await createImage(part, format, size);
    return await linkIntoPlace(part, path);
  } finally {
    await rm(part, { force: true });
  }
}

/** How an existing VM's files are replaced, in the words of who asked: the CLI's flag, the API's field. */
const replaceHint = (req: { confined?: boolean }) => req.confined
  ? 'choose another label; force: true replaces its config and wrapper, keeping the old ones'
  : '--force replaces its config and wrapper, keeping the old ones';

const alreadyExists = (label: string, target: string, hint: string) =>
  conflict(`label: VM '${label}' already exists in ${target} (${hint})`, 'label');

/**
 * Writes a VM's directory atomically: everything is built in a temporary
 * directory beside the target and renamed into place, so a failure or a
 * kill at any moment leaves the whole VM or nothing. That rename decides
 * between creates of one label at the same moment: the others get 409. With
 * force, an existing VM's config and wrapper are kept with a timestamp
 * suffix; an existing disk image is never overwritten.
 */
export function createVm(req: CreateRequest): Promise<Created> {
  // The environment's create-conf options, not the whole environment of the CLI.
  const { values, env, ...options } = req;
  // Written anew (--force): not under a change or a start of the VM there (vm-lock.ts).
  const create = () => (req.force && LABEL_RE.test(req.label) ? withVmLock(req.label, 'create-conf --force', () => createVmNow(req)) : createVmNow(req));
  return task('create', req.label, { ...options, ...(env ? envValues(env) : {}), ...values }, create);
}

async function createVmNow(req: CreateRequest): Promise<Created> {
  const base = resolve(req.base ?? defaultBase());
  if (req.force && LABEL_RE.test(req.label)) {
    // A VM written anew keeps its identity (UUID, MAC) unless the user gives another.
    const old = await readVmInfo(join(base, req.label, `${req.label}.ctys`)).catch(() => null);
    if (old) {
      const identity: Partial<VmSpecInput> = {};
      if (UUID_RE.test(old.uuid)) identity.uuid = old.uuid;
      if (MAC_RE.test(old.mac)) identity.mac = old.mac;
      req = { ...req, values: { ...identity, ...req.values } };
    }
  }
  const { spec, known, seeds, suite } = await resolveSpec(req);
  const target = join(base, spec.label);
  const targetExists = await exists(target);
  if (targetExists && !req.force) throw alreadyExists(spec.label, target, replaceHint(req));
  // The label's runtime dir, and a QEMU running in it.
  const { isQemuOf, readPid, recordedConfig, runtimePaths } = await import('./runtime');
  const p = runtimePaths(spec.label);
  const pidThere = await readPid(p.pidFile).catch(() => undefined);
  const running = pidThere !== undefined && (await isQemuOf(pidThere, p.dir)) ? pidThere : undefined;
  if (targetExists && running !== undefined) {
    // Its whole config written anew under a running QEMU: every setting pending, and nothing said of it.
    throw conflict(`label: VM '${spec.label}' is running (pid ${running}); stop it before --force writes it anew`, 'label');
  }
  const others = known.filter((v) => v.label === spec.label && v.dir !== target);
  if (others.length) throw conflict(`label: a VM '${spec.label}' already exists in ${others[0].dir}`, 'label');
  // One outside every base, running (started by its path): its runtime dir is the label's, which a second VM would share.
  const runningFrom = running !== undefined ? await recordedConfig(spec.label) : undefined;
  if (runningFrom && dirname(runningFrom) !== target) throw conflict(`label: a VM '${spec.label}' runs from ${runningFrom} (pid ${running}); two VMs of one label would share its runtime dir ${p.dir}`, 'label');

  let tmp: string;
  try {
    await mkdir(base, { recursive: true });
    await removeStaleTmp(base, spec.label);
    tmp = await mkdtemp(join(base, tmpDirPrefix(spec.label)));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'EEXIST' || err.code === 'ENOTDIR' ? 'not a directory'
      : err.code === 'EROFS' ? 'it is on a read-only file system'
        : err.code === 'EACCES' || err.code === 'EPERM' ? 'this user may not write there'
          : err.code === 'ENOSPC' || err.code === 'EDQUOT' ? 'no space left there'
            : err.code ?? err.message;
    throw badInput('base', `base: cannot make VMs in '${base}' (${why}; nothing was made)`);
  }
  const files = renderFiles(spec);
  const ctysName = `${spec.label}.ctys`;
  const shName = `${spec.label}.sh`;
  let imageCreated = false;
  /** An image this create made outside the VM directory: removed again if the create fails. */
  let madeOutside: string | undefined;
  try {
    await writeFile(join(tmp, ctysName), files.ctys, { mode: 0o644 });
    await writeFile(join(tmp, shName), files.wrapper, { mode: 0o755 });
    await chmod(join(tmp, shName), 0o755);
    if (seeds) await writeSeeds(seeds, tmp, target);
    if (suite) {
      // Each line to the caller (the CLI's stderr) and to the task log, which the dashboard follows.
      const progress = (line: string, done?: number) => {
        taskProgress(line, done);
        req.progress?.(line);
      };
      await buildDebootstrapDisk({ label: spec.label, suite, size: spec.diskSize, dir: tmp, progress });
      imageCreated = true;
    }
    const wantImage = req.createImage !== false && spec.disk !== '' && !suite;
    if (wantImage) {
      const inside = !isAbsolute(spec.disk);
      const finalPath = inside ? join(target, spec.disk) : spec.disk;
      if (!(await exists(finalPath))) {
        if (inside) {
          await mkdir(dirname(join(tmp, spec.disk)), { recursive: true });
          await createImage(join(tmp, spec.disk), spec.diskFormat, spec.diskSize);
          imageCreated = true;
        } else if (await createOutsideImage(finalPath, spec.diskFormat, spec.diskSize)) {
          madeOutside = finalPath;
          imageCreated = true;
        }
      }
    }
    // AUTOSTART=on from the start: the unit first, so a refusal of systemctl leaves no VM that says so.
    if (spec.autostart === 'on') await (await import('./autostart')).installUnit();
    const kept: string[] = [];
    if (!targetExists) {
      // A label no VM has: graphs kept of an earlier VM of it (deleted by hand) are not this one's.
      await rm(historyFile(spec.label), { force: true });
      try {
        await rename(tmp, target);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') throw alreadyExists(spec.label, target, 'another create made it meanwhile');
        throw e;
      }
    } else {
      const suffix = stamp();
      for (const name of await readdir(tmp)) {
        const dst = join(target, name);
        // A directory (a preseed's PXE tree) is moved aside whole: a hard link cannot keep it.
        if (await lstat(dst).then((st) => st.isDirectory(), () => false)) {
          await rename(dst, `${dst}.${suffix}`);
          kept.push(`${dst}.${suffix}`);
        } else if (await exists(dst)) kept.push(await keepCopy(dst, `${dst}.${suffix}`));
        await rename(join(tmp, name), dst);
      }
      await rm(tmp, { recursive: true, force: true });
    }
    const vm = await readVmInfo(join(target, ctysName));
    if (!vm) throw new VmdeckError(500, `${target}: the new config could not be read back`);
    return { vm, spec, kept, imageCreated, problem: await wrapperCheck(vm, [], vm.accelerator), warnings: await specWarnings(spec, vm.dir) };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (madeOutside) {
      // Unless the create that won took it as its existing disk.
      const winner = await readVmInfo(join(target, ctysName)).catch(() => null);
      if (winner?.disk !== madeOutside) await rm(madeOutside, { force: true });
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      throw new VmdeckError(500, `base: no space left in '${base}' for VM '${spec.label}' (nothing was made; free some space, or choose another --base)`, 'base');
    }
    throw e;
  }
}

export interface Preview {
  spec: VmSpec;
  files: Record<string, string>;
  argv: string[];
  /** As Created's: the review says them before anything is made. */
  warnings: string[];
}

/** What a create says of a VM made as asked but likely not as meant; dir is where the VM's relative paths point. */
async function specWarnings(spec: VmSpec, dir: string): Promise<string[]> {
  const said = [accountWarning(spec)];
  if (spec.unattended === 'preseed' && spec.memsize < PRESEED_MIN_MIB) {
    said.push(`MEMSIZE: ${spec.memsize} MiB: the Debian installer enters its low-memory mode below ${PRESEED_MIN_MIB} MiB and asks to go on, which stops the unattended install; give it 1024`);
  }
  // Its boot medium is checked by the wrapper (problem): a CD or DVD boot its ISO; the install's only when it is started.
  const installCd = (spec.instmode === 'CD' || spec.instmode === 'DVD') && spec.bootmode !== 'CD' && spec.bootmode !== 'DVD' && spec.instSrcCdrom !== '';
  if (installCd && !(await exists(resolve(dir, spec.instSrcCdrom)))) {
    said.push(`INSTSRCCDROM: ISO image '${spec.instSrcCdrom}' does not exist: the install (vmdeck start ${spec.label} --instmode) cannot start until it does`);
  }
  return said.filter((w): w is string => w !== null);
}

/** The files and QEMU command a create would produce; writes nothing that stays. */
export async function previewVm(req: CreateRequest): Promise<Preview> {
  const { spec, seeds } = await resolveSpec(req);
  const target = join(resolve(req.base ?? defaultBase()), spec.label);
  if (!req.force && (await exists(target))) throw alreadyExists(spec.label, target, replaceHint(req));
  // Refused in the review as create would refuse it (an install CD without its installer).
  if (seeds) await checkSeedSources(seeds, target);
  const files = renderFiles(spec);
  const tmp = await mkdtemp(join(tmpdir(), 'vmdeck-preview-'));
  try {
    // Relative paths must resolve against the VM's future directory.
    const dir = join(tmp, spec.label);
    await mkdir(dir);
    await writeFile(join(dir, `${spec.label}.ctys`), files.ctys);
    await writeFile(join(dir, `${spec.label}.sh`), files.wrapper, { mode: 0o755 });
    const argv = await wrapperPrint({ wrapper: join(dir, `${spec.label}.sh`), config: join(dir, `${spec.label}.ctys`) });
    const target = join(resolve(req.base ?? defaultBase()), spec.label);
    // The seed files as they will be written, the password hash left out.
    const seedFiles = Object.fromEntries((seeds?.files ?? []).map((f) => [f.file, redactSeed(f.text, spec.passwordHash)]));
    return {
      spec: { ...spec, passwordHash: spec.passwordHash ? '(not shown)' : '' },
      files: { [`${spec.label}.ctys`]: files.ctys, [`${spec.label}.sh`]: files.wrapper, ...seedFiles },
      argv: argv.map((a) => a.split(dir).join(target)),
      warnings: await specWarnings(spec, target),
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

// --- the wrapper's view ---------------------------------------------------

/** The wrapper's final QEMU command (its --print), one argument per element. */
export async function wrapperPrint(vm: WrapperOf, options: string[] = []): Promise<string[]> {
  try {
    const { stdout } = await runGroup('bash', wrapperArgs(vm, ['--print', ...options]), { timeout: WRAPPER_VIEW_MS });
    return stdout.replace(/\n$/, '').split('\n');
  } catch (e) {
    throw badInput('config', wrapperFailure(e, '--print'));
  }
}

/** How long the wrapper's --print and --check may take (they read the config and look at files, nothing more). */
const WRAPPER_VIEW_MS = 10000;

/** A failed --print or --check in one line: the wrapper's own complaint, or that it ran out of time. */
function wrapperFailure(e: unknown, option: string): string {
  const err = e as { stderr?: string; message: string; killed?: boolean };
  const said = complaint(err.stderr ?? '');
  if (said) return stripSelf(said);
  if (err.killed) return `the wrapper's ${option} did not finish within ${WRAPPER_VIEW_MS / 1000} s`;
  return stripSelf(err.message.split('\n')[0]);
}

/**
 * The wrapper's --check: null when it passes, else its one-line complaint.
 * A VM set to KVM is checked against this host's KVM probe (run first when
 * there is no verdict for this boot yet: the wrapper reads its cache).
 */
export async function wrapperCheck(vm: WrapperOf, options: string[] = [], accelerator?: string): Promise<string | null> {
  if (accelerator?.toUpperCase() === 'KVM') await kvmVerdict();
  try {
    await runGroup('bash', wrapperArgs(vm, ['--check', ...options]), { timeout: WRAPPER_VIEW_MS });
    return null;
  } catch (e) {
    return wrapperFailure(e, '--check');
  }
}

/**
 * A PASSWORD_HASH assignment's value, hidden: vmdeck writes the hash to the
 * seeds only, but a config written by hand (or by an older vmdeck) may hold
 * one, and the API never returns a secret.
 */
export function redactConfig(text: string): string {
  return text.replace(/^([ \t]*(?:export[ \t]+)?PASSWORD_HASH=).*$/gm, "$1'(not shown)'");
}

export async function readVmFiles(vm: VmInfo): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of [vm.config, vm.wrapper]) {
    const text = await readFile(p, 'utf8').catch(() => '');
    out[basename(p)] = p === vm.config ? redactConfig(text) : text;
  }
  return out;
}

/**
 * The VM's own files in its directory: config, wrapper, the copies --force
 * kept (<L>.ctys.<stamp>, <L>.sh.<stamp>), the saved state (<L>.suspend*),
 * the seeds (<L>.seed.*) and a debootstrap VM's kernel and initrd.
 * A directory may hold more than one VM (a ctys config directly in a base),
 * so nothing else there is the VM's.
 */
async function ownFiles(vm: VmInfo): Promise<string[]> {
  const stem = basename(vm.config, '.ctys');
  const wrapperName = basename(vm.wrapper);
  const mine = (name: string) => {
    if (name === basename(vm.config) || name === wrapperName) return true;
    for (const kept of [`${stem}.ctys.`, `${stem}.sh.`]) {
      if (name.startsWith(kept) && /^\d{14}(-\d+)?$/.test(name.slice(kept.length))) return true;
    }
    return name.startsWith(`${vm.label}.suspend`) || name.startsWith(`${vm.label}.seed.`) || uefiVarsFiles(vm.label).includes(name)
      || Object.values(debootstrapBootFiles(vm.label)).includes(name);
  };
  const entries = await readdir(vm.dir, { withFileTypes: true });
  return entries.filter((e) => !e.isDirectory() && mine(e.name)).map((e) => join(vm.dir, e.name));
}

/** The TPM's state (its keys go with the VM): swtpm's own files, then the directory if that left it empty. */
async function removeTpmState(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isFile() && TPM_STATE_FILE_RE.test(e.name)) await rm(join(dir, e.name), { force: true });
  await rmdir(dir).catch(() => undefined);
}

/**
 * Removes a VM's own files, and its directory when that is the VM's own and
 * nothing else is left in it. Its disk images (the first and every other)
 * are kept unless deleteDisks: one inside the VM's directory is moved aside,
 * out of it when the directory goes. keptDisk is the first disk's copy,
 * keptDisks every copy.
 */
export interface DeletedFiles {
  keptDisk?: string;
  keptDisks: string[];
  /** Images the VM names that are not its own to delete or move: outside its directory, or another VM's disk too; left where they are. */
  leftDisks: string[];
}

/** The disk images the VM names (the first and the others), as paths, that are there. */
async function imagesOf(vm: VmInfo): Promise<string[]> {
  const named = [vm.disk, ...vm.disks.filter((d) => d.index > 0 && d.file !== '').map((d) => inDir(vm.dir, d.file))];
  const images: string[] = [];
  for (const image of new Set(named)) if (image && (await exists(image))) images.push(image);
  return images;
}

/**
 * What the other VMs ENUMERATE finds make of this VM's images, by each
 * image's real path: a disk of theirs too, or the backing file of one of
 * their disks (a linked clone's overlay).
 */
export interface ImageUser {
  label: string;
  /** It reads through the image (a linked clone's overlay), not only has it as a disk. */
  backing: boolean;
  /** A kept disk of a deleted VM, not a VM's (label is then ''). */
  kept?: string;
}

export async function imageUsers(vm: VmInfo): Promise<Map<string, ImageUser>> {
  const mine = new Set(await Promise.all((await imagesOf(vm)).map(realOrSelf)));
  const users = new Map<string, ImageUser>();
  if (mine.size === 0) return users;
  const disks = (await enumerate()).filter((o) => o.config !== vm.config).flatMap((o) => o.disks.filter((d) => d.file).map((d) => ({ label: o.label, path: inDir(o.dir, d.file) })));
  // A few at a time: a host of thousands of VMs is read in parallel, not one disk after another.
  const seen = await mapLimit(disks, 16, async (d) => {
    const backing = await qcow2Backing(d.path);
    return { ...d, real: await realOrSelf(d.path), backing: backing && (await realOrSelf(backing)) };
  });
  for (const d of seen) {
    if (mine.has(d.real) && !users.has(d.real)) users.set(d.real, { label: d.label, backing: false });
    if (d.backing && mine.has(d.backing) && !users.get(d.backing)?.backing) users.set(d.backing, { label: d.label, backing: true });
  }
  // A deleted linked clone's kept disk (<base>/<label>.qcow2.<stamp>, or in a directory of the base) still reads through it.
  for (const kept of await keptCopies()) {
    const backing = await qcow2Backing(kept);
    const real = backing && (await realOrSelf(backing));
    if (real && mine.has(real) && !users.get(real)?.backing) users.set(real, { label: '', backing: true, kept });
  }
  return users;
}

/** The copies delete kept of disks (named <image>.<stamp>) in the bases and their directories. */
async function keptCopies(): Promise<string[]> {
  const KEPT = /\.\d{14}(?:[.-]\d+)?$/;
  const out: string[] = [];
  for (const base of bases()) {
    const entries = await readdir(base, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.isFile() && KEPT.test(e.name)) out.push(join(base, e.name));
      else if (e.isDirectory() && !e.name.startsWith('.')) {
        for (const f of await readdir(join(base, e.name), { withFileTypes: true }).catch(() => [])) {
          if (f.isFile() && KEPT.test(f.name) && !f.name.includes('.ctys.')) out.push(join(base, e.name, f.name));
        }
      }
    }
  }
  return out;
}

/** Refuses the delete of a VM whose image another VM reads through (a linked clone's backing file): that VM could not start again. */
export function refuseBackingUse(vm: VmInfo, users: Map<string, ImageUser>): void {
  for (const [image, user] of users) {
    if (user.backing && user.kept) {
      throw conflict(`label: VM '${vm.label}': its disk '${image}' is the backing file of the kept disk '${user.kept}' (a deleted linked clone's); remove that file, or make it whole first (qemu-img rebase -b '' '${user.kept}'), or it cannot be read again`, 'label');
    }
    if (user.backing) {
      throw conflict(`label: VM '${vm.label}': its disk '${image}' is the backing file of VM '${user.label}' (a linked clone); delete that VM first, or it cannot start again`, 'label');
    }
  }
}

/** A stopped VM's files; users: imageUsers(vm) when the caller asked it before anything of the VM went, else asked (and refused on) here. */
export function deleteVmFiles(vm: VmInfo, deleteDisks: boolean, users?: Map<string, ImageUser>): Promise<DeletedFiles> {
  return task('delete', vm.label, { disks: deleteDisks ? 'delete' : 'keep' }, async () => {
    const used = users ?? (await imageUsers(vm));
    if (!users) refuseBackingUse(vm, used);
    return deleteVmFilesNow(vm, deleteDisks, used);
  });
}

async function deleteVmFilesNow(vm: VmInfo, deleteDisks: boolean, users: Map<string, ImageUser>): Promise<DeletedFiles> {
  for (const f of await ownFiles(vm)) await rm(f, { force: true });
  // A preseed's PXE tree: its links and its pxelinux.cfg, nothing else.
  await removePxeTree(join(vm.dir, seedName(vm.label, 'pxe')));
  await removeTpmState(join(vm.dir, tpmStateDir(vm.label)));
  forget(vm.config);
  // The VM's own directory is <BASE>/<LABEL>/; a base or any other directory stays.
  const ownDir = [vm.label, basename(vm.config, '.ctys')].includes(basename(vm.dir)) && !bases().includes(vm.dir);
  // Its own images are in its directory and no other VM's: the others (a shared
  // image, another VM's disk, /etc/passwd named as one) are left where they are.
  const images = await imagesOf(vm);
  const inside: string[] = [];
  const leftDisks: string[] = [];
  // By real paths: a name with '..' in it, or through a symlink, may be anywhere.
  const ownDirReal = await realOrSelf(vm.dir);
  for (const image of images) {
    const named = resolve(image);
    const real = await realOrSelf(image);
    if (named.startsWith(`${vm.dir}/`) && real.startsWith(`${ownDirReal}/`) && !users.has(real)) inside.push(named);
    else leftDisks.push(image);
  }
  let keptDisk: string | undefined;
  const keptDisks: string[] = [];
  if (deleteDisks) {
    for (const image of inside) await rm(image, { force: true });
  } else if (inside.length) {
    const tops = new Set(inside.map((image) => image.slice(vm.dir.length + 1).split('/')[0]));
    const othersStay = (await readdir(vm.dir)).some((n) => !tops.has(n));
    const to = ownDir && !othersStay ? dirname(vm.dir) : vm.dir;
    for (const image of inside) {
      // Named for the VM it was of: its own name when that says so already (own.qcow2, own-disk1.qcow2), not own-own.qcow2.
      const own = basename(image).startsWith(`${vm.label}.`) || basename(image).startsWith(`${vm.label}-`);
      const name = own ? basename(image) : `${vm.label}-${basename(image)}`;
      const copy = await keepCopy(image, join(to, `${name}.${stamp()}`));
      await rm(image);
      keptDisks.push(copy);
      if (image === resolve(vm.disk)) keptDisk = copy;
    }
  }
  for (const image of inside) {
    // A disk in a subdirectory of the VM's: that subdirectory goes if it is empty now.
    for (let d = dirname(image); d.startsWith(`${vm.dir}/`); d = dirname(d)) {
      if (!(await rmdir(d).then(() => true, () => false))) break;
    }
  }
  // rmdir, not rm -r: a directory that still holds anything stays.
  if (ownDir) await rmdir(vm.dir).catch(() => undefined);
  return { ...(keptDisk ? { keptDisk } : {}), keptDisks, leftDisks };
}
