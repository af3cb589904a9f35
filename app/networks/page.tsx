import type { Metadata } from 'next';
import { Networks } from '@/components/net/Networks';

export const metadata: Metadata = { title: 'Networks' };

export default function NetworksPage() {
  return <Networks />;
}
