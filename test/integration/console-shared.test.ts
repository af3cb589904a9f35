// `vmdeck console` and `vmdeck monitor` while a dashboard runs: they find it
// through $VMDECK_RUN/server.json and join its console hubs, so a terminal and
// a browser share QEMU's one-client serial socket (both see the output, both
// type). Without a live server (a stale server.json) they attach directly.
// The replayed history has its terminal queries removed. And `vmdeck serve`
// on a busy port exits at once.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pty from 'node-pty';
import { startVm } from '../../server/runner';
import { createVm } from '../../server/store';
import { demoVmEnv, PROMPT, REPO, sandbox } from '../helpers/guest';
import { vmdeck } from '../helpers/cli';
import { bearer, spawnServer, TEST_TOKEN, WsClient, type ChildServer } from '../helpers/server';
import { quitVm } from '../helpers/vms';

const sb = sandbox('conshare');
const LABEL = 'share1';
let server: ChildServer | undefined;

before(async () => {
  sb.enter();
  await createVm({ label: LABEL, template: 'kernel-initrd', env: demoVmEnv(), base: join(sb.home, 'vms') });
  await startVm(LABEL);
});

after(async () => {
  await server?.kill();
  sb.cleanup();
});

/** `vmdeck ARGS` on a pty: what it printed (raw), and its exit. */
class CliTerm {
  screen = '';
  readonly exited: Promise<number>;
  private readonly term: pty.IPty;

  constructor(args: string[], env: Record<string, string | undefined>) {
    this.term = pty.spawn(process.execPath, [join(REPO, 'bin/vmdeck.js'), ...args], {
      cols: 120, rows: 40, cwd: REPO, env: env as Record<string, string>,
    });
    this.term.onData((d) => { this.screen += d; });
    this.exited = new Promise((r) => this.term.onExit(({ exitCode }) => r(exitCode)));
  }

  get mark(): number { return this.screen.length; }

  async waitFor(re: RegExp, from = 0, timeoutMs = 30000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.screen.slice(from))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} in ${JSON.stringify(this.screen.slice(-400))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  write(s: string): void { this.term.write(s); }
  kill(): void { try { this.term.kill('SIGKILL'); } catch { /* gone */ } }
}

