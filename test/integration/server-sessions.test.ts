// A cookie is not enough: a browser logged in to the dashboard sends its
// session cookie to every port of 127.0.0.1, e.g. to a guest's web server
// reached through HOSTFWD. That server, holding the cookie, can neither read
// VM data nor act, nor open a console: each needs the session's page secret,
// which only the dashboard's origin holds. Sessions are the server's: a
// logout (POST, from the page) or a token change ends them; GET /logout does
// nothing.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../../server/index';
import { Sessions } from '../../server/auth';
import { startVm } from '../../server/runner';
import { createVm } from '../../server/store';
import { SESSION_ENDED } from '../../server/ws/index';
import { demoVmEnv, sandbox } from '../helpers/guest';
import { api, bearer, closedWithin, TEST_TOKEN, WsClient } from '../helpers/server';
import { quitVm } from '../helpers/vms';

const sb = sandbox('sessions');
const noBuild = mkdtempSync(join(tmpdir(), 'vd-nobuild-'));
let server: RunningServer;
let base: string;

before(async () => {
  sb.enter();
  process.env.VMDECK_TOKEN = TEST_TOKEN;
  server = await startServer({ host: '127.0.0.1', port: 0, dir: noBuild });
  base = `http://127.0.0.1:${server.port}`;
});

after(async () => {
  await server?.close();
  delete process.env.VMDECK_TOKEN;
  rmSync(noBuild, { recursive: true, force: true });
  sb.cleanup();
});

async function login(at = base, token = TEST_TOKEN): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${at}/login?token=${token}`, { redirect: 'manual' });
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0], csrf: (res.headers.get('location') ?? '').split('#csrf=')[1] };
}

/** A server of its own whose token is in $VMDECK_HOME/token (written with this one), not in VMDECK_TOKEN. */
async function serverWithTokenFile(token: string): Promise<{ own: RunningServer; ownBase: string; file: string }> {
  delete process.env.VMDECK_TOKEN;
  const file = join(sb.home, 'token');
  mkdirSync(sb.home, { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  try {
    const own = await startServer({ host: '127.0.0.1', port: 0, dir: noBuild });
    return { own, ownBase: `http://127.0.0.1:${own.port}`, file };
  } finally {
    process.env.VMDECK_TOKEN = TEST_TOKEN;
  }
}

describe('a cookie captured on another port of 127.0.0.1', () => {
  let browser: Browser;
  let guestSite: Server;
  const seen: { cookie?: string; storage?: string; cookieJs?: string } = {};

  before(async () => {
    // The "guest's web server": records what the browser brings, and what its page can read.
    guestSite = createServer((req, res) => {
      if (req.url === '/') {
        seen.cookie = req.headers.cookie;
        res.writeHead(200, { 'Content-Type': 'text/html' }).end(
          '<script>fetch("/report", {method: "POST", body: JSON.stringify({storage: JSON.stringify(Object.assign({}, localStorage)), cookie: document.cookie})})</script>');
        return;
      }
      if (req.url !== '/report') {
        res.writeHead(404).end();
        return;
      }
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        const r = JSON.parse(body);
        seen.storage = r.storage;
        seen.cookieJs = r.cookie;
        res.end();
      });
    });
    await new Promise<void>((r) => guestSite.listen(0, '127.0.0.1', () => r()));
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  });
  after(async () => {
    await browser?.close();
    guestSite?.close();
  });

  test('reads no VM data, creates nothing, opens no console', { timeout: 60000 }, async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/login?token=${TEST_TOKEN}`);
    await page.goto(`http://127.0.0.1:${(guestSite.address() as { port: number }).port}/`);
    for (let i = 0; i < 100 && seen.storage === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    await page.close();
    assert.match(seen.cookie ?? '', /vmdeck_session=/, 'the browser sent the dashboard cookie to the other port (the premise)');
    assert.equal(seen.cookieJs, '', 'the other page reads no cookie (HttpOnly)');
    assert.equal(seen.storage, '{}', 'the other page reads no page secret');
    const Cookie = seen.cookie!;
    const host = `127.0.0.1:${server.port}`;

    for (const path of ['/api/vms', '/api/vms/x', '/api/host', '/api/sessions', '/api/events']) {
      const r = await api(base, 'GET', path, undefined, { Cookie });
      assert.equal(r.status, 403, `GET ${path} on the cookie alone: ${r.status} ${r.text}`);
      assert.equal(r.json.field, 'csrf');
    }
    // Forged as a non-browser client would: Origin and Host agree, a JSON body.
    const create = await api(base, 'POST', '/api/vms', { label: 'stolen', template: 'blank' }, { Cookie, Origin: `http://${host}` });
    assert.equal(create.status, 403, create.text);
    assert.equal((await api(base, 'GET', '/api/vms')).json.length, 0, 'no VM was created');
    const ws = await WsClient.open(`ws://${host}/ws/vms/x/serial`, { headers: { Cookie } });
    const closed = await closedWithin(ws);
    assert.equal(closed.code, 4401, JSON.stringify(closed));
    assert.match(closed.reason, /csrf/);
  });
});

