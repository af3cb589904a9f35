// The macmap database vmdeck reads (lib/macmap.ts): VMDECK_MACMAP, files
// %-separated (ctys's macmap.fdb, or /etc/ethers), by default
// $VMDECK_HOME/macmap.fdb when it exists. Read again only when a file changed.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Macmap, parseMacmap } from '../lib/macmap';
import { vmdeckHome } from './paths';

export function macmapFiles(env = process.env): string[] {
  const given = (env.VMDECK_MACMAP ?? '').split('%').filter(Boolean);
  return given.length ? given : [join(vmdeckHome(env), 'macmap.fdb')];
}

let cached: { key: string; map: Macmap | null } | undefined;

/** The database, or null when there is none (no file): nothing is then looked up or flagged. */
export function loadMacmap(env = process.env): Macmap | null {
  const files = macmapFiles(env);
  const stats = files.map((f) => {
    try {
      const st = statSync(f);
      return `${f}:${st.mtimeMs}:${st.size}`;
    } catch {
      return '';
    }
  });
  const key = stats.join('|');
  if (cached?.key === key) return cached.map;
  const entries = files.flatMap((f, i) => (stats[i] ? parseMacmap(readFileSync(f, 'utf8')) : []));
  const map = stats.some(Boolean) ? new Macmap(entries) : null;
  cached = { key, map };
  return map;
}
