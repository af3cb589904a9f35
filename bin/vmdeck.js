#!/usr/bin/env node
// The vmdeck command: runs the TypeScript sources through tsx, so that
// `npx vmdeck` works right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
// `vmdeck enumerate | head` is fine: a closed pipe ends the command quietly.
process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(0); else throw e; });
const { main } = await import('../server/cli/index.ts');
process.exitCode = await main(process.argv.slice(2));
