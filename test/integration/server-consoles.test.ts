// The console bridges against a real QEMU: the serial console and monitor
// shared by many clients, VNC through to a first framebuffer update, and the
// close codes when a VM is not running or stops.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type WebSocket from 'ws';
import { startServer, type RunningServer } from '../../server/index';
import { createVm } from '../../server/store';
import { consoleStats } from '../../server/ws/consoles';
import { demoVmEnv, PROMPT, sandbox } from '../helpers/guest';
import { SocketTerminal } from '../helpers/serial';
import { ByteReader } from '../helpers/rfb';
import { bearer, closedWithin, TEST_TOKEN, WsClient } from '../helpers/server';

const sb = sandbox('srvcons');
let server: RunningServer;
let wsBase: string;
const LABEL = 'cons1';
const IDLE = 'idle1';

const startGuest = (label: string) => execFileSync('bash', [join(sb.home, 'vms', label, `${label}.sh`)], { env: sb.env });
const qemuPid = (label: string) => Number(readFileSync(join(sb.run, label, 'qemu.pid'), 'utf8').trim());
const open = (label: string, kind: string, options: WebSocket.ClientOptions & { protocols?: string[] } = {}) =>
  WsClient.open(`${wsBase}/ws/vms/${label}/${kind}`, { headers: bearer, ...options });

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`QEMU ${pid} did not end`);
}

before(async () => {
  sb.enter();
  process.env.VMDECK_TOKEN = TEST_TOKEN;
  for (const label of [LABEL, IDLE]) await createVm({ label, template: 'kernel-initrd', env: demoVmEnv(), base: join(sb.home, 'vms') });
  startGuest(LABEL);
  server = await startServer({ host: '127.0.0.1', port: 0 });
  wsBase = `ws://127.0.0.1:${server.port}`;
});

after(async () => {
  await server?.close();
  delete process.env.VMDECK_TOKEN;
  sb.cleanup();
});

describe('serial console', () => {
  test('a command typed in one client is answered to all; a late client first gets the earlier output', async () => {
    const a = await open(LABEL, 'serial');
    const b = await open(LABEL, 'serial');
    await a.shell(PROMPT);
    const fromB = b.mark;
    await a.run('echo $((6*7))', /\r\n42\r\n/);
    await b.waitFor(/\r\n42\r\n/, 10000, fromB);
    // Text and binary frames are both typing.
    const from = a.mark;
    a.send(Buffer.from('echo $((7*8))\r'));
    await b.waitFor(/\r\n56\r\n/, 10000, from);
    const c = await open(LABEL, 'serial');
    // Typed at once, before the server has attached it: not lost.
    c.send('echo early-$((3*3))\r');
    await c.waitFor(/\r\n42\r\n[\s\S]*\r\n56\r\n[\s\S]*early-9/, 5000);
    assert.equal(consoleStats().filter((s) => s.label === LABEL && s.console === 'serial')[0].stats.clients, 3);
    for (const x of [a, b, c]) x.close();
  });

  test('the serial socket is released after the last client leaves, for `vmdeck console`', async () => {
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(consoleStats().filter((s) => s.label === LABEL).length, 0, 'no hub left');
    const direct = await SocketTerminal.open(join(sb.run, LABEL, 'serial.sock'));
    try {
      direct.write('\r');
      await direct.run('echo direct-$((1+1))', /direct-2/);
    } finally {
      direct.close();
    }
  });

  test('a new hub starts with the tail of serial.log', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const d = await open(LABEL, 'serial');
    await d.waitFor(/direct-2/, 5000);
    d.close();
  });
});

