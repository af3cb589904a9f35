// A running VM's figures (CPU, memory, disk and network rates) and their
// history: fixed-size ring archives at a few resolutions, as RRD keeps them.
// Pure: the layout of the history file, rates from counters, averaging.

/** The figures of one sample; null where this VM cannot tell (no TAP device: no network counters). */
export interface StatPoint {
  /** Seconds since the epoch (the end of the interval). */
  t: number;
  /** CPU of the whole QEMU process, % of one core. */
  cpu: number | null;
  /** CPU of its vCPU threads together, % of one core. */
  vcpu: number | null;
  /** Resident memory of the QEMU process, bytes. */
  rss: number | null;
  /** Disk read and written by the guest, bytes/s (QMP query-blockstats). */
  rd: number | null;
  wr: number | null;
  /** Network received and sent by the guest, bytes/s (its TAP device's counters). */
  rx: number | null;
  tx: number | null;
}

export const STAT_FIELDS = ['cpu', 'vcpu', 'rss', 'rd', 'wr', 'rx', 'tx'] as const;
export type StatField = (typeof STAT_FIELDS)[number];

/** The counters read from /proc, QMP and sysfs; rates come from two of them. */
export interface Counters {
  /** ms since the epoch when read. */
  at: number;
  /** Clock ticks of CPU: the process, its vCPU threads. */
  cpuTicks: number;
  vcpuTicks: number | null;
  rss: number;
  rdBytes: number | null;
  wrBytes: number | null;
  rxBytes: number | null;
  txBytes: number | null;
}

/** The point between two readings of one QEMU (ticks per second: the kernel's USER_HZ, 100 on Linux). */
export function pointBetween(a: Counters, b: Counters, hz = 100): StatPoint {
  const dt = (b.at - a.at) / 1000;
  const rate = (x: number | null, y: number | null) => (x === null || y === null || dt <= 0 || y < x ? null : (y - x) / dt);
  const pct = (x: number | null, y: number | null) => {
    const r = rate(x, y);
    return r === null ? null : (r / hz) * 100;
  };
  return {
    t: Math.round(b.at / 1000),
    cpu: pct(a.cpuTicks, b.cpuTicks),
    vcpu: pct(a.vcpuTicks, b.vcpuTicks),
    rss: b.rss,
    rd: rate(a.rdBytes, b.rdBytes),
    wr: rate(a.wrBytes, b.wrBytes),
    rx: rate(a.rxBytes, b.rxBytes),
    tx: rate(a.txBytes, b.txBytes),
  };
}

/** The average of points (each field over the points that have it), at time t. */
export function averagePoints(points: StatPoint[], t: number): StatPoint {
  const out: StatPoint = { t, cpu: null, vcpu: null, rss: null, rd: null, wr: null, rx: null, tx: null };
  for (const f of STAT_FIELDS) {
    const xs = points.map((p) => p[f]).filter((v): v is number => v !== null);
    out[f] = xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : null;
  }
  return out;
}

// --- the history file --------------------------------------------------------

export interface Archive {
  /** Seconds per row. */
  step: number;
  rows: number;
}

/** The archives for a sampling step in seconds: that step for an hour, a minute for a day, ten minutes for 31 days. */
export function archivesFor(step: number): Archive[] {
  return [
    { step, rows: Math.ceil(3600 / step) },
    { step: 60, rows: 1440 },
    { step: 600, rows: 4464 },
  ];
}

export const STATS_MAGIC = 'VDSTATS1';
/** Magic, field count, archive count, then step and rows of each (uint32 LE). */
export const HEADER_BYTES = 64;
/** A slot: the row's time in seconds (uint32; 0 is empty), then each field as float32 (NaN for null). */
export const SLOT_BYTES = 4 + 4 * STAT_FIELDS.length;

export function encodeHeader(archives: Archive[]): Uint8Array {
  const buf = new Uint8Array(HEADER_BYTES);
  const view = new DataView(buf.buffer);
  buf.set(new TextEncoder().encode(STATS_MAGIC), 0);
  view.setUint32(8, STAT_FIELDS.length, true);
  view.setUint32(12, archives.length, true);
  archives.forEach((a, i) => {
    view.setUint32(16 + i * 8, a.step, true);
    view.setUint32(20 + i * 8, a.rows, true);
  });
  return buf;
}

