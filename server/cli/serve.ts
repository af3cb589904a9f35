// vmdeck serve: the dashboard. Prints the login URL; VMs keep running when it
// stops, except those started with console CLI0, whose terminal it holds.
import { flagString, parseArgs, UsageError, type Io } from './args';

export const usage = 'vmdeck serve [--host H] [--port P] [--dev]   the dashboard and its API (default 127.0.0.1:3000, or HOST and PORT)';

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['host', 'port'], ['dev']);
  if (p.positional.length) throw new UsageError(`unexpected argument '${p.positional[0]}'`);
  const portText = flagString(p, 'port') ?? io.env.PORT ?? '3000';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw new UsageError(`--port: '${portText}' is not a port number (0-65535)`);
  const { startServer } = await import('../index');
  const server = await startServer({ host: flagString(p, 'host') ?? io.env.HOST ?? '127.0.0.1', port: Number(portText), dev: p.flags.has('dev') });
  io.out(`vmdeck: dashboard on ${server.url}\n`);
  io.out(`vmdeck: log in at ${server.loginUrl}\n`);
  if (server.tokenFile) io.out(`vmdeck: the token is kept in ${server.tokenFile}\n`);
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      io.err(`vmdeck: ${signal}: stopping the dashboard; running VMs keep running, except those on a CLI0 console (they live in its pty)\n`);
      void server.close().then(() => resolve(0));
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
