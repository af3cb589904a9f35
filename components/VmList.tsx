'use client';
// The VM list: a resource grid of every VM, live through /api/events.
// Rows are windowed (only those on screen are in the DOM) so that a thousand
// VMs scroll and filter smoothly; thumbnails share one observer and one timer.
// A row is cheap to mount, as ~7 of them are in every frame of a fast scroll:
// its links are plain anchors and its buttons carry their action in a data
// attribute, with one click handler on the table for them all; and a row
// that comes into the window while the list scrolls leaves its actions out
// (a third of a row's cost) until the list is at rest, SETTLE_MS later
// (docs/PERFORMANCE.md, "The VM list's scrolling").
// A row with something to say (a refused action, why it failed) grows by one
// line beneath it, so that its cells and buttons stay in line with the others.
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { memo, startTransition, useCallback, useDeferredValue, useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import { nowAndNext, type VmInfo } from '@/lib/vm';
import { api, screenshotUrl, type StopMode, type VmEvent } from './api';
import { useConfirm } from './Confirm';
import { useVmEvents } from './events';
import { useFetched } from './useFetched';
import { byLabel, formatMemory, formatOs, hasDisplay } from './format';
import { badgeState, StateBadge, WarningMark, type BadgeState } from './StateBadge';
import { watchThumbnail } from './thumbnails';
import { PendingBadge } from './vm/hardware/PendingBadge';
import { CpuSparkline } from './Sparkline';
import { hostApi, hostOf, hostsApi, LOCAL } from './hosts';

const ROW = 44;
const NOTE = 18;
const OVERSCAN = 8;
/** How long after the last scroll event the list is at rest (react-window's isScrolling). */
const SETTLE_MS = 150;
// Text columns grow with the window up to a width worth reading; beyond that the space stays empty.
// At their least they fit a 1280-pixel window with a scroll bar (1265): the state column holds the
// badge, a warning mark, the CPU sparkline and the pending badge side by side.
const COLUMNS = '72px minmax(120px,320px) minmax(56px,140px) 200px minmax(90px,260px) 120px 76px 48px minmax(120px,220px) 344px';
const MIN_WIDTH = 'min-w-[1256px]';

type Action = 'start' | StopMode;

interface RowStatus {
  pending?: Action;
  error?: string;
}

/** The filter's states are the badges' (a failed VM is not counted as paused or stopped). */
const STATES: BadgeState[] = ['running', 'paused', 'suspended', 'stopped', 'failed'];

/** Hosts whose VMs could not be listed, and why (ssh's one line): shown above the list, the others listed. */
let unreachable: string[] = [];

/** The VMs of every host, by label; another host's labelled LABEL@HOST. */
const fetchVms = async () => {
  const hosts = (await hostsApi.list().catch(() => [])).filter((h) => h.name !== LOCAL);
  const failed: string[] = [];
  const lists = await Promise.all([
    api.vms(),
    ...hosts.map((h) => (h.ok ? hostApi(h.name).vms() : Promise.reject(new Error(h.error ?? `host ${h.name} cannot be reached`)))
      .catch((e: Error) => { failed.push(e.message); return []; })),
  ]);
  unreachable = failed;
  return lists.flat().sort(byLabel);
};

const vmCount = (n: number) => `${n} VM${n === 1 ? '' : 's'}`;

/**
 * The line beneath a row: the server's refusal of the last action, else why
 * the VM failed, or why it seems stuck, else what ENUMERATE found wrong with
 * it (its config gone while it runs, a MAC the macmap disagrees with).
 */
function rowNote(vm: VmInfo, status?: RowStatus): string | undefined {
  return status?.error ?? (badgeState(vm.state, vm.reason) === 'failed' ? vm.reason : vm.warning ?? vm.warnings?.[0]);
}

export function VmList() {
  const { data: vms, setData: setVms, error: loadError, reloadSoon: refetchSoon } = useFetched(fetchVms, 250);
  const [filter, setFilter] = useState('');
  const [stateFilter, setStateFilter] = useState<BadgeState | ''>('');
  const [hostFilter, setHostFilter] = useState('');
  const [status, setStatus] = useState<Record<string, RowStatus>>({});
  const [confirmDialog, confirm] = useConfirm();
  useVmEvents(
    (e: VmEvent) => {
      const known = vms?.some((v) => v.label === e.label);
      if (!known || !e.state || e.type === 'deleted' || e.type === 'created') {
        refetchSoon();
        return;
      }
      setVms((list) =>
        list?.map((v) =>
          v.label === e.label
            ? {
                ...v, state: e.state!, pid: typeof e.pid === 'number' ? e.pid : e.state === 'stopped' ? undefined : v.pid,
                reason: typeof e.reason === 'string' ? e.reason : undefined, warning: typeof e.warning === 'string' ? e.warning : undefined,
              }
            : v,
        ) ?? list,
      );
    },
    refetchSoon,
  );

  const act = useCallback(
    async (vm: VmInfo, action: Action) => {
      if (action === 'force') {
        const ok = await confirm({
          title: `Force off ${vm.label}?`,
          body: <>QEMU is ended at once, like pulling the plug: whatever <b>{vm.label}</b> has not written to its disk is lost.</>,
          confirm: 'Force off',
        });
        if (!ok) return;
      }
      setStatus((s) => ({ ...s, [vm.label]: { pending: action } }));
      try {
        if (action === 'start') {
          await api.start(vm.label);
        } else {
          const r = await api.stop(vm.label, action);
          const after = r?.state ?? r?.vm?.state;
          // The guest ignored the power button: say so under the row, beside its Force off.
          if (action === 'poweroff' && (after === 'running' || after === 'paused')) {
            throw new Error(`${r?.reason ?? r?.vm?.reason ?? 'the guest did not power off (it may ignore the ACPI power button)'}; Force off quits QEMU`);
          }
        }
        setStatus((s) => ({ ...s, [vm.label]: {} }));
      } catch (e) {
        setStatus((s) => ({ ...s, [vm.label]: { error: e instanceof Error ? e.message : String(e) } }));
      }
      // Another host's state changes are not among this server's events: ask again.
      if (hostOf(vm.label) !== LOCAL) refetchSoon();
    },
    [confirm, refetchSoon],
  );

  const text = useDeferredValue(filter.trim().toLowerCase());
  const shown = useMemo(() => {
    if (!vms) return [];
    return vms.filter((v) => {
      if (stateFilter && badgeState(v.state, v.reason) !== stateFilter) return false;
      if (hostFilter && hostOf(v.label) !== hostFilter) return false;
      if (!text) return true;
      return [v.label, v.os, v.osrel, v.dist, v.distrel, v.arch, v.ip, v.mac, v.accelerator, v.vmstate].some((f) => f?.toLowerCase().includes(text));
    });
  }, [vms, text, stateFilter, hostFilter]);

  /** Per host: how many VMs, how many running. */
  const perHost = useMemo(() => {
    const c = new Map<string, { all: number; running: number }>([[LOCAL, { all: 0, running: 0 }]]);
    for (const v of vms ?? []) {
      const h = c.get(hostOf(v.label)) ?? { all: 0, running: 0 };
      h.all++;
      if (v.state === 'running') h.running++;
      c.set(hostOf(v.label), h);
    }
    return c;
  }, [vms]);

  // Other hosts' state changes are not among this server's events: their VMs are asked again every few seconds.
  const remote = perHost.size > 1;
  useEffect(() => {
    if (!remote) return;
    const t = setInterval(refetchSoon, 5000);
    return () => clearInterval(t);
  }, [remote, refetchSoon]);

  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const v of vms ?? []) {
      const b = badgeState(v.state, v.reason);
      c[b] = (c[b] ?? 0) + 1;
    }
    return c;
  }, [vms]);

  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <div className="flex shrink-0 flex-wrap items-center gap-2 border-b border-line px-3 py-2">
        <h1 className="mr-2 text-sm font-semibold">Virtual machines</h1>
        <label className="sr-only" htmlFor="vm-filter">Filter</label>
        <input
          id="vm-filter"
          type="search"
          placeholder="Filter by label, OS, arch, IP, MAC…"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          className="input w-72"
        />
        <label className="sr-only" htmlFor="vm-state-filter">State</label>
        <select
          id="vm-state-filter"
          value={stateFilter}
          onChange={(e) => setStateFilter(e.target.value as BadgeState | '')}
          className="input w-40"
        >
          <option value="">All states</option>
          {STATES.map((s) => (
            <option key={s} value={s}>{s} ({counts[s] ?? 0})</option>
          ))}
        </select>
        {perHost.size > 1 && (
          <>
            <label className="sr-only" htmlFor="vm-host-filter">Host</label>
            <select id="vm-host-filter" value={hostFilter} onChange={(e) => setHostFilter(e.target.value)} className="input w-48">
              <option value="">All hosts</option>
              {[...perHost].map(([h, c]) => (
                <option key={h} value={h}>{h} ({c.all}, {c.running} running)</option>
              ))}
            </select>
          </>
        )}
        <span className="text-xs text-muted" aria-live="polite">
          {vms === null ? 'loading…' : shown.length === vms.length ? vmCount(vms.length) : `${shown.length} of ${vmCount(vms.length)}`}
          {vms !== null && ` · ${counts.running ?? 0} running`}
          {vms !== null && counts.paused ? ` · ${counts.paused} paused` : ''}
        </span>
        <Link href="/vms/new" className="btn btn-primary ml-auto">New VM</Link>
      </div>
      {loadError && <p role="alert" className="border-b border-line px-3 py-1.5 text-xs text-danger">{loadError}</p>}
      {vms !== null && unreachable.map((why) => <p key={why} role="alert" className="border-b border-line px-3 py-1.5 text-xs text-danger">{why}</p>)}
      <VmGrid vms={shown} status={status} onAction={act} empty={vms !== null && vms.length === 0} />
      {confirmDialog}
    </div>
  );
}

