#!/usr/bin/env node
// The vmdeck command. Runs .cache/cli/<build>/vmdeck.cjs (scripts/build-cli.mjs, run
// by setup) while every source it was bundled from is unchanged since; else
// the TypeScript sources through tsx, so that `npx vmdeck` works right after
// `npm ci` with no build step, and an edited source is never run stale.
// VMDECK_CLI_SOURCES=1 always takes the sources.
//
// CommonJS (bin/package.json): node starts a CommonJS main without its ES
// module loader, some 7 ms of every command's start (docs/PERFORMANCE.md).
'use strict';
const { accessSync, constants, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname } = require('node:path');
const { fileURLToPath, pathToFileURL } = require('node:url');
const vm = require('node:vm');

const repo = new URL('..', pathToFileURL(__filename));

/**
 * The bundle's manifest names the build (its directory, and the first line
 * of its script) and the sources it read; each must be untouched since the
 * build started: its ctime too, which a copy that keeps mtimes (tar, cp -p)
 * cannot set back. Returns the build's directory and script, or null when it
 * is stale.
 */
function freshBuild() {
  if (process.env.VMDECK_CLI_SOURCES === '1') return null;
  try {
    const { id, startedAt, inputs } = JSON.parse(readFileSync(new URL('.cache/cli/inputs.json', repo), 'utf8'));
    const dir = fileURLToPath(new URL(`.cache/cli/${id}/`, repo));
    // latin1: the bundle is ASCII (scripts/build-cli.mjs), and a UTF-8 decode of its 1 MB cost 5 ms a command.
    const source = readFileSync(`${dir}vmdeck.cjs`, 'latin1');
    if (!source.startsWith(`// vmdeck-cli-build ${id}\n`)) return null;
    const fresh = inputs.length > 0 && inputs.every((f) => {
      const st = statSync(new URL(f, repo));
      return st.mtimeMs < startedAt && st.ctimeMs < startedAt;
    });
    return fresh ? { dir, source } : null;
  } catch {
    return null; // no bundle, or a source is gone
  }
}

/**
 * Runs the bundle's script with V8's code cache of this command's last run
 * (<command>.v8cache beside it): what that run compiled is read back, not
 * parsed and compiled again, about a fifth of create-conf's instructions
 * (docs/PERFORMANCE.md). V8 rejects a cache of another script or another
 * node; the command then runs compiled afresh and leaves a new cache, as
 * the first run of a command does. Returns the bundle's exports and what
 * writes the cache once the command is done.
 */
function loadBundle({ dir, source }, command) {
  const file = `${dir}vmdeck.cjs`;
  const cacheFile = /^[a-z][a-z-]{0,31}$/.test(command ?? '') ? `${dir}${command}.v8cache` : null;
  let cachedData;
  try {
    if (cacheFile) cachedData = readFileSync(cacheFile);
  } catch {
    // not run yet
  }
  // Node's own CommonJS wrapper, on one line: the script's line numbers stay its own.
  // It has no import(): a script's needs a flag of node's (scripts/build-cli.mjs checks).
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  const stale = cacheFile && (cachedData === undefined || script.cachedDataRejected) && module.exports.COMMAND_NAMES.includes(command);
  const save = () => {
    if (!stale) return;
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      accessSync(dir, constants.W_OK); // before the cache is made: making it costs a few ms
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    } catch {
      // a read-only install: every run compiles, as without a cache
      rmSync(tmp, { force: true });
    }
  };
  return { exports: module.exports, save };
}

// `vmdeck enumerate | head` is fine: a closed pipe ends the command quietly.
process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(0); else throw e; });
async function run() {
  let main;
  let saveCache = () => undefined;
  const build = freshBuild();
  if (build) {
    const bundle = loadBundle(build, process.argv[2]);
    ({ main } = bundle.exports);
    saveCache = bundle.save;
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
  saveCache();
}

run().catch((e) => {
  // As an ES module's top-level await would: the error, and exit 1.
  console.error(e);
  process.exit(1);
});
