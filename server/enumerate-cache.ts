// ENUMERATE's facts of plain configs, kept in the runtime root between
// processes: `vmdeck enumerate` over 10,000 VMs spent most of its time
// reading and parsing configs that had not changed since the command before
// (docs/PERFORMANCE.md). An entry is used only while its config's stamp
// (mtime, ctime, size, inode) is what it was when the entry was made; the
// file is private (the runtime root is 0700, checked by trustedRunRoot) and
// written whole to a temporary name, then renamed.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VmInfo } from '../lib/vm';

/** What identifies one version of a config file. */
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

const FILE = 'enumerate-cache.json';
/** Bumped when VmInfo or this file's form changes: an older file is then ignored. */
const VERSION = 1;

export const sameStamp = (a: Stamp, b: Stamp) => a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.size === b.size && a.ino === b.ino;

/** The entries kept in root; none when there is no file or it is not this version's. */
export function loadEnumerateCache(root: string): Map<string, CachedInfo> {
  const out = new Map<string, CachedInfo>();
  try {
    const data = JSON.parse(readFileSync(join(root, FILE), 'utf8')) as { version?: number; entries?: [string, Stamp, VmInfo][] };
    if (data.version !== VERSION || !Array.isArray(data.entries)) return out;
    for (const [path, st, info] of data.entries) out.set(path, { ...st, info, plain: true });
  } catch {
    // none yet, or unreadable: every config is read
  }
  return out;
}

/** Replaces the file in root with the plain entries. */
export function saveEnumerateCache(root: string, entries: Map<string, CachedInfo>): void {
  const rows: [string, Stamp, VmInfo][] = [];
  for (const [path, e] of entries) {
    if (e.plain) rows.push([path, { mtimeMs: e.mtimeMs, ctimeMs: e.ctimeMs, size: e.size, ino: e.ino }, e.info]);
  }
  const tmp = join(root, `${FILE}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, JSON.stringify({ version: VERSION, entries: rows }), { mode: 0o600 });
    renameSync(tmp, join(root, FILE));
  } catch {
    // a full or read-only disk: the next command reads the configs again
    rmSync(tmp, { force: true });
  }
}
