// Where vmdeck's own files are (package.json, app/, .next/): found by walking
// up from this module, which is server/repo.ts when run from the sources and
// .cache/cli/<build>/*.mjs when run from the CLI's bundle (scripts/build-cli.mjs).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepo(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'server'))) return dir;
    if (dirname(dir) === dir) throw new Error(`vmdeck: no package.json with server/ above ${from}`);
  }
}

export const REPO = findRepo(dirname(fileURLToPath(import.meta.url)));
