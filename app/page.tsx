import { VmList } from '@/components/VmList';

export default function Home() {
  return <VmList />;
}
