import type { Metadata } from 'next';
import { TaskLog } from '@/components/tasks/TaskLog';

export const metadata: Metadata = { title: 'Tasks' };

export default function TasksPage() {
  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <div className="flex shrink-0 items-center gap-3 border-b border-line px-3 py-2">
        <h1 className="text-sm font-semibold">Tasks</h1>
        <span className="text-xs text-muted">every action from the dashboard, the API and the vmdeck command line; also <span className="font-mono">vmdeck tasks</span></span>
      </div>
      <TaskLog />
    </div>
  );
}
