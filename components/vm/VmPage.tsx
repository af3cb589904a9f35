'use client';
// One VM: the action bar above, the consoles taking most of the viewport, the
// facts beside them. noVNC and xterm.js are loaded here only, on demand.
import dynamic from 'next/dynamic';
import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, serialLogUrl, startErrorKey, type VmDetail, type VmEvent } from '../api';
import { useVmEvents } from '../events';
import { hostOf, LOCAL } from '../hosts';
import { formatOs } from '../format';
import { badgeState, StateBadge, WarningMark } from '../StateBadge';
import { ActionBar } from './ActionBar';
import { Facts } from './Facts';
import { FilesView } from './FilesView';
import { HardwareTab } from './hardware/HardwareTab';
import { nowAndNext } from '@/lib/vm';
import { PendingBadge } from './hardware/PendingBadge';
import { TaskLog } from '../tasks/TaskLog';

const loading = () => <div className="flex-1 bg-console" />;
const VncConsole = dynamic(() => import('../console/VncConsole'), { ssr: false, loading });
const TerminalConsole = dynamic(() => import('../console/TerminalConsole'), { ssr: false, loading });
const Graphs = dynamic(() => import('./Graphs'), { ssr: false, loading });

export type Tab = 'vnc' | 'serial' | 'monitor' | 'cli' | 'hardware' | 'files' | 'tasks' | 'graphs';

const TAB_TITLE: Record<Tab, string> = { vnc: 'VNC', serial: 'Serial', monitor: 'Monitor', cli: 'CLI0', hardware: 'Hardware', files: 'Files & command', tasks: 'Tasks', graphs: 'Graphs' };

function tabsFor(vm: VmDetail): Tab[] {
  const tabs: Tab[] = [];
  if (vm.console === 'VNC') tabs.push('vnc');
  tabs.push('serial', 'monitor');
  if (vm.console === 'CLI0') tabs.push('cli');
  tabs.push('hardware', 'files', 'graphs', 'tasks');
  return tabs;
}

