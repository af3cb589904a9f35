'use client';
// The task log (GET /api/tasks), newest first, kept live by the `task`
// events of GET /api/events: a task begun anywhere (a vmdeck command in a
// terminal included) shows as running, then as it ended.
import Link from 'next/link';
import { useCallback } from 'react';
import type { Task, TaskResult } from '@/lib/tasks';
import { api } from '../api';
import { useTaskEvents } from '../events';
import { useFetched } from '../useFetched';

const LIMIT = 200;

const RESULT_LOOK: Record<TaskResult, string> = {
  running: 'text-green-700 dark:text-green-400',
  ok: 'text-muted',
  error: 'text-danger',
  interrupted: 'text-amber-700 dark:text-amber-300',
};

const when = (ms: number) => new Date(ms).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });

function took(t: Task): string {
  if (t.end === undefined) return '';
  const s = (t.end - t.start) / 1000;
  return s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`;
}

/** What the task was asked, in one short line: its arguments but the obvious. */
function argsText(t: Task): string {
  return Object.entries(t.args)
    .filter(([, v]) => v !== undefined && v !== null && v !== '' && v !== false
      && !(typeof v === 'object' && Object.keys(v as object).length === 0))
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
}

/** The log of every VM, or with label only that VM's (the VM page). */
export function TaskLog({ label }: { label?: string }) {
  const fetchTasks = useCallback(() => api.tasks(label), [label]);
  const { data: tasks, setData, error, reload } = useFetched(fetchTasks, 300);

  useTaskEvents(
    (t) => {
      if (label !== undefined && t.label !== label) return;
      setData((list) => {
        const rest = (list ?? []).filter((x) => x.id !== t.id);
        return [t, ...rest].sort((a, b) => b.start - a.start).slice(0, LIMIT);
      });
    },
    () => void reload(),
  );

  if (error && !tasks) return <p role="alert" className="p-3 text-xs text-danger">{error}</p>;
  if (!tasks) return <p className="p-3 text-xs text-muted">Loading tasks…</p>;
  if (tasks.length === 0) return <p className="p-3 text-xs text-muted">No task yet{label ? ` for ${label}` : ''}.</p>;
  return (
    <div className="min-h-0 flex-1 overflow-auto">
      <table className="w-full border-collapse text-xs" aria-label={label ? `Tasks of ${label}` : 'Tasks'}>
        <thead className="sticky top-0 bg-panel text-left text-muted">
          <tr>
            <th className="px-3 py-1.5 font-medium">Started</th>
            {label === undefined && <th className="px-2 py-1.5 font-medium">VM</th>}
            <th className="px-2 py-1.5 font-medium">Action</th>
            <th className="px-2 py-1.5 font-medium">Who</th>
            <th className="px-2 py-1.5 font-medium">Result</th>
            <th className="px-2 py-1.5 text-right font-medium">Took</th>
            <th className="px-2 py-1.5 font-medium">Details</th>
          </tr>
        </thead>
        <tbody>
          {tasks.map((t) => (
            <tr key={t.id} data-task={t.id} data-result={t.result} className="border-t border-line align-top">
              <td className="whitespace-nowrap px-3 py-1 tabular-nums text-muted">{when(t.start)}</td>
              {label === undefined && (
                <td className="px-2 py-1 font-mono">{t.label ? <Link href={`/vms/${encodeURIComponent(t.label)}`} className="hover:underline">{t.label}</Link> : '—'}</td>
              )}
              <td className="px-2 py-1 font-mono">{t.action}</td>
              <td className="whitespace-nowrap px-2 py-1 text-muted">{t.who}</td>
              <td className={`px-2 py-1 font-medium ${RESULT_LOOK[t.result]}`}>{t.result}</td>
              <td className="whitespace-nowrap px-2 py-1 text-right tabular-nums text-muted">{took(t)}</td>
              <td className="px-2 py-1">
                {t.error && <div className="break-words text-danger">{t.error}</div>}
                {t.result === 'running' && t.progress && (
                  <div className="break-words" data-testid="task-progress">
                    {t.progress.done !== undefined && <span className="tabular-nums text-muted">{Math.round(t.progress.done * 100)} % · </span>}
                    {t.progress.line}
                  </div>
                )}
                {argsText(t) && <div className="break-all font-mono text-muted">{argsText(t)}</div>}
                {t.output && (
                  <details>
                    <summary className="cursor-pointer text-muted">output</summary>
                    <pre className="max-h-48 overflow-auto whitespace-pre-wrap font-mono">{t.output}</pre>
                  </details>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
