'use client';
// Files, commands and sockets: monospace, copied with one click.
import { useState } from 'react';

export async function copyToClipboard(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Without the async clipboard (a plain-HTTP origin other than localhost).
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    return ok;
  }
}

export function CopyButton({ text, label = 'Copy', className = '' }: { text: string; label?: string; className?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className={`btn btn-sm ${className}`}
      onClick={async () => {
        if (await copyToClipboard(text)) {
          setDone(true);
          setTimeout(() => setDone(false), 1200);
        }
      }}
    >
      {done ? 'Copied' : label}
    </button>
  );
}

/**
 * Monospace text (one line, or wrapped anywhere for paths); clicking it
 * copies it. shown: a shorter form to show (a file name under a directory
 * shown above it); the whole text is what is copied, and the tooltip.
 */
export function CopyText({ text, shown, wrap = false, className = '' }: { text: string; shown?: string; wrap?: boolean; className?: string }) {
  const [done, setDone] = useState(false);
  if (!text) return <span className="text-muted">—</span>;
  return (
    <button
      type="button"
      title={done ? 'Copied' : `${text} (click to copy)`}
      onClick={async () => {
        if (await copyToClipboard(text)) {
          setDone(true);
          setTimeout(() => setDone(false), 1200);
        }
      }}
      className={`group inline-flex max-w-full items-center gap-1 rounded px-1 -mx-1 text-left font-mono text-xs hover:bg-panel ${className}`}
    >
      <span className={wrap ? 'break-all' : 'truncate'}>{shown ?? text}</span>
      <span aria-hidden className={`shrink-0 text-[10px] ${done ? 'text-green-600' : 'text-muted opacity-0 group-hover:opacity-100'}`}>
        {done ? '✓' : '⧉'}
      </span>
    </button>
  );
}

/** A block of monospace text (a file, a command) with a copy button. */
export function CopyBlock({ text, title, className = '' }: { text: string; title?: string; className?: string }) {
  return (
    <div className={`flex min-h-0 flex-col rounded border border-line ${className}`}>
      <div className="flex items-center justify-between gap-2 border-b border-line bg-panel px-2 py-1">
        <span className="font-mono text-xs text-muted">{title}</span>
        <CopyButton text={text} />
      </div>
      <pre className="min-h-0 flex-1 overflow-auto p-2 font-mono text-xs leading-relaxed whitespace-pre">{text}</pre>
    </div>
  );
}
