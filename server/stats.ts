// Figures of running VMs and of the host. The server samples every running
// QEMU each step (5 s): CPU of the process and of its vCPU threads from /proc,
// RSS, disk bytes from QMP query-blockstats, network bytes from its TAP
// device; and keeps them in $VMDECK_HOME/stats/<LABEL>.rrd, a file of fixed
// size (lib/stats.ts): one row written in place per sample and per completed
// minute and ten minutes, never an fsync. `vmdeck stats` and the API read it.
import { closeSync, constants, mkdirSync, openSync, readSync, writeSync, fstatSync, ftruncateSync, readFileSync, readdirSync } from 'node:fs';
import { readFile, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import {
  archiveFor, archiveOffset, archivesFor, averagePoints, decodeArchive, decodeHeader, encodeHeader, encodeSlot, fileBytes,
  pointBetween, RANGES, slotOf, SLOT_BYTES, HEADER_BYTES, type Archive, type Counters, type StatPoint,
} from '../lib/stats';
import { badInput } from './errors';
import { bases, historyFile, vmdeckHome } from './paths';
import { QmpClient } from './qmp';
import { resolveVm, runningQemuPid, runtimeLabels, runtimePaths, within } from './runtime';

export type { StatPoint } from '../lib/stats';

/** Sampling step in seconds; VMDECK_STATS_STEP (seconds) for tests. */
export const statsStep = () => Math.max(1, Math.round(Number(process.env.VMDECK_STATS_STEP) || 5));

export const statsDir = (env = process.env) => join(vmdeckHome(env), 'stats');

// --- reading a QEMU's counters -----------------------------------------------

/** utime + stime of a /proc stat line (fields 14 and 15), and its comm. */
function ticksOf(stat: string): { ticks: number; comm: string } {
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return { ticks: Number(fields[11]) + Number(fields[12]), comm: stat.slice(stat.indexOf('(') + 1, close) };
}

/** The TAP device a QEMU's command line names (-netdev tap,ifname=X), whose counters are the guest's network. */
function tapOf(cmdline: string[]): string | undefined {
  for (const a of cmdline) {
    const m = /(?:^|,)ifname=([^,]+)/.exec(a);
    if (m && /^tap(,|$)/.test(a)) return m[1];
  }
  return undefined;
}

async function sysfsNumber(path: string): Promise<number | null> {
  const n = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** Disk bytes read and written by the guest, over all its drives. */
async function blockBytes(qmpPath: string): Promise<{ rd: number; wr: number } | null> {
  let c: QmpClient | undefined;
  try {
    c = await QmpClient.connect(qmpPath, 1000);
    const stats = await within(c.execute<{ stats: { rd_bytes: number; wr_bytes: number } }[]>('query-blockstats'), 2000, 'query-blockstats');
    return stats.reduce((s, d) => ({ rd: s.rd + d.stats.rd_bytes, wr: s.wr + d.stats.wr_bytes }), { rd: 0, wr: 0 });
  } catch {
    // QMP busy with another client, or the VM going: this sample has no disk figures.
    return null;
  } finally {
    c?.close();
  }
}

/**
 * Reads the counters of a VM's QEMU now; null when it does not run. Given the
 * previous reading: when its vCPUs have not run since (a paused VM), the guest
 * issued no disk I/O, and QMP is not asked (most of the sampler's cost).
 */
export async function readCounters(label: string, previous?: Counters): Promise<Counters | null> {
  const p = runtimePaths(label);
  const pid = await runningQemuPid(label);
  if (pid === undefined) return null;
  try {
    const at = Date.now();
    const proc = ticksOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    let vcpu: number | null = null;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      // QEMU names its vCPU threads "CPU 0/KVM", "CPU 1/TCG", …
      const thread = (() => { try { return ticksOf(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')); } catch { return null; } })();
      if (thread && /^CPU \d+\//.test(thread.comm)) vcpu = (vcpu ?? 0) + thread.ticks;
    }
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    const tap = tapOf(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
    const idle = previous !== undefined && vcpu !== null && vcpu === previous.vcpuTicks && previous.rdBytes !== null && previous.wrBytes !== null;
    const block = idle ? { rd: previous.rdBytes!, wr: previous.wrBytes! } : await blockBytes(p.qmp);
    // The TAP device's receive is what the guest sent.
    const [rx, tx] = tap
      ? await Promise.all([sysfsNumber(`/sys/class/net/${tap}/statistics/tx_bytes`), sysfsNumber(`/sys/class/net/${tap}/statistics/rx_bytes`)])
      : [null, null];
    return { at, cpuTicks: proc.ticks, vcpuTicks: vcpu, rss: rssKb * 1024, rdBytes: block?.rd ?? null, wrBytes: block?.wr ?? null, rxBytes: rx, txBytes: tx };
  } catch {
    return null; // gone meanwhile
  }
}

// --- the history file --------------------------------------------------------

/** One VM's open history file and the rows of the coarser archives being averaged. */
class History {
  private readonly fd: number;
  readonly archives: Archive[];
  private readonly pending: { t: number; points: StatPoint[] }[];

  constructor(label: string, step: number) {
    mkdirSync(statsDir(), { recursive: true, mode: 0o700 });
    this.fd = openSync(historyFile(label), constants.O_RDWR | constants.O_CREAT, 0o600);
    const want = archivesFor(step);
    const head = Buffer.alloc(HEADER_BYTES);
    const have = readSync(this.fd, head, 0, HEADER_BYTES, 0) === HEADER_BYTES ? decodeHeader(head) : null;
    if (!have || JSON.stringify(have) !== JSON.stringify(want) || fstatSync(this.fd).size !== fileBytes(want)) {
      // New, or made for another step: start afresh at the fixed size.
      ftruncateSync(this.fd, 0);
      ftruncateSync(this.fd, fileBytes(want));
      writeSync(this.fd, encodeHeader(want), 0, HEADER_BYTES, 0);
    }
    this.archives = want;
    this.pending = want.map(() => ({ t: 0, points: [] }));
  }

  add(p: StatPoint): void {
    this.write(0, p);
    for (let i = 1; i < this.archives.length; i++) {
      const { t } = slotOf(this.archives[i], p.t);
      const acc = this.pending[i];
      if (acc.t !== t && acc.points.length) this.write(i, averagePoints(acc.points, acc.t));
      if (acc.t !== t) this.pending[i] = { t, points: [] };
      this.pending[i].points.push(p);
    }
  }

  private write(i: number, p: StatPoint): void {
    const a = this.archives[i];
    const { row } = slotOf(a, p.t);
    writeSync(this.fd, encodeSlot(p), 0, SLOT_BYTES, archiveOffset(this.archives, i) + row * SLOT_BYTES);
  }

  close(): void {
    // The rows being averaged are written as they are: a restart loses no minute.
    for (let i = 1; i < this.archives.length; i++) {
      const acc = this.pending[i];
      if (acc.points.length) this.write(i, averagePoints(acc.points, acc.t));
    }
    closeSync(this.fd);
  }
}

export interface StatsAnswer {
  label: string;
  range: string;
  /** Seconds per point. */
  step: number;
  points: StatPoint[];
  /** The newest point, or null when there is none (never sampled). */
  now: StatPoint | null;
}

/** Reads the history of a VM over a range ('10m', '1h', '1d', '1w', '30d'). */
export function readHistory(label: string, range = '1h', at = Date.now()): StatsAnswer {
  const seconds = RANGES[range];
  if (seconds === undefined) throw badInput('range', `range: '${range}' is not one of ${Object.keys(RANGES).join(', ')}`);
  let fd: number;
  try {
    fd = openSync(historyFile(label), 'r');
  } catch {
    return { label, range, step: statsStep(), points: [], now: null };
  }
  try {
    const head = Buffer.alloc(HEADER_BYTES);
    readSync(fd, head, 0, HEADER_BYTES, 0);
    const archives = decodeHeader(head);
    if (!archives) return { label, range, step: statsStep(), points: [], now: null };
    const read = (i: number, from: number) => {
      const buf = Buffer.alloc(archives[i].rows * SLOT_BYTES);
      readSync(fd, buf, 0, buf.length, archiveOffset(archives, i));
      return decodeArchive(archives[i], buf, from, Math.round(at / 1000));
    };
    const now = Math.round(at / 1000);
    const i = archiveFor(archives, seconds);
    const points = read(i, now - seconds);
    const finest = i === 0 ? points : read(0, now - 3 * archives[0].step);
    return { label, range, step: archives[i].step, points, now: finest.at(-1) ?? null };
  } finally {
    closeSync(fd);
  }
}

/** GET /api/vms/:label/stats and `vmdeck stats`: the history over a range, and the figures now (measured here over a second when no sampler wrote them lately). */
export async function vmStats(labelOrPath: string, range = '1h'): Promise<StatsAnswer> {
  if (RANGES[range] === undefined) throw badInput('range', `range: '${range}' is not one of ${Object.keys(RANGES).join(', ')}`);
  const vm = await resolveVm(labelOrPath);
  const answer = readHistory(vm.label, range);
  const fresh = answer.now !== null && Date.now() / 1000 - answer.now.t <= 3 * statsStep();
  if ((await runningQemuPid(vm.label)) === undefined) {
    // A VM not running has no figures now: its last sample is history, however recent.
    answer.now = null;
  } else if (!fresh) {
    answer.now = null;
    const a = await readCounters(vm.label);
    if (a) {
      await new Promise((r) => setTimeout(r, 1000));
      const b = await readCounters(vm.label);
      if (b) answer.now = pointBetween(a, b);
    }
  }
  return answer;
}

// --- the sampler -------------------------------------------------------------

/** Samples every running VM each step while it runs; one per server. */
export class Sampler {
  private readonly step = statsStep();
  private readonly last = new Map<string, Counters>();
  private readonly files = new Map<string, History>();
  private timer?: NodeJS.Timeout;
  private busy = false;
  /** The newest point of each VM that runs, for the list's sparklines and the host page's sums. */
  readonly latest = new Map<string, StatPoint[]>();

  start(): this {
    this.timer = setInterval(() => void this.sample(), this.step * 1000);
    this.timer.unref();
    void this.sample();
    return this;
  }

  async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const labels = await runtimeLabels().catch(() => [] as string[]);
      const seen = new Set<string>();
      for (const label of labels) {
        const before = this.last.get(label);
        const c = await readCounters(label, before);
        if (!c) continue;
        seen.add(label);
        this.last.set(label, c);
        if (!before) continue;
        const p = pointBetween(before, c);
        let h = this.files.get(label);
        if (!h) {
          try {
            h = new History(label, this.step);
          } catch {
            continue; // $VMDECK_HOME not writable: figures without history
          }
          this.files.set(label, h);
        }
        h.add(p);
        const recent = this.latest.get(label) ?? [];
        recent.push(p);
        if (recent.length > 60) recent.shift();
        this.latest.set(label, recent);
      }
      for (const label of [...this.last.keys()]) {
        if (seen.has(label)) continue;
        this.last.delete(label);
        this.latest.delete(label);
        this.files.get(label)?.close();
        this.files.delete(label);
      }
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    for (const h of this.files.values()) h.close();
    this.files.clear();
    if (holder[KEY] === this) delete holder[KEY];
  }
}

const KEY = Symbol.for('vmdeck.stats.sampler');
const holder = globalThis as { [KEY]?: Sampler };

/** The server's sampler, started once. */
export function startSampler(): Sampler {
  return (holder[KEY] ??= new Sampler().start());
}

/** The last minutes of CPU of every sampled VM (the list's sparklines). */
export function recentCpu(): Record<string, (number | null)[]> {
  const s = holder[KEY];
  return Object.fromEntries([...(s?.latest ?? new Map<string, StatPoint[]>())].map(([label, ps]) => [label, ps.map((p) => p.cpu)]));
}

// --- the host ----------------------------------------------------------------

export interface HostStats {
  /** % of all cores over the last second. */
  cpu: number;
  cores: number;
  memTotal: number;
  memAvailable: number;
  bases: { path: string; total: number; free: number }[];
  /** What the sampled VMs use together, from their newest points. */
  vms: { running: number; cpu: number; rss: number };
}

function cpuLine(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] || 0);
  const total = f.reduce((s, v) => s + v, 0);
  return { busy: total - idle, total };
}

/** GET /api/host/stats: host CPU, memory, each base's disk space, and the sum over VMs. */
export async function hostStats(): Promise<HostStats> {
  const a = cpuLine();
  await new Promise((r) => setTimeout(r, 500));
  const b = cpuLine();
  const mem = readFileSync('/proc/meminfo', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(mem)?.[1] ?? 0) * 1024;
  const baseList = await Promise.all(bases().map(async (path) => {
    const s = await statfs(path).catch(() => null);
    return { path, total: s ? s.blocks * s.bsize : 0, free: s ? s.bavail * s.bsize : 0 };
  }));
  const newest = [...(holder[KEY]?.latest.values() ?? [])].map((ps) => ps.at(-1)).filter((p): p is StatPoint => p !== undefined);
  return {
    cpu: b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * 100 : 0,
    cores: readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => l.startsWith('processor')).length || 1,
    memTotal: kb('MemTotal'),
    memAvailable: kb('MemAvailable'),
    bases: baseList,
    vms: { running: newest.length, cpu: newest.reduce((s, p) => s + (p.cpu ?? 0), 0), rss: newest.reduce((s, p) => s + (p.rss ?? 0), 0) },
  };
}
