// The generated wrapper boots the real demo guest (TCG): daemonized with its
// sockets, after a hand edit of the config, and in the foreground on stdio.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { QmpClient } from '../../server/qmp';
import { createVm } from '../../server/store';
import { demoVmEnv, PROMPT, sandbox, type Sandbox } from '../helpers/guest';
import { SocketTerminal } from '../helpers/serial';

let sb: Sandbox;
let wrapper: string;
let conf: string;

before(async () => {
  sb = sandbox('boot');
  sb.enter();
  const { vm } = await createVm({ label: 'demo', template: 'kernel-initrd', env: demoVmEnv() });
  wrapper = vm.wrapper;
  conf = vm.config;
});
after(() => sb.cleanup());

const runDir = () => join(sb.run, 'demo');

async function quit(): Promise<void> {
  const q = await QmpClient.connect(join(runDir(), 'qmp.sock'));
  const pid = Number(readFileSync(join(runDir(), 'qemu.pid'), 'utf8'));
  await q.execute('quit').catch(() => undefined);
  q.close();
  for (let i = 0; i < 100; i++) {
    try { process.kill(pid, 0); } catch { return; }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('QEMU did not quit');
}

async function bootAndProbe(expectMiB: number): Promise<void> {
  execFileSync('bash', [wrapper], { env: sb.env, stdio: 'pipe' });
  assert.equal(statSync(runDir()).mode & 0o777, 0o700, 'the runtime dir is private');
  const pid = Number(readFileSync(join(runDir(), 'qemu.pid'), 'utf8'));
  assert.ok(pid > 0);
  assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /qemu-system-x86_64/);

  const serial = await SocketTerminal.open(join(runDir(), 'serial.sock'));
  try {
    serial.write('\r');
    await serial.waitFor(PROMPT, 60000);
    assert.match(await serial.run('echo $((6*7))', /\r\n42\r\n/), /42/);
  } finally {
    serial.close();
  }

  const monitor = await SocketTerminal.open(join(runDir(), 'monitor.sock'));
  try {
    await monitor.waitFor(/\(qemu\) /, 5000);
    await monitor.run('info status', /VM status: running/, 5000);
  } finally {
    monitor.close();
  }

  const qmp = await QmpClient.connect(join(runDir(), 'qmp.sock'));
  try {
    const status = await qmp.execute<{ status: string; running: boolean }>('query-status');
    assert.equal(status.status, 'running');
    const mem = await qmp.execute<{ 'base-memory': number }>('query-memory-size-summary');
    assert.equal(mem['base-memory'], expectMiB * 1024 * 1024);
  } finally {
    qmp.close();
  }
}

test('the wrapper boots the demo guest daemonized: serial, monitor and QMP answer', async () => {
  await bootAndProbe(256);
  // The lock held by QEMU refuses a second start.
  const second = spawn('bash', [wrapper], { env: sb.env });
  let err = '';
  second.stderr.on('data', (d) => { err += d; });
  const code = await new Promise((r) => second.on('close', r));
  assert.equal(code, 3);
  assert.match(err, /VM 'demo' is already running \(pid \d+\)/);
  await quit();
});

test('after a hand edit with bash logic (MEMSIZE=$((64*3))) the wrapper boots it as edited; a serial.log past 4 MiB becomes serial.log.1', async () => {
  writeFileSync(conf, `${readFileSync(conf, 'utf8')}\n# edited by hand\nMEMSIZE=$((64*3))\n`);
  const old = `earlier runs\n${'x'.repeat(5 * 1024 * 1024)}`;
  writeFileSync(join(runDir(), 'serial.log'), old);
  await bootAndProbe(192);
  await quit();
  assert.equal(readFileSync(join(runDir(), 'serial.log.1'), 'utf8'), old);
  const log = readFileSync(join(runDir(), 'serial.log'), 'utf8');
  assert.ok(log.length < 1024 * 1024, `serial.log holds this run only (${log.length} bytes)`);
  assert.match(log, /\r\n42\r\n/, 'this run\'s serial output is in serial.log');
});

test('with --console=CLI the guest runs in the foreground on stdio and ends with it', async () => {
  const child = spawn('bash', [wrapper, '--console=CLI'], { env: sb.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const closed = new Promise<number | null>((r) => child.on('close', r));
  const waitOut = async (re: RegExp, ms: number) => {
    const end = Date.now() + ms;
    while (!re.test(out)) {
      if (Date.now() > end) throw new Error(`no ${re} in ${JSON.stringify(out.slice(-300))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await waitOut(PROMPT, 60000);
  child.stdin.write('echo $((6*7))\r');
  await waitOut(/\n42\r?\n/, 20000);
  child.stdin.write('poweroff -f\r');
  assert.equal(await closed, 0);
});
