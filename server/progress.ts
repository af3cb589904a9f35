// Is a running VM getting anywhere? Screen samples (a hash of a QMP
// screendump) kept in the runtime dir's `progress` file, serial.log's growth
// since the start (the wrapper writes its size at start to `serial.start`)
// and QEMU's KVM complaints, judged by lib/progress.ts. Sampled by the
// server's event watcher (server/events.ts) while the dashboard is open, by
// `vmdeck list` and by GET /api/vms/:label; anyone else only reads.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addSample, DEFAULT_NO_PROGRESS_SECONDS, pagingOn, parseProgress, progressWarning, renderProgress, type ProgressRecord } from '../lib/progress';
import { QmpClient } from './qmp';
import { qemuMessages, qmpCall, runtimePaths, type RuntimeStatus } from './runtime';

/** How long a running VM may stay silent before it reads "no progress": VMDECK_NO_PROGRESS_SECONDS, 60 s unless set. */
export function noProgressMs(env = process.env): number {
  const s = Number(env.VMDECK_NO_PROGRESS_SECONDS);
  return (Number.isFinite(s) && s > 0 ? s : DEFAULT_NO_PROGRESS_SECONDS) * 1000;
}

/** How often the event watcher samples a running VM's screen: a few samples per threshold, at most every 10 s. */
export const sampleEveryMs = (env = process.env) => Math.min(10_000, Math.max(1000, noProgressMs(env) / 4));

/** Samples closer together than this are not taken again (a list and the watcher at once). */
const SAMPLE_MIN_MS = 1000;

const progressFile = (label: string) => join(runtimePaths(label).dir, 'progress');
const readText = (path: string) => readFile(path, 'utf8').catch(() => undefined);

export async function readProgress(label: string): Promise<ProgressRecord | undefined> {
  return parseProgress(await readText(progressFile(label)));
}

let counter = 0;

/**
 * One sample of the run that started at startedAt, through qmp, added to the
 * progress file: the screen's hash and, until it is on, whether the CPU has
 * paging on (HMP info registers). A VM without a screen (VGA=none) has no
 * sample: it is never judged on its screen.
 */
export async function sampleScreen(label: string, startedAt: number, qmp: QmpClient): Promise<ProgressRecord | undefined> {
  const dir = runtimePaths(label).dir;
  // PPM: QEMU writes it without compressing; only its hash is kept.
  const dump = join(dir, `progress-screen-${process.pid}-${++counter}.ppm`);
  let hash: string;
  try {
    await qmpCall(qmp, 'screendump', { filename: dump }, 5000);
    hash = createHash('sha256').update(await readFile(dump)).digest('hex').slice(0, 32);
  } catch {
    return readProgress(label);
  } finally {
    await rm(dump, { force: true });
  }
  const prev = await readProgress(label);
  let paging: boolean | undefined;
  if (!(prev?.startedAt === startedAt && prev.paging)) {
    paging = await qmpCall<string>(qmp, 'human-monitor-command', { 'command-line': 'info registers' }, 5000).then(pagingOn, () => undefined);
  }
  const record = addSample(prev, startedAt, Date.now(), hash, paging);
  const tmp = `${progressFile(label)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, renderProgress(record), { mode: 0o600 });
  await rename(tmp, progressFile(label)).catch(() => rm(tmp, { force: true }));
  return record;
}

/** Bytes serial.log grew by since the wrapper started QEMU; undefined for a run started without serial.start. */
async function serialGrowth(label: string): Promise<number | undefined> {
  const p = runtimePaths(label);
  const start = Number((await readText(join(p.dir, 'serial.start')))?.trim());
  if (!Number.isInteger(start) || start < 0) return undefined;
  const size = await stat(p.serialLog).then((s) => s.size, () => 0);
  // Smaller than at the start: someone emptied it; whatever is in it is new.
  return size >= start ? size - start : size;
}

export interface ProgressOptions {
  /** Take a screen sample first when the last one is older than a second: through this client, or a short one on qmp.sock. */
  sample?: boolean;
  qmp?: QmpClient;
}

/** The "no progress" warning of a VM in this state, or undefined; see lib/progress.ts. */
export async function progressOf(label: string, status: RuntimeStatus, opts: ProgressOptions = {}): Promise<string | undefined> {
  if (status.state !== 'running' || status.startedAt === undefined) return undefined;
  const startedAt = status.startedAt;
  let progress = await readProgress(label);
  if (opts.sample && (progress?.startedAt !== startedAt || Date.now() - progress.lastAt >= SAMPLE_MIN_MS)) {
    progress = await withClient(label, opts.qmp, (c) => sampleScreen(label, startedAt, c)) ?? progress;
  }
  const [growth, qemuLines] = await Promise.all([serialGrowth(label), qemuMessages(runtimePaths(label))]);
  return progressWarning({
    running: true, startedAt, now: Date.now(), serialGrowth: growth, progress, qemuLines, thresholdMs: noProgressMs(),
  });
}

async function withClient<T>(label: string, given: QmpClient | undefined, fn: (c: QmpClient) => Promise<T>): Promise<T | undefined> {
  if (given && !given.isClosed) return fn(given).catch(() => undefined);
  let c: QmpClient | undefined;
  try {
    c = await QmpClient.connect(runtimePaths(label).qmp, 2000);
    return await fn(c);
  } catch {
    return undefined; // QMP busy with another client: no sample this time
  } finally {
    c?.close();
  }
}