function VmGrid({ vms, status, onAction, empty }: {
  vms: VmInfo[];
  status: Record<string, RowStatus>;
  onAction: (vm: VmInfo, a: Action) => void;
  empty: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 800 });
  const [scrolling, setScrolling] = useState(false);
  const cpu = useRecentCpu(vms.some((v) => v.state === 'running' || v.state === 'paused'));
  // Where each row starts; the last entry is the height of them all.
  const tops = useMemo(() => {
    const t = new Array<number>(vms.length + 1);
    t[0] = 0;
    vms.forEach((vm, i) => { t[i + 1] = t[i] + ROW + (rowNote(vm, status[vm.label]) ? NOTE : 0); });
    return t;
  }, [vms, status]);

  // The window's height from the ResizeObserver, its position from the scroll
  // event (the browser has laid out by then): nothing here forces a layout.
  useEffect(() => {
    const el = box.current!;
    let rest: ReturnType<typeof setTimeout> | undefined;
    const onScroll = () => {
      setView((v) => (v.top === el.scrollTop ? v : { ...v, top: el.scrollTop }));
      setScrolling(true);
      clearTimeout(rest);
      // A transition: React renders the rows' actions in slices, yielding to input between them.
      rest = setTimeout(() => startTransition(() => setScrolling(false)), SETTLE_MS);
    };
    const ro = new ResizeObserver(([entry]) => setView((v) => ({ ...v, height: entry.contentRect.height })));
    ro.observe(el);
    el.addEventListener('scroll', onScroll, { passive: true });
    return () => {
      ro.disconnect();
      el.removeEventListener('scroll', onScroll);
      clearTimeout(rest);
    };
  }, []);

  // One handler for the buttons and links of every row. A plain click on a
  // link is the app's own navigation, as next/link's; any other (a new tab, a
  // download) is the browser's.
  const router = useRouter();
  const byLabel = useMemo(() => new Map(vms.map((vm) => [vm.label, vm])), [vms]);
  const onClick = (e: MouseEvent<HTMLDivElement>) => {
    const target = e.target as Element;
    const button = target.closest<HTMLButtonElement>('button[data-action]');
    if (button) {
      const vm = byLabel.get(button.closest<HTMLElement>('[role=row]')?.dataset.label ?? '');
      if (vm) onAction(vm, button.dataset.action as Action);
      return;
    }
    const a = target.closest<HTMLAnchorElement>('a[href]');
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target || a.origin !== window.location.origin) return;
    e.preventDefault();
    router.push(a.pathname + a.search);
  };

  const first = Math.max(0, rowAt(tops, view.top) - OVERSCAN);
  const last = Math.min(vms.length, rowAt(tops, view.top + view.height) + 1 + OVERSCAN);

  return (
    <div ref={box} className="min-h-0 flex-1 overflow-auto" role="table" aria-label="Virtual machines" aria-rowcount={vms.length + 1} onClick={onClick}>
      <div role="rowgroup" className={`sticky top-0 z-10 ${MIN_WIDTH} border-b border-line bg-panel`}>
        <div role="row" className="grid h-8 items-center text-xs font-medium text-muted" style={{ gridTemplateColumns: COLUMNS }}>
          <span role="columnheader" className="px-3">Screen</span>
          <span role="columnheader" className="px-2">Label</span>
          <span role="columnheader" className="px-2">Host</span>
          <span role="columnheader" className="px-2">State</span>
          <span role="columnheader" className="px-2">OS / distribution</span>
          <span role="columnheader" className="px-2">Arch</span>
          <span role="columnheader" className="px-2 text-right">Memory</span>
          <span role="columnheader" className="px-2 text-right">CPUs</span>
          <span role="columnheader" className="px-2">IP / MAC</span>
          <span role="columnheader" className="px-2">Actions</span>
        </div>
      </div>
      <div role="rowgroup" className={`relative ${MIN_WIDTH}`} style={{ height: tops[vms.length] }}>
        {vms.slice(first, last).map((vm, i) => (
          <VmRow key={vm.label} vm={vm} index={first + i} top={tops[first + i]} status={status[vm.label]} cpu={cpu[vm.label]} atRest={!scrolling} />
        ))}
      </div>
      {empty && (
        <div className="p-8 text-center text-muted">
          No VMs yet. <Link href="/vms/new" className="text-accent underline">Create one</Link>, or point
          <code className="mx-1 font-mono">VMDECK_BASES</code>at directories that hold ctys VMs.
        </div>
      )}
    </div>
  );
}

