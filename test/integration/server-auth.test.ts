// The dashboard server's door: every API route but /api/health and every
// WebSocket needs the token; cross-origin upgrades are refused; the login
// cookie; the delay after failed attempts; pages before a build; requests
// from other pages (CSRF) refused; labels in URLs are labels, never paths.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer, type RunningServer } from '../../server/index';
import { CONSOLE_KINDS } from '../../server/ws/index';
import { guestImages, sandbox } from '../helpers/guest';
import { api, bearer, closedWithin, TEST_TOKEN, WsClient } from '../helpers/server';

const sb = sandbox('srvauth');
let server: RunningServer;
let base: string;
const noBuild = mkdtempSync(join(tmpdir(), 'vd-nobuild-'));

before(async () => {
  sb.enter();
  process.env.VMDECK_TOKEN = TEST_TOKEN;
  // A directory without .next: the pages are "not built" whatever the repo holds.
  server = await startServer({ host: '127.0.0.1', port: 0, dir: noBuild });
  base = `http://127.0.0.1:${server.port}`;
});

after(async () => {
  await server?.close();
  delete process.env.VMDECK_TOKEN;
  rmSync(noBuild, { recursive: true, force: true });
  sb.cleanup();
});

const concrete = (pattern: string) => pattern.replace(':label', 'nosuchvm').replace(':name', 'snap1');

