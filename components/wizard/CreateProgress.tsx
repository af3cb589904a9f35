'use client';
// A create's progress while POST /api/vms runs (a debootstrap build): the
// create task's progress lines as the task log tells them (the `task` events
// of GET /api/events), the newest with a bar, all of them as a log. It
// listens from the moment the wizard builds a disk, so that the first line of
// a quick (cached) build is not missed while the stream opens.
import { useEffect, useRef, useState } from 'react';
import type { TaskProgress } from '@/lib/tasks';
import { useTaskEvents } from '../events';

export function CreateProgress({ label, active }: { label: string; active: boolean }) {
  const [lines, setLines] = useState<TaskProgress[]>([]);
  const log = useRef<HTMLPreElement>(null);
  useTaskEvents((t) => {
    if (t.action !== 'create' || t.label !== label || t.result !== 'running' || !t.progress) return;
    const p = t.progress;
    setLines((ls) => (ls.some((l) => l.at === p.at && l.line === p.line) ? ls : [...ls, p]));
  });
  // A new create starts a new log.
  useEffect(() => {
    if (active) setLines([]);
  }, [active]);
  useEffect(() => {
    log.current?.scrollTo({ top: log.current.scrollHeight });
  }, [lines]);
  if (!active && lines.length === 0) return null;
  const latest = lines.at(-1);
  const done = lines.findLast((l) => l.done !== undefined)?.done;
  return (
    <section aria-label="Create progress" className="shrink-0 border-t border-line bg-panel px-5 py-2 text-xs">
      <div className="flex items-center gap-3">
        <progress
          className="h-2 w-48 shrink-0"
          max={1}
          value={done}
          aria-label="Building the disk"
        />
        <span data-testid="create-progress-line" className="min-w-0 truncate" title={latest?.line}>
          {latest?.line ?? 'Waiting for the server…'}
        </span>
      </div>
      {lines.length > 0 && (
        <pre ref={log} role="log" aria-label="Create log" className="mt-2 max-h-32 overflow-auto whitespace-pre-wrap rounded bg-sunken p-2 font-mono text-[11px]">
          {lines.map((l) => l.line).join('\n')}
        </pre>
      )}
    </section>
  );
}
