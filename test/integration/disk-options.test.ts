// Per-disk options (issue 12): read-only, cache, discard and boot index, set
// by `vmdeck disk L add|set` and PATCH /api/vms/:label/disks/:n, written as
// HDDBOOTIMAGE<N>_READONLY/_CACHE/_DISCARD/_BOOTINDEX, built by the wrapper
// into each disk's -drive and -device, and seen by the guest (/sys/block:
// ro; QMP query-block: read-only, cache); on a running VM a change is pending until the next start.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { qmpOnce } from '../../server/qmp';
import { sandbox, type Sandbox } from '../helpers/guest';
import { createGuestVm, vmdeck } from '../helpers/lifecycle';
import type { SocketTerminal } from '../helpers/serial';
import { api, inProcessServer, type InProcessServer } from '../helpers/server';
import { guestShell, quitVm } from '../helpers/vms';

let sb: Sandbox;
let srv: InProcessServer;
let shell: SocketTerminal | undefined;
const config = () => readFileSync(join(sb.home, 'vms/do/do.ctys'), 'utf8');
const print = () => execFileSync('bash', [join(sb.home, 'vms/do/do.sh'), '--print'], { env: sb.env, encoding: 'utf8' }).split('\n');

before(async () => {
  sb = sandbox('diskopt');
  srv = await inProcessServer(sb, () => createGuestVm(sb.env, 'do'));
});
after(async () => {
  shell?.close();
  await srv?.close();
  sb.cleanup();
});

test('disk options from the CLI and the API: the config\'s numbered names, the wrapper\'s -drive and -device, and refusals naming the option', async () => {
  const before = print();
  const added = await vmdeck(['disk', 'do', 'add', '--size', '16M', '--readonly', '--cache', 'none', '--boot-index', '3'], sb.env);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /wrote HDDBOOTIMAGE1='do-disk1\.qcow2' HDDBOOTIMAGE1_FORMAT='qcow2' HDDBOOTIMAGE1_IF='virtio' HDDBOOTIMAGE1_READONLY='on' HDDBOOTIMAGE1_CACHE='none' HDDBOOTIMAGE1_BOOTINDEX='3'$/m);
  const patched = await api(srv.base, 'PATCH', '/api/vms/do/disks/0', { discard: true });
  assert.equal(patched.status, 200, patched.text);
  assert.deepEqual(patched.json.lines, ["HDDBOOTIMAGE_DISCARD='on'"]);
  assert.equal(patched.json.pending, false);
  assert.match(config(), /^HDDBOOTIMAGE_DISCARD='on'$/m);

  const argv = print();
  assert.ok(argv.includes(`file=${join(sb.home, 'vms/do/do-disk1.qcow2')},format=qcow2,if=none,id=hd1,cache=none,readonly=on`), argv.join('\n'));
  // This VM boots its kernel (KERNEL mode): a disk's boot index orders a boot from disk only (test/unit/wrapper-disk-options.test.ts).
  assert.ok(argv.includes('virtio-blk-pci,drive=hd1,id=disk1,serial=disk1'), argv.join('\n'));
  // The first disk keeps its -drive, with the option added; nothing else of the command changed.
  const disk0 = before.find((a) => a.includes(',id=hd0'))!;
  assert.ok(argv.includes(`${disk0},discard=unmap`), argv.join('\n'));
  assert.deepEqual(argv.filter((a) => !/id=hd[01]|id=disk1/.test(a) && a !== '-drive' && a !== '-device'), before.filter((a) => !a.includes(',id=hd0') && a !== '-drive' && a !== '-device'));

  const bad = await vmdeck(['disk', 'do', 'set', '1', 'cache=fast'], sb.env);
  assert.equal(bad.stderr, "vmdeck disk: cache: 'fast' is not one of writeback, none, writethrough, directsync, unsafe (or '' for QEMU's default)\n");
  const badApi = await api(srv.base, 'PATCH', '/api/vms/do/disks/1', { bootIndex: 'first' });
  assert.equal(badApi.status, 400);
  assert.deepEqual([badApi.json.field, badApi.json.error], ['bootIndex', "bootIndex: 'first' is not a boot index 0-99 (or empty for none)"]);
  const none = await api(srv.base, 'PATCH', '/api/vms/do/disks/7', { discard: true });
  assert.equal(none.json.error, "disk: VM 'do' has no disk 7 (it has disks 0, 1)");
  const listed = await vmdeck(['disk', 'do', 'list'], sb.env);
  assert.match(listed.stdout, /^0 {2}virtio qcow2 do\.qcow2 {2}\(discard\)$/m);
  assert.match(listed.stdout, /^1 {2}virtio qcow2 do-disk1\.qcow2 {2}\(read-only, cache=none, boot index 3\)$/m);
});

test('the guest sees the read-only disk as read-only, QEMU has each drive\'s cache mode; a change while it runs is pending', async () => {
  assert.equal((await vmdeck(['start', 'do'], sb.env)).code, 0);
  shell = await guestShell(sb.run, 'do', 180000);
  // serial=ro per virtio disk (the first disk has no serial); markers the shell computes.
  const out = await shell.run('for d in /sys/block/vd*; do echo "D$((1+1)) $(cat $d/serial 2>/dev/null)=$(cat $d/ro)"; done; echo "Z$((1+1))"', /D2[\s\S]*?Z2/);
  assert.deepEqual(Object.fromEntries([...out.matchAll(/D2 ([^=\r\n]*)=(\d)/g)].map((m) => [m[1], m[2]])), { '': '0', disk1: '1' });
  // QEMU's own view: the cache mode and read-only flag each drive got (a guest's virtio disk offers discard either way).
  const blocks = await qmpOnce<{ device: string; inserted?: { ro: boolean; cache: { direct: boolean; 'no-flush': boolean } } }[]>(join(sb.run, 'do', 'qmp.sock'), 'query-block');
  const hd = (id: string) => blocks.find((b) => b.device === id)?.inserted;
  assert.deepEqual([hd('hd0')?.ro, hd('hd0')?.cache.direct], [false, false]);
  assert.deepEqual([hd('hd1')?.ro, hd('hd1')?.cache.direct], [true, true]);

  const set = await vmdeck(['disk', 'do', 'set', '1', 'readonly=off'], sb.env);
  assert.equal(set.code, 0, set.stderr);
  assert.equal(set.stdout, "VM 'do': disk 1: wrote HDDBOOTIMAGE1_READONLY='off' (pending until the next start)\n");
  const vm = (await api(srv.base, 'GET', '/api/vms/do')).json.vm;
  assert.deepEqual(vm.pending?.variables, ['HDDBOOTIMAGE1_READONLY']);
  shell.close();
  shell = undefined;
  await quitVm(sb.run, 'do');
});
