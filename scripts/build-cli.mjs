// Bundles the vmdeck command (server/cli/index.ts and all it imports of
// vmdeck's own sources, zod and ws) with esbuild into .cache/cli/<build>/:
// one CommonJS script, vmdeck.cjs, that bin/vmdeck.js compiles with V8's
// code cache of the command's last run beside it (<command>.v8cache): a
// command neither parses nor compiles what it ran before
// (docs/PERFORMANCE.md). The other packages are left to node_modules.
// bin/vmdeck.js runs the bundle while none of the sources it was built from
// has changed (mtime or ctime) since, and the sources through tsx
// otherwise: a start of ~0.1 s instead of ~0.35 s, never a stale command.
// scripts/setup.sh runs this; so can anyone, any time.
import { build } from 'esbuild';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { regenerate } from './gen-wrapper.mjs';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const out = `${repo}.cache/cli`;
mkdirSync(out, { recursive: true });
// Sources changed after this moment make the bundle stale, even if the change
// raced the build itself. The id names the build's directory and ties it to
// the manifest (two builds at once may rename their manifests in any order).
const startedAt = Date.now();
// The bundle embeds the wrapper from body.ts: bring that up to body.sh first.
regenerate();
const id = `${startedAt}-${process.pid}-${randomBytes(4).toString('hex')}`;
/**
 * Bundled, not imported: Node's ESM loader resolves, reads and compiles
 * every file of a package one by one (zod is ~100 files), which was the
 * largest part of `vmdeck create-conf`'s start (docs/PERFORMANCE.md). The
 * others stay outside: node-pty is a native addon, next loads only for serve.
 */
const BUNDLED = ['zod', 'ws'];
const { dependencies } = JSON.parse(readFileSync(`${repo}package.json`, 'utf8'));
const external = Object.keys(dependencies).filter((d) => !BUNDLED.includes(d));
const result = await build({
  // A script, not an ES module: Node 20 keeps no code cache of a module, and
  // vm.Script takes one. import.meta.url (server/repo.ts) is the script's own.
  banner: { js: `// vmdeck-cli-build ${id}\nconst __vmdeckUrl = require('node:url').pathToFileURL(__filename).href;` },
  define: { 'import.meta.url': '__vmdeckUrl' },
  // import() of a package left out (node-pty, next: CommonJS both) becomes a require:
  // a script's import() needs a flag of node's (vm.Script's importModuleDynamically).
  supported: { 'dynamic-import': false },
  absWorkingDir: repo,
  entryPoints: ['server/cli/index.ts'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external,
  outfile: `${out}/${id}.tmp/vmdeck.cjs`,
  metafile: true,
  logLevel: 'warning',
});
// ASCII only: bin/vmdeck.js reads the bundle as latin1, 2 ms where a UTF-8 decode of it took 7 ms
// of every command, and V8 compiles a one-byte string faster (docs/PERFORMANCE.md). esbuild escapes
// strings, regular expressions and names (its charset: ascii); a comment it keeps inside an
// expression is escaped here, each UTF-16 unit as \uXXXX, which means the same anywhere in a script.
const bundle = readFileSync(`${out}/${id}.tmp/vmdeck.cjs`, 'utf8').replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
writeFileSync(`${out}/${id}.tmp/vmdeck.cjs`, bundle);
// None may be left.
const dynamic = /(?<![\w$.])import\(\s*["'`]?[^)]{0,80}/.exec(bundle);
if (dynamic) {
  rmSync(`${out}/${id}.tmp`, { recursive: true, force: true });
  throw new Error(`build-cli: the bundle has an import() a script cannot run: ${dynamic[0]}`);
}
// body.sh too: an edit of it makes the bundle stale (bin/vmdeck.js's sources
// path regenerates body.ts from it). A bundled package's files are stood for
// by its package.json, which npm rewrites with them (one stat at start-up,
// not a hundred).
const own = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('node_modules/'));
const packages = BUNDLED.map((d) => `node_modules/${d}/package.json`);
const inputs = [...own, ...packages, 'lib/wrapper/body.sh', 'lib/wrapper/ctys-env.sh'];
renameSync(`${out}/${id}.tmp`, `${out}/${id}`);
writeFileSync(`${out}/inputs.tmp.json`, `${JSON.stringify({ id, startedAt, inputs })}\n`);
// The manifest last: a build without a matching manifest is never used.
renameSync(`${out}/inputs.tmp.json`, `${out}/inputs.json`);
// Older builds go, but the one before this: a command started from it may still be writing its code cache there.
const builds = readdirSync(out).filter((d) => /^\d+-\d+-[0-9a-f]+$/.test(d)).sort((a, b) => Number(a.split('-')[0]) - Number(b.split('-')[0]));
for (const old of builds.filter((d) => d !== id).slice(0, -1)) rmSync(`${out}/${old}`, { recursive: true, force: true });
// The single-file bundle of earlier builds.
rmSync(`${out}/vmdeck.mjs`, { force: true });
console.log(`build-cli: .cache/cli/${id}/vmdeck.cjs from ${inputs.length} sources`);
