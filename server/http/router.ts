// A small router for the JSON API: routes as (method, pattern, handler), a
// table that tests can enumerate, and one place that turns errors into
// {"error", "field"} answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { VmdeckError } from '../errors';
import { actorOf, asActor } from '../tasks';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

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

/**
 * What a path parameter may be, checked once it is decoded: null when fine,
 * else the one-line complaint ("label: '…' is not a valid label"). A value
 * from a URL is never taken as a path: `%2F` and `..` decode to text that
 * server/ would read as one (findVm takes labels with '/' as paths).
 */
export type ParamCheck = (value: string) => string | null;

export interface Route {
  method: Method;
  pattern: string;
  /** Everything but /api/health needs the token. */
  auth: boolean;
  handler: Handler;
  /** The check of each of the pattern's parameters. */
  params: Record<string, ParamCheck>;
  /**
   * The one Content-Type the route takes instead of JSON, its body read by the
   * handler from the request (an upload). It must not be one a form or a
   * simple request can send (those need no CORS preflight).
   */
  rawBody?: string;
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

/**
 * A matched route with its parameters as they stand in the path, still
 * %-encoded: decoding (and its 400) waits until the request is authenticated.
 */
export type Match =
  | { kind: 'route'; route: Route; encoded: Record<string, string> }
  | { kind: 'method'; allowed: Method[] }
  | { kind: 'none' };

export class Router {
  private readonly compiled: Compiled[] = [];

  /** checks: the check of a parameter name in every route (e.g. label); a route's own override them. */
  constructor(private readonly checks: Record<string, ParamCheck> = {}) {}

  add(method: Method, pattern: string, handler: Handler, options: { auth?: boolean; params?: Record<string, ParamCheck>; rawBody?: string } = {}): this {
    const { regex, keys } = compile(pattern);
    const params: Record<string, ParamCheck> = {};
    for (const k of keys) {
      const check = options.params?.[k] ?? this.checks[k];
      // No route takes a parameter unchecked.
      if (!check) throw new Error(`router: ${method} ${pattern}: no check for parameter :${k}`);
      params[k] = check;
    }
    this.compiled.push({ method, pattern, handler, auth: options.auth ?? true, params, regex, keys, rawBody: options.rawBody });
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
      const encoded: Record<string, string> = {};
      r.keys.forEach((k, i) => { encoded[k] = m[i + 1]; });
      return { kind: 'route', route: r, encoded };
    }
    return allowed.length ? { kind: 'method', allowed } : { kind: 'none' };
  }
}

/** A route's parameters decoded and checked: 400 naming the parameter when one is not what it may be. */
export function decodeParams(route: Route, encoded: Record<string, string>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [k, raw] of Object.entries(encoded)) {
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      throw new HttpError(400, `${k}: '${raw}' is not a valid URL component`, k);
    }
    const problem = route.params[k](value);
    if (problem) throw new HttpError(400, problem, k);
    params[k] = value;
  }
  return params;
}

/** The media type of a Content-Type header, lower case, without parameters. */
function mediaType(header: string | undefined): string | undefined {
  return header?.split(';')[0].trim().toLowerCase();
}

/**
 * The cross-site request check of every API request but GET and HEAD (which
 * change nothing). SameSite=Strict does not cover it: a page on
 * http://127.0.0.1:<any port> (a guest's web server through HOSTFWD) is the
 * same site, so the browser sends the cookie. Refused (403): an Origin that
 * is not this host, a Sec-Fetch-Site other than same-origin or none. Refused
 * (415): a body, or a Content-Type, that is not application/json, which no
 * form or simple request can send without a preflight.
 */
export function checkWriteRequest(req: IncomingMessage, rawBody?: string): void {
  const method = req.method ?? 'GET';
  if (method === 'GET' || method === 'HEAD') return;
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let host: string | null = null;
    try {
      host = new URL(origin).host;
    } catch { /* "null", or not a URL */ }
    if (host === null || host !== req.headers.host) {
      throw new HttpError(403, `origin: '${origin}' is not this dashboard (${req.headers.host ?? 'no Host'}); requests from other pages are refused`);
    }
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new HttpError(403, `origin: a ${site} request is refused; only the dashboard's own pages may change things`);
  }
  const type = mediaType(req.headers['content-type']);
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  const allowed = rawBody ?? 'application/json';
  if ((type !== undefined || hasBody) && type !== allowed) {
    throw new HttpError(415, `body: Content-Type must be ${allowed}${type ? `, not ${type}` : ''}`, 'body');
  }
}

/** Reads a JSON object body of at most `limit` bytes. */
export function readJsonBody(req: IncomingMessage, limit = BODY_LIMIT): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const type = mediaType(req.headers['content-type']);
    if (type !== undefined && type !== 'application/json') {
      req.resume();
      reject(new HttpError(415, `body: Content-Type must be application/json, not ${type}`, 'body'));
      return;
    }
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

/** A request's URL for the log, the values of its secrets (the token, the page secret) hidden. */
export function loggedUrl(url: string): string {
  return url.replace(/([?&](?:token|csrf)=)[^&#]*/gi, '$1(hidden)');
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
  console.error(`vmdeck serve: ${res.req.method} ${loggedUrl(res.req.url ?? '/')}: ${(e as Error)?.stack ?? message}`);
  sendJson(res, 500, { error: message.split('\n')[0] });
}

/** Runs a matched route (parameters still encoded) and writes its answer. */
export async function runRoute(route: Route, encoded: Record<string, string>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  try {
    const params = decodeParams(route, encoded);
    // Tasks the handler runs are the dashboard's or the token holder's, not the CLI user's.
    const value = await asActor(actorOf(req), () => route.handler({ req, res, params, query: url.searchParams, body: () => readJsonBody(req) }));
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
