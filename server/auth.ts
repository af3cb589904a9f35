// The dashboard's access token: VMDECK_TOKEN, or one generated once into
// $VMDECK_HOME/token (0600). A request proves it with `Authorization: Bearer`,
// the session cookie that /login sets, or (WebSockets only) `?token=`.
//
// A session is held here, not in the cookie: a random id (the cookie), a
// random page secret (CSRF) that only the dashboard's own pages hold, an idle
// and an absolute expiry. Browsers send cookies to every port of a host, so a
// guest's web server reached through HOSTFWD on 127.0.0.1 receives the
// cookie; it never receives the page secret, which the login hands over in
// the URL fragment and the page keeps in its origin's (port's) localStorage.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, statSync, writeSync, closeSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { dirname, join } from 'node:path';
import { vmdeckHome } from './paths';

export const SESSION_COOKIE = 'vmdeck_session';
/** The header (fetch) or query parameter (EventSource, images, links, WebSockets) that carries the page secret. */
export const CSRF_HEADER = 'x-vmdeck-csrf';
export const CSRF_PARAM = 'csrf';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** The configured token, generating and storing one on first use. */
export function loadToken(env = process.env): { token: string; file?: string; generated: boolean } {
  if (env.VMDECK_TOKEN) return { token: env.VMDECK_TOKEN, generated: false };
  const file = join(vmdeckHome(env), 'token');
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token) return { token, file, generated: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  // 'wx': two servers starting at once must not both write one.
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadToken(env);
    throw e;
  }
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return { token, file, generated: true };
}

export interface Credentials {
  /** A token or session value was presented (a wrong one counts as a failed attempt). */
  presented: boolean;
  ok: boolean;
  /** How: a cookie session needs its page secret besides (requestSecretOk). */
  via?: 'bearer' | 'cookie' | 'query';
  session?: Session;
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

export interface Session {
  /** Public name of the session (listing, revoking); not the cookie. */
  handle: string;
  /** The page secret. */
  csrf: string;
  created: number;
  lastSeen: number;
  address: string;
}

export const SESSION_IDLE_MS = 12 * 3600_000;
export const SESSION_MAX_MS = 7 * 86400_000;
const MAX_SESSIONS = 1000;

/** The sessions of this server's life: a restart, a logout, a token change or an expiry ends them. */
export class Sessions {
  /** By sha256 of the cookie value: the map never holds a usable cookie. */
  private readonly byId = new Map<string, Session>();
  /** What to do when a session ends: close what it opened (its consoles, its event stream). */
  private readonly onEnd = new Map<Session, Set<() => void>>();
  private readonly live = new WeakSet<Session>();

  constructor(private readonly idleMs = SESSION_IDLE_MS, private readonly maxMs = SESSION_MAX_MS) {}

  create(address: string, now = Date.now()): { id: string; session: Session } {
    const id = randomBytes(32).toString('base64url');
    const session: Session = { handle: randomBytes(9).toString('base64url'), csrf: randomBytes(32).toString('base64url'), created: now, lastSeen: now, address };
    this.byId.set(sha256(id).toString('hex'), session);
    this.live.add(session);
    // The oldest go first past the bound (the Map's order is creation order).
    while (this.byId.size > MAX_SESSIONS) this.drop(this.byId.keys().next().value!);
    return { id, session };
  }

  find(id: string, now = Date.now()): Session | null {
    const key = sha256(id).toString('hex');
    const s = this.byId.get(key);
    if (!s) return null;
    if (now - s.lastSeen > this.idleMs || now - s.created > this.maxMs) {
      this.drop(key);
      return null;
    }
    s.lastSeen = now;
    return s;
  }

  end(id: string): void {
    this.drop(sha256(id).toString('hex'));
  }

  revoke(handle: string): boolean {
    for (const [k, s] of this.byId) if (s.handle === handle) return this.drop(k);
    return false;
  }

  clear(): void {
    for (const k of [...this.byId.keys()]) this.drop(k);
  }

  /** Runs fn once when session ends (a logout, a revoke, a new token, its expiry); the answer unregisters it. */
  whenEnded(session: Session, fn: () => void): () => void {
    if (!this.live.has(session)) {
      fn();
      return () => {};
    }
    let fns = this.onEnd.get(session);
    if (!fns) this.onEnd.set(session, (fns = new Set()));
    fns.add(fn);
    return () => { fns.delete(fn); };
  }

