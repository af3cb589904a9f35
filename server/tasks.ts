// The task log in $VMDECK_HOME/tasks/: every action (create, start, stop,
// snapshot, media, delete, net create/cancel, …) from the CLI, the API or the
// dashboard, as two JSON lines (lib/tasks.ts). Several processes write at
// once (the dashboard and any number of `vmdeck` commands): each line is one
// write(2) of less than PIPE_BUF bytes on a file opened O_APPEND, which Linux
// keeps whole and in order, so no lock is needed and nothing is lost. The
// current file is rotated past ROTATE_BYTES to a segment beside it; the
// newest KEEP segments are kept.
import { AsyncLocalStorage } from 'node:async_hooks';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, watch, writeSync, type FSWatcher } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { encodeRecord, foldTasks, parseRecords, progressOf, type BeginRecord, type EndRecord, type Task, type TaskRecord } from '../lib/tasks';
import { vmdeckHome } from './paths';
import { processStart } from './proc';

export type { Task } from '../lib/tasks';

const CURRENT = 'current.jsonl';
const SEGMENT_RE = /^\d{13}-\d+\.jsonl$/;
const KEEP = 4;
const rotateBytes = () => Number(process.env.VMDECK_TASKS_ROTATE_BYTES) || 1024 * 1024;

export const tasksDir = (env = process.env) => join(vmdeckHome(env), 'tasks');

// --- who acts ----------------------------------------------------------------

const actor = new AsyncLocalStorage<string>();

