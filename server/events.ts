// VM state changes, whoever makes them (vmdeck, the dashboard, a person with
// the wrapper or a monitor, the guest itself): the runtime root is watched
// for VMs coming and going, each running QEMU is held on its own event socket
// (qmp-events.sock) for STOP/RESUME/SHUTDOWN/RESET, and a cheap poll
// recomputes every state once a second in case something slipped past.
// It runs only while someone listens; the last listener to leave disposes
// every watcher, socket and timer.
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { VmState } from '../lib/vm';
import { runRoot, trustedRunRoot } from './paths';
import { progressOf, sampleEveryMs } from './progress';
import { QmpClient } from './qmp';
import { probe, queryRunstate, runtimeLabels, runtimePaths, within, type RuntimePaths, type RuntimeStatus } from './runtime';

export interface VmStateEvent {
  label: string;
  state: VmState;
  /** The state before; absent when it was not known (a VM the watcher had not seen yet). */
  previous?: VmState;
  reason?: string;
  /** A running VM's "no progress" warning (server/progress.ts); an event also when only this changed. */
  warning?: string;
  /** When the change was seen, ms since the epoch. */
  at: number;
}

export type VmStateListener = (e: VmStateEvent) => void;

const POLL_MS = 1000;
const EVENTS_CONNECT_MS = 2000;
/** After a failed connect (another client holds qmp-events.sock), wait this long before trying again. */
const EVENTS_RETRY_MS = 3000;
/** Files in a runtime dir whose coming and going means the state may have changed. */
const TELLING_FILES = new Set(['qemu.pid', 'qmp-events.sock', 'config']);

interface Tracked {
  label: string;
  state?: VmState;
  warning?: string;
  /** When its screen was last sampled for the progress check. */
  sampledAt: number;
  events?: QmpClient;
  connecting?: Promise<void>;
  retryAt: number;
  dirWatcher?: FSWatcher;
  busy: boolean;
  again: boolean;
}

class StateWatcher {
  readonly listeners = new Set<VmStateListener>();
  private readonly vms = new Map<string, Tracked>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private rootWatcher?: FSWatcher;
  private poll?: NodeJS.Timeout;
  private disposed = false;
  private scanning?: Promise<void>;
  readonly ready: Promise<void>;

  constructor(private readonly root: string) {
    this.ready = this.start();
  }

  private async start(): Promise<void> {
    // Made private when missing, as the wrapper would; another user's root is not watched.
    const trusted = await trustedRunRoot(this.root).then(() => true, () => false);
    if (this.disposed) return;
    try {
      if (trusted) {
        this.rootWatcher = watch(this.root, () => this.later(() => this.scan(false), 0));
        this.rootWatcher.on('error', () => { this.rootWatcher?.close(); this.rootWatcher = undefined; });
      }
    } catch {
      // No watcher (the root vanished): the poll still sees everything.
    }
    await this.scan(true);
    await Promise.all([...this.vms.values()].map((t) => t.connecting));
    if (this.disposed) return;
    this.poll = setInterval(() => {
      void this.scan(false).then(() => { for (const label of this.vms.keys()) void this.recompute(label, false); });
    }, POLL_MS);
  }

  private later(fn: () => unknown, ms: number): void {
    if (this.disposed) return;
    const t = setTimeout(() => { this.timers.delete(t); if (!this.disposed) void fn(); }, ms);
    this.timers.add(t);
  }

  /** Finds VMs that appeared in or vanished from the runtime root, and looks at those. */
  private scan(initial: boolean): Promise<void> {
    if (this.scanning) return this.scanning;
    this.scanning = (async () => {
      let labels: string[] = [];
      try {
        labels = await runtimeLabels(this.root);
      } catch {
        // The root is gone, or is not ours alone: no VM in it is read.
      }
      if (this.disposed) return;
      const now = new Set(labels);
      const work: Promise<void>[] = [];
      for (const label of labels) {
        if (this.vms.has(label)) continue;
        // A runtime dir that appears now belongs to a VM that was not running.
        this.track(label, initial ? undefined : 'stopped');
        work.push(this.recompute(label, initial));
      }
      for (const label of [...this.vms.keys()]) {
        if (!now.has(label)) work.push(this.recompute(label, false).then(() => this.untrack(label)));
      }
      await Promise.all(work);
    })().finally(() => { this.scanning = undefined; });
    return this.scanning;
  }

  private track(label: string, state: VmState | undefined): void {
    const t: Tracked = { label, state, sampledAt: 0, retryAt: 0, busy: false, again: false };
    this.vms.set(label, t);
    try {
      t.dirWatcher = watch(join(this.root, label), (_event, name) => {
        if (name && TELLING_FILES.has(String(name))) this.later(() => this.recompute(label, false), 0);
      });
      t.dirWatcher.on('error', () => { t.dirWatcher?.close(); t.dirWatcher = undefined; this.later(() => this.scan(false), 0); });
    } catch {
      // Vanished already: the next scan forgets it.
    }
  }

  private untrack(label: string): void {
    const t = this.vms.get(label);
    if (!t) return;
    t.dirWatcher?.close();
    t.events?.close();
    this.vms.delete(label);
  }

