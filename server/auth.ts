// The dashboard's access token: VMDECK_TOKEN, or one generated once into
// $VMDECK_HOME/token (0600). A request proves it with `Authorization: Bearer`,
// the session cookie that /login sets, or (WebSockets only) `?token=`.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { dirname, join } from 'node:path';
import { vmdeckHome } from './paths';

export const SESSION_COOKIE = 'vmdeck_session';

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
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

/**
 * Checks tokens in constant time: both sides are hashed first, so neither
 * the content nor the length of the real token leaks through timing.
 */
export class Auth {
  private readonly tokenHash: Buffer;
  /** The cookie carries a value derived from the token, not the token itself. */
  readonly sessionValue: string;
  private readonly sessionHash: Buffer;
  readonly throttle = new Throttle();

  constructor(token: string) {
    this.tokenHash = sha256(token);
    this.sessionValue = createHash('sha256').update(`vmdeck-session:${token}`).digest('base64url');
    this.sessionHash = sha256(this.sessionValue);
  }

  tokenMatches(candidate: string): boolean {
    return timingSafeEqual(sha256(candidate), this.tokenHash);
  }

  private sessionMatches(candidate: string): boolean {
    return timingSafeEqual(sha256(candidate), this.sessionHash);
  }

  /** What the request carries; `allowQuery` for WebSockets, which cannot set headers in a browser. */
  check(req: IncomingMessage, allowQuery = false): Credentials {
    const header = req.headers.authorization;
    if (header) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      return { presented: true, ok: m !== null && this.tokenMatches(m[1]) };
    }
    const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    if (cookie) return { presented: true, ok: this.sessionMatches(cookie) };
    if (allowQuery) {
      const q = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
      if (q !== null) return { presented: true, ok: this.tokenMatches(q) };
    }
    return { presented: false, ok: false };
  }

  sessionCookie(secure: boolean): string {
    return `${SESSION_COOKIE}=${this.sessionValue}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${30 * 86400}${secure ? '; Secure' : ''}`;
  }

  static clearedCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }
}

/**
 * A growing delay after failed attempts, per remote address: nothing for the
 * first few, then doubling up to a bound. Bounded in memory too: old entries
 * expire and the table has a maximum size.
 */
export class Throttle {
  private readonly failures = new Map<string, { count: number; last: number }>();

  constructor(
    private readonly freeAttempts = 3,
    private readonly baseMs = 250,
    private readonly maxMs = 8000,
    private readonly forgetMs = 15 * 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  /** How long to hold the answer to a request from this address. */
  delayFor(address: string, now = Date.now()): number {
    const f = this.failures.get(address);
    if (!f) return 0;
    if (now - f.last > this.forgetMs) {
      this.failures.delete(address);
      return 0;
    }
    const over = f.count - this.freeAttempts;
    return over < 0 ? 0 : Math.min(this.maxMs, this.baseMs * 2 ** Math.min(over, 16));
  }

  fail(address: string, now = Date.now()): void {
    const f = this.failures.get(address);
    this.failures.delete(address); // re-inserted last: the Map's order is the age order
    this.failures.set(address, { count: (f?.count ?? 0) + 1, last: now });
    while (this.failures.size > this.maxEntries) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }
}

export const remoteAddress = (req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown';
