// The dashboard's pages: Next.js behind our own HTTP server. Next only renders
// pages; the API, login and WebSockets never reach it, so all state lives in
// this one process's server/ modules.
import { EventEmitter } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, relative } from 'node:path';
import type { Duplex } from 'node:stream';

export interface Pages {
  /** False until `npm run build` has made .next (in production mode). */
  readonly built: boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Next's own WebSocket (hot reload in dev mode). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Files of public/ (as URL paths), served to everybody. */
  isPublicFile(path: string): boolean;
  close(): Promise<void>;
}

const NOT_BUILT = 'vmdeck: the dashboard pages are not built: run npm run build (the API and consoles work without them)\n';

function publicFiles(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.add(`/${relative(dir, p).split('\\').join('/')}`);
    }
  };
  walk(dir);
  return out;
}

/** What the pages are built from (setup.sh rebuilds on the same): a change to any of them needs `npm run build` to show. */
const PAGE_SOURCES = ['app', 'components', 'lib', 'next.config.js', 'package-lock.json'];

/**
 * A source of the pages changed after their build (.next/BUILD_ID), relative
 * to dir; null when none did or nothing is built. A checkout updated without
 * setup.sh or `npm run build` serves the old pages, which is not visible from
 * the browser.
 */
export function sourceNewerThanBuild(dir: string): string | null {
  const built = statSync(join(dir, '.next', 'BUILD_ID'), { throwIfNoEntry: false });
  if (!built) return null;
  const newer = (p: string): string | null => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return null;
    if (!st.isDirectory()) return st.mtimeMs > built.mtimeMs ? p : null;
    for (const e of readdirSync(p)) {
      const hit = newer(join(p, e));
      if (hit) return hit;
    }
    return null;
  };
  for (const source of PAGE_SOURCES) {
    const hit = newer(join(dir, source));
    if (hit) return relative(dir, hit);
  }
  return null;
}

export async function createPages(options: { dir: string; dev: boolean; hostname: string; port: number }): Promise<Pages> {
  const files = publicFiles(join(options.dir, 'public'));
  const isPublicFile = (path: string) => files.has(path);
  if (!options.dev && !existsSync(join(options.dir, '.next', 'BUILD_ID'))) {
    return {
      built: false,
      isPublicFile,
      async handle(_req, res) {
        res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(NOT_BUILT) });
        res.end(NOT_BUILT);
      },
      upgrade(_req, socket) {
        socket.destroy();
      },
      async close() {},
    };
  }
  if (!options.dev) {
    const stale = sourceNewerThanBuild(options.dir);
    if (stale) console.error(`vmdeck serve: the dashboard pages were built before ${stale} changed: run npm run build to serve the pages as they are now`);
  }
  const { default: next } = await import('next');
  // Next attaches an upgrade listener to the server it is given (or the
  // request's own server); it gets this emitter instead, so that /ws/* stays
  // ours alone and only /_next/* upgrades are passed on to it.
  const upgrades = new EventEmitter();
  const app = next({
    dev: options.dev,
    dir: options.dir,
    hostname: options.hostname,
    port: options.port,
    httpServer: upgrades as never,
  });
  await app.prepare();
  const handle = app.getRequestHandler();
  return {
    built: true,
    isPublicFile,
    handle: (req, res) => handle(req, res),
    upgrade: (req, socket, head) => {
      if (upgrades.listenerCount('upgrade') === 0) socket.destroy();
      else upgrades.emit('upgrade', req, socket, head);
    },
    close: () => app.close(),
  };
}
