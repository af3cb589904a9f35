// The session's page secret (server/auth.ts): the login hands it over in the
// URL fragment (/#csrf=…), which no server sees; the page keeps it in this
// origin's localStorage, which a page on another port of the same host
// cannot read (cookies it could make the browser send; this it cannot), and
// sends it with every API request and console.
const KEY = 'vmdeck:csrf';
export const CSRF_HEADER = 'x-vmdeck-csrf';

/** The secret, taken from the fragment the login left (then removed from the address bar) or from storage. */
export function csrfSecret(): string {
  if (typeof window === 'undefined') return '';
  const m = /^#csrf=([A-Za-z0-9_-]+)$/.exec(window.location.hash);
  if (m) {
    window.localStorage.setItem(KEY, m[1]);
    window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
  }
  return window.localStorage.getItem(KEY) ?? '';
}

export const csrfHeaders = (): Record<string, string> => ({ [CSRF_HEADER]: csrfSecret() });

/** A URL the browser fetches by itself (EventSource, a download, a WebSocket), with the secret as ?csrf=. */
export function withCsrf(url: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}csrf=${encodeURIComponent(csrfSecret())}`;
}

/** POST /logout ends the session on the server; the page forgets its secret. */
export async function logout(): Promise<void> {
  await fetch('/logout', { method: 'POST', headers: csrfHeaders(), credentials: 'same-origin' }).catch(() => undefined);
  window.localStorage.removeItem(KEY);
  window.location.assign('/login');
}

/**
 * To the login page, which brings the user back here after it (the session
 * ended: the dashboard restarted, or this browser was logged out).
 */
export function toLogin(): void {
  const here = window.location.pathname + window.location.search;
  window.location.assign(here === '/' || here.startsWith('/login') ? '/login?ended=1' : `/login?ended=1&next=${encodeURIComponent(here)}`);
}
