// The wrapper <LABEL>.sh: a standalone bash script that sources <LABEL>.ctys
// and is the one place where the QEMU command line is assembled. Only its
// header is per VM; the body is lib/wrapper/body.sh.
import { shellQuote } from '../ctys';
import { WRAPPER_BODY } from './body';

export function renderWrapper(label: string, ctx: { generator: string; date: string }): string {
  return [
    '#!/usr/bin/env bash',
    `# ${label}.sh: starts QEMU VM "${label}" from ${label}.ctys beside it.`,
    `# Written by ${ctx.generator} on ${ctx.date}. Standalone: needs bash and QEMU.`,
    `# Run "${label}.sh -h" for the options; "${label}.sh --print" shows the command.`,
    `CONF_NAME=${shellQuote(`${label}.ctys`)}`,
    '',
    WRAPPER_BODY,
  ].join('\n');
}
