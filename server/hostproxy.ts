// The central dashboard's way to other hosts (issue 14): `/api/hosts` (the
// hosts and their checks; add, remove), and `/api/hosts/:host/…` and
// `/ws/hosts/:host/vms/:label/:kind` proxied, in the local routes' shapes,
// to that host's own vmdeck server. That server is `vmdeck serve --socket`
// there, started on demand (it ends itself when idle), reached only through
// a UNIX socket that the host's ssh connection forwards (ssh -O forward -L
// local.sock:remote.sock, OpenSSH's streamlocal): nothing of it is on TCP,
// and its hubs, claims and state logic are the ones that run. A host that
// cannot be reached answers 502 with ssh's one-line reason; the others work on.
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { realpath, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { checkApiVmdeckCommand, checkHostName, LOCAL_HOST, passedHeaders, sshDestination } from '../lib/hosts';
import { labelError } from '../lib/spec';
import { Auth, remoteAddress } from './auth';
import { checkHost } from './check';
import { badInput, VmdeckError } from './errors';
import { bases, mediaDirs, runRoot, vmdeckHome } from './paths';
import {
  addHost, checkRemoteHost, closeConnection, connectHost, hostFileName, hostsRunDir, readHosts, removeHost, runRemote, runSsh,
  sshOptions, validateHost, VMDECK_VERSION, type HostCheck, type HostEntry,
} from './hosts';
import { BODY_LIMIT, HttpError, readJsonBody, sendError, sendJson } from './http/router';
import { CLOSE, closeReason } from './ws/close-codes';
import { originMatches } from './ws/index';
import { openWs } from './ws/open';

/** How long a remote socket server stays up with nobody connected. */
const REMOTE_IDLE_S = 300;
/** Host checks are kept this long: a list page asks often, each check is a remote vmdeck check. */
const CHECK_TTL_MS = 10000;

const API = /^\/api\/hosts\/([^/]+)(\/.*)?$/;
const WS = /^\/ws\/hosts\/([^/]+)\/vms\/([^/]+)\/(vnc|serial|monitor|cli)$/;
/** Close code toward the browser when the host's connection ends under a console: try again (RFC 6455's 1012, service restart). */
const RECONNECT = 1012;

export interface HostProxy {
  handles(path: string): boolean;
  http(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
  handlesWs(path: string): boolean;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

function decode(part: string, field: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, `${field}: '${part}' is not a valid URL component`, field);
  }
}

/** A host of the hosts file: the dashboard does not take a destination given directly, as the CLI's user@host. */
async function registeredHost(name: string): Promise<HostEntry> {
  const hit = (await readHosts()).find((h) => h.name === name);
  if (!hit) throw new VmdeckError(404, checkHostName(name) === null ? `host: no host '${name}' (add it on the host page, or vmdeck host add ${name} DEST)` : `host: no host '${name}'`, 'host');
  return hit;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > BODY_LIMIT) {
        reject(new HttpError(413, `body: more than ${BODY_LIMIT} bytes`));
        req.destroy();
        return;
      }
      chunks.push(d);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** The forwarded socket of each host, made on demand and again when the connection under it was lost. */
class Links {
  private readonly pending = new Map<string, Promise<string>>();

  /** The local end of the host's forwarded server socket; `fresh` after a failure through the one known. */
  get(host: HostEntry, fresh = false): Promise<string> {
    const known = this.pending.get(host.name);
    if (known && !fresh) return known;
    const made = this.make(host);
    this.pending.set(host.name, made);
    made.catch(() => { if (this.pending.get(host.name) === made) this.pending.delete(host.name); });
    return made;
  }

  private async make(host: HostEntry): Promise<string> {
    await connectHost(host);
    const r = await runRemote(host, ['serve', '--socket', '--detach', `--idle=${REMOTE_IDLE_S}`]);
    let remote: string;
    try {
      remote = (JSON.parse(r.stdout) as { socket: string }).socket;
    } catch {
      throw new VmdeckError(500, `host: ${host.name}: its vmdeck serve --socket did not start: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`}`, 'host');
    }
    const local = join(await hostsRunDir(), `${hostFileName(host)}.sock`);
    if (await answers(local)) return local;
    const opts = await sshOptions(host);
    const spec = `${local}:${remote}`;
    // A forward the master still has for a socket file that is gone: cancel it, then forward anew.
    await runSsh([...opts, '-O', 'cancel', '-L', spec, '--', sshDestination(host.dest)], undefined, 5000);
    await rm(local, { force: true });
    const f = await runSsh([...opts, '-O', 'forward', '-L', spec, '--', sshDestination(host.dest)], undefined, 10000);
    if (f.code !== 0) throw new VmdeckError(500, `host: ${host.name}: ssh could not forward its server's socket: ${f.stderr.trim().split('\n').pop() ?? `exit ${f.code}`}`, 'host');
    return local;
  }

  forget(name: string): void {
    this.pending.delete(name);
  }
}

/** What a host's list entry says; for `local`, this machine's check. */
async function localCheck(): Promise<HostCheck> {
  return { name: LOCAL_HOST, dest: '', vmdeck: '', ok: true, version: VMDECK_VERSION, report: await checkHost() };
}


export function createHostProxy(auth: Auth): HostProxy {
  const links = new Links();
  const checks = new Map<string, { at: number; check: Promise<HostCheck> }>();
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 1024 * 1024,
    handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
  });

  function checkOf(host: HostEntry): Promise<HostCheck> {
    const known = checks.get(host.name);
    if (known && Date.now() - known.at < CHECK_TTL_MS) return known.check;
    const check = checkRemoteHost(host);
    checks.set(host.name, { at: Date.now(), check });
    return check;
  }

  async function hostsList(): Promise<HostCheck[]> {
    const hosts = await readHosts();
    return Promise.all([localCheck(), ...hosts.map(checkOf)]);
  }

  /** One request through the host's socket; resolves false when the link failed before an answer (try a fresh one). */
  function forward(socketPath: string, req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): Promise<boolean> {
    return new Promise((resolve) => {
      const headers: Record<string, string> = { host: 'localhost' };
      for (const h of ['content-type', 'accept', 'last-event-id', 'range']) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      if (body.length) headers['content-length'] = String(body.length);
      const up = request({ socketPath, path, method: req.method, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, passedHeaders(answer.headers));
        answer.pipe(res);
        answer.once('end', () => resolve(true));
        answer.once('error', () => { res.destroy(); resolve(true); });
      });
      // The browser went away (an event stream closed): so does the request to the host.
      res.once('close', () => up.destroy());
      up.once('error', () => {
        if (!res.headersSent) resolve(false);
        else {
          res.destroy();
          resolve(true);
        }
      });
      up.end(body);
    });
  }

  /**
   * The API's client can make files under the bases, the media directories and
   * vmdeck's own (a VM labelled bin with a raw disk named vmdeck.js, a guest
   * writing into it): a vmdeck path there is refused, for a host that is this
   * one. A relative path is the remote home's, as ssh runs it.
   */
  async function apiVmdeckPlace(cmd: string): Promise<string | null> {
    const path = cmd.trim().split(/\s+/).pop()!;
    if (!path.includes('/')) return null;
    const here = await realpath(resolve(homedir(), path)).catch(() => resolve(homedir(), path));
    for (const dir of [...bases(), ...mediaDirs(), vmdeckHome(), runRoot()]) {
      const real = await realpath(dir).catch(() => resolve(dir));
      if (here === real || here.startsWith(`${real}/`)) {
        return `vmdeck: '${path}' lies in ${real}, where the API's clients make files: give vmdeck's installed path (or add the host with vmdeck host add --vmdeck)`;
      }
    }
    return null;
  }

  async function proxy(req: IncomingMessage, res: ServerResponse, host: HostEntry, path: string): Promise<void> {
    const body = req.method === 'GET' || req.method === 'HEAD' ? Buffer.alloc(0) : await readBody(req);
    for (const fresh of [false, true]) {
      let socketPath: string;
      try {
        socketPath = await links.get(host, fresh);
      } catch (e) {
        checks.delete(host.name);
        sendJson(res, 502, { error: (e as Error).message, field: 'host' });
        return;
      }
      if (await forward(socketPath, req, res, path, body)) return;
    }
    sendJson(res, 502, { error: `host: ${host.name}: its server did not answer through the ssh connection`, field: 'host' });
  }

  async function http(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    if (path === '/api/hosts') {
      if (method === 'GET') return sendJson(res, 200, await hostsList());
      if (method === 'POST') {
        const v = (await readJsonBody(req)) as Partial<HostEntry>;
        const entry: HostEntry = { name: String(v.name ?? ''), dest: String(v.dest ?? ''), vmdeck: String(v.vmdeck || 'vmdeck') };
        validateHost(entry);
        const command = checkApiVmdeckCommand(entry.vmdeck) ?? (await apiVmdeckPlace(entry.vmdeck));
        if (command) throw badInput('vmdeck', command);
        const check = await checkRemoteHost(entry);
        if (!check.ok) {
          // Its connection goes with it: nothing of a host not added stays open.
          await closeConnection(entry).catch(() => undefined);
          throw new VmdeckError(400, check.error ?? `host: ${entry.name} did not answer`, 'dest');
        }
        await addHost(entry);
        checks.delete(entry.name);
        return sendJson(res, 201, check);
      }
      throw new HttpError(405, `${method} is not allowed on ${path} (allowed: GET, POST)`, undefined, { Allow: 'GET, POST' });
    }
    const m = API.exec(path);
    if (!m) throw new HttpError(404, `no API route ${method} ${path}`);
    const name = decode(m[1], 'host');
    if (m[2] === undefined || m[2] === '/') {
      if (method === 'DELETE') {
        await removeHost(name);
        links.forget(name);
        checks.delete(name);
        return sendJson(res, 200, { name });
      }
      if (method !== 'GET') throw new HttpError(405, `${method} is not allowed on ${path} (allowed: GET, DELETE)`, undefined, { Allow: 'GET, DELETE' });
      return sendJson(res, 200, name === LOCAL_HOST ? await localCheck() : await checkOf(await registeredHost(name)));
    }
    if (name === LOCAL_HOST) throw new HttpError(404, `host: ${LOCAL_HOST} is this machine: its routes are /api${m[2]}`, 'host');
    const host = await registeredHost(name);
    const search = new URL(req.url ?? '/', 'http://x').search;
    await proxy(req, res, host, `/api${m[2]}${search}`);
  }

  function relay(browser: WebSocket, host: HostEntry, label: string, kind: string, protocol: string): void {
    browser.pause();
    const open = async (fresh: boolean): Promise<WebSocket> => {
      const socketPath = await links.get(host, fresh);
      // Over the forwarded socket a handshake takes milliseconds: one through a link that died with its
      // ControlMaster is given up soon, and a fresh link is made.
      return openWs(`ws+unix://${socketPath}:/ws/vms/${encodeURIComponent(label)}/${kind}`,
        (data, isBinary) => { if (browser.readyState === browser.OPEN) browser.send(data, { binary: isBinary }); },
        { protocols: protocol ? [protocol] : [], perMessageDeflate: false, handshakeTimeout: fresh ? 10000 : 3000, refused: (status) => new Error(`the host's server answered ${status}`) });
    };
    const begin = async () => {
      let up: WebSocket;
      try {
        up = await open(false);
      } catch {
        up = await open(true);
      }
      up.on('error', () => { /* its close follows */ });
      browser.on('message', (data, isBinary) => { if (up.readyState === up.OPEN) up.send(data, { binary: isBinary }); });
      up.once('close', (code, reason) => {
        // 1005/1006 cannot be sent: the connection to the host was lost, the browser tries again.
        const passed = code >= 3000 || code === 1000 ? code : RECONNECT;
        if (browser.readyState === browser.OPEN) browser.close(passed, passed === RECONNECT ? closeReason(`the connection to ${host.name} was lost`) : reason);
      });
      browser.once('close', () => up.close(1000));
      browser.resume();
    };
    begin().catch((e: Error) => {
      browser.resume();
      if (browser.readyState === browser.OPEN) browser.close(RECONNECT, closeReason(e.message));
    });
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = WS.exec(url.pathname);
    const refuse = (status: number, text: string) => {
      const body = `${JSON.stringify({ error: text })}\n`;
      socket.end(`HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : 'Not Found'}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    };
    if (!m) return refuse(404, `no WebSocket endpoint ${url.pathname}`);
    if (!originMatches(req)) return refuse(403, `origin ${req.headers.origin} does not match host ${req.headers.host}`);
    const address = remoteAddress(req);
    const creds = auth.check(req, true);
    // A wrong credential's answer waits (the throttle); a right one never does.
    const delay = !creds.ok && creds.presented ? auth.throttle.fail(address) : 0;
    setTimeout(() => {
      if (socket.destroyed) return;
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('error', () => { /* its close follows */ });
        if (!creds.ok) {
          ws.close(CLOSE.unauthorized, 'unauthorized: log in or pass the token');
          return;
        }
        // A cookie alone is what a page on another port of this host can make the browser send.
        if (!Auth.secretPresented(req, creds)) {
          ws.close(CLOSE.unauthorized, 'csrf: the session cookie came without its page secret (?csrf=); reload the dashboard');
          return;
        }
        let name: string;
        let label: string;
        try {
          name = decode(m[1], 'host');
          label = decode(m[2], 'label');
        } catch (e) {
          ws.close(CLOSE.unknownVm, closeReason((e as Error).message));
          return;
        }
        const problem = labelError(label);
        if (problem) {
          ws.close(CLOSE.unknownVm, closeReason(problem));
          return;
        }
        registeredHost(name).then(
          (host) => relay(ws, host, label, m[3], ws.protocol),
          (e: Error) => ws.close(CLOSE.unknownVm, closeReason(e.message)),
        );
      });
    }, delay);
  }

  return {
    handles: (path) => path === '/api/hosts' || path.startsWith('/api/hosts/'),
    http: (req, res, path) => http(req, res, path).catch((e) => sendError(res, e)),
    handlesWs: (path) => path.startsWith('/ws/hosts/'),
    upgrade,
    close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
