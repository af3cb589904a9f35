// vmdeck net create --tap/--bridge (root), as ctys-setupVDE joined a switch to
// the host: run inside a network namespace this test makes, so that the TAP
// device, the bridge and the 10.78.0.0/24 addresses exist nowhere else.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createVm } from '../../server/store';
import { vmdeck, type CliResult } from '../helpers/cli';
import { demoVmEnv, guestImages, REPO, sandbox, type Sandbox } from '../helpers/guest';
import { guestShell, quitVm, startWrapper } from '../helpers/vms';

const NS = `vdtap${process.pid}`;
const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'TAP devices and network namespaces need root';

let sb: Sandbox;

before(() => {
  sb = sandbox('nettap');
  sb.enter();
  if (isRoot) execFileSync('ip', ['netns', 'add', NS]);
});
after(() => {
  sb.cleanup();
  if (isRoot) execFileSync('ip', ['netns', 'del', NS]);
});

/** Runs a command inside the namespace. */
const inNs = (cmd: string, ...args: string[]) =>
  execFileSync('ip', ['netns', 'exec', NS, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** vmdeck net ... inside the namespace, where vde_switch then opens its TAP device. */
function netInNs(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', NS, process.execPath, join(REPO, 'bin/vmdeck.js'), 'net', ...args], { env: sb.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

interface Link { ifname: string; master?: string; flags: string[]; linkinfo?: { info_kind?: string } }
const links = (): Link[] => JSON.parse(inNs('ip', '-j', '-d', 'link', 'show')) as Link[];
const link = (name: string) => links().find((l) => l.ifname === name);

test('a bridge without a TAP device is refused in one line', async () => {
  const r = await vmdeck(['net', 'create', 'lan', '--bridge', 'vdbr0'], sb.env);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'vmdeck net: bridge: a bridge is joined through a TAP device: give --tap IFACE as well\n');
});

test('net create --tap --bridge makes both; a guest on the switch and the namespace ping each other; cancel removes them', { skip }, async () => {
  const made = await netInNs('create', 'lan', '--tap', 'vdtap0', '--bridge', 'vdbr0');
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /^created switch 'lan' \(pid \d+\) on TAP device vdtap0 in bridge vdbr0\n/);
  assert.equal(link('vdbr0')?.linkinfo?.info_kind, 'bridge');
  assert.equal(link('vdtap0')?.linkinfo?.info_kind, 'tun');
  assert.equal(link('vdtap0')?.master, 'vdbr0');
  assert.ok(link('vdtap0')?.flags.includes('UP') && link('vdbr0')?.flags.includes('UP'));

  // The management socket is a file: info works from outside the namespace too.
  const info = await vmdeck(['net', 'info', 'lan', '--json'], sb.env);
  const s = JSON.parse(info.stdout) as { tap: string; bridge: string; ports: { kind: string; descr: string }[] };
  assert.equal(s.tap, 'vdtap0');
  assert.equal(s.bridge, 'vdbr0');
  assert.deepEqual(s.ports.map((p) => [p.kind, p.descr]), [['tap', 'vdtap0']]);

  inNs('ip', 'addr', 'add', '10.78.0.1/24', 'dev', 'vdbr0');
  const images = guestImages();
  const { vm } = await createVm({
    label: 'tapvm', template: 'kernel-initrd',
    env: demoVmEnv(images, { NETMODE: 'vde', QEMUSOCK: 'lan', INST_APPEND: `${images.append} vmdeck.ip=10.78.0.2/24` }),
  });
  await startWrapper(vm, sb.env);
  const shell = await guestShell(sb.run, 'tapvm');
  try {
    assert.equal(await shell.run('ping -c 1 -W 3 10.78.0.1', /\d+ packets received/, 15000), '1 packets received');
  } finally {
    shell.close();
  }
  // iputils' ping, or busybox's where that is missing.
  const ping = existsSync('/usr/bin/ping') || existsSync('/bin/ping') ? ['ping'] : ['busybox', 'ping'];
  assert.match(inNs(ping[0], ...ping.slice(1), '-c', '1', '-W', '3', '10.78.0.2'), /\b1 (packets )?received/);
  await quitVm(sb.run, 'tapvm');

  const gone = await netInNs('cancel', 'lan');
  assert.equal(gone.code, 0, gone.stderr);
  assert.equal(gone.stdout, "cancelled switch 'lan'\n  removed: vdtap0, vdbr0\n");
  assert.equal(link('vdtap0'), undefined);
  assert.equal(link('vdbr0'), undefined);
});

test('a bridge that was there before stays after cancel; only the TAP device goes', { skip }, async () => {
  inNs('ip', 'link', 'add', 'vdbr1', 'type', 'bridge');
  const made = await netInNs('create', 'lan2', '--tap', 'vdtap1', '--bridge', 'vdbr1');
  assert.equal(made.code, 0, made.stderr);
  assert.equal(link('vdtap1')?.master, 'vdbr1');
  const gone = await netInNs('cancel', 'lan2');
  assert.equal(gone.code, 0, gone.stderr);
  assert.equal(gone.stdout, "cancelled switch 'lan2'\n  removed: vdtap1\n");
  assert.equal(link('vdtap1'), undefined);
  assert.equal(link('vdbr1')?.linkinfo?.info_kind, 'bridge');
});

test('a TAP name that is not a TAP device is refused, and nothing is left behind', { skip }, async () => {
  const r = await netInNs('create', 'lan3', '--tap', 'vdbr1');
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "vmdeck net: tap: interface 'vdbr1' exists and is not a TAP device\n");
  assert.equal((await vmdeck(['net', 'list'], sb.env)).stdout, 'no VDE switches (make one: vmdeck net create NAME)\n');
});
