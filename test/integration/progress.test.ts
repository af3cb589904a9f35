// A running VM that makes no progress is not shown as healthy: a real QEMU
// guest whose disk's boot sector only halts (SeaBIOS says "Booting from Hard
// Disk..." on the screen, then nothing changes and serial stays empty) reads
// "no progress" in `vmdeck list --json`, GET /api/vms/:label and the event
// stream; the test guest, which boots, does not.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { VmInfo } from '../../lib/vm';
import { vmdeck } from '../helpers/cli';
import { demoVmEnv, guestImages, sandbox } from '../helpers/guest';
import { api, inProcessServer, type InProcessServer } from '../helpers/server';
import { waitFor } from '../helpers/vms';

const sb = sandbox('progress');
// Seconds of silence before "no progress"; 60 by default.
const env = { ...sb.env, VMDECK_NO_PROGRESS_SECONDS: '3' };
let srv: InProcessServer | undefined;

/** A raw disk whose boot sector is `cli; hlt; jmp $-1`: the guest stops before printing anything. */
function haltingDisk(name: string): string {
  const disk = Buffer.alloc(1024 * 1024);
  disk.set([0xfa, 0xf4, 0xeb, 0xfd], 0);
  disk.set([0x55, 0xaa], 510);
  mkdirSync(sb.home, { recursive: true });
  const path = join(sb.home, name);
  writeFileSync(path, disk);
  return path;
}

async function createStuck(label: string): Promise<void> {
  // TCG: this host's KVM runs no ordinary guest (kvm_pvm); the verdict here is about the guest, not the accelerator.
  const r = await vmdeck(['create-conf', '--label', label, '--template', 'linux-x86_64', '--auto-all', 'ACCELERATOR=QEMU', 'NETMODE=none',
    `HDDBOOTIMAGE=${haltingDisk(`${label}.img`)}`, 'HDDBOOTIMAGE_FORMAT=raw', 'MEMSIZE=64', 'SMP=1'], env);
  assert.equal(r.code, 0, r.stderr);
}

async function start(label: string): Promise<void> {
  const r = await vmdeck(['start', label], env);
  assert.equal(r.code, 0, r.stderr);
}

async function list(): Promise<Record<string, VmInfo>> {
  const r = await vmdeck(['list', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  return Object.fromEntries((JSON.parse(r.stdout) as VmInfo[]).map((v) => [v.label, v]));
}

before(async () => {
  await createStuck('stuck');
  const images = guestImages();
  const r = await vmdeck(['create-conf', '--label', 'healthy', '--template', 'kernel-initrd', '--auto-all',
    ...Object.entries(demoVmEnv(images, { NETMODE: 'none' })).map(([k, v]) => `${k}=${v}`)], env);
  assert.equal(r.code, 0, r.stderr);
  await start('stuck');
  await start('healthy');
});

after(async () => {
  await srv?.close();
  sb.cleanup();
});

test('vmdeck list samples the screens itself: the halted guest reads "no progress", the booting test guest does not', async () => {
  let rows: Record<string, VmInfo> = {};
  await waitFor('"no progress" for VM stuck in vmdeck list', async () => {
    rows = await list();
    return /^no progress: /.test(rows.stuck?.warning ?? '');
  }, 60000);
  assert.equal(rows.stuck.state, 'running', 'QEMU runs it: the state says so, the warning says the rest');
  assert.match(rows.stuck.warning!, /^no progress: nothing on serial since the start and the screen unchanged for \d+ s, and the CPU has not turned paging on: no OS kernel runs yet \(stuck, or a boot menu waiting for a key\)$/);
  assert.equal(readFileSync(join(sb.run, 'stuck', 'serial.log'), 'utf8'), '');
  assert.equal(rows.healthy.state, 'running');
  assert.equal(rows.healthy.warning, undefined);
  // It prints nothing on serial until someone types, and its screen stays still at its prompt: its CPU tells.
  assert.equal(JSON.parse(readFileSync(join(sb.run, 'healthy', 'progress'), 'utf8')).paging, true, 'the test guest was sampled and judged too');

  const text = await vmdeck(['list'], env);
  assert.match(text.stdout, /^stuck +running \(no progress\) +\d+/m);
  assert.match(text.stdout, /^healthy +running +\d+/m);
  assert.match(text.stdout, /^stuck: no progress: nothing on serial/m);
});

test('GET /api/vms/:label and the list say it too; QEMU\'s KVM error lines are the reason; the event watcher tells a newly stuck VM', async () => {
  process.env.VMDECK_NO_PROGRESS_SECONDS = '3';
  srv = await inProcessServer(sb);
  const stuck = await api(srv.base, 'GET', '/api/vms/stuck');
  assert.equal(stuck.status, 200, stuck.text);
  assert.match(stuck.json.vm.warning, /^no progress: /);
  const healthy = await api(srv.base, 'GET', '/api/vms/healthy');
  assert.equal(healthy.json.vm.state, 'running');
  assert.equal(healthy.json.vm.warning, undefined);
  const all = await api(srv.base, 'GET', '/api/vms');
  const byLabel = Object.fromEntries((all.json as VmInfo[]).map((v) => [v.label, v]));
  assert.match(byLabel.stuck.warning ?? '', /^no progress: /);
  assert.equal(byLabel.healthy.warning, undefined);

  // What QEMU writes where KVM fails it (this host's kvm_pvm only tells the host's kernel log, so the line is put where QEMU would).
  appendFileSync(join(sb.run, 'stuck', 'qemu-stderr.log'), 'KVM internal error. Suberror: 1\nemulation failure\n');
  const reason = await api(srv.base, 'GET', '/api/vms/stuck');
  assert.match(reason.json.vm.warning, /^no progress: .*; QEMU: KVM internal error\. Suberror: 1$/);

  const { subscribe } = await import('../../server/events');
  const seen: { label: string; state: string; warning?: string }[] = [];
  const unsubscribe = subscribe((e) => seen.push(e));
  try {
    await createStuck('stuck2');
    await start('stuck2');
    await waitFor('an event with the warning of stuck2', () => seen.some((e) => e.label === 'stuck2' && e.state === 'running' && /^no progress: /.test(e.warning ?? '')), 60000);
    assert.ok(!seen.some((e) => e.label === 'healthy' && e.warning), 'no warning for the test guest');
  } finally {
    unsubscribe();
  }
});
