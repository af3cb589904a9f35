import type { Metadata } from 'next';
import { HostChecks } from '@/components/HostChecks';
import { HostStats } from '@/components/HostStats';

export const metadata: Metadata = { title: 'Host' };

export default function HostPage() {
  return (
    <>
      <HostStats />
      <HostChecks />
    </>
  );
}
