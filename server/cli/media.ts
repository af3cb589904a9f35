// vmdeck media: the CD/DVD drive of a running VM (ctys's monitor change/eject).
import { changeMedia, ejectMedia, queryMedia, type MediaState } from '../media';
import { hereFile, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck media L change ISO | eject | show [--json]
                                         the CD/DVD drive (cd0) of a running VM`;

function describe(label: string, m: MediaState): string {
  return m.file ? `VM '${label}' ${m.device}: ${m.file}\n` : `VM '${label}' ${m.device}: empty${m.trayOpen ? ' (tray open)' : ''}\n`;
}

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [], ['json']);
  const [label, action = 'show', iso, ...extra] = p.positional;
  if (!label) throw new UsageError('a VM label is needed');
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
  let state: MediaState;
  if (action === 'change') {
    if (!iso) throw new UsageError('change needs the path of an ISO image');
    state = await changeMedia(label, (await hereFile(iso, label))!);
  } else if (action === 'eject' || action === 'show') {
    if (iso) throw new UsageError(`${action} takes no path`);
    state = action === 'eject' ? await ejectMedia(label) : await queryMedia(label);
  } else throw new UsageError(`'${action}' is not one of change, eject, show`);
  io.out(p.flags.has('json') ? `${JSON.stringify(state, null, 2)}\n` : describe(label, state));
  return 0;
}
