#!/usr/bin/env node
// The vmdeck command. Runs .cache/cli/<build>/vmdeck.mjs (scripts/build-cli.mjs, run
// by setup) while every source it was bundled from is unchanged since; else
// the TypeScript sources through tsx, so that `npx vmdeck` works right after
// `npm ci` with no build step, and an edited source is never run stale.
// VMDECK_CLI_SOURCES=1 always takes the sources.
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';

const repo = new URL('..', import.meta.url);

/**
 * The bundle's manifest names the build (its directory, and the first line
 * of its files) and the sources it read; each must be untouched since the
 * build started: its ctime too, which a copy that keeps mtimes (tar, cp -p)
 * cannot set back. Returns the build's id, or null when it is stale.
 */
function freshBuild() {
  if (process.env.VMDECK_CLI_SOURCES === '1') return null;
  try {
    const { id, startedAt, inputs } = JSON.parse(readFileSync(new URL('.cache/cli/inputs.json', repo), 'utf8'));
    const head = Buffer.alloc(128);
    const fd = openSync(new URL(`.cache/cli/${id}/vmdeck.mjs`, repo), 'r');
    const n = readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    if (!head.subarray(0, n).toString('utf8').startsWith(`// vmdeck-cli-build ${id}\n`)) return null;
    const fresh = inputs.length > 0 && inputs.every((f) => {
      const st = statSync(new URL(f, repo));
      return st.mtimeMs < startedAt && st.ctimeMs < startedAt;
    });
    return fresh ? id : null;
  } catch {
    return null; // no bundle, or a source is gone
  }
}

// `vmdeck enumerate | head` is fine: a closed pipe ends the command quietly.
process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(0); else throw e; });
let main;
const build = freshBuild();
if (build) {
  ({ main } = await import(new URL(`.cache/cli/${build}/vmdeck.mjs`, repo).href));
} else {
  // An edited body.sh reaches the wrapper create-conf writes through body.ts.
  const { regenerate } = await import('../scripts/gen-wrapper.mjs');
  try {
    regenerate();
  } catch (e) {
    console.error(`vmdeck: lib/wrapper/body.ts is older than body.sh and cannot be rewritten: ${e.message}`);
    process.exit(1);
  }
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../server/cli/index.ts'));
}
process.exitCode = await main(process.argv.slice(2));
