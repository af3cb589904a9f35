'use client';
// Clone: a new VM from this one (POST /api/vms/:label/clone), a full copy
// or linked (qcow2 overlays on this VM's disks); only while it is stopped.
import Link from 'next/link';
import { useState } from 'react';
import { api, type VmDetail } from '../../api';

export function CloneCard({ vm }: { vm: VmDetail }) {
  const [label, setLabel] = useState(`${vm.label}-clone`);
  const [linked, setLinked] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [made, setMade] = useState<string | null>(null);
  const stopped = vm.state === 'stopped';
  return (
    <section aria-labelledby="hw-clone" data-card="clone" className="rounded border border-line bg-panel">
      <h2 id="hw-clone" className="border-b border-line px-3 py-1.5 text-xs font-semibold">Clone</h2>
      <div className="flex flex-wrap items-end gap-3 px-3 py-2">
        <div className="w-56">
          <label htmlFor="clone-label" className="label">New label</label>
          <input id="clone-label" className="input font-mono" value={label} disabled={busy} onChange={(e) => { setLabel(e.target.value); setError(null); }} />
        </div>
        <label className="flex items-center gap-1.5 text-xs">
          <input type="checkbox" checked={linked} disabled={busy} onChange={(e) => setLinked(e.target.checked)} />
          Linked (its disks are overlays on this VM&apos;s, which must then stay unchanged)
        </label>
        <button
          type="button"
          className="btn btn-sm"
          disabled={busy || !stopped || label === ''}
          title={stopped ? 'A new VM with its own label, UUID and MACs; snapshots are not carried over' : 'Stop the VM first: its disks change while it runs'}
          onClick={async () => {
            setBusy(true);
            try {
              const r = await api.clone(vm.label, label, linked);
              setError(null);
              setMade(r.vm.label);
            } catch (e) {
              setMade(null);
              setError((e as Error).message);
            } finally {
              setBusy(false);
            }
          }}
        >
          Clone
        </button>
        {!stopped && <span className="text-xs text-muted">Stop the VM to clone it.</span>}
      </div>
      {error && <p role="alert" className="field-error px-3 pb-2">{error}</p>}
      {made && <p role="status" className="px-3 pb-2 text-xs">Made <Link className="text-accent underline" href={`/vms/${encodeURIComponent(made)}`}>{made}</Link>.</p>}
    </section>
  );
}