  /** Recomputes one VM's state and tells the listeners when it changed. One at a time per VM. */
  private async recompute(label: string, silent: boolean): Promise<void> {
    const t = this.vms.get(label);
    if (!t || this.disposed) return;
    if (t.busy) { t.again = true; return; }
    t.busy = true;
    try {
      do {
        t.again = false;
        let unknownRunstate = false;
        const status = await probe(label, undefined, async (p) => {
          const s = await this.runstate(t, p);
          unknownRunstate = s === undefined;
          return s;
        }).catch(() => undefined);
        // The root is not ours alone any more: the next scan lets go of its VMs.
        if (this.disposed || !status) return;
        // QMP busy with someone else: a live QEMU keeps the state it had.
        const state = unknownRunstate && (t.state === 'running' || t.state === 'paused') ? t.state : status.state;
        const warning = await this.progress(t, { ...status, state });
        if (this.disposed) return;
        this.update(t, { ...status, state, warning }, silent);
        this.manageEvents(t, status);
      } while (t.again && !this.disposed);
    } finally {
      t.busy = false;
    }
  }

  private async runstate(t: Tracked, p: RuntimePaths): Promise<string | undefined> {
    if (t.events && !t.events.isClosed) {
      return within(t.events.execute<{ status: string }>('query-status'), 2000, 'query-status').then((r) => r.status, () => undefined);
    }
    return queryRunstate(p.qmp, 1000);
  }

  /**
   * A running VM's progress warning: its screen sampled on the events socket
   * every sampleEveryMs (in between the last verdict stands).
   */
  private async progress(t: Tracked, status: RuntimeStatus): Promise<string | undefined> {
    if (status.state !== 'running') { t.sampledAt = 0; return undefined; }
    if (Date.now() - t.sampledAt < sampleEveryMs()) return t.warning;
    t.sampledAt = Date.now();
    return progressOf(t.label, status, { sample: true, qmp: t.events }).catch(() => t.warning);
  }

  private update(t: Tracked, status: RuntimeStatus, silent: boolean): void {
    const previous = t.state;
    const previousWarning = t.warning;
    t.state = status.state;
    t.warning = status.warning;
    if (silent || (previous === status.state && previousWarning === status.warning)) return;
    const e: VmStateEvent = { label: t.label, state: status.state, at: Date.now() };
    if (previous !== undefined) e.previous = previous;
    if (status.reason !== undefined) e.reason = status.reason;
    if (status.warning !== undefined) e.warning = status.warning;
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        // One listener's failure is not the others' concern.
      }
    }
  }

  /** Holds a connection to each live QEMU's qmp-events.sock; lets go when QEMU is gone. */
  private manageEvents(t: Tracked, status: RuntimeStatus): void {
    if (status.pid === undefined) {
      t.events?.close();
      t.events = undefined;
      return;
    }
    if (t.events || t.connecting || Date.now() < t.retryAt) return;
    const path = runtimePaths(t.label).qmpEvents;
    t.connecting = QmpClient.connect(path, EVENTS_CONNECT_MS).then((c) => {
      if (this.disposed || this.vms.get(t.label) !== t) { c.close(); return; }
      t.events = c;
      c.on('event', () => this.later(() => this.recompute(t.label, false), 0));
      c.on('close', () => {
        if (t.events === c) t.events = undefined;
        // QEMU is exiting: look now, and again once the process is surely gone.
        this.later(() => this.recompute(t.label, false), 0);
        this.later(() => this.recompute(t.label, false), 250);
      });
      this.later(() => this.recompute(t.label, false), 0);
    }, (e: NodeJS.ErrnoException) => {
      // Not there yet (QEMU writes its pidfile before its sockets): the
      // socket's appearance is watched. Silent: another client holds it.
      if (e.code !== 'ENOENT' && e.code !== 'ECONNREFUSED') t.retryAt = Date.now() + EVENTS_RETRY_MS;
    }).finally(() => { t.connecting = undefined; });
  }

  dispose(): void {
    this.disposed = true;
    if (this.poll) clearInterval(this.poll);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.rootWatcher?.close();
    for (const label of [...this.vms.keys()]) this.untrack(label);
  }
}

// One watcher per process, even when bundles load this module twice (Next.js).
const KEY = Symbol.for('vmdeck.events.watcher');
type Holder = { [KEY]?: StateWatcher };
const holder = globalThis as Holder;

/**
 * Calls listener for every VM state change from now on, within 500 ms of
 * it. Returns the function that unsubscribes.
 */
export function subscribe(listener: VmStateListener): () => void {
  const w = (holder[KEY] ??= new StateWatcher(runRoot()));
  w.listeners.add(listener);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    w.listeners.delete(listener);
    if (w.listeners.size === 0 && holder[KEY] === w) {
      w.dispose();
      delete holder[KEY];
    }
  };
}

/** Resolves once the watcher knows every VM's state and holds their event sockets (for tests and callers that must not miss the first change). */
export function eventsReady(): Promise<void> {
  return holder[KEY]?.ready ?? Promise.resolve();
}
