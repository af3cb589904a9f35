#!/usr/bin/env node
// The vmdeck command. Runs .cache/cli/vmdeck.mjs (scripts/build-cli.mjs, run
// by setup) while every source it was bundled from is unchanged since; else
// the TypeScript sources through tsx, so that `npx vmdeck` works right after
// `npm ci` with no build step, and an edited source is never run stale.
// VMDECK_CLI_SOURCES=1 always takes the sources.
import { readFileSync, statSync } from 'node:fs';

const repo = new URL('..', import.meta.url);

function bundleIsFresh() {
  if (process.env.VMDECK_CLI_SOURCES === '1') return false;
  try {
    const { startedAt, inputs } = JSON.parse(readFileSync(new URL('.cache/cli/inputs.json', repo), 'utf8'));
    return inputs.length > 0 && inputs.every((f) => statSync(new URL(f, repo)).mtimeMs < startedAt);
  } catch {
    return false; // no bundle, or a source is gone
  }
}

// `vmdeck enumerate | head` is fine: a closed pipe ends the command quietly.
process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(0); else throw e; });
let main;
if (bundleIsFresh()) {
  ({ main } = await import(new URL('.cache/cli/vmdeck.mjs', repo).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../server/cli/index.ts'));
}
process.exitCode = await main(process.argv.slice(2));