async function exitWithin(t: CliTerm, ms = 10000): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([t.exited, new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`not exited within ${ms} ms: ${JSON.stringify(t.screen.slice(-300))}`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

test('a dashboard announces itself in server.json (0600) while it runs', async () => {
  server = await spawnServer(sb);
  const file = join(sb.run, 'server.json');
  const info = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(info.pid, server.proc.pid);
  assert.equal(info.port, server.port);
  assert.equal(info.host, '127.0.0.1');
  assert.ok(!Number.isNaN(Date.parse(info.startedAt)), info.startedAt);
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

test('vmdeck console shares the serial console with a browser client through the dashboard', async () => {
  assert.ok(server);
  const browser = await WsClient.open(`ws://127.0.0.1:${server.port}/ws/vms/${LABEL}/serial`, { headers: bearer });
  await browser.shell(PROMPT, 90000);
  // A terminal query in the history: replayed, it must not reach the local terminal.
  await browser.run("printf 'dsr-mark\\033[6n\\n'", /dsr-mark\x1b\[6n[\s\S]*guest:[^\r\n]*# /);

  const cli = new CliTerm(['console', LABEL], { ...sb.env, VMDECK_TOKEN: TEST_TOKEN });
  try {
    await cli.waitFor(/through the dashboard[^\r\n]*Ctrl-\] detaches/);
    await cli.waitFor(/dsr-mark\r*\n/);
    await new Promise((r) => setTimeout(r, 300));
    const replay = cli.screen;
    assert.ok(!replay.includes('\x1b[6n'), `the replay holds a cursor position query: ${JSON.stringify(replay)}`);

    // Typed in the terminal: the answer shows in both.
    let from = cli.mark;
    const wsFrom = browser.mark;
    cli.write('echo shared-$((6*7))\r');
    await cli.waitFor(/shared-42/, from);
    await browser.waitFor(/shared-42/, 20000, wsFrom);

    // Typed in the browser: shows in the terminal.
    from = cli.mark;
    await browser.run('echo from-ws-$((5*5))', /from-ws-25/);
    await cli.waitFor(/from-ws-25/, from);

    cli.write('\x1d');
    assert.equal(await exitWithin(cli), 0, cli.screen);
    assert.match(cli.screen, /detached from serial console of 'share1'/);
  } finally {
    cli.kill();
  }
  // The browser keeps the console, and nothing queued leaks into the guest.
  const out = await browser.run('echo still-$((2*3))', /still-6[\s\S]*guest:[^\r\n]*# /);
  assert.doesNotMatch(out, /\x1b\[\d+;\d+R|\^\[\[/);
  browser.close();
});

test('vmdeck monitor (interactive) goes through the dashboard with the token from $VMDECK_HOME/token', async () => {
  await server?.kill();
  // No VMDECK_TOKEN: the server generates one into $VMDECK_HOME/token and the CLI reads it there.
  server = await spawnServer(sb, 0, { VMDECK_TOKEN: '' });
  assert.ok(existsSync(join(sb.home, 'token')));
  const env = { ...sb.env };
  delete env.VMDECK_TOKEN;
  const cli = new CliTerm(['monitor', LABEL], env);
  try {
    await cli.waitFor(/monitor of 'share1' through the dashboard/);
    const from = cli.mark;
    cli.write('info status\r');
    await cli.waitFor(/VM status: running/, from);
    cli.write('\x1d');
    assert.equal(await exitWithin(cli), 0, cli.screen);
  } finally {
    cli.kill();
  }
  // A wrong token is refused in one line, not a silent dead console.
  const bad = new CliTerm(['monitor', LABEL], { ...env, VMDECK_TOKEN: 'not-the-token' });
  try {
    assert.equal(await exitWithin(bad), 1, bad.screen);
    assert.match(bad.screen, /refused the token/);
  } finally {
    bad.kill();
  }
});

test('vmdeck monitor L COMMAND: an unknown command prints the answer and exits 1', async () => {
  const r = await vmdeck(['monitor', LABEL, 'no-such-command'], sb.env);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /unknown command: 'no-such-command'/);
  const ok = await vmdeck(['monitor', LABEL, 'info', 'status'], sb.env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /VM status: running/);
});

test('a stale server.json (its server killed) is ignored: vmdeck console attaches to the socket directly', async () => {
  await server?.kill();
  server = undefined;
  // SIGKILL left the file behind, naming a dead pid.
  assert.ok(existsSync(join(sb.run, 'server.json')));
  const cli = new CliTerm(['console', LABEL], sb.env);
  try {
    await cli.waitFor(/QEMU serves one client per socket/);
    // serial.log's tail, with the query printed in the shared test above.
    assert.match(cli.screen, /dsr-mark\r*\n/);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!cli.screen.includes('\x1b[6n'), `the replay of serial.log holds a cursor position query: ${JSON.stringify(cli.screen)}`);
    const from = cli.mark;
    cli.write('echo direct-$((3*3))\r');
    await cli.waitFor(/direct-9/, from);

    // QEMU would queue a second client silently and deliver its keys later: it is refused in one line.
    const second = await vmdeck(['console', LABEL], sb.env, { input: 'touch /leaked\n' });
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, /^vmdeck console: the serial console of 'share1' is in use by vmdeck console \(pid \d+\): QEMU serves one client per socket/);
    assert.equal(second.stderr.trim().split('\n').length, 1, second.stderr);
    // So is a dashboard that starts meanwhile: its serial console says who holds the socket (1013, try later).
    server = await spawnServer(sb);
    const refused = await WsClient.open(`ws://127.0.0.1:${server.port}/ws/vms/${LABEL}/serial`, { headers: bearer });
    const closed = await refused.closed;
    assert.equal(closed.code, 1013);
    assert.match(closed.reason, /in use by vmdeck console \(pid \d+\)/);

    cli.write('\x1d');
    assert.equal(await exitWithin(cli), 0, cli.screen);
  } finally {
    cli.kill();
  }
  // Once the terminal let go, the dashboard has the console, and nothing of the refused client reached the guest.
  const browser = await WsClient.open(`ws://127.0.0.1:${server!.port}/ws/vms/${LABEL}/serial`, { headers: bearer });
  await browser.shell(PROMPT, 30000);
  try {
    assert.equal(await browser.run('test -e /leaked && echo LEAK$((1)) || echo clean$((2))', /LEAK1|clean2/), 'clean2');
  } finally {
    browser.close();
    await server!.kill();
    server = undefined;
  }
});

test('vmdeck console through the dashboard: the VM stopping ends it with "VM stopped", exit 0', async () => {
  server = await spawnServer(sb);
  const cli = new CliTerm(['console', LABEL], { ...sb.env, VMDECK_TOKEN: TEST_TOKEN });
  try {
    // Attached once the hub's first frame (the replay, ending in a prompt) is there.
    await cli.waitFor(/through the dashboard[\s\S]*guest:[^\r\n]*# /);
    await quitVm(sb.run, LABEL);
    assert.equal(await exitWithin(cli, 15000), 0, cli.screen);
    assert.match(cli.screen, /VM stopped/);
  } finally {
    cli.kill();
  }
  // Not running: the CLI refuses before it connects anywhere.
  const r = await vmdeck(['console', LABEL], { ...sb.env, VMDECK_TOKEN: TEST_TOKEN });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not running/);
  // A clean stop of the server removes its file, and ends the process with a
  // console still open in a browser (systemd's stop must not wait for its kill).
  const viewer = await WsClient.open(`ws://127.0.0.1:${server.port}/ws/vms/${LABEL}/serial`, { headers: bearer });
  const proc = server.proc;
  const gone = new Promise((r) => proc.once('exit', r));
  const t0 = Date.now();
  proc.kill('SIGTERM');
  await gone;
  viewer.close();
  server = undefined;
  assert.ok(Date.now() - t0 < 8000, `the server took ${Date.now() - t0} ms to end`);
  assert.ok(!existsSync(join(sb.run, 'server.json')));
});

test('vmdeck serve on a port in use says so in one line and exits non-zero', async () => {
  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  const port = (busy.address() as net.AddressInfo).port;
  try {
    const t0 = Date.now();
    const child = spawn(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'serve', '--host', '127.0.0.1', '--port', String(port)], {
      env: { ...sb.env, VMDECK_TOKEN: TEST_TOKEN }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`vmdeck serve still runs after 10 s: ${err}`)); }, 10000);
      child.once('exit', (c) => { clearTimeout(timer); resolve(c); });
    });
    assert.notEqual(code, 0);
    assert.ok(Date.now() - t0 < 10000);
    assert.equal(err.trim().split('\n').length, 1, err);
    assert.match(err, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
    assert.ok(!existsSync(join(sb.run, 'server.json')));
  } finally {
    busy.close();
  }
});

