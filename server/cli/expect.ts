// vmdeck expect: waits until the VM's serial console prints something that
// matches a regular expression, then (with --send) types text into it.
import { expectSerial } from '../automation';
import { flagString, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck expect L --serial REGEX [--send TEXT] [--timeout S]
                                         waits for the serial output to match REGEX (60 s unless said),
                                         then sends TEXT (tokens as vmdeck type); exit 1 on a timeout`;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['serial', 'send', 'timeout'], []);
  if (p.positional.length !== 1) throw new UsageError('one VM label is needed');
  const pattern = flagString(p, 'serial');
  if (pattern === undefined) throw new UsageError('--serial REGEX is needed (what to wait for)');
  const t = flagString(p, 'timeout');
  if (t !== undefined && !/^\d+(\.\d+)?$/.test(t)) throw new UsageError(`--timeout: '${t}' is not a number of seconds`);
  const r = await expectSerial(p.positional[0], pattern, { send: flagString(p, 'send'), timeout: t === undefined ? undefined : Number(t) });
  io.out(`${r.matched}\n`);
  return 0;
}