function cliUser(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:uid ${process.getuid?.()}`;
  }
}

/** Who a request acts as: the dashboard's session cookie, or a bearer token (a script). */
export function actorOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown';
  return req.headers.authorization ? `api@${address}` : `dashboard@${address}`;
}

/** Runs fn with its tasks recorded as done by who. Without one, a task is the CLI user's. */
export const asActor = <T>(who: string, fn: () => T): T => actor.run(who, fn);

// --- this process ------------------------------------------------------------

function taskAlive(pid: number, pidStart?: number): boolean {
  const now = processStart(pid);
  return now !== undefined && (pidStart === undefined || now === pidStart);
}

const SELF_START = processStart(process.pid);

// --- writing -----------------------------------------------------------------

let warned = false;

/** Appends one record; a log that cannot be written is said once on stderr and never stops the action. */
function append(record: TaskRecord): void {
  const dir = tasksDir();
  const path = join(dir, CURRENT);
  const line = Buffer.from(encodeRecord(record));
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = openSync(path, 'a', 0o600);
    try {
      writeSync(fd, line);
      const st = fstatSync(fd);
      if (st.size > rotateBytes()) rotate(dir, path, st.ino);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (!warned) process.stderr.write(`vmdeck: task log: cannot write ${path}: ${(e as Error).message}\n`);
    warned = true;
  }
}

/**
 * Moves the current file aside as a segment, if it is still the one just
 * written (another writer may have rotated it meanwhile), and drops the oldest
 * segments beyond KEEP. Two writers rotating at once make one small segment
 * more, never a lost line: a writer whose file was renamed under it wrote
 * into the segment, which is read like the rest.
 */
function rotate(dir: string, path: string, ino: number): void {
  try {
    if (statSync(path).ino !== ino) return;
    renameSync(path, join(dir, `${Date.now()}-${process.pid}.jsonl`));
  } catch {
    return;
  }
  for (const old of segments(dir).slice(0, -KEEP)) {
    try {
      unlinkSync(join(dir, old));
    } catch {
      // Another writer pruned it first.
    }
  }
}

const segments = (dir: string) => {
  try {
    return readdirSync(dir).filter((n) => SEGMENT_RE.test(n)).sort();
  } catch {
    return [];
  }
};

interface Running {
  id: string;
  output: string[];
  label?: string;
  failed?: string;
}

const running = new AsyncLocalStorage<Running>();

/** Adds to the output of the task being run (the wrapper's stderr, qemu-img's messages). */
export function taskOutput(text: string): void {
  const t = running.getStore();
  if (t && text.trim() !== '') t.output.push(text.trimEnd());
}

/**
 * A line of how the task being run goes (a debootstrap build's), with the
 * share done (0 to 1) when known: kept in its output, and written to the log
 * at once, so that whoever follows the tasks (the dashboard) sees it as it
 * comes, whichever process runs the task.
 */
export function taskProgress(line: string, done?: number): void {
  const t = running.getStore();
  if (!t || line.trim() === '') return;
  t.output.push(line.trimEnd());
  append({ t: 'progress', id: t.id, line: line.trimEnd(), at: Date.now(), ...(done !== undefined ? { done } : {}) });
}

/** Names the VM of the task being run, when it was started by a path and the label is known only now. */
export function taskLabel(label: string): void {
  const t = running.getStore();
  if (t) t.label = label;
}

/** Marks the task being run as failed with this one line, though it returns (a poweroff the guest ignored). */
export function taskFailed(error: string): void {
  const t = running.getStore();
  if (t) t.failed = error;
}

const SECRET = /pass|secret|token|hash|key$/i;

/** Arguments as they are logged: secrets (a password hash, a token) are not. */
/** How deep a task's arguments are logged: a request's body may nest without end (a hostile one did, to a stack overflow). */
const LOG_DEPTH = 4;

function loggable(args: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    if (v === undefined) continue;
    if (SECRET.test(k)) out[k] = '(hidden)';
    else if (v && typeof v === 'object' && !Array.isArray(v)) out[k] = depth < LOG_DEPTH ? loggable(v as Record<string, unknown>, depth + 1) : '(…)';
    else if (Array.isArray(v) && (depth >= LOG_DEPTH || v.some((x) => x !== null && typeof x === 'object'))) out[k] = '(…)';
    else out[k] = v;
  }
  return out;
}

let sequence = 0;

/**
 * Runs one action as a task: a beginning is written before, an end after,
 * with the result and the one-line error. A task inside another (an action
 * that calls another) is part of the outer one.
 */
export async function task<T>(action: string, label: string, args: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
  if (running.getStore()) return fn();
  const begin: BeginRecord = {
    t: 'begin',
    id: `${Date.now().toString(36)}-${process.pid.toString(36)}-${(sequence++).toString(36)}`,
    label,
    action,
    args: loggable(args),
    who: actor.getStore() ?? cliUser(),
    start: Date.now(),
    pid: process.pid,
    ...(SELF_START !== undefined ? { pidStart: SELF_START } : {}),
  };
  append(begin);
  const state: Running = { id: begin.id, output: [] };
  const end = (result: 'ok' | 'error', error?: string) => {
    const record: EndRecord = { t: 'end', id: begin.id, end: Date.now(), result };
    if (error !== undefined) record.error = error;
    if (state.output.length) record.output = state.output.join('\n');
    if (state.label && state.label !== label) record.label = state.label;
    append(record);
  };
  try {
    const value = await running.run(state, fn);
    if (state.failed !== undefined) end('error', state.failed);
    else end('ok');
    return value;
  } catch (e) {
    end('error', ((e as Error)?.message ?? String(e)).split('\n')[0]);
    throw e;
  }
}

// --- reading -----------------------------------------------------------------

function readAll(dir = tasksDir()): TaskRecord[] {
  const records: TaskRecord[] = [];
  for (const name of [...segments(dir), CURRENT]) {
    try {
      records.push(...parseRecords(readFileSync(join(dir, name), 'utf8')));
    } catch {
      // Pruned or not made yet.
    }
  }
  return records;
}

export interface TaskQuery {
  label?: string;
  /** The newest this many; 200 unless said. */
  limit?: number;
}

/** The tasks, newest first. */
export function listTasks(q: TaskQuery = {}): Task[] {
  const all = foldTasks(readAll(), taskAlive).filter((t) => q.label === undefined || t.label === q.label);
  return all.reverse().slice(0, q.limit ?? 200);
}

// --- following ---------------------------------------------------------------

export type TaskListener = (t: Task) => void;

const POLL_MS = 2000;

/** Bytes from offset to the end of the file at path, or null when it is not there. */
function tail(path: string, offset: number): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= offset) return '';
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}


/**
 * Follows the log from its end: every record any process appends is told to
 * the listeners as the task it makes (a beginning as running, an end as done),
 * and a running task whose process is gone as interrupted.
 */
class TaskFollower {
  readonly listeners = new Set<TaskListener>();
  private readonly dir = tasksDir();
  private readonly open = new Map<string, Task>();
  private watcher?: FSWatcher;
  private poll: NodeJS.Timeout;
  private pending?: NodeJS.Timeout;
  private ino = 0;
  private offset = 0;
  private rest = '';

  constructor() {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const t of foldTasks(readAll(this.dir), taskAlive)) if (t.result === 'running') this.open.set(t.id, t);
    try {
      const st = statSync(join(this.dir, CURRENT));
      this.ino = st.ino;
      this.offset = st.size;
    } catch {
      // No task yet.
    }
    try {
      this.watcher = watch(this.dir, () => this.soon());
      this.watcher.on('error', () => { this.watcher?.close(); this.watcher = undefined; });
    } catch {
      // The poll still sees every record, a little later.
    }
    this.poll = setInterval(() => { this.read(); this.reap(); }, POLL_MS);
  }

  private soon(): void {
    this.pending ??= setTimeout(() => { this.pending = undefined; this.read(); }, 20);
  }

  private read(): void {
    const path = join(this.dir, CURRENT);
    let st;
    try {
      st = statSync(path);
    } catch {
      return;
    }
    let text = '';
    if (st.ino !== this.ino) {
      // Rotated: what was appended to the old file before it moved is in the newest segment of that inode.
      const old = segments(this.dir).reverse().find((n) => { try { return statSync(join(this.dir, n)).ino === this.ino; } catch { return false; } });
      if (old) text += (tail(join(this.dir, old), this.offset) ?? '');
      this.ino = st.ino;
      this.offset = 0;
      this.rest = '';
    }
    const added = tail(path, this.offset);
    if (added === null) return;
    this.offset += Buffer.byteLength(added);
    text = this.rest + text + added;
    const cut = text.lastIndexOf('\n') + 1;
    this.rest = text.slice(cut);
    for (const r of parseRecords(text.slice(0, cut))) this.told(r);
  }

  private told(r: TaskRecord): void {
    if (r.t === 'begin') {
      const [t] = foldTasks([r], () => true);
      this.open.set(r.id, t);
      this.tell(t);
      return;
    }
    if (r.t === 'progress') {
      // A running task's line: told as the task with its newest progress (a task not open here is over).
      const t = this.open.get(r.id);
      if (!t) return;
      t.progress = progressOf(r);
      this.tell({ ...t });
      return;
    }
    let begun = this.open.get(r.id);
    this.open.delete(r.id);
    // Begun before this follower started and already reaped, or in a segment: read it back.
    begun ??= foldTasks(readAll(this.dir).filter((x) => x.id === r.id && x.t === 'begin'), () => true)[0];
    if (!begun) return;
    const [t] = foldTasks([{ ...begun, t: 'begin' } as BeginRecord, r], () => true);
    this.tell(t);
  }

  /** Running tasks whose process died (a kill -9) are told as interrupted, once. */
  private reap(): void {
    for (const [id, t] of this.open) {
      if (taskAlive(t.pid, t.pidStart)) continue;
      this.open.delete(id);
      this.tell({ ...t, result: 'interrupted' });
    }
  }

  private tell(t: Task): void {
    for (const l of [...this.listeners]) {
      try {
        l(t);
      } catch {
        // One listener's failure is not the others' concern.
      }
    }
  }

  dispose(): void {
    clearInterval(this.poll);
    clearTimeout(this.pending);
    this.watcher?.close();
  }
}

// One follower per process, even when bundles load this module twice (Next.js).
const KEY = Symbol.for('vmdeck.tasks.follower');
const holder = globalThis as { [KEY]?: TaskFollower };

/** Calls listener with every task that begins or ends from now on, whoever runs it. Returns the function that unsubscribes. */
export function followTasks(listener: TaskListener): () => void {
  const f = (holder[KEY] ??= new TaskFollower());
  f.listeners.add(listener);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f.listeners.delete(listener);
    if (f.listeners.size === 0 && holder[KEY] === f) {
      f.dispose();
      delete holder[KEY];
    }
  };
}
