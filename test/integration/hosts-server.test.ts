// The central dashboard over another host (a real sshd, test/helpers/sshd.ts):
// GET/POST /api/hosts, the remote VM created, listed, typed into and stopped
// through /api/hosts/:host/… and /ws/hosts/:host/…, which reach that host's
// own `vmdeck serve --socket` through the socket ssh forwards (never TCP); a
// host that cannot be reached answers with ssh's reason while the other works
// on; the ControlMaster killed under an open console: it comes back with its
// history and the VM never stopped; `vmdeck console` there shares the hub.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { guestImages, PROMPT, REPO, sandbox } from '../helpers/guest';
import { api, spawnServer, TEST_TOKEN, WsClient, type ChildServer } from '../helpers/server';
import { REMOTE_VMDECK, sshLab, type SshHost } from '../helpers/sshd';
import { hostFileName } from '../../server/hosts';

const sb = sandbox('hostsrv');
const lab = sshLab();
let alpha: SshHost;
let server: ChildServer;
const LABEL = 'far2';
const images = guestImages();
const ws = (path: string) => WsClient.open(`ws://127.0.0.1:${server.port}${path}?token=${TEST_TOKEN}`);
/** Host alpha's files in the run root's .hosts (hosts.ts names them by host, destination and ssh config). */
const alphaFile = () => hostFileName({ name: 'alpha', dest: 'alpha', vmdeck: '' }, { ...process.env, VMDECK_SSH_CONFIG: lab.config });
const qemuPid = () => Number(readFileSync(join(alpha.run, LABEL, 'qemu.pid'), 'utf8'));

before(async () => {
  alpha = await lab.addHost('alpha');
  server = await spawnServer(sb, 0, { VMDECK_SSH_CONFIG: lab.config });
});

after(async () => {
  await api(server.base, 'POST', `/api/hosts/alpha/vms/${LABEL}/stop`, { mode: 'force' }).catch(() => undefined);
  await server.kill();
  await lab.cleanup();
  sb.cleanup();
});

test('POST /api/hosts adds a host that answers; GET /api/hosts shows each host\'s check, an unreachable one with ssh\'s reason', async () => {
  const added = await api(server.base, 'POST', '/api/hosts', { name: 'alpha', dest: 'alpha', vmdeck: REMOTE_VMDECK });
  assert.equal(added.status, 201, added.text);
  assert.equal(added.json.ok, true);
  const refused = await api(server.base, 'POST', '/api/hosts', { name: 'bad name', dest: 'alpha' });
  assert.equal(refused.status, 400);
  assert.equal(refused.json.field, 'name');
  // Through the API the command is vmdeck's, never a shell's: refused before ssh is run, nothing made there.
  const proof = join(lab.dir, 'api-ran-this');
  const shell = await api(server.base, 'POST', '/api/hosts', { name: 'evil', dest: 'alpha', vmdeck: `sh -c touch\${IFS}${proof};echo\${IFS}vmdeck\${IFS}0.1.0` });
  assert.equal(shell.status, 400, shell.text);
  assert.equal(shell.json.field, 'vmdeck');
  assert.match(shell.json.error, /^vmdeck: '.*' is not how vmdeck is run: /);
  assert.equal(existsSync(proof), false);
  // Nor a vmdeck.js where the API's clients make files (a VM labelled bin with a raw disk named vmdeck.js).
  const planted = await api(server.base, 'POST', '/api/hosts', { name: 'planted', dest: 'alpha', vmdeck: `node ${join(sb.home, 'vms', 'bin', 'vmdeck.js')}` });
  assert.equal(planted.status, 400, planted.text);
  assert.equal(planted.json.field, 'vmdeck');
  assert.match(planted.json.error, /^vmdeck: '.*\/vms\/bin\/vmdeck\.js' lies in .*, where the API's clients make files: /);
  // A host that is down is kept when added by hand (the CLI's --no-check).
  execFileSync(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'host', 'add', 'ghost', '127.0.0.1:1', '--no-check'], { env: sb.env });
  // A host whose vmdeck is too old is shown as such, not crashed on.
  const old = join(lab.dir, 'old-vmdeck');
  writeFileSync(old, '#!/bin/sh\necho "vmdeck 0.0.9"\n', { mode: 0o755 });
  execFileSync(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'host', 'add', 'oldie', 'alpha', '--vmdeck', old, '--no-check'], { env: { ...sb.env, VMDECK_SSH_CONFIG: lab.config } });

  const hosts = await api(server.base, 'GET', '/api/hosts');
  assert.equal(hosts.status, 200);
  const by = Object.fromEntries(hosts.json.map((h: { name: string }) => [h.name, h]));
  assert.deepEqual(Object.keys(by), ['local', 'alpha', 'ghost', 'oldie']);
  assert.equal(by.local.ok, true);
  assert.equal(by.alpha.ok, true);
  assert.ok(Array.isArray(by.alpha.report.items), 'alpha\'s own vmdeck check');
  assert.equal(by.ghost.ok, false);
  assert.match(by.ghost.error, /^host: ghost \(127\.0\.0\.1:1\): ssh: connect to host 127\.0\.0\.1 port 1: Connection refused$/);
  assert.equal(by.oldie.ok, false);
  assert.match(by.oldie.error, /^host: oldie runs vmdeck 0\.0\.9 and this is vmdeck \d+\.\d+\.\d+: they cannot talk/);
  const oldList = await api(server.base, 'GET', '/api/hosts/oldie/vms');
  assert.equal(oldList.status, 502);
  assert.match(oldList.json.error, /runs vmdeck 0\.0\.9/);
  // The dashboard takes hosts of the hosts file only, never a destination given in the URL.
  const adhoc = await api(server.base, 'GET', `/api/hosts/${encodeURIComponent('root@alpha')}/vms`);
  assert.equal(adhoc.status, 404);
  assert.equal(adhoc.json.field, 'host');
});

