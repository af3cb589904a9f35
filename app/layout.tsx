import type { Metadata, Viewport } from 'next';
import Link from 'next/link';
import { Nav } from '@/components/Nav';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'vmdeck', template: '%s · vmdeck' },
  description: 'QEMU virtual machines: create, run and reach them',
};

// Every page is rendered per request: its scripts carry the nonce of that
// answer's Content-Security-Policy (server/http/policy.ts), which a page
// prerendered at build time could not.
export const dynamic = 'force-dynamic';

export const viewport: Viewport = {
  colorScheme: 'light dark',
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="flex h-full flex-col antialiased">
        <header className="flex h-10 shrink-0 items-center gap-4 border-b border-line bg-panel px-3">
          <Link href="/" className="flex items-center gap-1.5 font-semibold tracking-tight">
            <span aria-hidden className="grid size-5 place-items-center rounded bg-accent text-[11px] font-bold text-accent-fg">vd</span>
            vmdeck
          </Link>
          <Nav />
        </header>
        <main className="flex min-h-0 flex-1 flex-col">{children}</main>
      </body>
    </html>
  );
}
