// The server as users run it (`vmdeck serve`, a child process): killed with
// SIGKILL and started again, the VMs run on and their consoles work; a VM
// started with console CLI0 lives in the server's pty.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { guestImages, PROMPT, sandbox } from '../helpers/guest';
import { api, bearer, closedWithin, spawnServer, WsClient, type ChildServer } from '../helpers/server';

const sb = sandbox('srvrest');
let server: ChildServer;

before(async () => {
  server = await spawnServer(sb);
});

after(async () => {
  await server?.kill();
  sb.cleanup();
});

const images = guestImages();
const spec = (label: string) => ({
  // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
  label, template: 'kernel-initrd', kernel: images.kernel, initrd: images.initrd, append: images.append, accelerator: 'QEMU', memsize: 256,
});
const qemuPid = (label: string) => Number(readFileSync(join(sb.run, label, 'qemu.pid'), 'utf8').trim());
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const open = (label: string, kind: string) => WsClient.open(`ws://127.0.0.1:${server.port}/ws/vms/${label}/${kind}`, { headers: bearer });

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('kill -9 the server: the VM runs on, and a restarted server finds it and its serial console', async () => {
  const created = await api(server.base, 'POST', '/api/vms', { ...spec('keep1'), start: true });
  assert.equal(created.status, 201, created.text);
  const before = await open('keep1', 'serial');
  await before.shell(PROMPT);
  await before.run('echo $((6*7))', /\r\n42\r\n/);
  const pid = qemuPid('keep1');

  await server.kill();
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(alive(pid), 'QEMU outlived the server');

  server = await spawnServer(sb);
  const list = await api(server.base, 'GET', '/api/vms');
  assert.deepEqual(list.json.map((v: { label: string; state: string }) => [v.label, v.state]), [['keep1', 'running']]);
  const after = await open('keep1', 'serial');
  await after.shell(PROMPT);
  await after.run('echo again-$((6*7))', /again-42/);
  // The recent output of the earlier session came first, from serial.log.
  assert.match(after.output, /\r\n42\r\n/);
  after.close();
  const stopped = await api(server.base, 'POST', '/api/vms/keep1/stop', { mode: 'force' });
  assert.equal(stopped.json.vm.state, 'stopped');
});

test('console CLI0: the VM runs in the server\'s pty, resizes, stops with 4410, and ends with the server', async () => {
  assert.equal((await api(server.base, 'POST', '/api/vms', spec('tty1'))).status, 201);
  const started = await api(server.base, 'POST', '/api/vms/tty1/start', { console: 'CLI0' });
  assert.equal(started.status, 200, started.text);
  assert.equal(started.json.vm.state, 'running');
  const twice = await api(server.base, 'POST', '/api/vms/tty1/start', { console: 'CLI0' });
  assert.equal(twice.status, 409);

  const cli = await open('tty1', 'cli');
  await cli.shell(PROMPT);
  // The size is the pty's (QEMU's terminal); the guest's serial line has none.
  cli.send(JSON.stringify({ type: 'resize', cols: 100, rows: 40 }));
  const tty = readlinkSync(`/proc/${qemuPid('tty1')}/fd/0`);
  assert.match(tty, /^\/dev\/pts\//);
  await until('the pty to be 100x40', () => execFileSync('stty', ['-F', tty, 'size'], { encoding: 'utf8' }).trim() === '40 100');
  // The serial console of a CLI0 VM is its pty.
  const serial = await open('tty1', 'serial');
  await serial.run('echo via-serial-$((2*3))', /via-serial-6/);
  await cli.waitFor(/via-serial-6/);

  const monitor = await open('tty1', 'monitor');
  await monitor.waitFor(/\(qemu\) /);
  monitor.send('quit\r');
  for (const c of [cli, serial, monitor]) assert.equal((await closedWithin(c)).code, 4410);
  const state = await api(server.base, 'GET', '/api/vms/tty1');
  assert.equal(state.json.vm.state, 'stopped');

  // The VM ends when its pty does: here, with the server.
  assert.equal((await api(server.base, 'POST', '/api/vms/tty1/start', { console: 'CLI0' })).status, 200);
  const pid = qemuPid('tty1');
  const fresh = await open('tty1', 'cli');
  await fresh.shell(PROMPT);
  await server.kill();
  await until('QEMU of the CLI0 VM to end with the server', () => !alive(pid));
});

test('console CLI0: a VM whose QEMU was killed starts again from the dashboard (its pidfile left behind is not the new QEMU)', async () => {
  if (server.proc.exitCode !== null || server.proc.signalCode !== null) server = await spawnServer(sb);
  assert.equal((await api(server.base, 'POST', '/api/vms', spec('tty2'))).status, 201);
  const first = await api(server.base, 'POST', '/api/vms/tty2/start', { console: 'CLI0' });
  assert.equal(first.status, 200, first.text);
  const cli = await open('tty2', 'cli');
  // Attached first (the guest's prompt came through): a QEMU killed before the server attached the console is a 4409, not running.
  await cli.shell(PROMPT);
  const pid = qemuPid('tty2');
  process.kill(pid, 'SIGKILL');
  assert.equal((await closedWithin(cli)).code, 4410);
  await until('the killed QEMU to be gone', () => !alive(pid));
  assert.equal(qemuPid('tty2'), pid, 'a killed QEMU leaves its pidfile');

  const again = await api(server.base, 'POST', '/api/vms/tty2/start', { console: 'CLI0' });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.vm.state, 'running');
  assert.notEqual(qemuPid('tty2'), pid);
  const fresh = await open('tty2', 'cli');
  await fresh.shell(PROMPT);
  await fresh.run('echo back-$((4*5))', /back-20/);
  const stopped = await api(server.base, 'POST', '/api/vms/tty2/stop', { mode: 'force' });
  assert.equal(stopped.status, 200, stopped.text);
  assert.equal((await closedWithin(fresh)).code, 4410);
});
