import type { Metadata } from 'next';
import { Wizard } from '@/components/wizard/Wizard';

export const metadata: Metadata = { title: 'New VM' };

export default async function NewVmPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { template, host } = await searchParams;
  const on = typeof host === 'string' && host ? host : undefined;
  return <Wizard key={on ?? 'local'} host={on} initialTemplate={typeof template === 'string' ? template : undefined} />;
}
