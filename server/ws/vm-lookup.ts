// The VM a console connection names, found without an ENUMERATE of every
// base where that can be done: a console is wanted of a running VM, whose
// runtime dir records its config, and a label asked for once is remembered
// with its config. Each is read again at every connect (one stat while the
// config is unchanged: store.ts's cache) and taken only while it still says
// that label; else, and for a label never seen, resolveVm (ENUMERATE) decides,
// with its 404 for no such VM.
import type { VmInfo } from '../../lib/vm';
import { recordedConfig } from '../runtime';
import { readVmInfo } from '../store';
import { resolveOrOrphan } from '../runner';

/** label → the config it was last found in. */
const known = new Map<string, string>();

async function infoIfLabelled(config: string | undefined, label: string): Promise<VmInfo | null> {
  if (!config) return null;
  const info = await readVmInfo(config).catch(() => null);
  return info?.label === label ? info : null;
}

/** The VM of a console's label: the running one's config first, the one found before, else ENUMERATE. */
export async function consoleVm(label: string): Promise<VmInfo> {
  const recorded = await recordedConfig(label).catch(() => undefined);
  const vm = (await infoIfLabelled(recorded, label))
    ?? (known.get(label) !== recorded ? await infoIfLabelled(known.get(label), label) : null)
    // One that runs with its config moved or deleted: its consoles are its runtime dir's, by label.
    ?? (await resolveOrOrphan(label));
  if (vm.config) known.set(label, vm.config);
  return vm;
}
