import type { Metadata } from 'next';
import { VmPage } from '@/components/vm/VmPage';

type Props = {
  params: Promise<{ label: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { label } = await params;
  return { title: decodeURIComponent(label) };
}

export default async function Page({ params, searchParams }: Props) {
  const { label } = await params;
  const { tab } = await searchParams;
  return <VmPage key={label} label={decodeURIComponent(label)} initialTab={typeof tab === 'string' ? tab : undefined} />;
}