export function VmPage({ label, initialTab }: { label: string; initialTab?: string }) {
  const [vm, setVm] = useState<VmDetail | null>(null);
  // Left by the wizard when the VM it made did not start; said once.
  const [createdNote, setCreatedNote] = useState<string | undefined>(undefined);
  useEffect(() => {
    const key = startErrorKey(label);
    const note = sessionStorage.getItem(key);
    if (note === null) return;
    sessionStorage.removeItem(key);
    setCreatedNote(note);
  }, [label]);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab | null>((initialTab as Tab) ?? null);
  // Consoles stay connected once opened; switching tabs only hides them.
  const [opened, setOpened] = useState<Set<Tab>>(new Set());

  // Whether this page has shown the VM: a 404 after that is a VM gone since.
  const shown = useRef(false);
  const load = useCallback(async () => {
    try {
      setVm(await api.vm(label));
      shown.current = true;
      setError(null);
    } catch (e) {
      // Gone (deleted in another tab or a terminal, its config moved): the page says so, not the VM as it was.
      if (e instanceof ApiError && e.status === 404) {
        setVm(null);
        setError(shown.current ? `VM '${label}' is gone: it was deleted, or its config moved (${e.message})` : e.message);
        return;
      }
      setError((e as Error).message);
    }
  }, [label]);

  useEffect(() => {
    void load();
  }, [load]);

  // Another host's VM (LABEL@HOST) is not among this server's events: look again every few seconds.
  useEffect(() => {
    if (hostOf(label) === LOCAL) return;
    const t = setInterval(() => void load(), 5000);
    return () => clearInterval(t);
  }, [label, load]);

  useVmEvents(
    (e: VmEvent) => {
      // VMs made or deleted outside the dashboard come as an event of no VM: this one may be among them.
      if (e.label === '' && e.type === 'vms') {
        void load();
        return;
      }
      if (e.label !== label) return;
      if (e.state && vm && e.state !== vm.state) {
        setVm({ ...vm, state: e.state, reason: typeof e.reason === 'string' ? e.reason : undefined, warning: typeof e.warning === 'string' ? e.warning : undefined });
      }
      // Runtime facts (pid, sockets) change with the state: fetch them again.
      void load();
    },
    () => void load(),
  );

  // Just started, the first look may come before QEMU's sockets are there: look again shortly.
  const socketsMissing = vm !== null && (vm.state === 'running' || vm.state === 'paused') && !vm.runtime?.sockets?.qmp;
  useEffect(() => {
    if (!socketsMissing) return;
    const t = setTimeout(() => void load(), 1000);
    return () => clearTimeout(t);
  }, [socketsMissing, vm, load]);

  const tabs = vm ? tabsFor(vm) : [];
  const current: Tab | null = vm ? (tab && tabs.includes(tab) ? tab : tabs[0]) : null;

  useEffect(() => {
    if (!current) return;
    setOpened((o) => (o.has(current) ? o : new Set(o).add(current)));
    const url = new URL(window.location.href);
    if (url.searchParams.get('tab') !== current) {
      url.searchParams.set('tab', current);
      window.history.replaceState(window.history.state, '', url);
    }
  }, [current]);

  if (error && !vm) {
    return (
      <div className="p-4">
        <p role="alert" className="text-danger">{error}</p>
        <Link href="/" className="mt-2 inline-block text-accent underline">All VMs</Link>
      </div>
    );
  }
  if (!vm || !current) return <p className="p-4 text-muted">Loading {label}…</p>;

  const running = vm.state === 'running' || vm.state === 'paused';
  const vgaAt = vm.argv.indexOf('-vga');
  const vga = vgaAt >= 0 ? vm.argv[vgaAt + 1] : undefined;
  // virtio and qxl take a size from the viewer; so does a virtio GPU added by hand (ARGSADD).
  // The clipboard the wrapper gives it (CLIPBOARD=vdagent adds QEMU's qemu-vdagent chardev).
  const sharedClipboard = vm.argv.some((a) => a.startsWith('qemu-vdagent,'));
  const resizable = vga === 'virtio' || vga === 'qxl' || vm.argv.some((a, i) => vm.argv[i - 1] === '-device' && /^virtio-(vga|gpu)/.test(a));
  const suspended = vm.state === 'suspended';
  // What QEMU runs with while a change waits (the Facts say the next start's).
  const smp = nowAndNext(vm, 'smp').now;
  const memsize = nowAndNext(vm, 'memsize').now;

  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <div className="flex shrink-0 items-center gap-3 border-b border-line px-3 py-1.5">
        <Link href="/" className="text-xs text-muted hover:text-fg">VMs</Link>
        <span className="text-xs text-muted" aria-hidden>/</span>
        <h1 className="text-sm font-semibold">{vm.label}</h1>
        <StateBadge state={badgeState(vm.state, vm.reason)} title={vm.reason} />
        <span className="truncate text-xs text-muted">
          {[formatOs(vm) === '—' ? '' : formatOs(vm), vm.arch, vm.accelerator].filter(Boolean).join(' · ')} · {smp} CPU{smp === 1 ? '' : 's'} · {memsize} MiB
        </span>
        {vm.reason && <span className="truncate text-xs text-danger">{vm.reason}</span>}
        {vm.warning && (
          <span role="status" className="flex min-w-0 items-center gap-1 text-xs text-amber-700 dark:text-amber-300" title={vm.warning}>
            <WarningMark warning={vm.warning} />
            <span className="truncate">{vm.warning}</span>
          </span>
        )}
        {vm.pending && <PendingBadge variables={vm.pending.variables} />}
      </div>
      {createdNote && (
        <div role="alert" className="flex shrink-0 items-center gap-2 border-b border-line bg-danger/8 px-3 py-1.5 text-xs text-danger">
          <span className="min-w-0 flex-1 break-words">Created {vm.label}, but it did not start: {createdNote}</span>
          <button type="button" className="btn btn-sm" onClick={() => setCreatedNote(undefined)}>Dismiss</button>
        </div>
      )}
      {!createdNote && vm.state === 'stopped' && vm.problem && (
        <div role="status" className="flex shrink-0 items-center gap-2 border-b border-line px-3 py-1.5 text-xs text-danger">
          <span className="min-w-0 flex-1 break-words">It cannot start as configured: {vm.problem}</span>
          {/* KVM that does not run guests here (the host's probe): one click sets this VM to emulation. */}
          {vm.accelerator === 'KVM' && vm.problem.startsWith('ACCELERATOR:') && <EmulateButton label={vm.label} onDone={load} />}
        </div>
      )}
      <ActionBar vm={vm} onChanged={load} />
      <div className="flex min-h-0 flex-1">
        <div className="flex min-h-0 min-w-0 flex-1 flex-col">
          <div role="tablist" aria-label="Consoles" className="flex shrink-0 gap-0.5 overflow-x-auto whitespace-nowrap border-b border-line bg-panel px-2 pt-1">
            {tabs.map((t) => (
              <button
                key={t}
                type="button"
                role="tab"
                id={`tab-${t}`}
                aria-selected={t === current}
                aria-controls={`panel-${t}`}
                onClick={() => setTab(t)}
                onKeyDown={(e) => {
                  if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
                  const i = tabs.indexOf(t) + (e.key === 'ArrowRight' ? 1 : -1);
                  const next = tabs[(i + tabs.length) % tabs.length];
                  setTab(next);
                  document.getElementById(`tab-${next}`)?.focus();
                }}
                tabIndex={t === current ? 0 : -1}
                className={`-mb-px rounded-t border px-3 py-1 text-xs ${t === current ? 'border-line border-b-surface bg-surface font-medium text-fg' : 'border-transparent text-muted hover:text-fg'}`}
              >
                {TAB_TITLE[t]}
              </button>
            ))}
          </div>
          {tabs.map((t) => (
            <div
              key={t}
              role="tabpanel"
              id={`panel-${t}`}
              aria-labelledby={`tab-${t}`}
              hidden={t !== current}
              className={t === current ? 'flex min-h-0 flex-1 flex-col' : ''}
            >
              {opened.has(t) && (
                t === 'vnc' ? <VncConsole label={vm.label} running={running} suspended={suspended} vga={vga} resizable={resizable} sharedClipboard={sharedClipboard} />
                  : t === 'serial' ? <TerminalConsole label={vm.label} kind="serial" running={running} suspended={suspended} logUrl={serialLogUrl(vm.label)} />
                    : t === 'monitor' ? <TerminalConsole label={vm.label} kind="monitor" running={running} suspended={suspended} />
                      : t === 'cli' ? <TerminalConsole label={vm.label} kind="cli" running={running} suspended={suspended} />
                        : t === 'hardware' ? <HardwareTab vm={vm} onChanged={load} />
                        : t === 'tasks' ? <TaskLog label={vm.label} />
                        : t === 'graphs' ? <Graphs label={vm.label} running={running} />
                        : <div className="flex min-h-0 flex-1 flex-col overflow-auto"><Facts vm={vm} inline /><div className="flex min-h-[28rem] flex-1 flex-col lg:min-h-0"><FilesView vm={vm} /></div></div>
              )}
            </div>
          ))}
        </div>
        <Facts vm={vm} />
      </div>
    </div>
  );
}

/** Sets a VM whose KVM does not run guests here to emulation, in its config. */
function EmulateButton({ label, onDone }: { label: string; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      {error && <span role="alert">{error}</span>}
      <button
        type="button"
        className="btn btn-sm"
        disabled={busy}
        title="Writes ACCELERATOR='QEMU' into the VM's config (the previous config is kept beside it)"
        onClick={async () => {
          setBusy(true);
          try {
            await api.edit(label, { accelerator: 'QEMU' });
            setError(null);
            onDone();
          } catch (e) {
            setError((e as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        Switch to emulation (ACCELERATOR=QEMU)
      </button>
    </>
  );
}

