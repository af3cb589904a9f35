// The dashboard's server: one Node process, one HTTP server. It answers
// /api/*, /login, /logout and /ws/* itself and hands every other request to
// Next.js, so there is exactly one instance of all state (console hubs, CLI0
// ptys). Nothing it needs lives only in its memory: VMs run on their own and
// are found again after a restart.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Auth, CSRF_HEADER, loadToken, remoteAddress, type Credentials } from './auth';
import { createPages, type Pages } from './http/pages';
import { ConnectionGuard } from './http/connections';
import { allowedHosts, hostAllowed, pageNonce, secureResponse } from './http/policy';
import { apiRoutes, sessionRoutes } from './http/routes';
import { checkWriteRequest, HttpError, runRoute, sendError, sendJson, type Router } from './http/router';
import { VmdeckError } from './errors';
import { subscribe } from './events';
import { connectionFromGuest } from './peers';
import { announceServer, serverFile } from './serverfile';
import { startSampler } from './stats';
import { removeDeadLeftovers } from './runtime';
import { finishInterruptedSuspends } from './runner';
import { enumerate } from './store';
import { closeAllConsoles, vmStopped } from './ws/consoles';
import { createWsEndpoints } from './ws/index';
import { REPO } from './repo';
import { createHostProxy } from './hostproxy';
import { listenOnSocket } from './socket-listen';

export { REPO } from './repo';

export interface ServerOptions {
  host?: string;
  port?: number;
  /** Next.js in development mode (compiles pages on request). */
  dev?: boolean;
  /** Where package.json, app/ and .next/ are. */
  dir?: string;
  /**
   * A UNIX socket to listen on instead of TCP (`vmdeck serve --socket`, what
   * another host's dashboard reaches through ssh): it is made 0600 in a 0700
   * directory, and being able to connect to it is the credential.
   */
  socket?: string;
}

export interface RunningServer {
  server: Server;
  /** The UNIX socket listened on, with ServerOptions.socket. */
  socket?: string;
  host: string;
  port: number;
  url: string;
  /** The URL that logs a browser in. */
  loginUrl: string;
  /** Where a generated token is kept; undefined when it came from VMDECK_TOKEN. */
  tokenFile?: string;
  /** Resolves when the pages can be served (or are known to be unbuilt). */
  pagesReady: Promise<void>;
  router: Router;
  close(): Promise<void>;
}

const hostForUrl = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** Paths that are served to everybody: Next's assets, the favicon, public/. */
function isStatic(path: string, pages: Pages | null): boolean {
  return path.startsWith('/_next/') || path === '/favicon.ico' || (pages?.isPublicFile(path) ?? false);
}

/**
 * Where a login goes on to: a page of this dashboard (a path of its own,
 * its query kept), never another site (//host, a scheme, a backslash that a
 * browser reads as /), the login itself or the API; else the list.
 */
export function safeNext(next: string | null): string {
  // Printable ASCII only (a browser's path and query are percent-encoded): a header cannot hold the rest.
  if (!next || !/^\/(?![/\\])[\x21-\x22\x24-\x5b\x5d-\x7e]*$/.test(next)) return '/';
  if (/^\/(login|logout|api|ws|_next)(\/|\?|$)/.test(next)) return '/';
  return next;
}