/** The last minutes of CPU of each running VM (GET /api/stats/cpu), fetched each sampling step while some VM runs and the tab shows. */
function useRecentCpu(anyRunning: boolean): Record<string, (number | null)[]> {
  const [cpu, setCpu] = useState<Record<string, (number | null)[]>>({});
  useEffect(() => {
    if (!anyRunning) return;
    const load = () => { if (document.visibilityState === 'visible') api.recentCpu().then(setCpu, () => undefined); };
    load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, [anyRunning]);
  return cpu;
}

/** The row whose span holds y (tops ascending, tops[0] = 0). */
function rowAt(tops: number[], y: number): number {
  let lo = 0;
  let hi = tops.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (tops[mid] <= y) lo = mid;
    else hi = mid - 1;
  }
  return Math.max(0, lo);
}

/** Memory or CPUs as QEMU has them; while a change waits, the next start's in its title, the value underlined. */
function NowAndNextCell({ vm, field, format }: { vm: VmInfo; field: 'memsize' | 'smp'; format: (n: number) => string }) {
  const { now, next } = nowAndNext(vm, field);
  return (
    <span role="cell" className="self-center px-2 text-right tabular-nums">
      {next === undefined ? format(now) : (
        <span className="underline decoration-dotted underline-offset-2" title={`Runs with ${format(now)}; ${format(next)} from the next start`}>{format(now)}</span>
      )}
    </span>
  );
}

