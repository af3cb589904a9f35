// ENUMERATE's facts of plain configs and its listings of the directories
// under the bases, kept in the runtime root between processes: `vmdeck
// enumerate` over 10,000 VMs spent most of its time reading and parsing
// configs that had not changed since the command before, then listing
// directories that had not changed either (docs/PERFORMANCE.md). An entry is
// used only while its file's stamp (mtime, ctime, size, inode) is what it was
// when the entry was made; there is a file per base (a command walking one
// base reads nothing of another's), private (the runtime root is 0700,
// checked by trustedRunRoot) and written whole to a temporary name, then
// renamed.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VmInfo } from '../lib/vm';

/** What identifies one version of a file or directory. */
export interface Stamp {
  mtimeMs: number;
  ctimeMs: number;
  size: number;
  ino: number;
}

export interface CachedInfo extends Stamp {
  info: VmInfo;
  /** Read without bash: the only kind kept on disk (a config bash evaluates may depend on more than itself). */
  plain: boolean;
}

/** What ENUMERATE walks of one directory: its .ctys files and its subdirectories (names). */
export interface CachedDir extends Stamp {
  configs: string[];
  subdirs: string[];
}

export interface EnumerateCache {
  configs: Map<string, CachedInfo>;
  dirs: Map<string, CachedDir>;
}

/** The file of one base: named by a digest of its path, which the file holds too. */
export const cacheFile = (base: string) => `enumerate-cache-${createHash('sha256').update(base).digest('hex').slice(0, 16)}.json`;
/** Bumped when VmInfo or this file's form changes: an older file is then ignored. */
const VERSION = 3;
/** The one file of every base that versions before 3 wrote. */
const OLD_FILE = 'enumerate-cache.json';

export const sameStamp = (a: Stamp, b: Stamp) => a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.size === b.size && a.ino === b.ino;

/**
 * Whether a listing read at readAtMs may stand for its directory while the
 * stamp holds. A file system stamps with a coarse clock (a tick of a few ms,
 * and more on a network file system): an entry added in the same tick as a
 * listing was read leaves the directory's stamp as it was. A directory
 * changed this close to the read is listed again next time.
 */
export const RACY_MS = 2000;
export const settled = (st: Stamp, readAtMs: number) => st.mtimeMs < readAtMs - RACY_MS && st.ctimeMs < readAtMs - RACY_MS;

type ConfigRow = [string, number, number, number, number, VmInfo];

/**
 * A VM's directory and wrapper as its config's path gives them (a config
 * vmdeck reads has them so; see store.ts's vmInfo): kept once, in the
 * path. The cache's own JSON was most of a second `vmdeck enumerate`'s
 * time, and these paths a seventh of it.
 */
function derived(path: string): { dir: string; wrapper: string } {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash);
  return { dir, wrapper: `${dir}/${path.slice(slash + 1).replace(/\.ctys$/, '')}.sh` };
}

/** The info as kept: its paths 0 where the config's path gives them (the keys stay, in their order). */
function slim(path: string, info: VmInfo): VmInfo {
  const d = derived(path);
  if (info.config !== path || info.dir !== d.dir || info.wrapper !== d.wrapper) return info;
  return { ...info, dir: 0, config: 0, wrapper: 0 } as unknown as VmInfo;
}

function whole(path: string, info: VmInfo): VmInfo {
  if ((info.config as unknown) !== 0) return info;
  const d = derived(path);
  info.dir = d.dir;
  info.config = path;
  info.wrapper = d.wrapper;
  return info;
}
type DirRow = [string, number, number, number, number, string[], string[]];

/** The entries kept in root for base; none when there is no file or it is not this version's or this base's. */
export function loadEnumerateCache(root: string, base: string): EnumerateCache {
  const out: EnumerateCache = { configs: new Map(), dirs: new Map() };
  try {
    const data = JSON.parse(readFileSync(join(root, cacheFile(base)), 'utf8')) as { version?: number; base?: string; configs?: ConfigRow[]; dirs?: DirRow[] };
    if (data.version !== VERSION || data.base !== base || !Array.isArray(data.configs) || !Array.isArray(data.dirs)) return out;
    for (const [path, mtimeMs, ctimeMs, size, ino, info] of data.configs) out.configs.set(path, { mtimeMs, ctimeMs, size, ino, info: whole(path, info), plain: true });
    for (const [path, mtimeMs, ctimeMs, size, ino, configs, subdirs] of data.dirs) out.dirs.set(path, { mtimeMs, ctimeMs, size, ino, configs, subdirs });
  } catch {
    // none yet, or unreadable: every config is read
  }
  return out;
}

let oldFileGone = false;

/** Replaces base's file in root with the plain entries and the listings under base. */
export function saveEnumerateCache(root: string, base: string, cache: EnumerateCache): void {
  const under = (path: string) => base === '/' || path === base || path.startsWith(`${base}/`);
  const configs: ConfigRow[] = [];
  for (const [path, e] of cache.configs) if (e.plain && under(path)) configs.push([path, e.mtimeMs, e.ctimeMs, e.size, e.ino, slim(path, e.info)]);
  const dirs: DirRow[] = [];
  for (const [path, d] of cache.dirs) if (under(path)) dirs.push([path, d.mtimeMs, d.ctimeMs, d.size, d.ino, d.configs, d.subdirs]);
  const file = join(root, cacheFile(base));
  const tmp = `${file}.${process.pid}.tmp`;
  if (!oldFileGone) {
    oldFileGone = true;
    rmSync(join(root, OLD_FILE), { force: true });
  }
  try {
    writeFileSync(tmp, JSON.stringify({ version: VERSION, base, configs, dirs }), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // a full or read-only disk: the next command reads the configs again
    rmSync(tmp, { force: true });
  }
}
