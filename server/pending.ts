// Changes waiting for a running VM's next start. QEMU read the config when it
// started (its pidfile's time): a config written later is pending. What
// vmdeck changed meanwhile is listed, one variable a line, in the runtime
// dir's `pending`, which counts only when newer than the pidfile (a start
// makes every earlier list void); a hand edit shows as pending without names.
import { appendFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pending } from '../lib/vm';
import { trustedRunRoot } from './paths';
import { runtimePaths } from './runtime';

const pendingFile = (label: string) => join(runtimePaths(label).dir, 'pending');

/** Records variables written into a running VM's config. */
export async function recordPending(label: string, variables: readonly string[]): Promise<void> {
  await trustedRunRoot();
  await appendFile(pendingFile(label), variables.map((v) => `${v}\n`).join(''), { mode: 0o600 });
}

/** What waits for the next start of a running VM with this config; undefined when nothing does. */
export async function pendingChanges(label: string, config: string): Promise<Pending | undefined> {
  const [started, written] = await Promise.all([
    stat(runtimePaths(label).pidFile).catch(() => null),
    stat(config).catch(() => null),
  ]);
  if (!started || !written || written.mtimeMs <= started.mtimeMs) return undefined;
  const list = await stat(pendingFile(label)).catch(() => null);
  const text = list && list.mtimeMs > started.mtimeMs ? await readFile(pendingFile(label), 'utf8').catch(() => '') : '';
  const variables = [...new Set(text.split('\n').filter(Boolean))];
  return { since: Math.round(written.mtimeMs), variables };
}
