import type { Metadata } from 'next';
import { HostChecks } from '@/components/HostChecks';
import { HostsPanel } from '@/components/HostsPanel';

export const metadata: Metadata = { title: 'Host' };

export default function HostPage() {
  return (
    <div className="flex min-h-0 flex-1 flex-col overflow-auto">
      <HostChecks />
      <HostsPanel />
    </div>
  );
}
