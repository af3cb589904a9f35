// One demo guest through its life: start, list, serial, pause/resume (seen by
// the event subscription), snapshots, media, screenshot, keys, monitor and
// suspend/resume. Real QEMU (TCG), one boot for the whole file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pngSize } from '../../lib/png';
import type { VmInfo } from '../../lib/vm';
import { addDisk } from '../../server/devices';
import { editVm } from '../../server/edit';
import { eventsReady, subscribe } from '../../server/events';
import { changeMedia, ejectMedia, queryMedia } from '../../server/media';
import { hmpCommand } from '../../server/monitor';
import { qmpOnce } from '../../server/qmp';
import { listRunning, startVm, stopVm, vmStatus } from '../../server/runner';
import { screenshot } from '../../server/screen';
import { sendKeys, typeText } from '../../server/keys';
import { deleteSnapshot, listSnapshots, loadSnapshot, saveSnapshot } from '../../server/snapshots';
import { createVm } from '../../server/store';
import { demoVmEnv, PROMPT, sandbox } from '../helpers/guest';
import { EventRecorder, guestShell, qemuPids, vmdeck } from '../helpers/lifecycle';
import type { SocketTerminal } from '../helpers/serial';

const sb = sandbox('life');
const LABEL = 'life';
let vm: VmInfo;
let shell: SocketTerminal;
const recorder = new EventRecorder();
let unsubscribe: () => void = () => undefined;
const qmpPath = () => join(sb.run, LABEL, 'qmp.sock');

before(async () => {
  sb.enter();
  ({ vm } = await createVm({ label: LABEL, template: 'kernel-initrd', env: demoVmEnv(), base: join(sb.home, 'vms') }));
  unsubscribe = subscribe(recorder.listener);
  await eventsReady();
});

after(async () => {
  shell?.close();
  unsubscribe();
  await stopVm(LABEL, { mode: 'force' }).catch(() => undefined);
  sb.cleanup();
});

test('start runs the VM detached; list and list --json show it with its pid; the serial console answers', async () => {
  const started = await startVm(LABEL);
  assert.equal(started.state, 'running');
  const pidFile = Number(readFileSync(join(sb.run, LABEL, 'qemu.pid'), 'utf8'));
  assert.equal(started.pid, pidFile);
  assert.deepEqual(qemuPids(sb.run, LABEL), [pidFile]);

  const running = await listRunning();
  assert.deepEqual(running.map((v) => [v.label, v.state, v.pid]), [[LABEL, 'running', pidFile]]);

  const cli = await vmdeck(['list', '--json'], sb.env);
  assert.equal(cli.code, 0, cli.stderr);
  const listed = JSON.parse(cli.stdout);
  assert.equal(listed.length, 1);
  assert.equal(listed[0].label, LABEL);
  assert.equal(listed[0].state, 'running');
  assert.equal(listed[0].pid, pidFile);
  assert.equal(listed[0].sockets.serial, join(sb.run, LABEL, 'serial.sock'));
  // Private in a private directory, whatever the umask the wrapper was started with (this one's is the test's, 022).
  assert.equal(statSync(join(sb.run, LABEL)).mode & 0o777, 0o700);
  for (const name of ['qmp.sock', 'monitor.sock', 'serial.sock', 'vnc.sock']) {
    const st = statSync(join(sb.run, LABEL, name));
    assert.ok(st.isSocket(), name);
    assert.equal(st.mode & 0o077, 0, `${name} is the user's only: ${(st.mode & 0o777).toString(8)}`);
  }

  const table = await vmdeck(['enumerate'], sb.env);
  assert.match(table.stdout, new RegExp(`^${LABEL}\\s+running\\s`, 'm'));

  shell = await guestShell(sb.run, LABEL);
  assert.equal(await shell.run('echo $((6*7))', /42/), '42');
});

test('pause stops the guest (seen as an event within 500 ms of a raw QMP stop), resume lets it answer again', async () => {
  // The shell idle at its prompt, nothing of it still on the way.
  await shell.run('true', PROMPT);
  const from = recorder.events.length;
  await qmpOnce(qmpPath(), 'stop');
  const stoppedAt = Date.now();
  const paused = await recorder.next((e) => e.label === LABEL && e.state === 'paused', 3000, from);
  assert.ok(paused.at - stoppedAt < 500, `paused event ${paused.at - stoppedAt} ms after the QMP stop`);
  assert.equal(paused.previous, 'running');
  assert.equal((await vmStatus(vm)).state, 'paused');

  // The paused guest neither echoes nor runs what is typed.
  await new Promise((r) => setTimeout(r, 200));
  const mark = shell.mark;
  shell.write('echo $((6*7))\r');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(shell.output.slice(mark), '', 'a paused guest printed something');

  const cli = await vmdeck(['cancel', LABEL, '--resume'], sb.env);
  const cliEnded = Date.now();
  assert.equal(cli.code, 0, cli.stderr);
  const resumed = await recorder.next((e) => e.label === LABEL && e.state === 'running', 3000, from);
  assert.ok(resumed.at - cliEnded < 500, `running event ${resumed.at - cliEnded} ms after the CLI ended`);
  assert.equal((await vmStatus(vm)).state, 'running');
  // What was typed while paused runs now.
  await shell.waitFor(/42/, 20000, mark);
  assert.equal(await shell.run('echo $((7*8))', /56/), '56');

  const pause = await stopVm(LABEL, { mode: 'pause' });
  assert.equal(pause.state, 'paused');
  // A Start of a paused VM says how it goes on.
  await assert.rejects(startVm(LABEL), { status: 409, message: `label: VM '${LABEL}' is already running (pid ${pause.pid}), paused: vmdeck cancel ${LABEL} --resume (or Resume) continues it` });
  assert.equal((await stopVm(LABEL, { mode: 'resume' })).state, 'running');
});