  private drop(key: string): boolean {
    const s = this.byId.get(key);
    if (!s) return false;
    this.byId.delete(key);
    this.live.delete(s);
    const fns = this.onEnd.get(s);
    this.onEnd.delete(s);
    for (const fn of fns ?? []) fn();
    return true;
  }

  /** Ends the sessions past their idle time or absolute age (with what they opened), not only at their next use. */
  sweep(now = Date.now()): void {
    for (const [k, s] of [...this.byId]) if (now - s.lastSeen > this.idleMs || now - s.created > this.maxMs) this.drop(k);
  }

  list(now = Date.now()): Session[] {
    return [...this.byId.values()].filter((s) => now - s.lastSeen <= this.idleMs && now - s.created <= this.maxMs);
  }
}

const secretMatches = (candidate: string, secret: string) => timingSafeEqual(sha256(candidate), sha256(secret));

/**
 * Checks tokens in constant time: both sides are hashed first, so neither
 * the content nor the length of the real token leaks through timing.
 */
export class Auth {
  private tokenHash: Buffer;
  readonly sessions = new Sessions();
  readonly throttle = new Throttle();
  private fileStamp: string | null = null;
  private checkedAt = 0;
  private readonly onTokenChange = new Set<() => void>();

  /** file: where the token came from, watched so that a new token ends every session. */
  constructor(token: string, private readonly file?: string) {
    this.tokenHash = sha256(token);
    this.fileStamp = this.stamp();
  }

