'use client';
// The other hosts (issue 14), as GET /api/hosts tells them: each with its
// check (the remote vmdeck's version and `vmdeck check`, or ssh's reason why
// it cannot be reached); a form to add one (checked before it is kept) and
// Remove.
import { useEffect, useState } from 'react';
import { hostsApi, LOCAL, type HostCheck } from './hosts';

export function HostsPanel() {
  const [hosts, setHosts] = useState<HostCheck[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [form, setForm] = useState({ name: '', dest: '', vmdeck: '' });
  const [busy, setBusy] = useState(false);

  const load = async () => {
    try {
      setHosts(await hostsApi.list());
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const add = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      await hostsApi.add(form.name.trim(), form.dest.trim(), form.vmdeck.trim() || undefined);
      setForm({ name: '', dest: '', vmdeck: '' });
      await load();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const remove = async (name: string) => {
    setBusy(true);
    try {
      await hostsApi.remove(name);
      await load();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="mx-auto w-full max-w-6xl p-4" aria-labelledby="hosts-title">
      <h2 id="hosts-title" className="mb-2 text-sm font-semibold">Hosts</h2>
      <p className="mb-3 text-xs text-muted">Other machines, reached with OpenSSH (your keys, agent and known_hosts); vmdeck runs there too.</p>
      {error && <p role="alert" className="mb-3 text-danger">{error}</p>}
      <table className="mb-3 w-full border-collapse text-[13px]" aria-label="Hosts">
        <thead>
          <tr className="border-b border-line text-left text-xs text-muted">
            <th className="py-1.5 pr-3 pl-2 font-medium">Name</th>
            <th className="py-1.5 pr-3 font-medium">Destination</th>
            <th className="py-1.5 pr-3 font-medium">Check</th>
            <th className="py-1.5 pr-3 font-medium"><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {(hosts ?? []).map((h) => (
            <tr key={h.name} data-host={h.name} className="border-b border-line/70">
              <td className="py-1.5 pr-3 pl-2 font-medium">{h.name}</td>
              <td className="py-1.5 pr-3 font-mono text-xs">{h.name === LOCAL ? 'this machine' : h.dest}</td>
              <td className={`py-1.5 pr-3 ${h.ok ? 'text-green-700 dark:text-green-400' : 'text-danger'}`}>
                {h.ok ? `vmdeck ${h.version}${h.report ? ` · ${h.report.ok ? 'can run VMs' : 'cannot run VMs yet'}${h.report.kvm ? '' : ' · no KVM'}` : ''}` : h.error}
              </td>
              <td className="py-1.5 pr-3 text-right">
                {h.name !== LOCAL && <button type="button" className="btn btn-sm" disabled={busy} onClick={() => remove(h.name)}>Remove</button>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="flex flex-wrap items-end gap-2" onSubmit={add} aria-label="Add a host">
        <label className="flex flex-col text-xs text-muted">Name
          <input name="host-name" className="input w-36" required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        </label>
        <label className="flex flex-col text-xs text-muted">Destination ([user@]host[:port] or an ssh alias)
          <input name="host-dest" className="input w-64" required value={form.dest} onChange={(e) => setForm({ ...form, dest: e.target.value })} />
        </label>
        <label className="flex flex-col text-xs text-muted">vmdeck there (default vmdeck)
          <input name="host-vmdeck" className="input w-72" value={form.vmdeck} onChange={(e) => setForm({ ...form, vmdeck: e.target.value })} />
        </label>
        <button type="submit" className="btn btn-primary" disabled={busy}>{busy ? 'Checking…' : 'Add host'}</button>
      </form>
    </section>
  );
}
