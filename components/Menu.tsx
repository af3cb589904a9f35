'use client';
// A button that opens a small panel below it: a menu of actions, or a form.
// Escape and a click elsewhere close it; arrow keys move between menu items.
import { useEffect, useId, useRef, useState } from 'react';

export function Popover({ label, children, disabled, className = '', align = 'left', role = 'menu', buttonClassName = '' }: {
  label: React.ReactNode;
  children: (close: () => void) => React.ReactNode;
  disabled?: boolean;
  className?: string;
  align?: 'left' | 'right';
  role?: 'menu' | 'dialog';
  buttonClassName?: string;
}) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const id = useId();

  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      // A confirmation asked from inside the panel is not a click elsewhere.
      if ((e.target as Element).closest?.('dialog')) return;
      if (!box.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    // The first item takes the focus, so that the keyboard can go on.
    box.current?.querySelector<HTMLElement>('[role=menuitem]:not([disabled]), input, select, textarea')?.focus();
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);

  const onKeyDown = (e: React.KeyboardEvent) => {
    if (e.key === 'Escape') {
      setOpen(false);
      box.current?.querySelector<HTMLElement>('button')?.focus();
      return;
    }
    if (role !== 'menu' || (e.key !== 'ArrowDown' && e.key !== 'ArrowUp')) return;
    const items = [...(box.current?.querySelectorAll<HTMLElement>('[role=menuitem]:not([disabled])') ?? [])];
    const i = items.indexOf(document.activeElement as HTMLElement);
    const next = items[(i + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length];
    next?.focus();
    e.preventDefault();
  };

  return (
    <div
      ref={box}
      className={`relative ${className}`}
      onKeyDown={onKeyDown}
      onBlur={(e) => {
        // The keyboard left the panel (Tab past its end, to the next menu): it closes, as a click elsewhere does.
        const to = e.relatedTarget as Element | null;
        if (open && to && !box.current?.contains(to) && !to.closest?.('dialog')) setOpen(false);
      }}
    >
      <button
        type="button"
        className={`btn ${buttonClassName}`}
        disabled={disabled}
        aria-haspopup={role === 'menu' ? 'menu' : 'dialog'}
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        onClick={() => setOpen(!open)}
      >
        {label}
        <span aria-hidden className="text-[9px] text-muted">▼</span>
      </button>
      {open && (
        <div id={id} role={role} className={`menu ${align === 'right' ? 'right-0' : 'left-0'}`}>
          {children(() => setOpen(false))}
        </div>
      )}
    </div>
  );
}

export function MenuItem({ children, onSelect, disabled, danger }: {
  children: React.ReactNode;
  onSelect: () => void;
  disabled?: boolean;
  danger?: boolean;
}) {
  return (
    <button type="button" role="menuitem" disabled={disabled} onClick={onSelect} className={`menu-item ${danger ? 'text-danger' : ''}`}>
      {children}
    </button>
  );
}
