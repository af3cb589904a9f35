// ENUMERATE's facts of plain configs and its listings of the directories
// under the bases, kept in the runtime root between processes: `vmdeck
// enumerate` over 10,000 VMs spent most of its time reading and parsing
// configs that had not changed since the command before, then listing
// directories that had not changed either (docs/PERFORMANCE.md). An entry is
// used only while its file's stamp (mtime, ctime, size, inode) is what it was
// when the entry was made, and made only of a file unchanged for RACY_MS
// before it was read (settled); there is a file per base (a command walking one
// base reads nothing of another's), private (the runtime root is 0700,
// checked by trustedRunRoot) and written whole to a temporary name, then
// renamed.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { VmInfo } from '../lib/vm';
import { writeTextsFile } from './fsutil';

/** What identifies one version of a file or directory. */
export interface Stamp {
  mtimeMs: number;
  ctimeMs: number;
  size: number;
  ino: number;
}

export interface CachedInfo extends Stamp {
  /** The facts; from the cache's copy they are parsed from text the first time asked (infoOf). */
  info?: VmInfo;
  /** The record as `vmdeck enumerate --json` prints it while the VM is stopped (recordText), made once. */
  text?: string;
  /** What ENUMERATE needs of every VM before its facts: its label and #@#VMSTATE. */
  label: string;
  vmstate: string;
  /** Read without bash: the only kind kept on disk (a config bash evaluates may depend on more than itself). */
  plain: boolean;
  /** The other files its facts were read from, and their stamps then (a ctys config's; never kept on disk). */
  deps?: FactDep[];
}

/** A file a config's facts were read from beside it, and its mtime or inode then (-1: not there). */
export type FactDep = [string, 'mtime' | 'ino', number];

/** What ENUMERATE walks of one directory: its .ctys files, its subdirectories and its saved states (*.suspend; names). */
export interface CachedDir extends Stamp {
  configs: string[];
  subdirs: string[];
  suspends: string[];
}

export interface EnumerateCache {
  configs: Map<string, CachedInfo>;
  dirs: Map<string, CachedDir>;
}

/** The file of one base: named by a digest of its path, which the file holds too. */
export const cacheFile = (base: string) => `enumerate-cache-${createHash('sha256').update(base).digest('hex').slice(0, 16)}.json`;
/** Bumped when VmInfo or this file's form changes: an older file is then ignored. */
const VERSION = 5;
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

/** path, stamp, label, #@#VMSTATE, and the length of its record in the text after the index. */
type ConfigRow = [string, number, number, number, number, string, string, number];
type DirRow = [string, number, number, number, number, string[], string[], string[]];

/**
 * A record of `vmdeck enumerate --json` (JSON.stringify(list, null, 2)):
 * the element of a list of one, its lines indented one level, without the
 * list's brackets.
 */
export const recordText = (info: VmInfo) => {
  const list = JSON.stringify([info], null, 2);
  return list.slice(2, list.length - 2);
};

/** An entry's record text, made from its facts the first time asked. */
export function textOf(e: CachedInfo): string {
  e.text ??= recordText(e.info!);
  return e.text;
}

/** An entry's facts, parsed from its record text the first time asked. */
export function infoOf(e: CachedInfo): VmInfo {
  e.info ??= JSON.parse(e.text!) as VmInfo;
  return e.info;
}

/**
 * The entries kept in root for base; none when there is no file or it is
 * not this version's or this base's. The file is a line of JSON (the
 * stamps, labels, states and listings) and then each config's record text
 * as the output prints it: a command that finds nothing changed prints
 * those texts as they are, and parses a record only when it needs its
 * facts (a running VM, the table, the API). The cache's JSON, parsed into
 * an object per VM and stringified again, was a third of such a command.
 */
export function loadEnumerateCache(root: string, base: string): EnumerateCache {
  const out: EnumerateCache = { configs: new Map(), dirs: new Map() };
  try {
    const text = readFileSync(join(root, cacheFile(base)), 'utf8');
    const nl = text.indexOf('\n');
    const data = JSON.parse(text.slice(0, nl)) as { version?: number; base?: string; configs?: ConfigRow[]; dirs?: DirRow[] };
    if (data.version !== VERSION || data.base !== base || !Array.isArray(data.configs) || !Array.isArray(data.dirs)) return out;
    let at = nl + 1;
    for (const row of data.configs) at += row[7];
    if (at !== text.length) return out; // not what this version wrote
    at = nl + 1;
    for (const [path, mtimeMs, ctimeMs, size, ino, label, vmstate, length] of data.configs) {
      out.configs.set(path, { mtimeMs, ctimeMs, size, ino, label, vmstate, text: text.slice(at, at + length), plain: true });
      at += length;
    }
    for (const [path, mtimeMs, ctimeMs, size, ino, configs, subdirs, suspends] of data.dirs) out.dirs.set(path, { mtimeMs, ctimeMs, size, ino, configs, subdirs, suspends });
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
  const texts: string[] = [];
  for (const [path, e] of cache.configs) {
    if (!e.plain || !under(path)) continue;
    const text = textOf(e);
    configs.push([path, e.mtimeMs, e.ctimeMs, e.size, e.ino, e.label, e.vmstate, text.length]);
    texts.push(text);
  }
  const dirs: DirRow[] = [];
  for (const [path, d] of cache.dirs) if (under(path)) dirs.push([path, d.mtimeMs, d.ctimeMs, d.size, d.ino, d.configs, d.subdirs, d.suspends]);
  const file = join(root, cacheFile(base));
  const tmp = `${file}.${process.pid}.tmp`;
  if (!oldFileGone) {
    oldFileGone = true;
    rmSync(join(root, OLD_FILE), { force: true });
  }
  try {
    writeTextsFile(tmp, [`${JSON.stringify({ version: VERSION, base, configs, dirs })}\n`, ...texts]);
    renameSync(tmp, file);
  } catch {
    // a full or read-only disk: the next command reads the configs again
    rmSync(tmp, { force: true });
  }
}