/** The archives a header describes, or null when it is not one of ours (another version: start afresh). */
export function decodeHeader(buf: Uint8Array): Archive[] | null {
  if (buf.length < HEADER_BYTES || new TextDecoder().decode(buf.subarray(0, 8)) !== STATS_MAGIC) return null;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint32(8, true) !== STAT_FIELDS.length) return null;
  const n = view.getUint32(12, true);
  if (n < 1 || n > 6) return null;
  return Array.from({ length: n }, (_, i) => ({ step: view.getUint32(16 + i * 8, true), rows: view.getUint32(20 + i * 8, true) }));
}

/** Where archive i starts in the file. */
export function archiveOffset(archives: Archive[], i: number): number {
  return HEADER_BYTES + archives.slice(0, i).reduce((n, a) => n + a.rows * SLOT_BYTES, 0);
}

export const fileBytes = (archives: Archive[]) => archiveOffset(archives, archives.length);

/** The row of time t (seconds) in an archive, and the time that row stands for. */
export function slotOf(a: Archive, t: number): { row: number; t: number } {
  const bucket = Math.floor(t / a.step);
  return { row: bucket % a.rows, t: bucket * a.step };
}

export function encodeSlot(p: StatPoint): Uint8Array {
  const buf = new Uint8Array(SLOT_BYTES);
  const view = new DataView(buf.buffer);
  view.setUint32(0, p.t, true);
  STAT_FIELDS.forEach((f, i) => view.setFloat32(4 + i * 4, p[f] ?? Number.NaN, true));
  return buf;
}

/** The points of an archive's bytes that lie in [from, to], oldest first; rows of an older lap are not. */
export function decodeArchive(a: Archive, buf: Uint8Array, from: number, to: number): StatPoint[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: StatPoint[] = [];
  for (let row = 0; row < a.rows && (row + 1) * SLOT_BYTES <= buf.length; row++) {
    const at = row * SLOT_BYTES;
    const t = view.getUint32(at, true);
    if (t === 0 || t < from || t > to || slotOf(a, t).row !== row) continue;
    const p = { t } as StatPoint;
    STAT_FIELDS.forEach((f, i) => {
      const v = view.getFloat32(at + 4 + i * 4, true);
      p[f] = Number.isNaN(v) ? null : v;
    });
    out.push(p);
  }
  return out.sort((x, y) => x.t - y.t);
}

/** The ranges `?range=` and `--range` take, in seconds. */
export const RANGES: Record<string, number> = { '10m': 600, '1h': 3600, '1d': 86400, '1w': 7 * 86400, '30d': 30 * 86400 };

/** The finest archive that reaches back over range seconds. */
export function archiveFor(archives: Archive[], range: number): number {
  const i = archives.findIndex((a) => a.step * a.rows >= range);
  return i < 0 ? archives.length - 1 : i;
}

/** A mark of a graph's time axis: its time (seconds since the epoch) and what it says. */
export interface TimeTick {
  t: number;
  text: string;
}

/** Each range's tick spacing (seconds) and whether its ticks name days rather than times of day. */
const TICKS: { upTo: number; every: number; days: boolean }[] = [
  { upTo: 600, every: 120, days: false },
  { upTo: 3600, every: 600, days: false },
  { upTo: 86400, every: 4 * 3600, days: false },
  { upTo: 7 * 86400, every: 86400, days: true },
  { upTo: Infinity, every: 5 * 86400, days: true },
];

/**
 * The marks of a time axis from `from` to `to` (seconds): 4-8 of them at
 * round local times (every 2 or 10 minutes, 4 hours; at midnight every day
 * or fifth day), said as the clock or the date says them there.
 * offsetMinutes is the local zone's (Date's getTimezoneOffset: minutes
 * behind UTC, at `to`); timeText and dayText say a time and a day.
 */
export function timeTicks(from: number, to: number, offsetMinutes: number, timeText: (t: number) => string, dayText: (t: number) => string): TimeTick[] {
  const { every, days } = TICKS.find((k) => to - from <= k.upTo)!;
  // Round in local time: shifted by the zone's offset, rounded to a multiple of the spacing, shifted back.
  const shift = -offsetMinutes * 60;
  const out: TimeTick[] = [];
  for (let local = Math.ceil((from + shift) / every) * every; local - shift <= to; local += every) {
    const t = local - shift;
    out.push({ t, text: days ? dayText(t) : timeText(t) });
  }
  return out;
}
