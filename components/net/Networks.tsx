'use client';
// The network page: the VDE switches that VMs share (vmdeck net), who is on
// each, and creating and cancelling them. Refusals show the server's own
// line where the user acted: under the field, beside the button.
import Link from 'next/link';
import { useMemo, useState } from 'react';
import { api, ApiError, type SwitchInfo, type SwitchPort } from '../api';
import { useConfirm } from '../Confirm';
import { CopyText } from '../CopyText';
import { StateBadge } from '../StateBadge';
import { useSwitches } from './switches';
import { HostChoice } from '../HostChoice';
import { hostApi, LOCAL } from '../hosts';

type FieldName = 'name' | 'tap' | 'bridge';

interface RowStatus {
  pending?: 'cancel' | 'start';
  error?: string;
}

/** "a, b and c" */
const and = (xs: string[]) => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);

const clientName = (p: SwitchPort) => `${p.descr.replace(/:$/, '') || 'client'}${p.pid ? ` (pid ${p.pid})` : ''}`;

export function Networks({ host = LOCAL }: { host?: string }) {
  const { switches, error: loadError, reload } = useSwitches(host);
  // Another host's switches are made and cancelled there, through the central server.
  const on = useMemo(() => (host === LOCAL ? api : hostApi(host)), [host]);
  const [status, setStatus] = useState<Record<string, RowStatus>>({});
  const [confirmDialog, confirm] = useConfirm();

  const cancel = async (s: SwitchInfo) => {
    const others = s.ports.filter((p) => p.kind === 'client').map(clientName);
    // Whoever is on it is told, and then the server is told to go ahead anyway.
    const force = s.vms.length > 0 || others.length > 0 || Boolean(s.problem);
    const ok = await confirm({
      title: `Cancel switch ${s.name}?`,
      body: (
        <>
          {s.vms.length > 0 && (
            <p className="mb-2">
              {s.vms.length === 1 ? 'VM ' : 'VMs '}
              <b className="text-fg">{and(s.vms)}</b> {s.vms.length === 1 ? 'is' : 'are'} on it: {s.vms.length === 1 ? 'it keeps' : 'they keep'} running with {s.vms.length === 1 ? 'its' : 'their'} network cable pulled.
            </p>
          )}
          {others.length > 0 && <p className="mb-2">Also on it: {and(others)}.</p>}
          {s.problem && <p className="mb-2">Who is on it is not known: {s.problem}.</p>}
          <p>
            {s.state === 'running' ? <>vde_switch (pid {s.pid}) is stopped and its files are removed</> : <>Its leftover files are removed</>}
            {s.tap ? <>, with the TAP device <span className="font-mono">{s.tap}</span>{s.bridge ? <> and the bridge <span className="font-mono">{s.bridge}</span></> : null} if vmdeck made {s.bridge ? 'them' : 'it'}</> : null}.
          </p>
        </>
      ),
      confirm: s.vms.length > 0 ? `Cancel and detach ${s.vms.length === 1 ? 'the VM' : `${s.vms.length} VMs`}` : 'Cancel switch',
      dismiss: 'Keep it',
    });
    if (!ok) return;
    await act(s, 'cancel', () => on.cancelNetwork(s.name, force));
  };

  const act = async (s: SwitchInfo, pending: 'cancel' | 'start', run: () => Promise<unknown>) => {
    setStatus((x) => ({ ...x, [s.name]: { pending } }));
    try {
      await run();
      setStatus((x) => ({ ...x, [s.name]: {} }));
    } catch (e) {
      setStatus((x) => ({ ...x, [s.name]: { error: e instanceof ApiError ? e.message : String(e) } }));
    }
    await reload();
  };

  const attached = switches?.reduce((n, s) => n + s.vms.length, 0) ?? 0;

  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <div className="flex shrink-0 items-center gap-3 border-b border-line px-3 py-2">
        <h1 className="text-sm font-semibold">Networks</h1>
        <HostChoice host={host} path="/networks" id="networks-host" />
        <span className="text-xs text-muted" aria-live="polite">
          {switches === null ? 'loading…' : `${switches.length} VDE switch${switches.length === 1 ? '' : 'es'} · ${attached} VM${attached === 1 ? '' : 's'} attached`}
        </span>
        <span className="ml-auto text-xs text-muted">
          VMs without a switch use user-mode NAT (set in the VM&apos;s network step).
        </span>
      </div>
      <CreateSwitch onCreated={reload} on={on} />
      {loadError && <p role="alert" className="border-b border-line px-3 py-1.5 text-xs text-danger">{loadError}</p>}
      <div className="min-h-0 flex-1 overflow-auto">
        {switches && switches.length > 0 && (
          <table className="w-full min-w-[1100px] border-collapse text-[13px]" aria-label="VDE switches">
            <thead className="sticky top-0 z-10 bg-panel">
              <tr className="border-b border-line text-left text-xs text-muted">
                <th className="py-1.5 pr-2 pl-3 font-medium">Name</th>
                <th className="px-2 py-1.5 font-medium">State</th>
                <th className="px-2 py-1.5 text-right font-medium">PID</th>
                <th className="px-2 py-1.5 text-right font-medium">Ports</th>
                <th className="px-2 py-1.5 font-medium">Attached</th>
                <th className="px-2 py-1.5 font-medium">TAP / bridge</th>
                <th className="px-2 py-1.5 font-medium">Switch directory (QEMUSOCK)</th>
                <th className="px-2 py-1.5 font-medium">Actions</th>
              </tr>
            </thead>
            <tbody>
              {switches.map((s) => (
                <SwitchRow key={s.name} s={s} status={status[s.name]} onCancel={() => cancel(s)}
                  onStart={() => act(s, 'start', () => on.createNetwork(s.name, { tap: s.tap ?? undefined, bridge: s.bridge ?? undefined }))} />
              ))}
            </tbody>
          </table>
        )}
        {switches && switches.length === 0 && (
          <div className="p-8 text-center text-muted">
            No VDE switches. Create one above: the VMs on a switch share one Ethernet segment,
            <br />
            with network mode <span className="font-mono">vde</span> in the <Link href="/vms/new" className="text-accent underline">wizard</Link>,
            or <span className="font-mono">NETMODE=vde QEMUSOCK=NAME</span> in a config.
          </div>
        )}
      </div>
      {confirmDialog}
    </div>
  );
}

