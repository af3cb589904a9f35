// vmdeck serve: the dashboard. Prints the login URL; VMs keep running when it
// stops, except those started with console CLI0, whose terminal it holds.
// With --socket it is the API on a UNIX socket instead, for another host's
// dashboard to reach through ssh (issue 14): --detach starts one unless one
// runs and prints where it is; --idle ends it after that long unused.
import { spawn } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { trustedRunRoot } from '../paths';
import { liveSocketServer } from '../serverfile';
import { flagString, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck serve [--host H] [--port P] [--dev]   the dashboard and its API (default 127.0.0.1:3000, or HOST and PORT)
vmdeck serve --socket[=PATH] [--idle SECONDS] [--detach]
                                         the API on a UNIX socket (default $VMDECK_RUN/.serve/api.sock),
                                         for another host's dashboard over ssh`;

/** Where a socket server listens unless told: in the private run root. */
async function defaultSocket(): Promise<string> {
  const dir = join(await trustedRunRoot(), '.serve');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return join(dir, 'api.sock');
}

/** Starts a socket server in the background unless one runs; prints {socket, pid} either way. */
async function detach(socket: string, idle: number | undefined, io: Io): Promise<number> {
  const running = await liveSocketServer();
  if (running) {
    io.out(`${JSON.stringify({ socket: running.socket, pid: running.pid })}\n`);
    return 0;
  }
  const log = join(await trustedRunRoot(), '.serve', 'serve.log');
  const fd = await open(log, 'a', 0o600);
  const args = [process.argv[1], 'serve', `--socket=${socket}`, ...(idle === undefined ? [] : [`--idle=${idle}`])];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd.fd, fd.fd], env: io.env as NodeJS.ProcessEnv });
  child.unref();
  await fd.close();
  let exited = false;
  child.once('exit', () => { exited = true; });
  for (const until = Date.now() + 30000; Date.now() < until;) {
    const up = await liveSocketServer();
    if (up) {
      io.out(`${JSON.stringify({ socket: up.socket, pid: up.pid })}\n`);
      return 0;
    }
    if (exited) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const said = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').pop() ?? '';
  io.err(`vmdeck serve: the socket server did not start${said ? `: ${said}` : ''} (${log})\n`);
  return 1;
}

/** How long a stop waits for the server's connections and watchers to close. */
const CLOSE_GRACE_MS = 5000;

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['host', 'port', 'idle'], ['dev', 'socket', 'detach']);
  const onSocket = p.flags.has('socket');
  if (p.positional.length > (onSocket && p.flags.get('socket') === true ? 1 : 0)) throw new UsageError(`unexpected argument '${p.positional.at(-1)}'`);
  const idleText = flagString(p, 'idle');
  if (idleText !== undefined && !/^\d+$/.test(idleText)) throw new UsageError(`--idle: '${idleText}' is not a number of seconds`);
  const idle = idleText === undefined ? undefined : Number(idleText);
  if (!onSocket && (idle !== undefined || p.flags.has('detach'))) throw new UsageError('--idle and --detach go with --socket');
  const socket = onSocket ? flagString(p, 'socket') ?? p.positional[0] ?? (await defaultSocket()) : undefined;
  if (socket !== undefined && !socket.startsWith('/')) throw new UsageError(`--socket: '${socket}' is not an absolute path`);
  if (socket !== undefined && p.flags.has('detach')) return detach(socket, idle, io);

  const portText = flagString(p, 'port') ?? io.env.PORT ?? '3000';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw new UsageError(`--port: '${portText}' is not a port number (0-65535)`);
  const { startServer } = await import('../index');
  const server = await startServer({ host: flagString(p, 'host') ?? io.env.HOST ?? '127.0.0.1', port: Number(portText), dev: p.flags.has('dev'), socket });
  if (socket !== undefined) io.out(`vmdeck: API on the socket ${socket}\n`);
  else {
    io.out(`vmdeck: dashboard on ${server.url}\n`);
    io.out(`vmdeck: log in at ${server.loginUrl}\n`);
    if (server.tokenFile) io.out(`vmdeck: the token is kept in ${server.tokenFile}\n`);
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string) => {
      if (stopping) return;
      stopping = true;
      io.err(`vmdeck: ${why}: stopping the ${socket ? 'socket server' : 'dashboard'}; running VMs keep running, except those on a CLI0 console (they live in its pty)\n`);
      // Closed in CLOSE_GRACE_MS at most, and then ended: a handle left open
      // (a client's socket that close() waits for, a watcher) must not keep a
      // stopped dashboard alive until systemd or the user kills it.
      void Promise.race([server.close(), new Promise((r) => setTimeout(r, CLOSE_GRACE_MS).unref())]).then(() => {
        resolve(0);
        setTimeout(() => process.exit(), 1000).unref();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    if (idle !== undefined) {
      // Idle: no connection open (the proxying dashboard's consoles and event streams are connections) for that long.
      let open = 0;
      let timer: NodeJS.Timeout | null = null;
      const arm = () => { timer = setTimeout(() => stop(`idle for ${idle} s`), idle * 1000); };
      server.server.on('connection', (conn) => {
        open++;
        if (timer) clearTimeout(timer);
        timer = null;
        conn.once('close', () => {
          if (--open === 0) arm();
        });
      });
      arm();
    }
  });
}
