'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useEffect } from 'react';
import { csrfSecret, logout } from './session';

// The dashboard's sections.
const SECTIONS: { href: string; label: string; match: (p: string) => boolean }[] = [
  { href: '/', label: 'Virtual machines', match: (p) => p === '/' || (p.startsWith('/vms/') && p !== '/vms/new') },
  { href: '/vms/new', label: 'New VM', match: (p) => p === '/vms/new' },
  { href: '/networks', label: 'Networks', match: (p) => p === '/networks' },
  { href: '/tasks', label: 'Tasks', match: (p) => p === '/tasks' },
  { href: '/host', label: 'Host', match: (p) => p === '/host' },
];

export function Nav() {
  const path = usePathname() ?? '/';
  // The login's redirect leaves the page secret in the fragment: take it into storage at once.
  useEffect(() => { csrfSecret(); }, []);
  if (path === '/login') return null;
  return (
    <nav aria-label="Sections" className="flex min-w-0 flex-1 items-center gap-0.5 overflow-x-auto whitespace-nowrap">
      {SECTIONS.map((s) => {
        const active = s.match(path);
        return (
          <Link
            key={s.href}
            href={s.href}
            aria-current={active ? 'page' : undefined}
            className={`rounded px-2.5 py-1 text-[13px] ${active ? 'bg-sunken font-medium text-fg' : 'text-muted hover:bg-sunken hover:text-fg'}`}
          >
            {s.label}
          </Link>
        );
      })}
      {/* POST with the page secret: the server ends the session, then the login page shows. */}
      <button type="button" onClick={() => void logout()} className="ml-auto rounded px-2.5 py-1 text-[13px] text-muted hover:bg-sunken hover:text-fg">Log out</button>
    </nav>
  );
}
