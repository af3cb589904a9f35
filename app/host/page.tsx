import type { Metadata } from 'next';
import { HostChecks } from '@/components/HostChecks';

export const metadata: Metadata = { title: 'Host' };

export default function HostPage() {
  return <HostChecks />;
}
