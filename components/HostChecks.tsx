'use client';
// What `vmdeck check` says about this host: each item green or red, and for
// each red one the fix.
import { useEffect, useState } from 'react';
import { api, type CheckItem, type HostReport } from './api';
import { CopyText } from './CopyText';

// A fix that is a command is shown copyable; one that is advice, as text.
const COMMAND = /^(sudo |apt-get |apt |modprobe |usermod |adduser |vmdeck |chmod |chown )/;

/** What needs fixing first: missing needed items, then other missing ones, then the rest, each in the server's order. */
function order(items: CheckItem[]): CheckItem[] {
  const rank = (i: CheckItem) => (i.ok ? 2 : i.needed ? 0 : 1);
  return items.map((item, n) => ({ item, n })).sort((a, b) => rank(a.item) - rank(b.item) || a.n - b.n).map((x) => x.item);
}

export function HostChecks() {
  const [report, setReport] = useState<HostReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = async () => {
    setBusy(true);
    try {
      setReport(await api.host());
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    void load();
  }, []);

  const missingNeeded = report?.items.filter((i) => !i.ok && i.needed).length ?? 0;

  return (
    <div className="min-h-0 flex-1 overflow-auto">
      <div className="mx-auto max-w-6xl p-4">
        <div className="mb-3 flex items-center gap-3">
          <h1 className="text-sm font-semibold">Host</h1>
          {report && (
            <span className={`text-xs ${report.ok ? 'text-green-700 dark:text-green-400' : 'text-danger'}`}>
              {report.ok ? 'Everything vmdeck needs is here.' : `${missingNeeded} needed item${missingNeeded === 1 ? ' is' : 's are'} missing.`}
              {report && !report.kvm && ' VMs run emulated (no KVM).'}
            </span>
          )}
          <button type="button" className="btn btn-sm ml-auto" onClick={load} disabled={busy}>{busy ? 'Checking…' : 'Check again'}</button>
        </div>
        {error && <p role="alert" className="mb-3 text-danger">{error}</p>}
        {report && (
          <table className="w-full border-collapse text-[13px]">
            <thead>
              <tr className="border-b border-line text-left text-xs text-muted">
                <th className="w-8 py-1.5 pl-2 font-medium"><span className="sr-only">Status</span></th>
                <th className="py-1.5 pr-3 font-medium">Item</th>
                <th className="py-1.5 pr-3 font-medium">What it says</th>
                <th className="w-[40%] py-1.5 pr-2 font-medium">Fix</th>
              </tr>
            </thead>
            <tbody>
              {order(report.items).map((item) => (
                <tr key={item.name} data-ok={item.ok} className="border-b border-line/70 align-top">
                  <td className="py-1.5 pl-2">
                    <span
                      role="img"
                      aria-label={item.ok ? 'ok' : item.needed ? 'missing (needed)' : 'missing'}
                      className={`mt-1 inline-block size-2.5 rounded-full ${item.ok ? 'bg-green-600 dark:bg-green-400' : item.needed ? 'bg-red-600 dark:bg-red-400' : 'bg-red-600/60 dark:bg-red-400/70'}`}
                    />
                  </td>
                  <td className="py-1.5 pr-3 font-mono text-xs whitespace-nowrap">
                    {item.name}
                    {item.needed && !item.ok && <span className="ml-1.5 font-sans text-[11px] text-danger">needed</span>}
                  </td>
                  <td className={`py-1.5 pr-3 ${item.ok ? '' : 'text-danger'}`}>{item.detail}</td>
                  <td className="py-1.5 pr-2">
                    {!item.fix ? <span className="text-muted">—</span>
                      : COMMAND.test(item.fix) ? <CopyText text={item.fix} />
                        : <span>{item.fix}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
