// What the benchmarks start and wait for: a deadline on a promise, and a
// child process that is ready once its output matches.
import { spawn, type ChildProcess } from 'node:child_process';

export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`bench: ${what} took more than ${Math.round(ms / 1000)} s`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

/** Starts a child (kept in `children`, for the run's cleanup) and waits for its output to match `ready`. */
export function startChild(children: ChildProcess[], cmd: string, args: string[], ready: RegExp, childEnv: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<{ proc: ChildProcess; match: RegExpExecArray }> {
  const proc = spawn(cmd, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  return within(new Promise((resolve, reject) => {
    const look = (d: Buffer) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve({ proc, match: m });
    };
    proc.stdout!.on('data', look);
    proc.stderr!.on('data', look);
    proc.once('exit', (code) => reject(new Error(`${cmd} exited with ${code}: ${out}`)));
  }), timeoutMs, `starting ${cmd}`);
}

/** `vmdeck serve` (the CLI at cli) on a free loopback port, kept in `children`: its process and base URL. */
export async function startDashboard(children: ChildProcess[], cli: string, childEnv: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; base: string }> {
  const { proc, match } = await startChild(children, process.execPath, [cli, 'serve', '--host', '127.0.0.1', '--port', '0'],
    /dashboard on (http:\/\/127\.0\.0\.1:\d+)\//, childEnv, 60_000);
  return { proc, base: match[1] };
}