test('a VM made, started and listed on the host through /api/hosts/alpha/…; the unreachable host answers 502 in one line', async () => {
  const created = await api(server.base, 'POST', '/api/hosts/alpha/vms', {
    label: LABEL, template: 'kernel-initrd', kernel: images.kernel, initrd: images.initrd, append: images.append,
    // TCG: this host's /dev/kvm (kvm_pvm) cannot run ordinary guests.
    accelerator: 'QEMU', memsize: 256, start: true,
  });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.vm.state, 'running');
  assert.ok(statSync(join(alpha.home, 'vms', LABEL, `${LABEL}.ctys`)).isFile(), 'made on the remote side');

  const list = await api(server.base, 'GET', '/api/hosts/alpha/vms');
  assert.deepEqual(list.json.map((v: { label: string; state: string }) => [v.label, v.state]), [[LABEL, 'running']]);
  const local = await api(server.base, 'GET', '/api/vms');
  assert.deepEqual(local.json, [], 'nothing of it here');
  const one = await api(server.base, 'GET', `/api/hosts/alpha/vms/${LABEL}`);
  assert.equal(one.status, 200);
  assert.equal(one.json.vm.label, LABEL);

  const ghost = await api(server.base, 'GET', '/api/hosts/ghost/vms');
  assert.equal(ghost.status, 502);
  assert.equal(ghost.json.field, 'host');
  assert.match(ghost.json.error, /Connection refused/);
  assert.ok(!ghost.json.error.includes('\n'));
  assert.equal((await api(server.base, 'GET', '/api/hosts/alpha/vms')).status, 200, 'the other host works on');
  assert.equal((await api(server.base, 'GET', '/api/hosts/alpha/vms', undefined, {})).status, 401, 'the token is needed');

  // The host's server: a 0600 socket, forwarded to a 0600 socket here; on TCP only sshd listens there.
  const remoteSock = JSON.parse(readFileSync(join(alpha.run, 'serve-socket.json'), 'utf8')).socket;
  assert.equal(statSync(remoteSock).mode & 0o777, 0o600);
  assert.equal(statSync(join(sb.run, '.hosts', `${alphaFile()}.sock`)).mode & 0o777, 0o600);
  const tcp = execFileSync(alpha.inNetwork(['ss', '-Hltn'])[0], alpha.inNetwork(['ss', '-Hltn']).slice(1), { encoding: 'utf8' })
    .split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)[3]);
  assert.deepEqual(tcp.filter((a) => !a.endsWith(`:${alpha.port}`)), [], `only sshd on TCP: ${tcp.join(', ')}`);
});