function SwitchRow({ s, status, onCancel, onStart }: { s: SwitchInfo; status?: RowStatus; onCancel: () => void; onStart: () => void }) {
  const clients = s.ports.filter((p) => p.kind === 'client');
  const busy = status?.pending !== undefined;
  const portList = s.ports.map((p) => `port ${p.port}: ${p.kind === 'vm' ? `VM ${p.vm}` : p.kind === 'tap' ? `TAP ${p.descr}` : clientName(p)}`).join('\n');
  return (
    <tr data-switch={s.name} className="border-b border-line/70 align-middle hover:bg-panel/70">
      <td className="py-1.5 pr-2 pl-3 font-medium">
        <CopyText text={s.name} className="font-sans text-[13px]" />
      </td>
      <td className="px-2 py-1.5">
        <StateBadge
          state={s.state === 'running' ? 'running' : 'failed'}
          text={s.state}
          title={s.state === 'stale' ? 'vde_switch is gone (killed, or the host rebooted); Start makes it again, Cancel clears its files' : undefined}
        />
      </td>
      <td className="px-2 py-1.5 text-right font-mono text-xs tabular-nums">{s.pid ?? <span className="text-muted">—</span>}</td>
      <td className="px-2 py-1.5 text-right tabular-nums" title={portList || 'no ports in use'}>{s.ports.length}</td>
      <td className="px-2 py-1.5">
        {s.vms.length === 0 && clients.length === 0 && !s.problem && <span className="text-muted">—</span>}
        <span className="flex flex-wrap gap-x-2 gap-y-0.5">
          {s.vms.map((vm) => (
            <Link key={vm} href={`/vms/${encodeURIComponent(vm)}`} className="font-medium hover:text-accent hover:underline">{vm}</Link>
          ))}
          {clients.map((p) => <span key={p.port} className="text-xs text-muted">{clientName(p)}</span>)}
        </span>
        {s.problem && <span className="block text-xs text-danger">{s.problem}</span>}
      </td>
      <td className="px-2 py-1.5 font-mono text-xs">
        {s.tap ? <>{s.tap}{s.bridge && <span className="text-muted"> → {s.bridge}</span>}</> : <span className="font-sans text-muted">—</span>}
      </td>
      <td className="max-w-0 px-2 py-1.5">
        <CopyText wrap text={s.dir} />
      </td>
      <td className="w-56 px-2 py-1.5">
        <span className="flex items-center gap-1">
          {s.state === 'stale' && (
            <button type="button" className="btn btn-sm" disabled={busy} onClick={onStart} aria-busy={status?.pending === 'start' || undefined}>
              {status?.pending === 'start' ? 'Starting…' : 'Start'}
            </button>
          )}
          <button
            type="button"
            className="btn btn-sm btn-danger"
            disabled={busy}
            onClick={onCancel}
            aria-busy={status?.pending === 'cancel' || undefined}
            aria-label={`Cancel switch ${s.name}`}
            title={`Stop the switch and remove its files (vmdeck net cancel ${s.name})`}
          >
            {status?.pending === 'cancel' ? 'Cancelling…' : 'Cancel'}
          </button>
        </span>
        {status?.error && <span role="alert" className="mt-0.5 block text-[11px] leading-tight text-danger">{status.error}</span>}
      </td>
    </tr>
  );
}