describe('API authentication', () => {
  test('every route of the router table but /api/health answers 401 without the token', async () => {
    const routes = server.router.routes;
    assert.ok(routes.length >= 19, `expected the full route table, got ${routes.length}`);
    for (const r of routes) {
      const res = await api(base, r.method, concrete(r.pattern), r.method === 'GET' ? undefined : {}, {});
      if (r.pattern === '/api/health') {
        assert.equal(res.status, 200);
        assert.equal(res.json.ok, true);
        continue;
      }
      assert.equal(res.status, 401, `${r.method} ${r.pattern} without a token: ${res.status} ${res.text}`);
      assert.match(res.json.error, /unauthorized/);
    }
  });

  test('a wrong bearer token is refused, the right one accepted, unknown routes need the token too', async () => {
    assert.equal((await api(base, 'GET', '/api/vms', undefined, { Authorization: 'Bearer nope' })).status, 401);
    assert.equal((await api(base, 'GET', '/api/nosuch', undefined, {})).status, 401);
    const ok = await api(base, 'GET', '/api/vms');
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, []);
    const missing = await api(base, 'GET', '/api/nosuch');
    assert.equal(missing.status, 404);
    assert.match(missing.json.error, /no API route GET \/api\/nosuch/);
    const method = await api(base, 'PUT', '/api/vms');
    assert.equal(method.status, 405);
    assert.equal(method.headers.get('allow'), 'GET, POST');
  });

  test('the token in the query string counts for no HTTP request, also one whose raw path starts with /ws/', async () => {
    /** A request with its path as written: fetch would resolve the dot segments first. */
    const raw = (method: string, path: string) => new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, method, path, headers: { 'Content-Type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(method === 'POST' ? '{"keys":["shift"]}' : undefined);
    });
    assert.equal(await raw('GET', `/api/vms?token=${TEST_TOKEN}`), 401);
    assert.equal(await raw('GET', `/ws/../api/vms?token=${TEST_TOKEN}`), 401);
    assert.equal(await raw('POST', `/ws/../api/vms/x/keys?token=${TEST_TOKEN}`), 401);
    assert.equal(await raw('GET', `/ws/%2e%2e/api/vms?token=${TEST_TOKEN}`), 401);
  });

  test('errors are {error, field} with the one-line message of server/', async () => {
    const res = await api(base, 'GET', '/api/vms/nosuchvm');
    assert.equal(res.status, 404);
    assert.equal(res.json.field, 'label');
    assert.match(res.json.error, /^label: no VM 'nosuchvm' under /);
    const bad = await api(base, 'POST', '/api/vms/preview', { label: 'x', memsize: 'lots' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.field, 'memsize');
    const json = await api(base, 'POST', '/api/vms/preview', '{not json');
    assert.equal(json.status, 400);
    assert.equal(json.json.field, 'body');
    // The hosts' routes (server/hostproxy.ts) read their bodies alike.
    for (const body of ['{not json', 'null']) {
      const host = await api(base, 'POST', '/api/hosts', body);
      assert.equal(host.status, 400, host.text);
      assert.equal(host.json.field, 'body');
    }
  });

  test('a body over 1 MiB is refused with 413', async () => {
    const res = await api(base, 'POST', '/api/vms/preview', { label: 'big', append: 'x'.repeat(1100 * 1024) });
    assert.equal(res.status, 413);
    assert.match(res.json.error, /body: larger than/);
  });

  test('GET /login?token= sets an HttpOnly SameSite=Strict cookie and redirects to / with the page secret in the fragment', async () => {
    const res = await fetch(`${base}/login?token=${TEST_TOKEN}`, { redirect: 'manual' });
    assert.equal(res.status, 303);
    assert.match(res.headers.get('location') ?? '', /^\/#csrf=[A-Za-z0-9_-]{40,}$/);
    const cookie = res.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.ok(!cookie.includes(TEST_TOKEN), 'the cookie does not carry the token itself');
    const session = cookie.split(';')[0];
    const csrf = (res.headers.get('location') ?? '').split('=')[1];
    assert.equal((await api(base, 'GET', '/api/vms', undefined, { Cookie: session, 'X-Vmdeck-Csrf': csrf })).status, 200);
    assert.equal((await api(base, 'GET', '/api/vms', undefined, { Cookie: 'vmdeck_session=forged' })).status, 401);
    const wrong = await fetch(`${base}/login?token=wrong`, { redirect: 'manual' });
    assert.equal(wrong.status, 303);
    assert.match(wrong.headers.get('location') ?? '', /^\/login\?error=/);
    assert.equal(wrong.headers.get('set-cookie'), null);
    const out = await fetch(`${base}/logout`, { method: 'POST', redirect: 'manual', headers: { Cookie: session, 'X-Vmdeck-Csrf': csrf } });
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
  });

  test('logged-out page visits go to /login; assets pass; unbuilt pages answer 503 with the hint', async () => {
    const page = await fetch(`${base}/vms/x?tab=serial`, { redirect: 'manual' });
    assert.equal(page.status, 303);
    // The login brings the user back to the page asked for; never to another site.
    assert.equal(page.headers.get('location'), `/login?next=${encodeURIComponent('/vms/x?tab=serial')}`);
    const back = await fetch(`${base}/login?token=${TEST_TOKEN}&next=${encodeURIComponent('/vms/x?tab=serial')}`, { redirect: 'manual' });
    assert.match(back.headers.get('location') ?? '', /^\/vms\/x\?tab=serial#csrf=[A-Za-z0-9_-]{40,}$/);
    for (const away of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', '/api/vms', '/login?next=/x', 'vms/x', '/\0x', '/vms/\u65e5', '/\u00e9', '/a b']) {
      const r = await fetch(`${base}/login?token=${TEST_TOKEN}&next=${encodeURIComponent(away)}`, { redirect: 'manual' });
      assert.match(r.headers.get('location') ?? '', /^\/#csrf=/, away);
    }
    const asset = await fetch(`${base}/_next/static/chunks/x.js`, { redirect: 'manual' });
    assert.equal(asset.status, 503);
    const login = await fetch(`${base}/login`, { redirect: 'manual' });
    assert.equal(login.status, 200);
    assert.match(await login.text(), /name="token"/);
    const home = await fetch(`${base}/`, { headers: bearer, redirect: 'manual' });
    assert.equal(home.status, 503);
    assert.match(await home.text(), /run npm run build/);
  });

  test('failed attempts slow down the next failed ones; the right token is answered at once all along', async () => {
    // A server of its own: its failure counts are not the other tests'.
    const own = await startServer({ host: '127.0.0.1', port: 0, dir: noBuild });
    try {
      const ownBase = `http://127.0.0.1:${own.port}`;
      const timings: number[] = [];
      for (let i = 0; i < 6; i++) {
        const t0 = Date.now();
        assert.equal((await api(ownBase, 'GET', '/api/vms', undefined, { Authorization: `Bearer guess${i}` })).status, 401);
        timings.push(Date.now() - t0);
      }
      assert.ok(timings[5] >= 400, `the sixth failure waited only ${timings[5]} ms (${timings.join(', ')})`);
      assert.ok(timings[5] > timings[0], `no growth: ${timings.join(', ')}`);
      // Load on a shared machine varies: "at once" is measured against the failures' own delays (2 s and more by now).
      const t0 = Date.now();
      assert.equal((await api(ownBase, 'GET', '/api/vms')).status, 200);
      assert.ok(Date.now() - t0 < 1000, `the right token waited ${Date.now() - t0} ms after the failures`);
      // Guesses in flight (held) do not hold the right token either, nor a console.
      const held = Array.from({ length: 5 }, (_, i) => api(ownBase, 'GET', '/api/vms', undefined, { Authorization: `Bearer more${i}` }));
      const t1 = Date.now();
      assert.equal((await api(ownBase, 'GET', '/api/vms')).status, 200);
      assert.ok(Date.now() - t1 < 1000, `the right token waited ${Date.now() - t1} ms beside held guesses`);
      const t2 = Date.now();
      const c = await WsClient.open(`ws://127.0.0.1:${own.port}/ws/vms/nosuchvm/serial`, { headers: bearer });
      assert.ok(Date.now() - t2 < 1000, `the console opened after ${Date.now() - t2} ms beside held guesses`);
      assert.equal((await closedWithin(c)).code, 4404);
      const t3 = Date.now();
      for (const r of await Promise.all(held)) assert.equal(r.status, 401);
      assert.ok(Date.now() - t3 >= 1000, 'the held guesses were held');
    } finally {
      await own.close();
    }
  });
});

/** The session of /login?token=: its cookie, with the page secret (as the dashboard's page sends them). */
async function sessionCookie(): Promise<Record<string, string>> {
  const res = await fetch(`${base}/login?token=${TEST_TOKEN}`, { redirect: 'manual' });
  return { Cookie: (res.headers.get('set-cookie') ?? '').split(';')[0], 'X-Vmdeck-Csrf': (res.headers.get('location') ?? '').split('=')[1] };
}

/** A request with exactly these headers and body (no JSON added). */
async function raw(method: string, path: string, headers: Record<string, string>, body?: string) {
  const res = await fetch(`${base}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json: any = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

describe('requests from other pages (CSRF)', () => {
  test('a text/plain POST from another port of 127.0.0.1 with the session cookie is refused before anything runs', async () => {
    const cookie = await sessionCookie();
    const marker = join(sb.home, 'csrf-ran');
    const images = guestImages();
    const body = JSON.stringify({
      label: 'csrf', template: 'kernel-initrd', kernel: images.kernel, initrd: images.initrd, append: images.append,
      // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
      accelerator: 'QEMU', memsize: 256, argsAdd: ['-incoming', `exec:touch ${marker}`], start: true,
    });
    const attack = await raw('POST', '/api/vms', { ...cookie, Origin: 'http://127.0.0.1:8080', 'Content-Type': 'text/plain' }, body);
    assert.equal(attack.status, 403, attack.text);
    assert.match(attack.json.error, /origin/);
    // The same with a JSON type (which needs a CORS preflight, which nothing answers): still another origin.
    const json = await raw('POST', '/api/vms', { ...cookie, Origin: 'http://127.0.0.1:8080', 'Content-Type': 'application/json' }, body);
    assert.equal(json.status, 403, json.text);
    const deletion = await raw('DELETE', '/api/vms/nosuchvm', { ...cookie, Origin: 'http://localhost:8080' });
    assert.equal(deletion.status, 403, deletion.text);
    const opaque = await raw('POST', '/api/vms/nosuchvm/start', { ...cookie, Origin: 'null' });
    assert.equal(opaque.status, 403, opaque.text);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!existsSync(marker), 'the command in argsAdd ran');
    assert.ok(!existsSync(join(sb.home, 'vms', 'csrf')), 'the VM was created');
  });

  test('Sec-Fetch-Site other than same-origin or none is refused; the dashboard\'s own requests pass', async () => {
    const cookie = await sessionCookie();
    const own = `http://127.0.0.1:${server.port}`;
    for (const site of ['same-site', 'cross-site']) {
      const res = await raw('POST', '/api/vms/preview', { ...cookie, 'Sec-Fetch-Site': site, 'Content-Type': 'application/json' }, '{"label":"x"}');
      assert.equal(res.status, 403, `${site}: ${res.text}`);
    }
    for (const headers of [
      { Origin: own, 'Sec-Fetch-Site': 'same-origin' },
      { 'Sec-Fetch-Site': 'none' },
      {},
    ] as Record<string, string>[]) {
      const res = await raw('POST', '/api/vms/preview', { ...cookie, ...headers, 'Content-Type': 'application/json; charset=utf-8' }, '{"label":"same1","template":"blank"}');
      assert.notEqual(res.status, 403, `${JSON.stringify(headers)}: ${res.text}`);
      assert.notEqual(res.status, 415, `${JSON.stringify(headers)}: ${res.text}`);
    }
    // Reading is not refused for its origin: GET changes nothing, and the browser keeps the answer from the other page.
    assert.equal((await raw('GET', '/api/vms', { ...cookie, Origin: 'http://127.0.0.1:8080', 'Sec-Fetch-Site': 'same-site' })).status, 200);
  });

  test('a body must be application/json (415), whoever sends it; no body needs no type', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await raw('POST', '/api/vms/preview', { ...bearer, 'Content-Type': type }, '{"label":"x"}');
      assert.equal(res.status, 415, `${type}: ${res.text}`);
      assert.match(res.json.error, /application\/json/);
    }
    const untyped = await raw('POST', '/api/vms/preview', bearer, '{"label":"x"}');
    assert.equal(untyped.status, 415, untyped.text);
    // A POST without a body (curl -X POST) reaches its route.
    const empty = await raw('POST', '/api/vms/nosuchvm/start', bearer);
    assert.equal(empty.status, 404, empty.text);
    assert.equal(empty.json.field, 'label');
  });
});

