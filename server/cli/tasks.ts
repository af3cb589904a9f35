// vmdeck tasks: the task log, newest first: every action from the CLI, the
// API and the dashboard, who did it, when, and how it ended.
import { labelError } from '../../lib/spec';
import { taskLine } from '../../lib/tasks';
import { listTasks } from '../tasks';
import { flagString, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck tasks [L] [--limit N] [--json]   the task log (newest first): action, who, result, error`;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['limit'], ['json']);
  if (p.positional.length > 1) throw new UsageError(`unexpected argument '${p.positional[1]}'`);
  const label = p.positional[0];
  if (label !== undefined) {
    const problem = labelError(label);
    if (problem) throw new UsageError(problem);
  }
  const limitText = flagString(p, 'limit');
  if (limitText !== undefined && !/^[1-9]\d{0,4}$/.test(limitText)) throw new UsageError(`--limit: '${limitText}' is not a number from 1 to 99999`);
  const tasks = listTasks({ label, limit: limitText === undefined ? undefined : Number(limitText) });
  if (p.flags.has('json')) {
    io.out(`${JSON.stringify(tasks, null, 2)}\n`);
    return 0;
  }
  if (tasks.length === 0) {
    io.out(label ? `no task for '${label}' yet\n` : 'no task yet\n');
    return 0;
  }
  for (const t of tasks) {
    io.out(`${taskLine(t)}\n`);
    if (t.output) for (const line of t.output.split('\n')) io.out(`    ${line}\n`);
  }
  return 0;
}
