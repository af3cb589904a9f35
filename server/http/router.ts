// A small router for the JSON API: routes as (method, pattern, handler), a
// table that tests can enumerate, and one place that turns errors into
// {"error", "field"} answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { VmdeckError } from '../errors';

export type Method = 'GET' | 'POST' | 'DELETE';

export const BODY_LIMIT = 1024 * 1024;

/** A refusal of the HTTP layer itself (size, method), beside VmdeckError's 400/404/409/500. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly field?: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

export interface ApiRequest {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The JSON body: an object, {} when empty. */
  body(): Promise<Record<string, unknown>>;
}

/** A non-JSON answer (an image, a log). */
export class Reply {
  constructor(readonly status: number, readonly body: Buffer | string, readonly type: string, readonly headers: Record<string, string> = {}) {}
}

/** A handler that answered by itself (a stream of events). */
export const STREAMED = Symbol('streamed');

/** JSON with a status other than 200. */
export class Json {
  constructor(readonly status: number, readonly value: unknown) {}
}

export type Handler = (r: ApiRequest) => Promise<unknown>;

export interface Route {
  method: Method;
  pattern: string;
  /** Everything but /api/health needs the token. */
  auth: boolean;
  handler: Handler;
}

interface Compiled extends Route {
  regex: RegExp;
  keys: string[];
}

function compile(pattern: string): { regex: RegExp; keys: string[] } {
  const keys: string[] = [];
  const source = pattern.split('/').map((part) => {
    if (part.startsWith(':')) {
      keys.push(part.slice(1));
      return '([^/]+)';
    }
    return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }).join('/');
  return { regex: new RegExp(`^${source}$`), keys };
}

export type Match =
  | { kind: 'route'; route: Route; params: Record<string, string> }
  | { kind: 'method'; allowed: Method[] }
  | { kind: 'none' };

export class Router {
  private readonly compiled: Compiled[] = [];

  add(method: Method, pattern: string, handler: Handler, options: { auth?: boolean } = {}): this {
    this.compiled.push({ method, pattern, handler, auth: options.auth ?? true, ...compile(pattern) });
    return this;
  }

  get routes(): readonly Route[] {
    return this.compiled;
  }

  match(method: string, path: string): Match {
    const allowed: Method[] = [];
    for (const r of this.compiled) {
      const m = r.regex.exec(path);
      if (!m) continue;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) {
        allowed.push(r.method);
        continue;
      }
      const params: Record<string, string> = {};
      try {
        r.keys.forEach((k, i) => { params[k] = decodeURIComponent(m[i + 1]); });
      } catch {
        throw new HttpError(400, `${r.keys[0] ?? 'path'}: not a valid URL component`, r.keys[0]);
      }
      return { kind: 'route', route: r, params };
    }
    return allowed.length ? { kind: 'method', allowed } : { kind: 'none' };
  }
}

/** Reads a JSON object body of at most `limit` bytes. */
export function readJsonBody(req: IncomingMessage, limit = BODY_LIMIT): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(new HttpError(413, `body: larger than ${limit} bytes`, 'body'));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpError(413, `body: larger than ${limit} bytes`, 'body'));
        return;
      }
      chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > limit) return;
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return resolve({});
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        return reject(new HttpError(400, `body: not valid JSON (${(e as Error).message})`, 'body'));
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return reject(new HttpError(400, 'body: must be a JSON object', 'body'));
      }
      resolve(value as Record<string, unknown>);
    });
  });
}

const SECURITY_HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export function sendError(res: ServerResponse, e: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (e instanceof VmdeckError || e instanceof HttpError) {
    const headers = e instanceof HttpError ? e.headers : {};
    sendJson(res, e.status, e.field ? { error: e.message, field: e.field } : { error: e.message }, headers);
    return;
  }
  const message = (e as Error)?.message ?? String(e);
  console.error(`vmdeck serve: ${res.req.method} ${res.req.url}: ${(e as Error)?.stack ?? message}`);
  sendJson(res, 500, { error: message.split('\n')[0] });
}

/** Runs a matched route and writes its answer. */
export async function runRoute(route: Route, params: Record<string, string>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  try {
    const value = await route.handler({ req, res, params, query: url.searchParams, body: () => readJsonBody(req) });
    if (value === STREAMED) return;
    if (value instanceof Reply) {
      res.writeHead(value.status, { ...SECURITY_HEADERS, 'Content-Type': value.type, 'Content-Length': Buffer.byteLength(value.body), ...value.headers });
      res.end(req.method === 'HEAD' ? undefined : value.body);
    } else if (value instanceof Json) {
      sendJson(res, value.status, value.value);
    } else {
      sendJson(res, 200, value ?? { ok: true });
    }
  } catch (e) {
    sendError(res, e);
  }
}
