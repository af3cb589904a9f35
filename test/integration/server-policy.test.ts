// Who may connect and what a page may do: a Host allowlist (DNS rebinding),
// framing refused (frame-ancestors 'none', X-Frame-Options: DENY), a policy
// on every answer, no image optimizer, and no /_next upgrade held open by a
// production server.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../../server/index';
import { hostName } from '../../server/http/policy';
import { sandbox } from '../helpers/guest';
import { bearer, TEST_TOKEN, WsClient } from '../helpers/server';

const sb = sandbox('policy');
const noBuild = mkdtempSync(join(tmpdir(), 'vd-nobuild-'));
let server: RunningServer;

before(async () => {
  sb.enter();
  process.env.VMDECK_TOKEN = TEST_TOKEN;
  server = await startServer({ host: '127.0.0.1', port: 0, dir: noBuild });
});
after(async () => {
  await server?.close();
  delete process.env.VMDECK_TOKEN;
  rmSync(noBuild, { recursive: true, force: true });
  sb.cleanup();
});

/** A request with this Host header (fetch would not let one be set). */
function get(path: string, host: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers: { Host: host, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a Host that is not one of the dashboard\'s names is refused (421) before anything else; loopback names pass', async () => {
  const port = server.port;
  for (const h of [`rebind.evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, `[::2]:${port}`]) {
    for (const path of ['/api/health', '/login', '/api/vms', '/']) {
      const r = await get(path, h, bearer);
      assert.equal(r.status, 421, `${h} ${path}: ${r.status}`);
    }
  }
  for (const h of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`, 'localhost']) {
    assert.equal((await get('/api/health', h)).status, 200, h);
  }
  await assert.rejects(WsClient.open(`ws://127.0.0.1:${port}/ws/vms/x/serial`, { headers: { ...bearer, Host: `rebind.evil.example:${port}` } }));
  assert.equal(hostName('[::1]:80'), '::1');
  assert.equal(hostName('a:b:c'), null);
});

test('every answer refuses framing and carries a policy; the login page runs no script', async () => {
  for (const [path, headers] of [['/login', {}], ['/api/health', {}], ['/api/vms', bearer], ['/api/vms', {}], ['/nowhere', {}]] as const) {
    const r = await get(path, `127.0.0.1:${server.port}`, headers);
    assert.equal(r.headers['x-frame-options'], 'DENY', path);
    assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/, path);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
  }
  const login = await get('/login', `127.0.0.1:${server.port}`);
  assert.match(String(login.headers['content-security-policy']), /script-src 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'(;|$)/);
});

test('/_next/image is not served, with or without the token', async () => {
  for (const headers of [{}, bearer]) {
    const r = await get('/_next/image?url=%2Ffavicon.ico&w=64&q=75', `127.0.0.1:${server.port}`, headers);
    assert.equal(r.status, 404);
  }
});

test('a production server closes /_next upgrades at once', async () => {
  for (const path of ['/_next/webpack-hmr', '/_next/hmr']) {
    const closedIn = await new Promise<number>((resolve, reject) => {
      const t0 = Date.now();
      const s = connect(server.port, '127.0.0.1', () => {
        s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
      });
      s.on('data', () => { /* nothing expected */ });
      s.on('close', () => resolve(Date.now() - t0));
      s.on('error', () => undefined);
      setTimeout(() => reject(new Error(`${path}: still open after 3 s`)), 3000);
    });
    assert.ok(closedIn < 1000, `${path} held ${closedIn} ms`);
  }
});