// A row's links are plain anchors (VmGrid's onClick follows them): nothing is
// prefetched (scrolling through 1,000 VMs would fetch the VM page of every
// row that passes by), and nothing is mounted but the element.
// A row mounted while the list scrolls has an empty actions cell (of the
// same size) until the list is at rest; once shown, its actions stay.
const VmRow = memo(function VmRow({ vm, index, top, status, cpu, atRest }: {
  vm: VmInfo;
  cpu?: (number | null)[];
  index: number;
  top: number;
  status?: RowStatus;
  atRest: boolean;
}) {
  const [actions, setActions] = useState(atRest);
  if (atRest && !actions) setActions(true); // state adjusted while rendering: no second commit
  const href = `/vms/${encodeURIComponent(vm.label)}`;
  const busy = status?.pending !== undefined;
  const up = vm.state === 'running' || vm.state === 'paused';
  const badge = badgeState(vm.state, vm.reason);
  const note = rowNote(vm, status);
  const btn = (action: Action, label: string, enabled: boolean, extra = '') => (
    <button
      type="button"
      className={`btn btn-sm ${extra}`}
      disabled={!enabled || busy}
      aria-busy={status?.pending === action || undefined}
      data-action={action}
    >
      {status?.pending === action ? `${label}…` : label}
    </button>
  );
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      data-label={vm.label}
      className="absolute inset-x-0 grid content-start border-b border-line/70 hover:bg-panel/70"
      style={{ top, height: ROW + (note ? NOTE : 0), gridTemplateColumns: COLUMNS, gridTemplateRows: note ? `${ROW - 1}px ${NOTE}px` : `${ROW - 1}px`, contain: 'strict' }}
    >
      <span role="cell" className="self-center px-3">
        {vm.state === 'running' && hasDisplay(vm) ? (
          <a href={`${href}?tab=vnc`} title={`Open the console of ${vm.label}`} className="block h-9 w-14 overflow-hidden rounded-sm bg-console">
            {/* eslint-disable-next-line @next/next/no-img-element */}
            <img ref={watchThumbnail} data-src={screenshotUrl(vm.label)} alt="" className="h-full w-full object-contain" />
          </a>
        ) : (
          <span className="block h-9 w-14 rounded-sm border border-dashed border-line" aria-hidden />
        )}
      </span>
      <span role="cell" className="min-w-0 self-center truncate px-2">
        <a href={href} className="font-medium hover:text-accent hover:underline">{vm.label}</a>
        {vm.source === 'ctys' && <span className="ml-1.5 text-[10px] text-muted" title="A config made by ctys">ctys</span>}
        {vm.vmstate && vm.vmstate !== 'ACTIVE' && <span className="ml-1.5 text-[10px] text-muted" title="ctys's VMSTATE">{vm.vmstate.toLowerCase()}</span>}
      </span>
      <span role="cell" className="min-w-0 self-center truncate px-2 text-xs" data-host={hostOf(vm.label)}>{hostOf(vm.label)}</span>
      <span role="cell" className="flex min-w-0 items-center gap-1 self-center overflow-hidden whitespace-nowrap px-2">
        <StateBadge state={badge} title={vm.reason} />
        {vm.warning && <WarningMark warning={vm.warning} />}
        {up && <CpuSparkline values={cpu} smp={vm.smp} />}
        {vm.pending && <PendingBadge variables={vm.pending.variables} />}
      </span>
      <span role="cell" className="min-w-0 self-center truncate px-2" title={formatOs(vm)}>{formatOs(vm)}</span>
      <span role="cell" className="min-w-0 self-center truncate px-2" title={`${vm.arch} ${vm.accelerator}`}>
        {vm.arch}
        <span className="ml-1 text-xs text-muted">{vm.accelerator}</span>
      </span>
      <NowAndNextCell vm={vm} field="memsize" format={formatMemory} />
      <NowAndNextCell vm={vm} field="smp" format={String} />
      <span role="cell" className="min-w-0 self-center truncate px-2 font-mono text-xs" title={vm.mac}>
        {vm.ip || <span className="text-muted">{vm.mac || 'DHCP'}</span>}
      </span>
      <span role="cell" className="min-w-0 self-center px-2">
        {actions && (
          <span className="flex items-center gap-1">
            {vm.state === 'paused' && badge !== 'failed'
              ? btn('resume', 'Resume', true)
              : btn('start', vm.state === 'suspended' ? 'Resume' : 'Start', !up)}
            {btn('poweroff', 'Shut down', vm.state === 'running')}
            {btn('force', 'Force off', up, 'btn-danger')}
            {btn('pause', 'Pause', vm.state === 'running')}
            <a href={href} className="btn btn-sm">Console</a>
          </span>
        )}
      </span>
      {note && (
        <span role="cell" aria-colspan={9} title={note}
          className={`col-start-2 -col-end-1 -mt-1 truncate pr-3 pl-2 text-[11px] leading-[16px] ${(note === vm.warning || note === vm.warnings?.[0]) && !status?.error ? 'text-amber-700 dark:text-amber-300' : 'text-danger'}`}>
          <span role={status?.error ? 'alert' : undefined}>{note}</span>
        </span>
      )}
    </div>
  );
});