describe('monitor', () => {
  test('info status answers that the VM is running', async () => {
    const m = await open(LABEL, 'monitor');
    await m.waitFor(/\(qemu\) /, 10000);
    await m.run('info status', /VM status: running/);
    m.close();
  });

  const config = () => join(sb.home, 'vms', LABEL, `${LABEL}.ctys`);
  const hubGone = async () => {
    for (let i = 0; i < 50 && consoleStats().some((s) => s.label === LABEL); i++) await new Promise((r) => setTimeout(r, 100));
  };

  test('migrate exec: typed on the monitor is refused and runs nothing; the monitor goes on answering', async () => {
    const marker = join(sb.home, 'migrate-ran');
    const m = await open(LABEL, 'monitor');
    await m.waitFor(/\(qemu\) /, 10000);
    const from = m.mark;
    m.send(`migrate "exec:touch ${marker}"\r`);
    await m.waitFor(/vmdeck: monitor: 'migrate' reaches the host[^\r\n]*MONITOR_UNSAFE=yes/, 5000, from);
    // Arrows, history and Tab do not get it past either: the up arrow would recall it.
    m.send('\x1b[A\r');
    await m.run('info status', /VM status: running/);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!existsSync(marker), 'the migration ran a program on the host');
    m.close();
  });

  test('Ctrl-a c on the serial console does not reach the monitor', async () => {
    const s = await open(LABEL, 'serial');
    await s.shell(PROMPT);
    const from = s.mark;
    s.send('\x01c');
    await s.waitFor(/vmdeck: serial: Ctrl-a c .* is off in the dashboard/, 5000, from);
    await s.run('echo still-$((2+3))', /still-5/);
    s.close();
  });

  test('a serial line left on the monitor by another terminal is guarded as the monitor; Ctrl-a c gives it back to the guest', async () => {
    await hubGone();
    const marker = join(sb.home, 'migrate-ran-serial');
    // `vmdeck console`-style: a terminal on the socket itself switches to the monitor and leaves it there.
    const direct = await SocketTerminal.open(join(sb.run, LABEL, 'serial.sock'));
    try {
      direct.write('\x01c');
      await direct.waitFor(/\(qemu\) /, 5000);
      direct.write('info sta');
    } finally {
      direct.close();
    }
    await new Promise((r) => setTimeout(r, 300));
    const s = await open(LABEL, 'serial');
    try {
      await s.waitFor(/vmdeck: the serial line is on QEMU's monitor/, 10000);
      let from = s.mark;
      s.send(`migrate "exec:touch ${marker}"\r`);
      await s.waitFor(/vmdeck: monitor: 'migrate' reaches the host/, 5000, from);
      // What the other terminal left typed ('info sta') was erased: this line is QEMU's whole line.
      await s.run('info status', /VM status: running/);
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(!existsSync(marker), 'the migration ran a program on the host');
      s.send('\x01c\r');
      from = s.mark;
      await s.run('echo guest-$((3+4))', /guest-7/);
      // Back on the guest's side, Ctrl-a c is refused again.
      from = s.mark;
      s.send('\x01c');
      await s.waitFor(/vmdeck: serial: Ctrl-a c .* is off in the dashboard/, 5000, from);
    } finally {
      s.close();
    }
  });

  test('with MONITOR_UNSAFE=yes in the config the monitor takes the command as typed', async () => {
    const marker = join(sb.home, 'migrate-ran-unsafe');
    const before = readFileSync(config(), 'utf8');
    writeFileSync(config(), `${before}MONITOR_UNSAFE=yes\n`);
    try {
      await hubGone();
      const m = await open(LABEL, 'monitor');
      await m.waitFor(/\(qemu\) /, 10000);
      m.send(`migrate "exec:touch ${marker}"\r`);
      for (let i = 0; i < 50 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(existsSync(marker), 'the command was not run');
      // The migration fails (touch reads nothing) and the VM runs on.
      await m.run('info status', /VM status: running/, 10000);
      m.close();
    } finally {
      writeFileSync(config(), before);
      await hubGone();
    }
  });
});

describe('clients per console', () => {
  test('one client more than VMDECK_CONSOLE_CLIENTS is refused with 1013 and a reason; the others stay', async () => {
    process.env.VMDECK_CONSOLE_CLIENTS = '2';
    try {
      for (const kind of ['serial', 'vnc']) {
        const a = await open(LABEL, kind);
        const b = await open(LABEL, kind);
        // Both attached before the third comes: VNC greets each; the serial hub counts them.
        if (kind === 'vnc') await Promise.all([a, b].map((c) => c.waitFor(/RFB 003\.008/, 10000)));
        for (let i = 0; i < 100 && kind === 'serial' && consoleStats().find((x) => x.label === LABEL && x.console === 'serial')?.stats.clients !== 2; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        const c = await open(LABEL, kind);
        const closed = await closedWithin(c);
        assert.equal(closed.code, 1013, `${kind}: ${JSON.stringify(closed)}`);
        assert.match(closed.reason, new RegExp(`^${kind}: 2 clients are attached already`));
        assert.equal(a.ws.readyState, a.ws.OPEN);
        a.close();
        b.close();
      }
    } finally {
      delete process.env.VMDECK_CONSOLE_CLIENTS;
    }
  });
});

describe('vnc', () => {
  for (const protocols of [['binary'], []]) {
    test(`an RFB handshake with security None reaches a FramebufferUpdate (subprotocol ${protocols[0] ?? 'none'})`, async () => {
      const v = await open(LABEL, 'vnc', { protocols });
      assert.equal(v.ws.protocol, protocols[0] ?? '');
      const rfb = new ByteReader(v.ws);
      assert.equal((await rfb.read(12)).toString('latin1'), 'RFB 003.008\n');
      v.send(Buffer.from('RFB 003.008\n'));
      const count = (await rfb.read(1))[0];
      const types = [...(await rfb.read(count))];
      assert.ok(types.includes(1), `security types ${types}`);
      v.send(Buffer.from([1]));
      assert.equal((await rfb.read(4)).readUInt32BE(0), 0, 'SecurityResult OK');
      v.send(Buffer.from([1])); // ClientInit: shared
      const init = await rfb.read(24);
      const width = init.readUInt16BE(0);
      const height = init.readUInt16BE(2);
      assert.ok(width > 0 && height > 0);
      await rfb.read(init.readUInt32BE(20)); // the desktop name
      const request = Buffer.alloc(10);
      request.writeUInt8(3, 0); // FramebufferUpdateRequest, not incremental
      request.writeUInt16BE(width, 6);
      request.writeUInt16BE(height, 8);
      v.send(request);
      const header = await rfb.read(4);
      assert.equal(header[0], 0, 'FramebufferUpdate');
      assert.ok(header.readUInt16BE(2) >= 1, 'at least one rectangle');
      v.close();
    });
  }
});

describe('a VM that is not running, or stops', () => {
  test('every console of a stopped VM closes with 4409', async () => {
    for (const kind of ['serial', 'monitor', 'vnc', 'cli']) {
      const c = await open(IDLE, kind);
      const closed = await closedWithin(c);
      assert.equal(closed.code, 4409, `${kind}: ${JSON.stringify(closed)}`);
      assert.match(closed.reason, /not running/);
    }
  });

  test('when the VM stops, open consoles close with 4410; after a restart a new client gets the new session', async () => {
    const serial = await open(LABEL, 'serial');
    const monitor = await open(LABEL, 'monitor');
    const vnc = await open(LABEL, 'vnc', { protocols: ['binary'] });
    await vnc.waitFor(/RFB 003\.008/);
    await monitor.waitFor(/\(qemu\) /);
    const pid = qemuPid(LABEL);
    process.kill(pid, 'SIGKILL');
    for (const c of [serial, monitor, vnc]) {
      const closed = await closedWithin(c);
      assert.equal(closed.code, 4410, JSON.stringify(closed));
    }
    await waitGone(pid);
    startGuest(LABEL);
    const again = await open(LABEL, 'serial');
    await again.shell(PROMPT);
    await again.run('echo $((6*7))', /\r\n42\r\n/);
    // A QMP quit closes them the same way.
    const m = await open(LABEL, 'monitor');
    await m.waitFor(/\(qemu\) /);
    m.send('quit\r');
    assert.equal((await closedWithin(again)).code, 4410);
    assert.equal((await closedWithin(m)).code, 4410);
  });
});

describe('the VM a console connect names', () => {
  // A connect remembers the config it found its VM in (server/ws/vm-lookup.ts):
  // a config deleted or relabelled since must not be served from that memory.
  test('a VM deleted, or relabelled, after a connect: the next connect to its label closes 4404', async () => {
    const base = join(sb.home, 'vms');
    for (const label of ['gone1', 'gone2']) await createVm({ label, template: 'kernel-initrd', env: demoVmEnv(), base });
    for (const label of ['gone1', 'gone2']) assert.equal((await closedWithin(await open(label, 'serial'))).code, 4409);
    rmSync(join(base, 'gone1'), { recursive: true, force: true });
    const config = join(base, 'gone2', 'gone2.ctys');
    writeFileSync(config, readFileSync(config, 'utf8').replace(/\bgone2\b/g, 'gone3'));
    for (const label of ['gone1', 'gone2']) {
      const closed = await closedWithin(await open(label, 'serial'));
      assert.equal(closed.code, 4404, `${label}: ${JSON.stringify(closed)}`);
      assert.match(closed.reason, new RegExp(`no VM '${label}'`));
    }
    assert.equal((await closedWithin(await open('gone3', 'serial'))).code, 4409, 'the relabelled VM under its new label');
  });
});

describe('a console connection that breaks while it is being opened', () => {
  test('an error on the QEMU socket while serial.log is read closes the client; the server lives on', async () => {
    // A stand-in for QEMU's serial socket, and a serial.log that is a FIFO:
    // reading it waits for a writer, which holds the hub between its
    // connect and its first listener-less moment for as long as we like.
    const dir = join(sb.run, IDLE);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const sockPath = join(dir, 'serial.sock');
    const logPath = join(dir, 'serial.log');
    execFileSync('mkfifo', [logPath]);
    const fake = net.createServer();
    const accepted = new Promise<net.Socket>((resolve) => fake.once('connection', resolve));
    await new Promise<void>((resolve) => fake.listen(sockPath, resolve));
    // The server's end of that connection, to break it (a reset, as from a QEMU that is killed).
    const ours: net.Socket[] = [];
    const realConnect = net.connect;
    net.connect = ((...args: Parameters<typeof net.connect>) => {
      const s = (realConnect as (...a: unknown[]) => net.Socket)(...args);
      if ((args[0] as { path?: string })?.path === sockPath) ours.push(s);
      return s;
    }) as typeof net.connect;
    syncBuiltinESMExports();
    let peer: net.Socket | undefined;
    try {
      const c = await open(IDLE, 'serial');
      peer = await accepted;
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(ours.length, 1, 'the server connected to the serial socket');
      ours[0].destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' }));
      // Now let the read of serial.log end (EOF).
      await (await openFile(logPath, 'w')).close();
      const closed = await closedWithin(c);
      assert.equal(closed.code, 4410, JSON.stringify(closed));
      assert.equal(consoleStats().filter((x) => x.label === IDLE).length, 0, 'no hub left behind');
    } finally {
      net.connect = realConnect;
      syncBuiltinESMExports();
      peer?.destroy();
      await new Promise<void>((resolve) => fake.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
    // The server is still here.
    const again = await open(IDLE, 'serial');
    assert.equal((await closedWithin(again)).code, 4409);
  });
});

describe('the token on WebSockets', () => {
  test('?token= works where a browser cannot send headers', async () => {
    const c = await WsClient.open(`${wsBase}/ws/vms/${IDLE}/serial?token=${encodeURIComponent(TEST_TOKEN)}`);
    assert.equal((await closedWithin(c)).code, 4409);
  });
});
