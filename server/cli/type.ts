// vmdeck type: text into a VM's screen as key presses in its keyboard layout
// (KBD_LAYOUT: en-us, de, fr), or into its serial console as bytes, with
// Packer's boot-command tokens (<enter>, <wait5>, <f2>, …); or a script of
// expect/send/type/wait steps from a file.
import { readFile } from 'node:fs/promises';
import { runScript, typeInto } from '../automation';
import { flagString, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck type L TEXT [--serial] | vmdeck type L --script FILE
                                         types TEXT (tokens: <enter> <esc> <tab> <f1>…<f12> <up> <wait5> …)
                                         on the screen in the VM's KBD_LAYOUT, or with --serial into the
                                         serial console; a script: lines of expect RE / send T / type T / wait S`;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['script'], ['serial']);
  const script = flagString(p, 'script');
  if (script !== undefined) {
    if (p.positional.length !== 1) throw new UsageError('one VM label is needed with --script');
    const text = await readFile(script, 'utf8').catch((e: NodeJS.ErrnoException) => { throw new UsageError(`--script: cannot read '${script}' (${e.code ?? e.message})`); });
    const done = await runScript(p.positional[0], text);
    io.out(`${done.steps} steps done\n`);
    return 0;
  }
  if (p.positional.length !== 2) throw new UsageError('a VM label and the text to type are needed');
  await typeInto(p.positional[0], p.positional[1], { serial: p.flags.has('serial') });
  return 0;
}