  private stamp(): string | null {
    if (!this.file) return null;
    try {
      const st = statSync(this.file);
      return `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {
      return 'gone';
    }
  }

  /** A token file that changed (at most one look a second): the new token counts, and no session of the old one. */
  private reload(now = Date.now()): void {
    if (!this.file || now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    const stamp = this.stamp();
    if (stamp === this.fileStamp) return;
    this.fileStamp = stamp;
    let token = '';
    try {
      token = readFileSync(this.file, 'utf8').trim();
    } catch { /* gone: keep the old token for bearer clients, end the sessions */ }
    // The same token written again (a touch, an editor's save) changes nothing.
    if (token && timingSafeEqual(sha256(token), this.tokenHash)) return;
    if (token) {
      this.tokenHash = sha256(token);
      const fns = [...this.onTokenChange];
      this.onTokenChange.clear();
      for (const fn of fns) fn();
    }
    this.sessions.clear();
  }

  /**
   * Looks each second for a new token and for sessions that expired, so
   * that what they opened (consoles, event streams) closes then, also with
   * no request to notice it. The answer stops it.
   */
  watch(everyMs = 1000): () => void {
    const timer = setInterval(() => {
      this.reload();
      this.sessions.sweep();
    }, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /**
   * Runs fn once when what creds stood on stops counting: its session ends,
   * or, for the token itself, a new token is written. What a request or a
   * socket opened is closed so, not only its next request refused. The
   * answer unregisters fn.
   */
  whenInvalid(creds: Credentials, fn: () => void): () => void {
    if (creds.via === 'cookie' && creds.session) return this.sessions.whenEnded(creds.session, fn);
    if (creds.via === 'bearer' || creds.via === 'query') {
      this.onTokenChange.add(fn);
      return () => { this.onTokenChange.delete(fn); };
    }
    return () => {};
  }

  tokenMatches(candidate: string): boolean {
    this.reload();
    return timingSafeEqual(sha256(candidate), this.tokenHash);
  }

  /** What the request carries; `allowQuery` for WebSockets, which cannot set headers in a browser. */
  check(req: IncomingMessage, allowQuery = false): Credentials {
    this.reload();
    const header = req.headers.authorization;
    if (header) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      return { presented: true, ok: m !== null && this.tokenMatches(m[1]), via: 'bearer' };
    }
    const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    if (cookie) {
      const session = this.sessions.find(cookie) ?? undefined;
      return { presented: true, ok: session !== undefined, via: 'cookie', session };
    }
    if (allowQuery) {
      const q = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
      if (q !== null) return { presented: true, ok: this.tokenMatches(q), via: 'query' };
    }
    return { presented: false, ok: false };
  }

  /**
   * Whether a request that came in on a cookie also carries its session's
   * page secret (header, or query parameter where a browser cannot set a
   * header). Requests on the token itself need none.
   */
  static secretPresented(req: IncomingMessage, creds: Credentials): boolean {
    if (creds.via !== 'cookie') return true;
    if (!creds.session) return false;
    const header = req.headers[CSRF_HEADER];
    const candidate = typeof header === 'string' ? header : new URL(req.url ?? '/', 'http://x').searchParams.get(CSRF_PARAM);
    return candidate !== null && secretMatches(candidate, creds.session.csrf);
  }

  /** A new session for a request that presented the right token: its cookie and page secret. */
  login(address: string, secure: boolean): { cookie: string; csrf: string } {
    const { id, session } = this.sessions.create(address);
    return {
      cookie: `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MAX_MS / 1000}${secure ? '; Secure' : ''}`,
      csrf: session.csrf,
    };
  }

  /** Ends the session of this request's cookie, if it has one. */
  logout(req: IncomingMessage): void {
    const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    if (cookie) this.sessions.end(cookie);
  }

  static clearedCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }
}

/**
 * The key of an address for counting: 127/8 is one (any local user may bind
 * any of its addresses), an IPv6 address its /64, others themselves.
 */
export function addressKey(address: string): string {
  const v4 = /^(?:::ffff:)?(\d+)\.\d+\.\d+\.\d+$/i.exec(address);
  if (v4) return v4[1] === '127' ? '127/8' : address.replace(/^::ffff:/i, '');
  if (address === '::1') return '127/8';
  if (address.includes(':')) {
    const [head] = address.toLowerCase().split('::');
    return `${head.split(':').slice(0, 4).join(':')}::/64`;
  }
  return address;
}

/**
 * The delay of an answer to a failed attempt: per address (127/8 and an
 * IPv6 /64 count as one) and over all addresses. It holds only the answer
 * to a wrong credential: a right one is answered at once, whatever was
 * guessed before, from whichever address. Failures fade after forgetMs;
 * the table is bounded (oldest out first).
 */
export class Throttle {
  private readonly failures = new Map<string, { count: number; last: number }>();
  /** All failures, decaying: halves every globalHalfLifeMs. */
  private global = { level: 0, at: 0 };

  constructor(
    private readonly freeAttempts = 3,
    private readonly baseMs = 250,
    private readonly maxMs = 8000,
    private readonly forgetMs = 15 * 60_000,
    private readonly maxEntries = 10_000,
    private readonly globalFree = 30,
    private readonly globalHalfLifeMs = 60_000,
  ) {}

  private globalLevel(now: number): number {
    return this.global.level * 0.5 ** ((now - this.global.at) / this.globalHalfLifeMs);
  }

  private backoff(over: number): number {
    return over < 0 ? 0 : Math.min(this.maxMs, this.baseMs * 2 ** Math.min(over, 16));
  }

  /** How long to hold the answer to a failed attempt from this address. */
  delayFor(address: string, now = Date.now()): number {
    const key = addressKey(address);
    const f = this.failures.get(key);
    let local = 0;
    if (f && now - f.last > this.forgetMs) this.failures.delete(key);
    else if (f) local = this.backoff(f.count - this.freeAttempts);
    // Many addresses at once (a sweep of 127/8, many hosts): each attempt waits for all of them.
    const overAll = this.backoff(Math.floor((this.globalLevel(now) - this.globalFree) / this.globalFree));
    return Math.max(local, overAll);
  }

  /** Counts a failure; returns how long to hold its answer. */
  fail(address: string, now = Date.now()): number {
    const key = addressKey(address);
    const f = this.failures.get(key);
    this.failures.delete(key); // re-inserted last: the Map's order is the age order
    const count = f && now - f.last <= this.forgetMs ? f.count + 1 : 1;
    this.failures.set(key, { count, last: now });
    while (this.failures.size > this.maxEntries) this.failures.delete(this.failures.keys().next().value!);
    this.global = { level: this.globalLevel(now) + 1, at: now };
    return this.delayFor(address, now);
  }

  get size(): number {
    return this.failures.size;
  }
}

export const remoteAddress = (req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown';
