// Console automation against the real test guest (TCG): text typed on the
// VNC screen with the German layout arrives as y, z, @ and | in a guest with a
// German keymap; expect/send and a script drive its serial shell, directly
// and through a running dashboard's console hub.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startVm, stopVm } from '../../server/runner';
import { createVm } from '../../server/store';
import { vmdeck } from '../helpers/cli';
import { demoVmEnv, PROMPT, sandbox } from '../helpers/guest';
import { api, spawnServer, TEST_TOKEN } from '../helpers/server';
import { guestShell } from '../helpers/vms';

const sb = sandbox('auto');
const LABEL = 'typist';

before(async () => {
  sb.enter();
  await createVm({ label: LABEL, template: 'kernel-initrd', env: demoVmEnv(undefined, { KBD_LAYOUT: 'de' }), base: join(sb.home, 'vms') });
  await startVm(LABEL);
});

after(async () => {
  await stopVm(LABEL, { mode: 'force' }).catch(() => undefined);
  sb.cleanup();
});

/**
 * The guest's console keymap made German for the keys the test types, in
 * busybox loadkmap's format ("bkeymap", 256 table flags, then 128 u16 keysyms
 * per present table; table 0 plain, 1 shift, 2 AltGr). The values are those
 * of the kernel's de-latin1 keymap: keycode 21 (US y) is z, keycode 44 (US z)
 * is y, AltGr+16 (q) is @, AltGr+86 (the key beside left shift) is |.
 */
function germanKeymap(us: Buffer): Buffer {
  assert.equal(us.subarray(0, 7).toString(), 'bkeymap');
  const flags = [...us.subarray(7, 7 + 256)];
  const tables = new Map<number, Uint16Array>();
  let at = 7 + 256;
  flags.forEach((present, i) => {
    if (!present) return;
    tables.set(i, new Uint16Array(us.buffer.slice(us.byteOffset + at, us.byteOffset + at + 256)));
    at += 256;
  });
  // A table that is not there starts as a copy of the plain one, so that modifier keys still release.
  const table = (i: number) => tables.get(i) ?? tables.set(i, new Uint16Array(tables.get(0)!)).get(i)!;
  const LETTER = 0x0b00; // KT_LETTER: caps lock applies
  table(0)[21] = LETTER | 0x7a; table(1)[21] = LETTER | 0x5a;
  table(0)[44] = LETTER | 0x79; table(1)[44] = LETTER | 0x59;
  table(2)[16] = 0x40; table(2)[86] = 0x7c;
  const parts: Buffer[] = [Buffer.from('bkeymap'), Buffer.from(Array.from({ length: 256 }, (_, i) => (tables.has(i) ? 1 : 0)))];
  for (const i of [...tables.keys()].sort((a, b) => a - b)) parts.push(Buffer.from(tables.get(i)!.buffer));
  return Buffer.concat(parts);
}

test('vmdeck type with KBD_LAYOUT=de: a guest with a German keymap reads y, z, @ and | on its VGA console; a character it has no key for is refused by name', async () => {
  const shell = await guestShell(sb.run, LABEL);
  try {
    const dumped = await shell.run('dumpkmap | base64; echo KMAP-$((6*7))', /KMAP-42\r?\n/, 30000);
    const b64 = shell.output.slice(shell.output.lastIndexOf('echo KMAP-$((6*7))') + 18).split('KMAP-42')[0].replace(/[^A-Za-z0-9+/=]/g, '');
    assert.ok(dumped && b64.length > 100, `the guest dumped its keymap: ${JSON.stringify(shell.output.slice(-600))}`);
    const de = germanKeymap(Buffer.from(b64, 'base64')).toString('base64').match(/.{1,76}/g)!.join('\n');
    await shell.run(`base64 -d > /tmp/de.kmap <<'EOF'\r${de.replace(/\n/g, '\r')}\rEOF\r`, PROMPT, 60000);
    await shell.run('loadkmap < /tmp/de.kmap && echo kmap-$((1+1))', /kmap-2/);
    // The guest's shell on its VGA console (tty1) reads the keys: y, z and @ are
    // echoed into tee, through the pipe | (the other characters sit where a US
    // keyboard has them, and the keymap above is US but for these four).
    const typed = await vmdeck(['type', LABEL, '<enter>cd<enter>echo yz@|tee typed<enter>'], sb.env);
    assert.equal(typed.code, 0, typed.stderr);
    await new Promise((r) => setTimeout(r, 1500));
    await shell.run('cd; od -An -tx1 typed; echo "[$(cat typed)]"; cd /', /\[yz@\]/, 15000);
  } finally {
    shell.close();
  }
  // ß is on the German keyboard (the key right of 0); ç is not.
  const refused = await vmdeck(['type', LABEL, 'Straße ça'], sb.env);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /text: character 'ç' at position 8 cannot be typed on a German keyboard/);
});