test('a snapshot taken while running brings back the RAM: a file in /tmp reads as it was', async () => {
  await shell.run('echo one > /tmp/v', PROMPT);
  const saved = await saveSnapshot(LABEL, 'first');
  assert.equal(saved.name, 'first');
  assert.ok(saved.vmStateSize > 0, 'a live snapshot holds the VM state');
  await assert.rejects(saveSnapshot(LABEL, 'first'), { status: 409, message: `name: VM '${LABEL}' already has a snapshot 'first' (delete it first)` });
  await assert.rejects(saveSnapshot(LABEL, 'two words'), { status: 400, field: 'name' });

  await shell.run('echo two > /tmp/v', PROMPT);
  assert.match(await shell.run('cat /tmp/v', /(one|two)\r?\n/), /two/);
  await loadSnapshot(LABEL, 'first');
  assert.match(await shell.run('cat /tmp/v', /(one|two)\r?\n/), /one/);

  const cli = await vmdeck(['snapshot', LABEL, 'list', '--json'], sb.env);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(JSON.parse(cli.stdout).map((s: { name: string }) => s.name), ['first']);
  await assert.rejects(loadSnapshot(LABEL, 'nope'), { status: 404, field: 'name' });
  await deleteSnapshot(LABEL, 'first');
  assert.deepEqual(await listSnapshots(LABEL), []);
});

test('snapshots refuse a raw disk image, naming it', async () => {
  const { vm: raw } = await createVm({ label: 'rawdisk', template: 'kernel-initrd', env: demoVmEnv(undefined, { HDDBOOTIMAGE_FORMAT: 'raw' }), base: join(sb.home, 'vms') });
  assert.match(raw.disk, /\.raw$/);
  const message = `disk: snapshots need a qcow2 image; '${raw.disk}' is raw`;
  await assert.rejects(listSnapshots('rawdisk'), { status: 400, field: 'disk', message });
  await assert.rejects(saveSnapshot('rawdisk', 'x1'), { status: 400, field: 'disk', message });
  const cli = await vmdeck(['snapshot', 'rawdisk', 'save', 'x1'], sb.env);
  assert.equal(cli.code, 1);
  assert.equal(cli.stderr, `vmdeck snapshot: ${message}\n`);
});

test('media change puts an ISO into cd0 (query-block shows it); eject empties the drive', async () => {
  const src = join(sb.home, 'iso-src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'hello.txt'), 'hello\n');
  const iso = join(sb.home, 'test.iso');
  execFileSync('genisoimage', ['-quiet', '-o', iso, '-V', 'TEST', src]);

  const changed = await changeMedia(LABEL, iso);
  assert.equal(changed.file, iso);
  const blocks = await qmpOnce<{ device: string; inserted?: { file: string; ro: boolean } }[]>(qmpPath(), 'query-block');
  const cd = blocks.find((b) => b.device === 'cd0');
  assert.equal(cd?.inserted?.file, iso);
  assert.equal(cd?.inserted?.ro, true);

  const cli = await vmdeck(['media', LABEL, 'eject'], sb.env);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /cd0: empty/);
  const after = await qmpOnce<{ device: string; inserted?: unknown }[]>(qmpPath(), 'query-block');
  assert.equal(after.find((b) => b.device === 'cd0')?.inserted, undefined);
  assert.equal((await queryMedia(LABEL)).file, null);
  assert.equal((await ejectMedia(LABEL)).file, null);
  await assert.rejects(changeMedia(LABEL, join(sb.home, 'missing.iso')), { status: 400, field: 'path' });
});

