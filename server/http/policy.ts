// Who may talk to the dashboard, and what its pages may do in a browser.
// A Host allowlist (DNS rebinding: a name of the attacker's that resolves to
// 127.0.0.1 would make its pages "same origin"), a Content-Security-Policy
// that allows only the page's own scripts (a per-response nonce, which Next
// puts on its scripts) and no framing, X-Frame-Options for older browsers.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** The names the dashboard answers to: loopback, the --host it listens on (for a wildcard, this machine's addresses and name). */
export function allowedHosts(host: string): Set<string> {
  const out = new Set(['127.0.0.1', 'localhost', '::1']);
  if (!WILDCARD.has(host)) out.add(host.toLowerCase());
  else {
    out.add(hostname().toLowerCase());
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address.toLowerCase());
  }
  return out;
}

/** The host name of a Host header, without its port and IPv6 brackets; null when it is not one. */
export function hostName(header: string): string | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/.exec(header.trim());
  if (!m) return null;
  return (m[1] ?? m[2]).toLowerCase().replace(/\.$/, '');
}

/** Whether the request names one of our hosts (a request without Host, HTTP/1.0 from a script, is no browser's). */
export function hostAllowed(req: IncomingMessage, allowed: Set<string>): boolean {
  const header = req.headers.host;
  if (header === undefined) return true;
  const name = hostName(header);
  return name !== null && allowed.has(name);
}

const COMMON = "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** A page's policy: scripts by this response's nonce only ('strict-dynamic': what they load themselves); dev mode's reloader needs eval. */
export function pagePolicy(nonce: string, dev: boolean): string {
  return `${COMMON}; script-src 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ''}; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; font-src 'self' data:; connect-src 'self'`;
}

/** Everything that is not a page (JSON, images, logs, assets): nothing runs, nothing frames it. */
export const RESOURCE_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox";

/** The headers every answer carries. */
export function secureResponse(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', RESOURCE_POLICY);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

/**
 * A page answer's policy with a fresh nonce; Next reads the nonce from the
 * request's Content-Security-Policy header (as a middleware would set it)
 * and puts it on every script it writes.
 */
export function pageNonce(req: IncomingMessage, res: ServerResponse, dev: boolean): void {
  const policy = pagePolicy(randomBytes(16).toString('base64'), dev);
  req.headers['content-security-policy'] = policy;
  res.setHeader('Content-Security-Policy', policy);
}
