// The README's first command after setup: `npm run demo` (scripts/demo.sh),
// run as it is, with nothing pinned but a private home, runtime dir and port
// (PORT=0: any free one; the README's 3000 may be taken here). The token is
// the one it generates and prints as the login URL. It makes
// the demo VM with this host's defaults, starts it and serves the dashboard;
// the demo guest's shell answers on the serial WebSocket and its VNC screen
// draws.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { PROMPT, REPO, sandbox, type Sandbox } from '../helpers/guest';
import { api, WsClient } from '../helpers/server';

let sb: Sandbox;
let demo: ChildProcess | undefined;
let out = '';
let base = '';
let auth: Record<string, string> = {};

before(async () => {
  sb = sandbox('demo');
  demo = spawn('npm', ['run', 'demo'], {
    cwd: REPO,
    env: { ...sb.env, VMDECK_TOKEN: '', PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  demo.stdout!.on('data', (d) => { out += d; });
  demo.stderr!.on('data', (d) => { out += d; });
  base = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the demo did not serve within 180 s:\n${out}`)), 180000);
    const look = () => {
      // The listening line, then the login URL with the generated token.
      const m = /dashboard on (http:\/\/127\.0\.0\.1:\d+)\/[^]*\/login\?token=\S+\n/.exec(out);
      if (m) { clearTimeout(t); resolve(m[1]); }
    };
    demo!.stdout!.on('data', look);
    demo!.stderr!.on('data', look);
    demo!.once('exit', (code) => { clearTimeout(t); reject(new Error(`the demo exited with ${code}:\n${out}`)); });
  });
});

after(() => {
  // npm, bash and the server are one process group.
  if (demo?.pid) try { process.kill(-demo.pid, 'SIGKILL'); } catch { /* gone */ }
  sb.cleanup();
});

test('the demo serves the dashboard with a login URL, and its VM made with the host\'s defaults is running', async () => {
  const token = readFileSync(join(sb.home, 'token'), 'utf8').trim();
  assert.ok(out.includes(`${base}/login?token=${token}`), out);
  auth = { Authorization: `Bearer ${token}` };
  const vms = await api(base, 'GET', '/api/vms', undefined, auth);
  assert.equal(vms.status, 200);
  const vm = vms.json.find((v: { label: string }) => v.label === 'demo');
  assert.ok(vm, vms.text);
  assert.equal(vm.state, 'running');
  const host = await api(base, 'GET', '/api/host', undefined, auth);
  assert.equal(vm.accelerator, host.json.kvm ? 'KVM' : 'QEMU', 'the demo takes the accelerator this host\'s check decided');
  const config = readFileSync(join(sb.home, 'vms/demo/demo.ctys'), 'utf8');
  assert.match(config, new RegExp(`^ACCELERATOR='${vm.accelerator}'$`, 'm'));
});

test('the demo guest reaches its shell prompt on the serial WebSocket', async () => {
  const port = new URL(base).port;
  const serial = await WsClient.open(`ws://127.0.0.1:${port}/ws/vms/demo/serial`, { headers: auth });
  try {
    await serial.shell(PROMPT, 120000);
    serial.send('echo demo $((6*7))\r');
    await serial.waitFor(/demo 42/, 10000);
  } finally {
    serial.close();
  }
});

test('the demo VM\'s VNC screen is drawn (a screenshot that is not blank)', async () => {
  const res = await fetch(`${base}/api/vms/demo/screenshot`, { headers: auth });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/png');
  const png = Buffer.from(await res.arrayBuffer());
  // The pixels (IDAT, inflated): the guest's text console lights some of them.
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const len = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const pixels = inflateSync(Buffer.concat(idat));
  const lit = pixels.reduce((n, b) => n + (b > 0x40 ? 1 : 0), 0);
  assert.ok(lit > 500, `text on the screen, not a blank one (${lit} bright bytes)`);
});