/** The create form: a name, and a TAP device and bridge for those who run as root. */
function CreateSwitch({ onCreated, on }: { onCreated: () => Promise<void>; on: Pick<typeof api, 'createNetwork'> }) {
  const [name, setName] = useState('');
  const [tap, setTap] = useState('');
  const [bridge, setBridge] = useState('');
  const [host, setHost] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ field: FieldName | null; message: string } | null>(null);
  const [created, setCreated] = useState<string | null>(null);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setCreated(null);
    try {
      const s = await on.createNetwork(name.trim(), host && tap.trim() ? { tap: tap.trim(), ...(bridge.trim() ? { bridge: bridge.trim() } : {}) } : {});
      setCreated(s.name);
      setName('');
      await onCreated();
    } catch (err) {
      const a = err as ApiError;
      const field = a.field === 'name' || a.field === 'tap' || a.field === 'bridge' ? a.field : null;
      setError({ field, message: a.message });
      if (field) document.getElementById(`net-${field}`)?.focus();
    } finally {
      setBusy(false);
    }
  };

  const input = (field: FieldName, label: string, value: string, set: (v: string) => void, placeholder: string, width: string) => {
    const bad = error?.field === field;
    return (
      <div className={width}>
        <label htmlFor={`net-${field}`} className="label">{label}</label>
        <input
          id={`net-${field}`}
          value={value}
          onChange={(e) => {
            set(e.target.value);
            if (bad) setError(null);
          }}
          placeholder={placeholder}
          spellCheck={false}
          autoComplete="off"
          aria-invalid={bad || undefined}
          aria-describedby={bad ? `net-${field}-error` : undefined}
          className="input font-mono text-xs"
        />
        {bad && <p id={`net-${field}-error`} role="alert" className="field-error w-max max-w-xl">{error.message}</p>}
      </div>
    );
  };

  return (
    <form onSubmit={submit} noValidate aria-label="Create a VDE switch" className="flex shrink-0 flex-wrap items-start gap-x-3 gap-y-2 border-b border-line bg-panel px-3 py-2.5">
      {input('name', 'New switch', name, setName, 'e.g. lan', 'w-56')}
      {host && input('tap', 'TAP device (root)', tap, setTap, 'e.g. tap0', 'w-40')}
      {host && input('bridge', 'Bridge (optional)', bridge, setBridge, 'e.g. br0', 'w-40')}
      <div className="pt-5">
        <button type="submit" className="btn btn-primary" disabled={busy || name.trim() === ''}>{busy ? 'Creating…' : 'Create switch'}</button>
      </div>
      <div className="max-w-md pt-[25px] text-xs text-muted">
        <label className="inline-flex items-center gap-1.5">
          <input type="checkbox" checked={host} onChange={(e) => setHost(e.target.checked)} className="accent-(--accent)" />
          also connect it to the host through a TAP device
        </label>
        {error && !error.field && <p role="alert" className="field-error">{error.message}</p>}
        {created && !error && <p className="mt-1" aria-live="polite">Switch <b className="text-fg">{created}</b> is running: VMs join it with network mode vde.</p>}
      </div>
    </form>
  );
}
