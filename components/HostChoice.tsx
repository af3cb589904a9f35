'use client';
// Which host a page is about (issue 14): this machine or one of the hosts of
// GET /api/hosts, as `?host=H` on the page's path. The page starts again for
// another host (the wizard's templates, KVM and VM names, the network page's
// switches are that host's).
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { hostsApi, LOCAL, type HostCheck } from './hosts';

export function HostChoice({ host, path, id }: { host: string; path: string; id: string }) {
  const router = useRouter();
  const [hosts, setHosts] = useState<HostCheck[] | null>(null);
  useEffect(() => {
    hostsApi.list().then(setHosts, () => setHosts([]));
  }, []);
  if (!hosts || (hosts.length <= 1 && host === LOCAL)) return null;
  return (
    <label className="flex items-center gap-1.5 text-xs text-muted">
      Host
      <select
        id={id}
        className="input w-44"
        value={host}
        onChange={(e) => router.replace(e.target.value === LOCAL ? path : `${path}?host=${encodeURIComponent(e.target.value)}`)}
      >
        {hosts.map((h) => (
          <option key={h.name} value={h.name} disabled={!h.ok} title={h.error}>{h.name}{h.ok ? '' : ' (cannot be reached)'}</option>
        ))}
      </select>
    </label>
  );
}