test('screenshot is a PNG of the guest display, the size QEMU reports for it', async () => {
  const png = await screenshot(LABEL);
  assert.ok(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'PNG signature');
  const size = pngSize(png);
  assert.ok(size && size.width > 0 && size.height > 0);
  // QEMU's own PPM of the same screen has the same size.
  const ppm = join(sb.run, LABEL, 'check.ppm');
  await qmpOnce(qmpPath(), 'screendump', { filename: ppm });
  const m = /^P6\s+(\d+)\s+(\d+)\s/.exec(readFileSync(ppm, 'latin1'));
  assert.deepEqual(size, { width: Number(m?.[1]), height: Number(m?.[2]) });
  assert.equal(existsSync(join(sb.run, LABEL, `screendump-${process.pid}-1.png`)), false, 'the temporary file is removed');
});

test('keys: Ctrl-Alt-Del reaches the guest; text is typed on its VGA console as a US keyboard would', async () => {
  let mark = shell.mark;
  await sendKeys(LABEL, ['ctrl', 'alt', 'delete']);
  await shell.waitFor(/vmdeck-guest: ctrl-alt-del/, 10000, mark);
  await assert.rejects(sendKeys(LABEL, ['ctrl', 'hyper']), { status: 400, field: 'keys' });

  // tty1's shell runs what is typed and sends the result to the serial console.
  mark = shell.mark;
  await typeText(LABEL, 'echo Typed-$((3+4)) "A|b~" > /dev/ttyS0\n');
  await shell.waitFor(/Typed-7 A\|b~/, 20000, mark);
  await assert.rejects(typeText(LABEL, 'café'), { status: 400, field: 'text' });
});

test('monitor: one HMP command, through the API and the CLI', async () => {
  assert.equal(await hmpCommand(LABEL, 'info status'), 'VM status: running\n');
  const cli = await vmdeck(['monitor', LABEL, 'info', 'status'], sb.env);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.stdout, 'VM status: running\n');
  await assert.rejects(hmpCommand(LABEL, '  '), { status: 400, field: 'command' });
});

test('suspend saves the state and ends QEMU; the next start resumes it, shell variables and the CD in the drive and all', async () => {
  await shell.run('X=kept-$((6*7))', PROMPT);
  // A medium put in while it runs is not in the config: it must be in the drive again after the resume.
  const iso = join(sb.home, 'test.iso');
  await changeMedia(LABEL, iso);
  const from = recorder.events.length;
  const status = await stopVm(LABEL, { mode: 'suspend' });
  assert.equal(status.state, 'suspended');
  assert.deepEqual(qemuPids(sb.run, LABEL), [], 'no QEMU process left');
  assert.ok(existsSync(join(vm.dir, `${LABEL}.suspend`)));
  assert.equal(statSync(join(vm.dir, `${LABEL}.suspend`)).mode & 0o777, 0o600, "the guest's memory is the user's only");
  assert.equal((await vmStatus(vm)).state, 'suspended');
  // enumerate --json answers from the walk's listing of the VM's directory (runner.ts's enumerateRecords).
  const enumerated = async () => {
    const r = await vmdeck(['enumerate', '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as VmInfo[]).find((v) => v.label === LABEL)?.state;
  };
  assert.equal(await enumerated(), 'suspended');
  await recorder.next((e) => e.label === LABEL && e.state === 'suspended', 3000, from);
  await assert.rejects(stopVm(LABEL, { mode: 'pause' }), { status: 409, message: `label: VM '${LABEL}' is not running (it is suspended: vmdeck start resumes it)` });
  // Its saved state resumes only into the machine it was saved of: a disk or more memory now is refused, a name is not.
  const saved = join(vm.dir, `${LABEL}.suspend`);
  const configBefore = readFileSync(vm.config, 'utf8');
  await assert.rejects(addDisk(LABEL, { size: '8M' }), { status: 409, message: `label: VM '${LABEL}' is suspended: its saved state would resume without the new disk; start it (it resumes) and make the change then, or remove ${saved} to boot it afresh` });
  await assert.rejects(editVm(LABEL, { MEMSIZE: '333' }), { status: 409, message: `label: VM '${LABEL}' is suspended: its saved state would not resume into the machine MEMSIZE would make; start it (it resumes) and change it then, or remove ${saved} to boot it afresh` });
  assert.equal(readFileSync(vm.config, 'utf8'), configBefore, 'nothing written');
  assert.equal((await editVm(LABEL, { DIST: 'Suspended' })).pending, false);
  shell.close();

  const resumed = await startVm(LABEL);
  assert.equal(resumed.state, 'running');
  assert.equal(existsSync(join(vm.dir, `${LABEL}.suspend`)), false, 'the saved state is used up');
  assert.equal(await enumerated(), 'running');
  shell = await guestShell(sb.run, LABEL);
  assert.equal(await shell.run('echo $X', /kept-\d+(?=\r?\n)/), 'kept-42');
  assert.equal((await queryMedia(LABEL)).file, iso);
  assert.equal(existsSync(join(vm.dir, `${LABEL}.suspend.cd`)), false, 'the record of the drive is used up too');
});