test('a script drives the serial shell: send, expect, send, expect', async () => {
  const file = join(sb.home, 'steps.txt');
  writeFileSync(file, '# the shell, then arithmetic\ntimeout 30\nsend <enter>\nexpect guest:[^\\r\\n]*# \nsend echo sum-$((6*7))<enter>\nexpect sum-42\n');
  const r = await vmdeck(['type', LABEL, '--script', file], sb.env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /4 steps done/);
  const bad = await vmdeck(['expect', LABEL, '--serial', 'never-seen-\\d+', '--timeout', '1'], sb.env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^vmdeck expect: VM 'typist' printed nothing matching \/never-seen-\\d\+\/ within 1 s/);
});

test('vmdeck type --serial with no dashboard: a long line arrives whole, its Enter too, though the command ends at once', async () => {
  // QEMU takes the socket's bytes only as fast as the guest's UART does, and dropped the rest when the client hung up.
  const long = Array.from({ length: 12 }, (_, i) => `w${i}-0123456789`).join(' ');
  const ready = join(sb.home, 'ready.txt');
  writeFileSync(ready, 'timeout 60\nsend <enter>\nexpect guest:[^\\r\\n]*# \n');
  assert.equal((await vmdeck(['type', LABEL, '--script', ready], sb.env)).code, 0, 'the shell is at its prompt');
  const typed = await vmdeck(['type', LABEL, '--serial', `echo ${long} END-$((3+4))<enter>`], sb.env);
  assert.equal(typed.code, 0, typed.stderr);
  const log = join(sb.run, LABEL, 'serial.log');
  const deadline = Date.now() + 20000;
  while (!/END-7\r?\n/.test(readFileSync(log, 'utf8')) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
  assert.match(readFileSync(log, 'utf8'), new RegExp(`\n${long} END-7\r?\n`), 'the shell ran the whole line');
});

test('through a running dashboard: vmdeck expect waits on the shared hub, vmdeck type --serial provokes it, the sent text reaches the shell', async () => {
  const server = await spawnServer(sb);
  try {
    const env = { ...sb.env, VMDECK_TOKEN: TEST_TOKEN };
    const waiting = vmdeck(['expect', LABEL, '--serial', 'ready-2', '--send', 'echo sent-$((2+3))<enter>', '--timeout', '60'], env, { timeoutMs: 90000 });
    await new Promise((r) => setTimeout(r, 2000));
    const typed = await vmdeck(['type', LABEL, '--serial', 'echo ready-$((1+1))<enter>'], env);
    assert.equal(typed.code, 0, typed.stderr);
    const r = await waiting;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'ready-2');
    const log = join(sb.run, LABEL, 'serial.log');
    const deadline = Date.now() + 20000;
    while (!/sent-5/.test(readFileSync(log, 'utf8')) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
    assert.match(readFileSync(log, 'utf8'), /\nsent-5\r?\n/);
    const tasks = JSON.parse((await vmdeck(['tasks', LABEL, '--json'], env)).stdout) as { action: string; result: string }[];
    assert.deepEqual(tasks.slice(0, 2).map((t) => `${t.action} ${t.result}`), ['type ok', 'expect ok']);
    // What was typed (a password, often) is never kept or answered: its length only.
    const logged = readFileSync(join(sb.home, 'tasks', 'current.jsonl'), 'utf8');
    assert.ok(!logged.includes('ready-$((1+1))') && !logged.includes('sent-$((2+3))'), logged.slice(-800));
    const listed = (await api(server.base, 'GET', `/api/tasks?label=${LABEL}`)).text;
    assert.ok(!listed.includes('ready-$((1+1))') && !listed.includes('sent-$((2+3))'), listed.slice(0, 800));
    assert.match(listed, /\(25 characters, not logged\)/);
    // A pattern that backtracks without end over what the guest prints is stopped, not run for ever: the server answers meanwhile.
    const t0 = Date.now();
    const stuck = api(server.base, 'POST', `/api/vms/${LABEL}/expect`, { serial: '(a|a)*b', timeout: 120 });
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal((await vmdeck(['type', LABEL, '--serial', `echo ${'a'.repeat(34)}<enter>`], env)).code, 0);
    const answered = Date.now();
    assert.equal((await api(server.base, 'GET', '/api/vms')).status, 200);
    const stopped = await stuck;
    assert.equal(stopped.status, 400, stopped.text);
    assert.equal(stopped.json.field, 'serial');
    assert.match(stopped.json.error, /^serial: \/\(a\|a\)\*b\/ took more than 1 s to match \d+ characters of output \(it backtracks without end\)/);
    assert.ok(Date.now() - t0 < 60000, `stopped after ${Date.now() - t0} ms`);
    assert.ok(Date.now() - answered < 30000);
  } finally {
    await server.kill();
  }
});

test('a server.json left by a dashboard that died, its pid now another process\'s: type and expect --serial go to QEMU\'s socket', async () => {
  // The default run root is under /tmp: after a reboot, or a kill -9, the pid in it may be any process's.
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  const log = join(sb.run, LABEL, 'serial.log');
  try {
    for (const pidStart of [0, 1]) {
      // Without pidStart (a file of an older vmdeck): a port that does not answer; with one: a start time that is not sleep's.
      writeFileSync(join(sb.run, 'server.json'), `${JSON.stringify({ pid: other.pid, host: '127.0.0.1', port: 1, startedAt: new Date().toISOString(), ...(pidStart ? { pidStart } : {}) })}\n`, { mode: 0o600 });
      const typed = await vmdeck(['type', LABEL, '--serial', `echo stale${pidStart}-$((1+1))<enter>`], sb.env);
      assert.equal(typed.code, 0, typed.stderr);
      const deadline = Date.now() + 20000;
      while (!new RegExp(`\nstale${pidStart}-2\r?\n`).test(readFileSync(log, 'utf8')) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
      assert.match(readFileSync(log, 'utf8'), new RegExp(`\nstale${pidStart}-2\r?\n`));
      // expect reads the socket too: it times out on what is never printed, not on the dashboard that is not there.
      const waited = await vmdeck(['expect', LABEL, '--serial', 'never-printed', '--timeout', '1'], sb.env);
      assert.equal(waited.code, 1);
      assert.match(waited.stderr, /^vmdeck expect: VM 'typist' printed nothing matching \/never-printed\/ within 1 s/);
    }
  } finally {
    other.kill();
    rmSync(join(sb.run, 'server.json'), { force: true });
  }
});

test('vmdeck expect --screen reads the VGA console by OCR (tesseract): the prompt, then typed command\'s output; a script step and the API wait the same way; a text never shown times out naming it', async () => {
  // Linux is on the screen only once the shell on tty1 ran uname. Words that OCR reads surely (it
  // has read guest as quest); BusyBox is the shell's banner.
  const prompt = await vmdeck(['expect', LABEL, '--screen', 'BusyBox', '--send', 'uname<enter>', '--timeout', '90'], sb.env, { timeoutMs: 120000 });
  assert.equal(prompt.code, 0, prompt.stderr);
  assert.match(prompt.stdout, /BusyBox v1/);
  const output = await vmdeck(['expect', LABEL, '--screen', 'linux', '--timeout', '60'], sb.env, { timeoutMs: 90000 });
  assert.equal(output.code, 0, output.stderr);
  assert.equal(output.stdout.trim(), 'Linux', 'the line it is on, as the screen shows it');
  const file = join(sb.home, 'screen-steps.txt');
  writeFileSync(file, 'timeout 60\nexpect --screen Linux\ntype clear<enter>\nwait 1\n');
  const script = await vmdeck(['type', LABEL, '--script', file], sb.env, { timeoutMs: 120000 });
  assert.equal(script.code, 0, script.stderr);
  assert.match(script.stdout, /3 steps done/);
  const server = await spawnServer(sb);
  try {
    // Cleared: Linux is not on the screen any more.
    const gone = await api(server.base, 'POST', `/api/vms/${LABEL}/expect`, { screen: 'Linux', timeout: 4 });
    assert.equal(gone.status, 504, "a wait that timed out: the guest did not answer in time");
    assert.equal(gone.json.field, 'screen');
    assert.match(gone.json.error, /^VM 'typist' showed no 'Linux' on its screen within 4 s \(it read: ".*"\)$/);
    const both = await api(server.base, 'POST', `/api/vms/${LABEL}/expect`, { screen: 'x', serial: 'y' });
    assert.deepEqual([both.status, both.json], [400, { error: 'screen: wait for serial or screen, not both', field: 'screen' }]);
    assert.equal((await vmdeck(['type', LABEL, 'uname<enter>'], sb.env)).code, 0);
    const shown = await api(server.base, 'POST', `/api/vms/${LABEL}/expect`, { screen: 'linux', timeout: 30 });
    assert.deepEqual([shown.status, shown.json], [200, { matched: 'Linux' }]);
  } finally {
    await server.kill();
  }
  const bad = await vmdeck(['expect', LABEL, '--screen', 'a\tb'], sb.env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /screen: the text may not hold control characters/);
});
