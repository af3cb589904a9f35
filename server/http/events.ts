// GET /api/events: server-sent events, one `state` event per VM state change
// (and one with type 'vms' when VMs were made or deleted outside the dashboard),
// one `task` event per task begun or ended (the task log) and per line of a long task's progress, and a comment line now and then so that proxies and browsers keep it open.
import { readdirSync, watch } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { subscribe } from '../events';
import { bases } from '../paths';
import { followTasks } from '../tasks';
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
  // Every task that begins or ends or says how it goes, whoever runs it (the CLI included): the task log's pages follow these.
  const unfollow = followTasks((t) => {
    res.write(`event: task\ndata: ${JSON.stringify(t)}\n\n`);
  });
  // VMs made or deleted elsewhere (vmdeck create-conf, by hand): a base's
  // entries change. Said as an event of no VM, type 'vms': lists fetch again.
  // Only a change of the names that make VMs counts (directories, .ctys
  // files): a disk image written directly in a base changes it all the time.
  const watched = bases();
  const names = (base: string) => {
    try {
      return readdirSync(base, { withFileTypes: true })
        .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || e.name.endsWith('.ctys'))).map((e) => e.name).sort().join('/');
    } catch {
      return '';
    }
  };
  const seen = new Map(watched.map((b) => [b, names(b)]));
  let pending: NodeJS.Timeout | undefined;
  const vmsChanged = () => {
    pending ??= setTimeout(() => {
      pending = undefined;
      let changed = false;
      for (const b of watched) {
        const now = names(b);
        if (now !== seen.get(b)) changed = true;
        seen.set(b, now);
      }
      if (changed) res.write(`event: state\ndata: ${JSON.stringify({ label: '', type: 'vms', at: Date.now() })}\n\n`);
    }, 300);
  };
  const watchers = watched.flatMap((base) => {
    try {
      const w = watch(base, vmsChanged);
      w.on('error', () => w.close());
      return [w];
    } catch {
      return []; // not there (yet): the next reload sees what is in it
    }
  });
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
  const done = () => {
    clearInterval(heartbeat);
    clearTimeout(pending);
    for (const w of watchers) w.close();
    unsubscribe();
    unfollow();
  };
  req.socket.setTimeout(0);
  res.on('close', done);
  return STREAMED;
}
