import type { Metadata } from 'next';
import { Networks } from '@/components/net/Networks';

export const metadata: Metadata = { title: 'Networks' };

export default async function NetworksPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { host } = await searchParams;
  const on = typeof host === 'string' && host ? host : undefined;
  return <Networks key={on ?? 'local'} host={on} />;
}