test('the serial console through /ws/hosts/alpha/…: typed into, shared with vmdeck console there; the ControlMaster killed: back with its history, the VM never stopped', async () => {
  const pid = qemuPid();
  const c = await ws(`/ws/hosts/alpha/vms/${LABEL}/serial`);
  await c.shell(PROMPT, 90000);
  await c.run('echo before-$((6*7))', /before-42/);
  // A second console while the first holds the host's hub: the hub sends its recent output at
  // once, in the same read as the handshake's answer, and the relay passes it on.
  for (let i = 0; i < 5; i++) {
    const second = await ws(`/ws/hosts/alpha/vms/${LABEL}/serial`);
    await second.waitFor(/before-42/, 5000);
    second.close();
  }

  // vmdeck console on the host (through ssh) joins the host's hub: what it types shows in the browser's console.
  const cli = spawn(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'console', `${LABEL}@alpha`], { env: { ...sb.env, VMDECK_SSH_CONFIG: lab.config }, stdio: ['pipe', 'pipe', 'pipe'] });
  let cliOut = '';
  cli.stdout.on('data', (d) => { cliOut += d; });
  await new Promise((r) => setTimeout(r, 3000));
  cli.stdin.write('echo shared-$((7*7))\n');
  await c.waitFor(/shared-49/, 20000);
  cli.stdin.end();
  assert.equal(await new Promise((r) => cli.once('exit', r)), 0);
  assert.match(cliOut, /shared-49/);

  // The connection to the host dies under the console.
  const check = spawnSync('ssh', ['-F', lab.config, '-o', `ControlPath=${join(sb.run, '.hosts', `${alphaFile()}.ctl`)}`, '-O', 'check', 'alpha'], { encoding: 'utf8' });
  const master = Number(/pid=(\d+)/.exec(check.stderr)?.[1] ?? 0);
  assert.ok(master > 0, 'the ControlMaster runs');
  const cut = Date.now();
  process.kill(master, 'SIGKILL');
  const closed = await c.closed;
  assert.equal(closed.code, 1012, `closed ${closed.code} ${closed.reason}`);

  // The browser's reconnect: a new connection, the history first; a 1012 (the link is being
  // made again) is tried again, as the dashboard's console does with its backoff.
  let again: WsClient | undefined;
  while (!again) {
    const attempt = await ws(`/ws/hosts/alpha/vms/${LABEL}/serial`);
    const first = await Promise.race([
      attempt.waitFor(/before-42/, 20000).then(() => 'history' as const, () => 'silent for 20 s' as const),
      attempt.closed.then((c) => c.code),
    ]);
    if (first === 'history') again = attempt;
    else assert.equal(first, 1012, `the reconnect closed ${first}`);
    assert.ok(Date.now() - cut < 20000, `not back within 20 s (${Date.now() - cut} ms)`);
  }
  assert.ok(Date.now() - cut < 15000, `back in ${Date.now() - cut} ms`);
  await again.run('echo after-$((8*8))', /after-64/);
  assert.equal(qemuPid(), pid, 'the same QEMU');
  const state = await api(server.base, 'GET', `/api/hosts/alpha/vms/${LABEL}`);
  assert.equal(state.json.vm.state, 'running');
  again.close();

  const stopped = await api(server.base, 'POST', `/api/hosts/alpha/vms/${LABEL}/stop`, { mode: 'force' });
  assert.equal(stopped.status, 200, stopped.text);
  assert.equal(stopped.json.vm.state, 'stopped');
});

test('vmdeck serve --socket --idle: the API on a 0600 socket in a 0700 dir, no token asked; it ends itself once unused', async () => {
  const local = sandbox('idle');
  try {
    const started = spawnSync(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'serve', '--socket', '--detach', '--idle=2'], { env: local.env, encoding: 'utf8' });
    assert.equal(started.status, 0, started.stderr);
    const { socket, pid } = JSON.parse(started.stdout);
    assert.equal(socket, join(local.run, '.serve', 'api.sock'));
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    assert.equal(statSync(join(local.run, '.serve')).mode & 0o777, 0o700);
    // A second --detach finds the one that runs.
    const again = spawnSync(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'serve', '--socket', '--detach', '--idle=2'], { env: local.env, encoding: 'utf8' });
    assert.equal(JSON.parse(again.stdout).pid, pid);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      get({ socketPath: socket, path: '/api/vms' }, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).once('error', reject);
    });
    assert.deepEqual([answer.status, JSON.parse(answer.body)], [200, []]);
    const until = Date.now() + 15000;
    while (Date.now() < until && spawnSync('kill', ['-0', String(pid)]).status === 0) await new Promise((r) => setTimeout(r, 200));
    assert.notEqual(spawnSync('kill', ['-0', String(pid)]).status, 0, 'the idle server ended');
  } finally {
    local.cleanup();
  }
});
