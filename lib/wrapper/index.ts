// The wrapper <LABEL>.sh: a standalone bash script that sources <LABEL>.ctys
// and is the one place where the QEMU command line is assembled. Only its
// header is per VM; the body is lib/wrapper/body.sh (with ctys-env.sh).
import { shellQuote } from '../ctys';
import { CTYS_ENV, WRAPPER_BODY } from './body';

export function renderWrapper(label: string, ctx: { generator: string; date: string }): string {
  return [
    '#!/usr/bin/env bash',
    `# ${label}.sh: starts QEMU VM "${label}" from ${label}.ctys beside it.`,
    `# Written by ${ctx.generator} on ${ctx.date}. Standalone: needs bash and QEMU.`,
    `# Run "${label}.sh -h" for the options; "${label}.sh --print" shows the command.`,
    // Read by sh (sh L.sh), the body's bash would fail at its first bash word: said in one line, in sh's own syntax.
    '[ -n "${BASH_VERSION:-}" ] || { echo "$0: needs bash (run it as bash $0, or as ./${0##*/})" >&2; exit 2; }',
    `CONF_NAME=${shellQuote(`${label}.ctys`)}`,
    "CONF_KIND='vmdeck'",
    '',
    CTYS_ENV,
    WRAPPER_BODY,
  ].join('\n');
}

/**
 * vmdeck's wrapper for a ctys-made config: the same body, run from vmdeck's
 * own copy (`bash -c TEXT`), never ctys's wrapper beside the config, and
 * with ctys's meanings of the config's values (docs/CTYS.md).
 */
export function renderCtysRunner(configDir: string, configName: string): string {
  return [
    `# vmdeck's wrapper for the ctys config ${configDir}/${configName}.`,
    `CONF_NAME=${shellQuote(configName)}`,
    `CONF_DIR=${shellQuote(configDir)}`,
    "CONF_KIND='ctys'",
    '',
    CTYS_ENV,
    WRAPPER_BODY,
  ].join('\n');
}

/** Whether a wrapper's text is one vmdeck wrote (its header says so). */
export function isVmdeckWrapper(head: string): boolean {
  return /^# Written by vmdeck /m.test(head.slice(0, 1024));
}
