// GET /api/events: server-sent events, one `state` event per VM state change,
// and a comment line now and then so that proxies and browsers keep it open.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { subscribe } from '../events';
import { STREAMED } from './router';

export const HEARTBEAT_MS = 15_000;

export async function streamEvents(req: IncomingMessage, res: ServerResponse): Promise<typeof STREAMED> {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  // A browser that lost the stream reconnects after this many milliseconds.
  res.write('retry: 2000\n\n');
  const unsubscribe = subscribe((e) => {
    res.write(`event: state\ndata: ${JSON.stringify(e)}\n\n`);
  });
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
  const done = () => {
    clearInterval(heartbeat);
    unsubscribe();
  };
  req.socket.setTimeout(0);
  res.on('close', done);
  return STREAMED;
}
