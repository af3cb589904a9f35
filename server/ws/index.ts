// The WebSocket endpoints /ws/vms/:label/{vnc,serial,monitor,cli}: origin and
// token checks before anything else, then the VM, then its console.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { labelError } from '../../lib/spec';
import type { VmInfo } from '../../lib/vm';
import { Auth, remoteAddress } from '../auth';
import { VmdeckError } from '../errors';
import { CLOSE, closeReason } from './close-codes';
import { attachCli, attachSocketConsole, attachVnc, ConsoleRefused } from './consoles';
import { consoleVm } from './vm-lookup';

export const CONSOLE_KINDS = ['vnc', 'serial', 'monitor', 'cli'] as const;
export type ConsoleKind = (typeof CONSOLE_KINDS)[number];

const PATH = /^\/ws\/vms\/([^/]+)\/(vnc|serial|monitor|cli)$/;

export const SESSION_ENDED = 'unauthorized: the session ended (a logout, a revoke, a new token or its expiry): log in again';

/** Typing and control frames are small; a paste of a page is well under this. */
const MAX_FRAME = 1024 * 1024;

function refuse(socket: Duplex, status: number, text: string): void {
  const body = `${JSON.stringify({ error: text })}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Bad Request'}\r\n`
    + 'Content-Type: application/json\r\nConnection: close\r\n'
    + `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** A present Origin must name the host the browser asked for: no other site may open a console. */
export function originMatches(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export interface WsEndpoints {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

/**
 * `socketTrusted`: on a private UNIX socket (vmdeck serve --socket) whoever could connect is the user.
 * `onTrusted`: a connection that proved the token (the connection caps never close it).
 */
export function createWsEndpoints(auth: Auth, socketTrusted = false, onTrusted: (socket: Duplex) => void = () => {}): WsEndpoints {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_FRAME,
    // noVNC offers 'binary'; other clients offer nothing.
    handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
  });

  async function attach(ws: WebSocket, encoded: string, kind: ConsoleKind): Promise<void> {
    // Decoded only now that the token is checked; a label, never a path ('%2F', '..').
    let label: string;
    try {
      label = decodeURIComponent(encoded);
    } catch {
      throw new ConsoleRefused(CLOSE.unknownVm, `label: '${encoded}' is not a valid URL component`);
    }
    const problem = labelError(label);
    if (problem) throw new ConsoleRefused(CLOSE.unknownVm, problem);
    let vm: VmInfo;
    try {
      vm = await consoleVm(label);
    } catch (e) {
      throw new ConsoleRefused(CLOSE.unknownVm, e instanceof VmdeckError ? e.message : `label: no VM '${label}'`);
    }
    if (kind === 'vnc') await attachVnc(ws, vm);
    else if (kind === 'cli') attachCli(ws, vm);
    else await attachSocketConsole(ws, vm, kind);
  }

  /** What the browser sends before its console is attached waits in the socket, unread. */
  async function connectConsole(ws: WebSocket, encoded: string, kind: ConsoleKind): Promise<void> {
    ws.pause();
    try {
      await attach(ws, encoded, kind);
    } finally {
      // Also on failure: the close handshake needs the browser's answer read.
      ws.resume();
    }
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = PATH.exec(url.pathname);
    if (!m) return refuse(socket, 404, `no WebSocket endpoint ${url.pathname}`);
    if (!originMatches(req)) return refuse(socket, 403, `origin ${req.headers.origin} does not match host ${req.headers.host}`);
    const encoded = m[1];
    const kind = m[2] as ConsoleKind;
    const creds = socketTrusted ? { presented: false, ok: true } : auth.check(req, true);
    // A wrong credential's answer waits (the throttle); a right one never does.
    const delay = !creds.ok && creds.presented ? auth.throttle.fail(remoteAddress(req)) : 0;
    if (creds.ok) onTrusted(req.socket);
    setTimeout(() => {
      if (socket.destroyed) return;
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('error', () => { /* a broken client; its close follows */ });
        if (!creds.ok) {
          ws.close(CLOSE.unauthorized, 'unauthorized: log in or pass the token');
          return;
        }
        // A cookie alone is what a page on another port of this host can make the browser send.
        if (!Auth.secretPresented(req, creds)) {
          ws.close(CLOSE.unauthorized, 'csrf: the session cookie came without its page secret (?csrf=); reload the dashboard');
          return;
        }
        // A logout (or a revoke, a new token) closes the consoles its session opened: nothing typed after it reaches the VM.
        const unwatch = auth.whenInvalid(creds, () => {
          ws.removeAllListeners('message');
          if (ws.readyState === ws.OPEN) ws.close(CLOSE.unauthorized, SESSION_ENDED);
        });
        ws.once('close', unwatch);
        connectConsole(ws, encoded, kind).catch((e: Error) => {
          const code = e instanceof ConsoleRefused ? e.code : CLOSE.internalError;
          if (ws.readyState === ws.OPEN) ws.close(code, closeReason(e.message));
        });
      });
    }, delay);
  }

  return {
    handleUpgrade,
    close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