describe('sessions', () => {
  test('the page secret opens the API and the consoles; a wrong one does not', async () => {
    const { cookie, csrf } = await login();
    assert.equal((await api(base, 'GET', '/api/vms', undefined, { Cookie: cookie, 'X-Vmdeck-Csrf': csrf })).status, 200);
    assert.equal((await api(base, 'GET', `/api/vms?csrf=${csrf}`, undefined, { Cookie: cookie })).status, 200);
    assert.equal((await api(base, 'GET', '/api/vms', undefined, { Cookie: cookie, 'X-Vmdeck-Csrf': `${csrf}x` })).status, 403);
    const ws = await WsClient.open(`ws://127.0.0.1:${server.port}/ws/vms/nosuchvm/serial?csrf=${csrf}`, { headers: { Cookie: cookie } });
    assert.equal((await closedWithin(ws)).code, 4404, 'past the door: the VM is unknown');
  });

  test('each login is its own session with its own secret; listed without cookies or secrets, and revocable', async () => {
    const a = await login();
    const b = await login();
    assert.notEqual(a.cookie, b.cookie);
    assert.notEqual(a.csrf, b.csrf);
    assert.equal((await api(base, 'GET', '/api/vms', undefined, { Cookie: a.cookie, 'X-Vmdeck-Csrf': b.csrf })).status, 403, "another session's secret");
    const list = await api(base, 'GET', '/api/sessions');
    assert.equal(list.status, 200);
    const text = JSON.stringify(list.json);
    for (const secret of [a.cookie.split('=')[1], a.csrf, b.cookie.split('=')[1], b.csrf]) assert.ok(!text.includes(secret), 'a listing carries no cookie or secret');
    assert.ok(list.json.length >= 2);
    for (const s of list.json) assert.equal((await api(base, 'DELETE', `/api/sessions/${s.handle}`)).status, 200);
    assert.equal((await api(base, 'GET', '/api/vms', undefined, { Cookie: a.cookie, 'X-Vmdeck-Csrf': a.csrf })).status, 401, 'revoked');
  });

  test('POST /logout from the page ends the session; GET /logout does nothing', async () => {
    const { cookie, csrf } = await login();
    const headers = { Cookie: cookie, 'X-Vmdeck-Csrf': csrf };
    const get = await fetch(`${base}/logout`, { headers: { Cookie: cookie }, redirect: 'manual' });
    assert.equal(get.status, 405);
    assert.equal((await api(base, 'GET', '/api/vms', undefined, headers)).status, 200, 'GET /logout left the session alone');
    const foreign = await fetch(`${base}/logout`, { method: 'POST', headers: { ...headers, Origin: 'http://127.0.0.1:8080' } });
    assert.equal(foreign.status, 403, 'a logout from another page is refused');
    const noSecret = await fetch(`${base}/logout`, { method: 'POST', headers: { Cookie: cookie } });
    assert.equal(noSecret.status, 403, 'a logout without the secret is refused');
    const out = await fetch(`${base}/logout`, { method: 'POST', headers });
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
    assert.equal((await api(base, 'GET', '/api/vms', undefined, headers)).status, 401, 'the session ended on the server, not only in the browser');
  });

  test('a new token in $VMDECK_HOME/token ends every session and is the token from then on', { timeout: 30000 }, async () => {
    const { own, ownBase, file } = await serverWithTokenFile('first-token-0123456789');
    try {
      const session = await login(ownBase, 'first-token-0123456789');
      const headers = { Cookie: session.cookie, 'X-Vmdeck-Csrf': session.csrf };
      assert.equal((await api(ownBase, 'GET', '/api/vms', undefined, headers)).status, 200);
      writeFileSync(file, 'second-token-0123456789\n');
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await api(ownBase, 'GET', '/api/vms', undefined, headers)).status, 401, 'the old session');
      assert.equal((await api(ownBase, 'GET', '/api/vms', undefined, { Authorization: 'Bearer first-token-0123456789' })).status, 401, 'the old token');
      assert.equal((await api(ownBase, 'GET', '/api/vms', undefined, { Authorization: 'Bearer second-token-0123456789' })).status, 200, 'the new token');
    } finally {
      await own.close();
    }
  });

  test('sessions expire when idle and at their absolute age, and are bounded in number', () => {
    const s = new Sessions(1000, 5000);
    const { id } = s.create('127.0.0.1', 0);
    assert.ok(s.find(id, 900), 'in use');
    assert.ok(s.find(id, 1800), 'each use renews the idle time');
    assert.equal(s.find(id, 2900), null, 'idle past 1 s');
    const { id: busy } = s.create('127.0.0.1', 0);
    for (let t = 500; t < 5000; t += 500) assert.ok(s.find(busy, t));
    assert.equal(s.find(busy, 5100), null, 'past its absolute age, however busy');
    const many = new Sessions();
    const first = many.create('127.0.0.1').id;
    for (let i = 0; i < 1000; i++) many.create('127.0.0.1');
    assert.equal(many.find(first), null, 'the oldest went past the bound');
    assert.equal(many.list().length, 1000);
    // The sweep ends an expired session with what it opened, unused since.
    const swept = new Sessions(1000, 5000);
    const { session } = swept.create('127.0.0.1', 0);
    let ended = 0;
    swept.whenEnded(session, () => ended++);
    swept.sweep(900);
    assert.equal(ended, 0, 'not yet idle');
    swept.sweep(1100);
    assert.equal(ended, 1, 'idle past 1 s: ended by the sweep');
  });
});

