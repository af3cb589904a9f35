// Bundles the vmdeck command (server/cli/index.ts and all it imports of
// vmdeck's own sources) into .cache/cli/vmdeck.mjs with esbuild, packages
// left to node_modules. bin/vmdeck.js runs the bundle while none of the
// sources it was built from has changed (mtime or ctime) since, and the sources through tsx
// otherwise: a start of ~0.1 s instead of ~0.35 s, never a stale command.
// scripts/setup.sh runs this; so can anyone, any time.
import { build } from 'esbuild';
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { regenerate } from './gen-wrapper.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const out = `${repo}.cache/cli`;
mkdirSync(out, { recursive: true });
// Sources changed after this moment make the bundle stale, even if the change
// raced the build itself. The id ties the bundle to its manifest (two builds
// at once may rename their files in any order).
const startedAt = Date.now();
// The bundle embeds the wrapper from body.ts: bring that up to body.sh first.
regenerate();
const id = `${startedAt}-${process.pid}-${randomBytes(4).toString('hex')}`;
const result = await build({
  banner: { js: `// vmdeck-cli-build ${id}` },
  absWorkingDir: repo,
  entryPoints: ['server/cli/index.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  outfile: `${out}/vmdeck.tmp.mjs`,
  metafile: true,
  logLevel: 'warning',
});
// body.sh too: an edit of it makes the bundle stale (bin/vmdeck.js's sources
// path regenerates body.ts from it).
const inputs = [...Object.keys(result.metafile.inputs), 'lib/wrapper/body.sh', 'lib/wrapper/ctys-env.sh'];
writeFileSync(`${out}/inputs.tmp.json`, `${JSON.stringify({ id, startedAt, inputs })}\n`);
// The manifest last: a bundle without a matching manifest is never used.
renameSync(`${out}/vmdeck.tmp.mjs`, `${out}/vmdeck.mjs`);
renameSync(`${out}/inputs.tmp.json`, `${out}/inputs.json`);
console.log(`build-cli: .cache/cli/vmdeck.mjs from ${inputs.length} sources`);
