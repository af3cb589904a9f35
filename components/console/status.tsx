'use client';
// What every console shows about its connection: one status line below it,
// and the "VM stopped" banner with a Start button over it ("VM suspended" and
// Resume when its state is saved on disk: a start resumes it).
import { useState } from 'react';

export type ConnState =
  | { phase: 'connecting' }
  | { phase: 'connected'; detail?: string }
  | { phase: 'retrying'; at: number; reason?: string }
  | { phase: 'stopped'; code: number; reason?: string }
  | { phase: 'unknown'; code: number; reason?: string };

/** SPEC close codes: 4401 unauthorized, 4404 unknown VM, 4409 not running, 4410 the VM stopped. */
export function closeReason(code: number): 'unauthorized' | 'unknown' | 'stopped' | 'other' {
  if (code === 4401) return 'unauthorized';
  if (code === 4404) return 'unknown';
  if (code === 4409 || code === 4410) return 'stopped';
  return 'other';
}

const DOT: Record<ConnState['phase'], string> = {
  connecting: 'bg-amber-500',
  connected: 'bg-green-600 dark:bg-green-400',
  retrying: 'bg-amber-500',
  stopped: 'bg-neutral-400',
  unknown: 'bg-red-600',
};

function describe(conn: ConnState, what: string, suspended: boolean): string {
  switch (conn.phase) {
    case 'connecting': return `connecting to the ${what}…`;
    case 'connected': return `connected to the ${what}${conn.detail ? ` · ${conn.detail}` : ''}`;
    case 'retrying': {
      const wait = `${Math.max(1, Math.round((conn.at - Date.now()) / 1000))} s`;
      // Another program has QEMU's console socket (a vmdeck console in a terminal): the server says who (1013).
      if (conn.reason && / in use by /.test(conn.reason)) return `${conn.reason}; trying again in ${wait}…`;
      return `connection lost${conn.reason ? ` (${conn.reason})` : ''}; reconnecting in ${wait}…`;
    }
    case 'stopped': return suspended ? 'the VM is suspended' : conn.code === 4410 ? 'the VM stopped' : 'the VM is not running';
    case 'unknown': return conn.reason || 'no such VM';
  }
}

export function ConsoleStatus({ conn, what, suspended = false, children }: {
  conn: ConnState;
  what: string;
  suspended?: boolean;
  children?: React.ReactNode;
}) {
  return (
    <div className="flex h-8 shrink-0 items-center gap-2 border-t border-line bg-panel px-2 text-xs">
      <span aria-hidden className={`size-2 rounded-full ${DOT[conn.phase]}`} />
      <span role="status" data-phase={conn.phase} className="min-w-0 flex-1 truncate">{describe(conn, what, suspended)}</span>
      {children}
    </div>
  );
}

export function StoppedBanner({ label, code, suspended = false, onStart }: {
  label: string;
  code: number;
  /** Its state is saved on disk: the same start resumes it. */
  suspended?: boolean;
  onStart: () => Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="absolute inset-x-0 top-8 z-10 mx-auto flex w-fit max-w-[90%] flex-wrap items-center gap-3 rounded border border-line bg-surface px-4 py-2.5 shadow-lg" role="alert">
      {suspended ? (
        <span className="font-medium" title="its state is saved on disk; Resume starts it from there">VM suspended</span>
      ) : (
        <span className="font-medium" title={code === 4410 ? 'it stopped while this console was open' : 'it was not running when this console connected'}>VM stopped</span>
      )}
      <span className="text-xs text-muted">{label}</span>
      <button
        type="button"
        className="btn btn-primary"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            await onStart();
          } catch (e) {
            setError((e as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        {suspended ? (busy ? 'Resuming…' : 'Resume') : busy ? 'Starting…' : 'Start'}
      </button>
      {error && <span className="text-xs text-danger">{error}</span>}
    </div>
  );
}