describe("a session's consoles and event stream end with it", () => {
  const LABEL = 'sess1';
  before(async () => {
    await createVm({ label: LABEL, template: 'kernel-initrd', env: demoVmEnv() });
    await startVm(LABEL);
  });
  after(() => quitVm(sb.run, LABEL));

  const monitor = async (query: string, headers: Record<string, string> = {}) => {
    const m = await WsClient.open(`ws://127.0.0.1:${server.port}/ws/vms/${LABEL}/monitor?${query}`, { headers });
    await m.waitFor(/\(qemu\) /, 15000);
    return m;
  };
  /** GET /api/events, open; its `ended` resolves when the server ends the stream. */
  const events = async (headers: Record<string, string>) => {
    const res = await fetch(`${base}/api/events`, { headers });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /^retry: /);
    const ended = (async () => {
      try {
        while (!(await reader.read()).done) { /* events */ }
      } catch { /* cut: ended as well */ }
    })();
    return { ended };
  };
  const within = <T>(p: Promise<T>, ms: number, what: string) => Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);

  test('a logout closes the consoles and the event stream that session opened (4401); other sessions and the token go on', { timeout: 90000 }, async () => {
    const a = await login();
    const b = await login();
    const aMon = await monitor(`csrf=${a.csrf}`, { Cookie: a.cookie });
    const bMon = await monitor(`csrf=${b.csrf}`, { Cookie: b.cookie });
    const tokenMon = await monitor(`token=${TEST_TOKEN}`);
    const aEvents = await events({ Cookie: a.cookie, 'X-Vmdeck-Csrf': a.csrf });
    const out = await fetch(`${base}/logout`, { method: 'POST', headers: { Cookie: a.cookie, 'X-Vmdeck-Csrf': a.csrf } });
    assert.equal(out.status, 200);
    assert.deepEqual(await closedWithin(aMon, 5000), { code: 4401, reason: SESSION_ENDED });
    await within(aEvents.ended, 5000, 'the event stream of the logged-out session ended');
    // The others answer: the session's end is its own.
    await bMon.run('info status', /VM status: running/);
    await tokenMon.run('info status', /VM status: running/);
    // A revoke is an end too.
    const listed = await api(base, 'GET', '/api/sessions', undefined, bearer);
    const handles = (listed.json as { handle: string }[]).map((x) => x.handle);
    for (const h of handles) assert.equal((await api(base, 'DELETE', `/api/sessions/${h}`, undefined, bearer)).status < 300, true);
    assert.deepEqual(await closedWithin(bMon, 5000), { code: 4401, reason: SESSION_ENDED });
    await tokenMon.run('info status', /VM status: running/);
    tokenMon.ws.close();
  });

  test('a new token closes the consoles and event streams opened with the old one or its sessions, with no request to notice it', { timeout: 90000 }, async () => {
    const { own, ownBase, file } = await serverWithTokenFile('old-token-0123456789');
    try {
      const { cookie, csrf } = await login(ownBase, 'old-token-0123456789');
      const open = async (query: string, headers: Record<string, string> = {}) => {
        const m = await WsClient.open(`ws://127.0.0.1:${own.port}/ws/vms/${LABEL}/monitor?${query}`, { headers });
        await m.waitFor(/\(qemu\) /, 15000);
        return m;
      };
      const sessionMon = await open(`csrf=${csrf}`, { Cookie: cookie });
      const tokenMon = await open('token=old-token-0123456789');
      const stream = await fetch(`${ownBase}/api/events`, { headers: { Cookie: cookie, 'X-Vmdeck-Csrf': csrf } });
      assert.equal(stream.status, 200);
      const reader = stream.body!.getReader();
      const streamEnded = (async () => {
        try {
          while (!(await reader.read()).done) { /* events */ }
        } catch { /* cut: ended as well */ }
      })();
      // Nothing is asked of the server from here on: its own look at the token file notices.
      writeFileSync(file, 'new-token-0123456789\n');
      assert.deepEqual(await closedWithin(sessionMon, 5000), { code: 4401, reason: SESSION_ENDED });
      assert.deepEqual(await closedWithin(tokenMon, 5000), { code: 4401, reason: SESSION_ENDED });
      await within(streamEnded, 5000, "the old session's event stream ended");
      const fresh = await open('token=new-token-0123456789');
      await fresh.run('info status', /VM status: running/);
      fresh.ws.close();
    } finally {
      await own.close();
    }
  });
});
