// Whether a running VM makes progress: a guest stuck before its kernel (a
// firmware with nothing to boot, a boot loader that halts, a KVM that cannot
// run it) is "running" to QEMU. What tells is the guest's output: nothing on
// serial since the start and a screen that has not changed for a long while.
// An OS idle at a login prompt on its screen says nothing either, so on x86
// a CPU that has turned paging on (CR0.PG: every OS kernel of this century
// does, no firmware or boot sector stuck before one has) is progress too.
// Pure: the samples and the logs are read in server/progress.ts.

/** The `progress` file in a runtime dir: screen samples of one run of QEMU. */
export interface ProgressRecord {
  /** The run sampled: its QEMU's start (the pidfile's time), ms since the epoch. */
  startedAt: number;
  /** When the screen was first and last sampled. */
  firstAt: number;
  lastAt: number;
  /** When a sample first showed a screen not seen before (the first sample counts as one). */
  changedAt: number;
  /**
   * Hashes of the last screens seen: a blinking text cursor makes two, which
   * alternate; once both are known neither is a change.
   */
  screens: string[];
  /** True once a sample found the CPU with paging on (x86 CR0.PG); absent where that is not known. */
  paging?: boolean;
}

/** At most this many screens are remembered as "seen". */
const SCREENS_KEPT = 8;

export const DEFAULT_NO_PROGRESS_SECONDS = 60;

/**
 * The record after one more sample taken at now of the run that started at
 * startedAt: the screen's hash, and whether the CPU had paging on (undefined:
 * not known, not asked).
 */
export function addSample(prev: ProgressRecord | undefined, startedAt: number, now: number, screen: string, paging?: boolean): ProgressRecord {
  const fresh = !prev || prev.startedAt !== startedAt;
  const base: ProgressRecord = fresh ? { startedAt, firstAt: now, lastAt: now, changedAt: now, screens: [screen] } : { ...prev, lastAt: now };
  if (!fresh && !prev.screens.includes(screen)) {
    // A screen not seen before: the guest did something.
    base.changedAt = now;
    base.screens = [...prev.screens, screen].slice(-SCREENS_KEPT);
  }
  if (paging !== undefined || base.paging !== undefined) base.paging = Boolean(base.paging) || Boolean(paging);
  return base;
}

/** Whether HMP `info registers` shows an x86 CPU with paging on (CR0 bit 31); undefined for another architecture's registers. */
export function pagingOn(registers: string): boolean | undefined {
  const cr0 = /\bCR0=([0-9a-f]+)/i.exec(registers);
  return cr0 ? (parseInt(cr0[1], 16) & 0x80000000) !== 0 : undefined;
}

/** The record in a progress file's text; undefined for anything else. */
export function parseProgress(text: string | undefined): ProgressRecord | undefined {
  try {
    const r = JSON.parse(text ?? '') as ProgressRecord;
    const nums = [r.startedAt, r.firstAt, r.lastAt, r.changedAt];
    if (!nums.every((n) => Number.isFinite(n)) || !Array.isArray(r.screens) || !r.screens.every((s) => typeof s === 'string')) return undefined;
    const out: ProgressRecord = { startedAt: r.startedAt, firstAt: r.firstAt, lastAt: r.lastAt, changedAt: r.changedAt, screens: r.screens.slice(-SCREENS_KEPT) };
    if (typeof r.paging === 'boolean') out.paging = r.paging;
    return out;
  } catch {
    return undefined;
  }
}

export const renderProgress = (r: ProgressRecord) => `${JSON.stringify({ ...r, screens: r.screens.slice(-SCREENS_KEPT) })}\n`;

/** QEMU's own lines about KVM failing (qemu.log, qemu-stderr.log): the reason a guest does not run. */
export function kvmErrorLines(lines: string[]): string[] {
  return lines.filter((l) => /\bKVM\b/i.test(l) && /(error|fail|invalid|unsupported|emulation)/i.test(l));
}

export interface ProgressInput {
  /** Only a running VM is judged: paused is the user's or QEMU's (with a reason of its own). */
  running: boolean;
  startedAt?: number;
  now: number;
  /** Bytes serial.log grew by since the start; undefined when not known. */
  serialGrowth?: number;
  progress?: ProgressRecord;
  /** What QEMU said in this run (qemu.log from the start line, qemu-stderr.log). */
  qemuLines: string[];
  thresholdMs: number;
}

/**
 * The warning beside a running VM's state badge, or undefined while it looks
 * healthy: "no progress" once it printed nothing on serial since its start,
 * its screen has stayed the same for thresholdMs and (where known) its CPU
 * never turned paging on; QEMU's KVM errors are the reason, and are worth a
 * warning even before that.
 */
export function progressWarning(i: ProgressInput): string | undefined {
  if (!i.running || i.startedAt === undefined) return undefined;
  const kvm = kvmErrorLines(i.qemuLines);
  const because = kvm.length ? `QEMU: ${kvm.slice(-3).join(' | ')}` : undefined;
  const p = i.progress;
  const quiet = i.serialGrowth === 0;
  // The screen must have been watched for the whole threshold: the first
  // sample counts as a change, so a VM seen only once is never judged.
  const still = p !== undefined && p.startedAt === i.startedAt && p.lastAt - p.changedAt >= i.thresholdMs && i.now - i.startedAt >= i.thresholdMs;
  if (quiet && still && !p.paging) {
    const s = Math.round((p.lastAt - p.changedAt) / 1000);
    const cpu = p.paging === false ? ', and the CPU has not turned paging on: no OS kernel runs yet (stuck, or a boot menu waiting for a key)' : '';
    return `no progress: nothing on serial since the start and the screen unchanged for ${s} s${cpu}${because ? `; ${because}` : ''}`;
  }
  return because;
}