describe('labels and names in URLs', () => {
  test('an encoded path is not a label: no config outside the bases is read, run or deleted', async () => {
    const victim = join(sb.home, 'victim');
    const marker = join(sb.home, 'victim-ran');
    mkdirSync(victim, { recursive: true });
    writeFileSync(join(victim, 'victim.ctys'), `#@#MAGICID-QEMU\n#@#LABEL = "victim"\nLABEL=victim\nif true; then touch '${marker}'; fi\n`);
    for (const [method, path] of [
      ['GET', `/api/vms/${encodeURIComponent(victim)}`],
      ['GET', `/api/vms/${encodeURIComponent(victim)}/serial.log`],
      ['GET', `/api/vms/${encodeURIComponent(`${victim}/victim.ctys`)}/snapshots`],
      ['DELETE', `/api/vms/${encodeURIComponent(victim)}`],
      ['POST', `/api/vms/${encodeURIComponent(victim)}/start`],
      ['GET', '/api/vms/..%2Fconfig'],
      ['GET', '/api/vms/.hidden'],
    ]) {
      const res = await api(base, method, path);
      assert.equal(res.status, 400, `${method} ${path}: ${res.text}`);
      assert.equal(res.json.field, 'label');
      assert.match(res.json.error, /^label: '.*' is not a valid label/);
    }
    assert.ok(!existsSync(marker), 'the config was sourced');
    assert.ok(existsSync(join(victim, 'victim.ctys')), 'the directory was deleted');
  });

  test('snapshot and switch names are checked before the VM or switch is looked for', async () => {
    for (const [method, path] of [
      ['DELETE', '/api/vms/nosuchvm/snapshots/..%2Fx'],
      ['POST', '/api/vms/nosuchvm/snapshots/%2Fetc%2Fpasswd/load'],
      ['GET', '/api/networks/..%2Fx'],
      ['DELETE', '/api/networks/a%2Fb'],
    ]) {
      const res = await api(base, method, path);
      assert.equal(res.status, 400, `${method} ${path}: ${res.text}`);
      assert.equal(res.json.field, 'name');
    }
  });

  test('401 comes before 400: a bad %-escape without a token is unauthorized, with one a bad label', async () => {
    const anonymous = await api(base, 'GET', '/api/vms/%E0', undefined, {});
    assert.equal(anonymous.status, 401, anonymous.text);
    const deeper = await api(base, 'DELETE', '/api/vms/x/snapshots/%E0', undefined, {});
    assert.equal(deeper.status, 401, deeper.text);
    const authed = await api(base, 'GET', '/api/vms/%E0');
    assert.equal(authed.status, 400, authed.text);
    assert.equal(authed.json.field, 'label');
  });

  test('a console of an encoded path, or of a bad %-escape, closes 4404 after the token check', async () => {
    const wsBase = `ws://127.0.0.1:${server.port}`;
    const victim = encodeURIComponent(join(sb.home, 'victim'));
    for (const label of [victim, '..%2Fconfig', '%E0']) {
      const anonymous = await WsClient.open(`${wsBase}/ws/vms/${label}/serial`);
      assert.equal((await closedWithin(anonymous)).code, 4401, label);
      const c = await WsClient.open(`${wsBase}/ws/vms/${label}/serial`, { headers: bearer });
      const closed = await closedWithin(c);
      assert.equal(closed.code, 4404, `${label}: ${JSON.stringify(closed)}`);
      assert.match(closed.reason, /^label: /);
    }
  });
});

