import type { Metadata } from 'next';
import { HostChecks } from '@/components/HostChecks';
import { HostStats } from '@/components/HostStats';
import { HostsPanel } from '@/components/HostsPanel';

export const metadata: Metadata = { title: 'Host' };

export default function HostPage() {
  return (
    <div className="flex min-h-0 flex-1 flex-col overflow-auto">
      <HostStats />
      <HostChecks />
      <HostsPanel />
    </div>
  );
}