const LOGIN_FALLBACK = `<!doctype html><meta charset="utf-8"><title>Log in · vmdeck</title>
<form method="get" action="/login" style="font:14px system-ui;max-width:22rem;margin:20vh auto">
<p>Paste the access token (the login URL that <code>vmdeck serve</code> printed carries it).</p>
<input name="token" type="password" required autofocus style="width:100%"> <button>Log in</button></form>\n`;

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const host = options.host ?? process.env.HOST ?? '127.0.0.1';
  const port = options.port ?? Number(process.env.PORT ?? 3000);
  const dir = options.dir ?? REPO;
  const { token, file: tokenFile } = loadToken();
  const auth = new Auth(token, tokenFile);
  const unwatchAuth = auth.watch();
  const router = apiRoutes();
  const socketPath = options.socket;
  const connections = new ConnectionGuard();
  const ws = createWsEndpoints(auth, socketPath !== undefined, (socket) => connections.trust(socket));
  const hosts = createHostProxy(auth);
  sessionRoutes(router, auth);
  let pages: Pages | null = null;
  let pagesError: string | null = null;
  let pagesLoaded: () => void = () => {};
  const pagesReady = new Promise<void>((resolve) => { pagesLoaded = resolve; });
  const dev = options.dev ?? false;
  const hostNames = allowedHosts(host);

  /** A Next page (or asset) with its own script nonce. */
  function servePage(p: Pages, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!path.startsWith('/_next/')) pageNonce(req, res, dev);
    return p.handle(req, res);
  }

  /** What each request carried, as classify() read it when its headers came. */
  const carried = new WeakMap<IncomingMessage, Credentials>();
  const held = new WeakMap<IncomingMessage, Promise<Credentials>>();

  /**
   * What the request carries. A wrong credential's answer is held (the
   * throttle), once per request; a right one is never held, whatever was
   * guessed before.
   */
  function credentials(req: IncomingMessage): Promise<Credentials> {
    let p = held.get(req);
    if (!p) {
      p = (async () => {
        const creds = carried.get(req) ?? classify(req);
        if (!creds.ok && creds.presented) {
          const delay = auth.throttle.fail(remoteAddress(req));
          if (delay) await new Promise((r) => setTimeout(r, delay));
        }
        return creds;
      })();
      held.set(req, p);
    }
    return p;
  }

  const authenticate = async (req: IncomingMessage) => (await credentials(req)).ok;

  const SECRET_MISSING = `csrf: this request carries the session cookie but not its page secret (${CSRF_HEADER}): log in again (the login gives this page a new one)`;

  /**
   * In this order: the token (401), then the session's page secret (403),
   * then whether the request may change things from where it came (403,
   * 415), then the route (404, 405), then its parameters, decoded and
   * checked (400), then the handler.
   */
  async function api(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    // Matching reads the raw path only; nothing is decoded before the token is checked.
    const match = router.match(req.method ?? 'GET', path);
    const open = match.kind === 'route' && !match.route.auth;
    if (!open && socketPath === undefined) {
      const creds = await credentials(req);
      if (!creds.ok) {
        sendJson(res, 401, { error: 'unauthorized: send Authorization: Bearer <token>, or log in at /login' }, { 'WWW-Authenticate': 'Bearer realm="vmdeck"' });
        return;
      }
      // A cookie alone is what a page on another port of this host can make the browser send.
      if (!Auth.secretPresented(req, creds)) throw new HttpError(403, SECRET_MISSING, 'csrf');
      // What is still going when its session ends (the event stream) ends with it; an answer made in that same
      // turn (a session revoking itself) is sent first.
      const unwatch = auth.whenInvalid(creds, () => setImmediate(() => { if (!res.writableEnded) res.destroy(); }));
      res.once('close', unwatch);
      if (res.closed) unwatch(); // gone while its credentials were looked at
    }
    checkWriteRequest(req, match.kind === 'route' ? match.route.rawBody : undefined);
    if (hosts.handles(path)) return hosts.http(req, res, path);
    if (match.kind === 'none') throw new HttpError(404, `no API route ${req.method} ${path}`);
    if (match.kind === 'method') {
      throw new HttpError(405, `${req.method} is not allowed on ${path} (allowed: ${match.allowed.join(', ')})`, undefined, { Allow: match.allowed.join(', ') });
    }
    await runRoute(match.route, match.encoded, req, res);
  }

  /** POST /logout from the dashboard's page: the session ends here, not only its cookie in the browser. */
  async function logout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') throw new HttpError(405, `${req.method} is not allowed on /logout (allowed: POST)`, undefined, { Allow: 'POST' });
    const creds = await credentials(req);
    if (creds.ok) {
      if (!Auth.secretPresented(req, creds)) throw new HttpError(403, SECRET_MISSING, 'csrf');
      checkWriteRequest(req);
      auth.logout(req);
    }
    sendJson(res, 200, { ok: true }, { 'Set-Cookie': Auth.clearedCookie() });
  }

  async function login(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const candidate = url.searchParams.get('token');
    const next = safeNext(url.searchParams.get('next'));
    if (candidate === null) {
      // Logged in already: to the list, unless the page came here for a new login (its page secret
      // lost, components/api.ts): the list would send it back here, and round again, for ever.
      if (url.searchParams.get('error') === null && url.searchParams.get('ended') === null && (await authenticate(req))) {
        res.writeHead(303, { Location: next }).end();
      } else if (pages?.built) {
        await servePage(pages, req, res, '/login');
      } else {
        pageNonce(req, res, dev);
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(LOGIN_FALLBACK);
      }
      return;
    }
    const address = remoteAddress(req);
    if (!auth.tokenMatches(candidate)) {
      const delay = auth.throttle.fail(address);
      if (delay) await new Promise((r) => setTimeout(r, delay));
      res.writeHead(303, { Location: `/login?error=${encodeURIComponent('That token is not right: copy it again from the login URL or $VMDECK_HOME/token')}${next === '/' ? '' : `&next=${encodeURIComponent(next)}`}`, 'Cache-Control': 'no-store' }).end();
      return;
    }
    connections.trust(req.socket);
    const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
    const { cookie, csrf } = auth.login(address, secure);
    // The page secret rides in the fragment: never sent to a server, kept by the page in its origin's storage.
    res.writeHead(303, { 'Set-Cookie': cookie, Location: `${next}#csrf=${csrf}`, 'Cache-Control': 'no-store' }).end();
  }

  /** Marks the connection at once by what its request carries, before anything is awaited: the right user's is never closed for room. */
  /**
   * The token in the query counts only for a WebSocket's upgrade, whose
   * path the upgrade routes as it came: a browser cannot set its headers.
   * An HTTP request never takes it (`/ws/../api/…` is /api/… to the router).
   */
  function classify(req: IncomingMessage, isUpgrade = false): Credentials {
    const creds = auth.check(req, isUpgrade && (req.url ?? '').startsWith('/ws/'));
    carried.set(req, creds);
    if (creds.ok) connections.trust(req.socket);
    else if (creds.presented) connections.failed(req.socket);
    return creds;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const creds = classify(req);
    // A wrong token waits first: many are closed for room meanwhile, and a guess costs no look at the guests.
    // (A stale session cookie, e.g. after a restart, is no guess worth holding a page's assets for.)
    if (creds.presented && !creds.ok && creds.via !== 'cookie') {
      await credentials(req);
      if (req.socket.destroyed) return;
    }
    // A guest (QEMU's user network maps 10.0.2.2 to 127.0.0.1) gets no answer at all; the right token's look is taken at once.
    if (await connectionFromGuest(req.socket, creds.ok)) {
      req.socket.destroy();
      return;
    }
    secureResponse(res);
    if (socketPath === undefined && !hostAllowed(req, hostNames)) throw new HttpError(421, `host: '${req.headers.host}' is not a name of this dashboard (${[...hostNames].join(', ')}); open it as http://127.0.0.1:PORT/ or serve with --host NAME`);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    // The image optimizer fetches and transforms on request: the dashboard has no use for it.
    if (path === '/_next/image' || path.startsWith('/_next/image/')) throw new HttpError(404, `${path} is not served`);
    if (path === '/api' || path.startsWith('/api/')) return api(req, res, path);
    if (path === '/login') return login(req, res, url);
    if (path === '/logout') return logout(req, res);
    if (path.startsWith('/ws/')) throw new HttpError(426, `${path} is a WebSocket endpoint`);
    if (!isStatic(path, pages) && !(await authenticate(req))) {
      // After the login, back to the page asked for.
      const back = safeNext(path + url.search);
      res.writeHead(303, { Location: back === '/' ? '/login' : `/login?next=${encodeURIComponent(back)}`, 'Cache-Control': 'no-store' }).end();
      return;
    }
    await pagesReady;
    if (pages) return servePage(pages, req, res, path);
    res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' })
      .end(`vmdeck: the dashboard pages could not be loaded: ${pagesError}\n`);
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => { /* a client that went away */ });
    const creds = classify(req, true);
    if (await connectionFromGuest(req.socket, creds.ok)) {
      socket.destroy();
      return;
    }
    if (socketPath === undefined && !hostAllowed(req, hostNames)) {
      socket.destroy();
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    // Only the dev server's reloader upgrades on /_next/; a production server holds no such socket open.
    if (path.startsWith('/_next/')) {
      if (dev && pages) pages.upgrade(req, socket, head);
      else socket.destroy();
    } else if (hosts.handlesWs(path)) hosts.upgrade(req, socket, head);
    else ws.handleUpgrade(req, socket, head);
  }

  const server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    handle(req, res).catch((e) => sendError(res, e));
  });
  connections.attach(server);
  // Short waits for a request's headers and body (Node checks them every second here, not every 30 s).
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.on('upgrade', (req, socket, head) => { upgrade(req, socket, head).catch(() => socket.destroy()); });
  // Every console of a VM that stops closes with 4410, whoever stopped it.
  const unsubscribe = subscribe((e) => {
    // A change, not the first sight of a VM (which reads as stopped while it starts).
    const wasUp = e.previous === 'running' || e.previous === 'paused';
    if (wasUp && (e.state === 'stopped' || e.state === 'suspended')) vmStopped(e.label);
  });

  try {
    if (socketPath !== undefined) await listenOnSocket(server, socketPath);
    else {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // A long accept queue: under a connection flood the user's connection waits in it, not in SYN retries.
        server.listen({ port, host, backlog: 4096 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
  } catch (e) {
    // Nothing may keep the process alive after a failed listen (the state watcher has timers).
    unsubscribe();
    unwatchAuth();
    ws.close();
    hosts.close();
    const err = e as NodeJS.ErrnoException;
    const where = `${hostForUrl(host)}:${port}`;
    if (err.code === 'EADDRINUSE') throw new VmdeckError(409, `port: ${where} is already in use (another vmdeck serve? choose --port or PORT)`, 'port');
    if (err.code === 'EACCES') throw new VmdeckError(400, `port: ${where} may not be listened on by this user (choose a port above 1023)`, 'port');
    if (err.code === 'EADDRNOTAVAIL') throw new VmdeckError(400, `host: ${host} is not an address of this machine`, 'host');
    throw e;
  }
  const actualPort = socketPath === undefined ? (server.address() as AddressInfo).port : 0;
  // The graphs' history: every running VM sampled each step while the dashboard runs.
  const sampler = startSampler();
  // Screen samples and screenshots a killed server left in the VMs' runtime dirs.
  void removeDeadLeftovers().catch(() => undefined);
  // A suspend that a killed dashboard (or an interrupted CLI) left half-done is finished, or undone, now.
  void enumerate().then((vms) => finishInterruptedSuspends(vms, (line) => console.error(`vmdeck serve: ${line}`))).catch(() => undefined);
  // `vmdeck console` and `vmdeck monitor` find us here and share our hubs.
  const unannounce = await announceServer(host, actualPort, socketPath).catch((e: Error) => {
    console.error(`vmdeck serve: cannot write ${serverFile()}: ${e.message} (vmdeck console will not share the dashboard's consoles)`);
    return async () => {};
  });
  // The API answers at once; pages follow when Next has loaded. A socket
  // server is an API for another host's dashboard: it loads no pages.
  if (socketPath !== undefined) {
    pagesError = 'vmdeck serve --socket serves the API only';
    pagesLoaded();
  } else {
    createPages({ dir, dev, hostname: host, port: actualPort }).then(
      (p) => { pages = p; },
      (e: Error) => {
        pagesError = e.message.split('\n')[0];
        console.error(`vmdeck serve: the dashboard pages could not be loaded: ${e.stack ?? e.message}`);
      },
    ).finally(pagesLoaded);
  }

  const url = socketPath === undefined ? `http://${hostForUrl(host)}:${actualPort}/` : `unix:${socketPath}`;
  return {
    server,
    socket: socketPath,
    host,
    port: actualPort,
    url,
    loginUrl: `${url}login?token=${encodeURIComponent(token)}`,
    tokenFile,
    pagesReady,
    router,
    async close() {
      await unannounce().catch(() => undefined);
      unsubscribe();
      unwatchAuth();
      sampler.stop();
      closeAllConsoles();
      ws.close();
      hosts.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pages?.close();
    },
  };
}