describe('WebSocket authentication', () => {
  const wsBase = () => `ws://127.0.0.1:${server.port}`;

  test('every console endpoint closes with 4401 without a token or with a wrong one', async () => {
    for (const kind of CONSOLE_KINDS) {
      for (const headers of [{}, { Authorization: 'Bearer wrong' }] as Record<string, string>[]) {
        const c = await WsClient.open(`${wsBase()}/ws/vms/nosuchvm/${kind}`, { headers });
        const closed = await closedWithin(c);
        assert.equal(closed.code, 4401, `${kind}: ${JSON.stringify(closed)}`);
      }
    }
  });

  test('with the token (header, cookie or ?token=) an unknown VM closes with 4404', async () => {
    const { Cookie, 'X-Vmdeck-Csrf': csrf } = await sessionCookie();
    const ways: [string, Record<string, string>][] = [
      [`${wsBase()}/ws/vms/nosuchvm/serial`, bearer],
      [`${wsBase()}/ws/vms/nosuchvm/vnc?csrf=${csrf}`, { Cookie }],
      [`${wsBase()}/ws/vms/nosuchvm/monitor?token=${TEST_TOKEN}`, {}],
    ];
    for (const [url, headers] of ways) {
      const c = await WsClient.open(url, { headers, origin: `http://127.0.0.1:${server.port}` });
      const closed = await closedWithin(c);
      assert.equal(closed.code, 4404, `${url}: ${JSON.stringify(closed)}`);
      assert.match(closed.reason, /nosuchvm/);
    }
  });

  test('an upgrade whose Origin does not match Host is refused with 403 before the upgrade', async () => {
    for (const kind of CONSOLE_KINDS) {
      await assert.rejects(
        WsClient.open(`${wsBase()}/ws/vms/nosuchvm/${kind}`, { headers: bearer, origin: 'http://evil.example' }),
        (e: Error & { status?: number }) => e.status === 403,
      );
    }
    await assert.rejects(
      WsClient.open(`${wsBase()}/ws/nowhere`, { headers: bearer }),
      (e: Error & { status?: number }) => e.status === 404,
    );
  });
});

describe('the token file', () => {
  test('without VMDECK_TOKEN a token is generated once into $VMDECK_HOME/token (0600) and printed as a login URL', async () => {
    delete process.env.VMDECK_TOKEN;
    try {
      const first = await startServer({ host: '127.0.0.1', port: 0, dir: noBuild });
      await first.close();
      const file = join(sb.home, 'token');
      assert.equal(first.tokenFile, file);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const token = readFileSync(file, 'utf8').trim();
      assert.ok(token.length >= 24);
      assert.equal(first.loginUrl, `http://127.0.0.1:${first.port}/login?token=${token}`);
      const second = await startServer({ host: '127.0.0.1', port: 0, dir: noBuild });
      await second.close();
      assert.ok(second.loginUrl.endsWith(`token=${token}`), 'the same token after a restart');
    } finally {
      process.env.VMDECK_TOKEN = TEST_TOKEN;
    }
  });
});
