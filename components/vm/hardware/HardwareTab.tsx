'use client';
// The Hardware tab: the VM's settings in cards, each edited in place. A
// change is first reviewed as the config lines it will write (PATCH with
// dryRun), then saved; a running VM takes it at its next start, and the tab
// says so. A setting the config's own logic computes is shown, not editable,
// with the line that sets it.
import { useEffect, useRef, useState } from 'react';
import { api, type EditResult, type VmDetail } from '../../api';
import { CARDS, shown, type Card } from './cards';
import { DevicesCard } from './DevicesCard';
import { DrivesCard } from './DrivesCard';
import { CloneCard } from '../clone/CloneCard';

export function HardwareTab({ vm, onChanged }: { vm: VmDetail; onChanged: () => void }) {
  const running = vm.state === 'running' || vm.state === 'paused';
  return (
    <div className="flex min-h-0 flex-1 flex-col gap-3 overflow-auto p-3">
      {vm.pending && <PendingNote variables={vm.pending.variables} />}
      {!vm.settings && <p className="text-xs text-muted">The config could not be read: its settings are not shown.</p>}
      {vm.settings && (
        <div className="grid gap-3 xl:grid-cols-2">
          {CARDS.map((c) => <HardwareCard key={c.id} card={c} vm={vm} running={running} onChanged={onChanged} />)}
          <DevicesCard kind="disks" vm={vm} onChanged={onChanged} />
          <DevicesCard kind="nics" vm={vm} onChanged={onChanged} />
          <DrivesCard vm={vm} onChanged={onChanged} />
          <CloneCard vm={vm} />
        </div>
      )}
    </div>
  );
}

function PendingNote({ variables }: { variables: string[] }) {
  return (
    <p role="status" data-testid="pending" className="rounded border border-line bg-sunken px-2 py-1 text-xs">
      Pending until the next start: {variables.length ? <span className="font-mono">{variables.join(', ')}</span> : 'the config was changed since the VM started'}.
    </p>
  );
}

function HardwareCard({ card, vm, running, onChanged }: { card: Card; vm: VmDetail; running: boolean; onChanged: () => void }) {
  const values = vm.settings?.values ?? {};
  const locked = vm.settings?.locked ?? {};
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [review, setReview] = useState<EditResult | null>(null);
  const [error, setError] = useState<{ field?: string; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const refocus = useRef<string | null>(null);
  useEffect(() => {
    if (busy || !refocus.current) return;
    document.getElementById(`hw-${refocus.current}`)?.focus();
    refocus.current = null;
  }, [busy, error]);
  const changed = Object.fromEntries(Object.entries(draft).filter(([f, v]) => v !== shown(values[f])));
  const dirty = Object.keys(changed).length > 0;

  const send = async (dryRun: boolean) => {
    setBusy(true);
    try {
      const r = await api.edit(vm.label, changed, dryRun);
      setError(null);
      if (dryRun) setReview(r);
      else {
        setReview(null);
        setDraft({});
        setSaved(r.pending ? 'Saved: pending until the next start.' : 'Saved.');
        onChanged();
      }
    } catch (e) {
      setReview(null);
      const field = (e as { field?: string }).field;
      setError({ field, message: (e as Error).message });
      // The field the refusal names takes the focus (a keyboard user is not thrown to the page's top), once enabled again.
      refocus.current = field && card.settings.some((s) => s.field === field) ? field : null;
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby={`hw-card-${card.id}`} data-card={card.id} className="rounded border border-line bg-panel">
      <h2 id={`hw-card-${card.id}`} className="border-b border-line px-3 py-1.5 text-xs font-semibold">{card.title}</h2>
      <div className="grid grid-cols-2 gap-x-3 gap-y-2 p-3">
        {card.settings.map((s) => {
          const id = `hw-${s.field}`;
          const value = draft[s.field] ?? shown(values[s.field]);
          const why = locked[s.field];
          const onChange = (v: string) => { setDraft((d) => ({ ...d, [s.field]: v })); setReview(null); setSaved(null); };
          const invalid = error?.field === s.field;
          const common = {
            id, name: s.field, disabled: Boolean(why) || busy, title: why, 'aria-invalid': invalid || undefined,
            'aria-describedby': invalid ? `hw-card-${card.id}-error` : undefined,
          } as const;
          return (
            <div key={s.field} data-field={s.field}>
              <label htmlFor={id} className="label">{s.label} <span className="font-mono font-normal">{s.variable}</span></label>
              {s.options ? (
                <select {...common} className="input" value={value} onChange={(e) => onChange(e.target.value)}>
                  {[...new Set([...s.options, value])].map((o) => <option key={o} value={o}>{o === '' ? '(default)' : o}</option>)}
                </select>
              ) : (
                <input {...common} className={`input ${s.mono ? 'font-mono' : ''}`} inputMode={s.number ? 'numeric' : undefined} value={value} onChange={(e) => onChange(e.target.value)} />
              )}
              {why && <p className="mt-1 text-xs text-muted">{why}</p>}
            </div>
          );
        })}
      </div>
      {error && <p id={`hw-card-${card.id}-error`} role="alert" className="field-error px-3">{error.message}</p>}
      {review && (
        <div className="mx-3 mb-2 rounded border border-line bg-surface p-2" data-testid="review">
          <p className="mb-1 text-xs text-muted">{review.kept === undefined && review.dryRun ? 'Saving writes these lines into' : 'Written into'} {vm.label}.ctys{running ? ' (pending until the next start)' : ''}:</p>
          <pre className="overflow-x-auto font-mono text-xs">
            {[...review.changes].sort((a, b) => a.line - b.line).map((c) => `${c.before === null ? `+ line ${c.line}` : `  line ${c.line}`}: ${c.text}${c.before !== null ? `   (was ${c.before.trim()})` : ''}`).join('\n')}
          </pre>
        </div>
      )}
      <div className="flex items-center gap-2 border-t border-line px-3 py-1.5">
        {saved && <span role="status" className="text-xs text-muted">{saved}</span>}
        <span className="flex-1" />
        <button type="button" className="btn btn-sm" disabled={!dirty || busy} onClick={() => { setDraft({}); setReview(null); setError(null); }}>Discard</button>
        {review ? (
          <button type="button" className="btn btn-sm btn-primary" disabled={busy} onClick={() => void send(false)}>Save</button>
        ) : (
          <button type="button" className="btn btn-sm btn-primary" disabled={!dirty || busy} onClick={() => void send(true)}>Review changes</button>
        )}
      </div>
    </section>
  );
}
