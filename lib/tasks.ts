// The task log's records and how they fold into tasks. A task is one action
// (create, start, stop, snapshot, …) from the CLI, the API or the dashboard.
// It is written as two lines of JSON, one when it begins and one when it
// ends, so that a process killed mid-task leaves a beginning without an end:
// such a task reads as running while its process lives, interrupted after.

export type TaskResult = 'running' | 'ok' | 'error' | 'interrupted';

export interface Task {
  id: string;
  /** The VM (or switch) it acted on; '' when none. */
  label: string;
  /** create, start, stop:poweroff, snapshot:save, media:change, delete, net:create, … */
  action: string;
  args: Record<string, unknown>;
  /** cli:<user>, dashboard@<address> (the session cookie), api@<address> (a bearer token). */
  who: string;
  /** ms since the epoch. */
  start: number;
  end?: number;
  result: TaskResult;
  /** The one-line error of a failed task. */
  error?: string;
  /** What it printed, where it has something (the wrapper's, qemu-img's); the tail when long. */
  output?: string;
  /** The process that ran it (and that process's start time, against pid reuse). */
  pid: number;
  pidStart?: number;
  /** How a long task goes (a debootstrap build): its newest line, and how much is done (0 to 1) when known. */
  progress?: TaskProgress;
}

export interface TaskProgress {
  line: string;
  done?: number;
  /** ms since the epoch. */
  at: number;
}

export interface BeginRecord extends Pick<Task, 'id' | 'label' | 'action' | 'args' | 'who' | 'start' | 'pid' | 'pidStart'> {
  t: 'begin';
}

export interface EndRecord {
  t: 'end';
  id: string;
  end: number;
  result: 'ok' | 'error';
  error?: string;
  output?: string;
  /** The label, when the task learnt it only as it ran (started by path). */
  label?: string;
}

/** A line of a running task's progress, written as it comes: whoever follows the log sees it at once. */
export interface ProgressLineRecord extends TaskProgress {
  t: 'progress';
  id: string;
}

export type TaskRecord = BeginRecord | EndRecord | ProgressLineRecord;

/**
 * Lines stay below PIPE_BUF (4096 bytes): one write(2) with O_APPEND each, so
 * writers in several processes never interleave inside a line.
 */
export const RECORD_MAX = 4000;

const bytes = (s: string) => new TextEncoder().encode(s).length;

const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max)}…`);

/** A record as one line of JSON within RECORD_MAX bytes: long output keeps its tail, long values are cut. */
export function encodeRecord(r: TaskRecord): string {
  let line = `${JSON.stringify(r)}\n`;
  if (bytes(line) <= RECORD_MAX) return line;
  if (r.t === 'progress') return `${JSON.stringify({ ...r, line: clip(r.line.slice(0, 1000), 500) })}\n`;
  const cut: TaskRecord = r.t === 'end'
    ? { ...r, error: r.error === undefined ? undefined : clip(r.error, 500), output: r.output === undefined ? undefined : `…${r.output.slice(-1500)}` }
    : { ...r, args: Object.fromEntries(Object.entries(r.args).map(([k, v]) => [k, typeof v === 'string' ? clip(v, 300) : v])) };
  line = `${JSON.stringify(cut)}\n`;
  while (bytes(line) > RECORD_MAX) {
    // Multi-byte text, many arguments, or a long label or name (the API logs a refused one as it came): cut what is long until it fits.
    if (cut.t === 'end' && cut.output) cut.output = `…${cut.output.slice(-Math.floor(cut.output.length / 2))}`;
    else if (cut.t === 'end' && cut.error !== undefined && cut.error.length > 100) cut.error = clip(cut.error, Math.floor(cut.error.length / 2));
    else if (cut.t === 'begin' && !('truncated' in cut.args)) cut.args = { truncated: true };
    else if ((cut.label?.length ?? 0) > 100 || (cut.t === 'begin' && (cut.action.length > 100 || cut.who.length > 100))) {
      if (cut.label !== undefined) cut.label = clip(cut.label, 100);
      if (cut.t === 'begin') {
        cut.action = clip(cut.action, 100);
        cut.who = clip(cut.who, 100);
      }
    } else {
      // Nothing long is left that may be cut (multi-byte characters at every limit): the record without its text.
      if (cut.t === 'end') cut.error = cut.error === undefined ? undefined : '…';
      else cut.label = '…';
      line = `${JSON.stringify(cut)}\n`;
      break;
    }
    line = `${JSON.stringify(cut)}\n`;
  }
  return line;
}

/** The records in a log's text; a torn or foreign line is skipped. */
export function parseRecords(text: string): TaskRecord[] {
  const out: TaskRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const r = JSON.parse(line) as TaskRecord;
      if ((r.t === 'begin' || r.t === 'end' || (r.t === 'progress' && typeof r.line === 'string')) && typeof r.id === 'string') out.push(r);
    } catch {
      // A line cut short by a full disk: the rest of the log still reads.
    }
  }
  return out;
}

/**
 * The tasks the records tell, oldest first. A beginning without an end is
 * running while `alive(pid, pidStart)` says its process is, else interrupted.
 * An end whose beginning was rotated away is dropped.
 */
export function foldTasks(records: TaskRecord[], alive: (pid: number, pidStart?: number) => boolean): Task[] {
  const tasks = new Map<string, Task>();
  const ends = new Map<string, EndRecord>();
  for (const r of records) {
    if (r.t === 'begin') {
      tasks.set(r.id, { id: r.id, label: r.label, action: r.action, args: r.args ?? {}, who: r.who, start: r.start, result: 'running', pid: r.pid, ...(r.pidStart !== undefined ? { pidStart: r.pidStart } : {}) });
    } else if (r.t === 'progress') {
      const t = tasks.get(r.id);
      if (t) t.progress = progressOf(r);
    } else ends.set(r.id, r);
  }
  for (const [id, e] of ends) {
    const t = tasks.get(id);
    if (!t) continue;
    t.end = e.end;
    t.result = e.result;
    if (e.error !== undefined) t.error = e.error;
    if (e.output !== undefined && e.output !== '') t.output = e.output;
    if (e.label) t.label = e.label;
  }
  for (const t of tasks.values()) {
    if (t.result === 'running' && !alive(t.pid, t.pidStart)) t.result = 'interrupted';
  }
  return [...tasks.values()].sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));
}

/** A progress record's line and share done, as a task carries it. */
export function progressOf(r: ProgressLineRecord): TaskProgress {
  return { line: r.line, at: r.at, ...(typeof r.done === 'number' && r.done >= 0 && r.done <= 1 ? { done: r.done } : {}) };
}

/** A task in one line for `vmdeck tasks`: when, VM, action, who, result, how long. */
export function taskLine(t: Task): string {
  const when = new Date(t.start).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
  const took = t.end !== undefined ? ` ${((t.end - t.start) / 1000).toFixed(1)}s` : '';
  const what = t.result === 'error' ? `error: ${t.error ?? ''}` : t.result;
  return `${when}  ${(t.label || '-').padEnd(16)} ${t.action.padEnd(16)} ${t.who.padEnd(22)} ${what}${took}`;
}
