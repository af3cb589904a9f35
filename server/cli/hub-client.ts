// `vmdeck console` / `vmdeck monitor` while a dashboard runs: through its
// WebSocket console hub (found by $VMDECK_RUN/server.json), so that the
// terminal and the browsers share QEMU's one-client socket.
import { clientToken, consoleWsUrl, liveServer } from '../serverfile';
import type { Io } from './args';
import { attachHub } from './attach';

/** The exit code, or null when no dashboard runs (or it did not answer): attach directly then. */
export async function attachThroughServer(label: string, kind: 'serial' | 'monitor', what: string, command: string, io: Io): Promise<number | null> {
  const server = await liveServer();
  if (!server) return null;
  const name = `the dashboard (pid ${server.pid}, ${server.socket ? `socket ${server.socket}` : `port ${server.port}`})`;
  const code = await attachHub({ url: consoleWsUrl(server, label, kind), token: clientToken(io.env), server: name, label, command }, what, io);
  if (code === null && io.isTTY) io.err(`[${name} did not answer: attaching to QEMU's socket directly]\r\n`);
  return code;
}
