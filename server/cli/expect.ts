// vmdeck expect: waits until the VM's serial console prints something that
// matches a regular expression, or its screen shows a text (read by OCR),
// then (with --send) types text into the same console.
import { expectScreen, expectSerial } from '../automation';
import { flagString, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck expect L (--serial REGEX | --screen TEXT) [--send TEXT] [--timeout S]
                                         waits for the serial output to match REGEX, or for TEXT on the
                                         screen (OCR; blanks and case aside), 60 s unless said, then
                                         sends TEXT there (tokens as vmdeck type); exit 1 on a timeout`;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['serial', 'screen', 'send', 'timeout'], []);
  if (p.positional.length !== 1) throw new UsageError('one VM label is needed');
  const pattern = flagString(p, 'serial');
  const screen = flagString(p, 'screen');
  if ((pattern === undefined) === (screen === undefined)) throw new UsageError('--serial REGEX or --screen TEXT is needed (what to wait for), not both');
  const t = flagString(p, 'timeout');
  if (t !== undefined && !/^\d+(\.\d+)?$/.test(t)) throw new UsageError(`--timeout: '${t}' is not a number of seconds`);
  const opts = { send: flagString(p, 'send'), timeout: t === undefined ? undefined : Number(t) };
  const r = screen !== undefined ? await expectScreen(p.positional[0], screen, opts) : await expectSerial(p.positional[0], pattern!, opts);
  io.out(`${r.matched}\n`);
  return 0;
}
