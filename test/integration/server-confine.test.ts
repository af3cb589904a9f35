// The API cannot reach beyond the VM: ARGSADD from the allowlist only, and
// files (install media, kernels, initrds, disks, floppies, a CD changed
// while running, paths in start options) from the bases and the media
// directories only, refused in one line naming the field. The CLI, the host
// user's own hand, stays free.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../../server/index';
import { createVm } from '../../server/store';
import { demoVmEnv, guestImages, sandbox } from '../helpers/guest';
import { api, TEST_TOKEN } from '../helpers/server';

const sb = sandbox('confine');
const noBuild = mkdtempSync(join(tmpdir(), 'vd-nobuild-'));
const images = guestImages();
let server: RunningServer;
let base: string;

before(async () => {
  sb.enter();
  process.env.VMDECK_TOKEN = TEST_TOKEN;
  server = await startServer({ host: '127.0.0.1', port: 0, dir: noBuild });
  base = `http://127.0.0.1:${server.port}`;
});
after(async () => {
  await server?.close();
  delete process.env.VMDECK_TOKEN;
  rmSync(noBuild, { recursive: true, force: true });
  sb.cleanup();
});

// TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
const guest = { template: 'kernel-initrd', kernel: images.kernel, initrd: images.initrd, append: images.append, accelerator: 'QEMU', memsize: 256 };

test('argsAdd that runs a program, opens a host file or a pipe is refused, and nothing is made or run', async () => {
  const marker = join(sb.home, 'ran');
  for (const argsAdd of [
    ['-incoming', `exec:id -un > ${marker}`], ['-chardev', `pipe,id=p,path=${marker}`], ['-drive', 'file=/etc/shadow,media=cdrom'],
  ]) {
    const r = await api(base, 'POST', '/api/vms', { label: 'evil', ...guest, argsAdd, start: true });
    assert.equal(r.status, 400, `${argsAdd.join(' ')}: ${r.text}`);
    assert.equal(r.json.field, 'argsAdd');
    assert.match(r.json.error, /^argsAdd: /);
    const preview = await api(base, 'POST', '/api/vms/preview', { label: 'evil', ...guest, argsAdd });
    assert.equal(preview.status, 400);
  }
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!existsSync(marker), 'a command ran');
  assert.ok(!existsSync(join(sb.home, 'vms', 'evil')), 'a VM was made');
});

test('host files outside the bases and media directories are refused as CD, kernel, initrd, disk, floppy; a QEMU path too', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ instSrcCdrom: '/etc/shadow', bootmode: 'CD' }, 'instSrcCdrom'],
    [{ env: { INSTCDROM: '/etc/shadow' }, bootmode: 'CD' }, 'instSrcCdrom'],
    [{ kernel: '/etc/shadow' }, 'kernel'],
    [{ initrd: '/etc/shadow' }, 'initrd'],
    [{ disk: '/etc/shadow' }, 'disk'],
    [{ disk: '../../../outside.qcow2' }, 'disk'],
    // Within the base, but beside the VM directory: made outside the atomic create, and another VM's file.
    [{ disk: '../sibling.qcow2' }, 'disk'],
    [{ disk: 'sub/../../sibling.qcow2' }, 'disk'],
    [{ instSrcFdd: '/etc/shadow' }, 'instSrcFdd'],
    [{ qemu: '/bin/sh' }, 'qemu'],
    [{ qemuMonSock: '/tmp/elsewhere.sock' }, 'qemuMonSock'],
    // Served to the guest by user networking's TFTP, or attached to it as a disk: host files all the same.
    [{ pxeRoot: '/etc', bootmode: 'PXE' }, 'pxeRoot'],
    [{ seedImage: '/etc/shadow' }, 'seedImage'],
  ];
  for (const [fields, field] of cases) {
    const r = await api(base, 'POST', '/api/vms', { label: 'media1', ...guest, ...fields });
    assert.equal(r.status, 400, `${JSON.stringify(fields)}: ${r.text}`);
    assert.equal(r.json.field, field, r.text);
    assert.ok(!r.json.error.includes('\n'));
  }
  assert.match((await api(base, 'POST', '/api/vms', { label: 'media1', ...guest, kernel: '/etc/shadow' })).json.error,
    /^kernel: '\/etc\/shadow' is outside the bases and the media directories \(.*\.cache\/guest.*\)/);
  // A socket's place is the runtime directory, and the refusal says that one.
  assert.equal((await api(base, 'POST', '/api/vms', { label: 'media1', ...guest, qemuMonSock: '/tmp/elsewhere.sock' })).json.error,
    `qemuMonSock: '/tmp/elsewhere.sock' is outside the runtime directory (${sb.run}); name a socket under it (VMDECK_RUN), or leave it empty for the VM's own`);
  assert.ok(!existsSync(join(sb.home, 'vms', 'media1')));
});

test('SSHKEY as a file through the API: not read (no line of /etc/passwd in the answer, no FIFO opened)', async () => {
  const fifo = join(sb.home, 'key-fifo');
  execFileSync('mkfifo', [fifo]);
  for (const key of ['/etc/passwd', fifo, '~/.ssh/id_ed25519.pub']) {
    for (const path of ['/api/vms/preview', '/api/vms']) {
      const r = await api(base, 'POST', path, { label: 'keyfile', ...guest, unattended: 'cloud-init', env: { SSHKEY: key } });
      assert.equal(r.status, 400, `${path} ${key}: ${r.text}`);
      assert.equal(r.json.field, 'sshKey');
      assert.equal(r.json.error, 'SSHKEY: give the public key itself (ssh-ed25519 AAAA…): through the API a file name is not read');
    }
  }
  // The server still answers: nothing waits on the FIFO.
  assert.equal((await api(base, 'GET', '/api/vms')).status, 200);
  assert.ok(!existsSync(join(sb.home, 'vms', 'keyfile')));
  rmSync(fifo);
});

test('paths that resolve through a symlink in a base to outside the bases are refused', async () => {
  const vms = join(sb.home, 'vms');
  mkdirSync(vms, { recursive: true });
  const outside = mkdtempSync(join(tmpdir(), 'vd-outside-'));
  try {
    symlinkSync('/etc', join(vms, 'etc-link'));
    symlinkSync(outside, join(vms, 'out-dir'));
    for (const [fields, field] of [
      [{ instSrcCdrom: join(vms, 'etc-link', 'shadow'), bootmode: 'CD' }, 'instSrcCdrom'],
      [{ kernel: join(vms, 'etc-link', 'hostname') }, 'kernel'],
      // A disk still to be made, in a directory that is a link out of the base.
      [{ disk: join(vms, 'out-dir', 'new.qcow2') }, 'disk'],
    ] as [Record<string, unknown>, string][]) {
      const r = await api(base, 'POST', '/api/vms', { label: 'linked', ...guest, ...fields });
      assert.equal(r.status, 400, `${JSON.stringify(fields)}: ${r.text}`);
      assert.equal(r.json.field, field, r.text);
    }
    assert.deepEqual(readdirSync(outside), [], 'nothing was made through the link');
    assert.ok(!existsSync(join(vms, 'linked')));
  } finally {
    rmSync(join(vms, 'etc-link'), { force: true });
    rmSync(join(vms, 'out-dir'), { force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});

test("an image whose header names a file outside (a backing file, an external data file) is refused as the disk; one backed inside passes", async () => {
  const vms = join(sb.home, 'vms');
  mkdirSync(vms, { recursive: true });
  const outside = mkdtempSync(join(tmpdir(), 'vd-outside-'));
  const img = (...args: string[]) => execFileSync('qemu-img', ['create', '-q', ...args]);
  try {
    // An upload of this is accepted (its bytes are harmless); used as a disk, QEMU would open /etc/passwd read-only.
    img('-f', 'qcow2', '-F', 'raw', '-b', '/etc/passwd', join(vms, 'evil.img'), '1M');
    img('-f', 'qcow2', '-o', `data_file=${join(outside, 'data.raw')}`, join(vms, 'evil-data.qcow2'), '1M');
    // Two levels: an image inside backed by one inside that is backed by a file outside.
    img('-f', 'qcow2', '-F', 'qcow2', '-b', join(vms, 'evil.img'), join(vms, 'evil-chain.qcow2'), '1M');
    // Protocols as QEMU takes them (a ':' before any '/'): a host block device, a unix socket.
    img('-f', 'qcow2', '-u', '-F', 'raw', '-b', 'host_device:/dev/null', join(vms, 'evil-dev.qcow2'), '1M');
    img('-f', 'qcow2', '-u', '-F', 'raw', '-b', 'nbd+unix:///x?socket=/tmp/nbd.sock', join(vms, 'evil-nbd.qcow2'), '1M');
    for (const [disk, names] of [['evil.img', '/etc/passwd'], ['evil-data.qcow2', join(outside, 'data.raw')], ['evil-chain.qcow2', '/etc/passwd'],
      ['evil-dev.qcow2', 'host_device:/dev/null'], ['evil-nbd.qcow2', 'nbd+unix:///x?socket=/tmp/nbd.sock']]) {
      const r = await api(base, 'POST', '/api/vms', { label: 'backed', ...guest, disk: join(vms, disk), diskFormat: 'qcow2', createImage: false });
      assert.equal(r.status, 400, `${disk}: ${r.text}`);
      assert.equal(r.json.field, 'disk', r.text);
      assert.ok(r.json.error.startsWith(`disk: '${join(vms, disk)}' is an image whose `) && r.json.error.includes(`'${names}', `), r.json.error);
    }
    const fine = await api(base, 'POST', '/api/vms', { label: 'fine2', ...guest, createImage: false });
    assert.equal(fine.status, 201, fine.text);
    const patched = await api(base, 'PATCH', '/api/vms/fine2', { disk: join(vms, 'evil.img'), diskFormat: 'qcow2' });
    assert.deepEqual([patched.status, patched.json.field], [400, 'disk'], patched.text);
    const added = await api(base, 'POST', '/api/vms/fine2/disks', { file: join(vms, 'evil-chain.qcow2') });
    assert.deepEqual([added.status, added.json.field], [400, 'file'], added.text);
    // A linked clone's chain, inside the bases, passes.
    img('-f', 'qcow2', join(vms, 'golden.qcow2'), '1M');
    img('-f', 'qcow2', '-F', 'qcow2', '-b', 'golden.qcow2', join(vms, 'linked.qcow2'), '1M');
    const linked = await api(base, 'POST', '/api/vms', { label: 'linked2', ...guest, disk: join(vms, 'linked.qcow2'), diskFormat: 'qcow2', createImage: false });
    assert.equal(linked.status, 201, linked.text);
  } finally {
    for (const f of ['evil.img', 'evil-data.qcow2', 'evil-chain.qcow2', 'evil-dev.qcow2', 'evil-nbd.qcow2', 'golden.qcow2', 'linked.qcow2']) rmSync(join(vms, f), { force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});

test('a port forward through the API listens on loopback only: 0.0.0.0 or a LAN address is refused at create and PATCH', async () => {
  const made = await api(base, 'POST', '/api/vms', { label: 'fwd', ...guest, hostfwd: ['tcp:0.0.0.0:45222-:22'], createImage: false });
  assert.deepEqual([made.status, made.json.error], [400, "hostfwd: [0] 'tcp:0.0.0.0:45222-:22' listens on 0.0.0.0: a forward made through the API listens on loopback only (127.0.0.0/8; empty is 127.0.0.1); one open to the network is written with vmdeck set by hand"]);
  const ok = await api(base, 'POST', '/api/vms', { label: 'fwd', ...guest, hostfwd: ['tcp::45222-:22', 'udp:127.0.0.2:45223-:53'], createImage: false });
  assert.equal(ok.status, 201, ok.text);
  const patched = await api(base, 'PATCH', '/api/vms/fwd', { hostfwd: ['tcp::45224-:22', 'tcp:10.1.2.3:45225-:22'] });
  assert.deepEqual([patched.status, patched.json.field], [400, 'hostfwd'], patched.text);
  assert.match(patched.json.error, /^hostfwd: \[1\] 'tcp:10\.1\.2\.3:45225-:22' listens on 10\.1\.2\.3/);
  const preview = await api(base, 'POST', '/api/vms/preview', { label: 'fwd2', ...guest, hostfwd: ['tcp:192.168.1.5:2222-:22'] });
  assert.deepEqual([preview.status, preview.json.field], [400, 'hostfwd'], preview.text);
});

test('the allowed: media from VMDECK_MEDIA, a disk in the VM directory, harmless argsAdd', async () => {
  const r = await api(base, 'POST', '/api/vms', { label: 'fine', ...guest, argsAdd: ['-no-reboot', '-rtc', 'base=utc', '-device', 'usb-tablet'], createImage: false });
  assert.equal(r.status, 201, r.text);
});

test('start options and a CD change through the API take files from the same places only', async () => {
  const r = await api(base, 'POST', `/api/vms/fine/start`, { bootmode: 'CD%/etc/shadow' });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.field, 'bootmode');
  const k = await api(base, 'POST', `/api/vms/fine/start`, { kernelmode: '/etc/shadow%/etc/shadow%' });
  assert.equal(k.json.field, 'kernelmode');
  for (const [field, value] of [['pxeRoot', '/etc'], ['seedImage', '/etc/shadow']]) {
    const patched = await api(base, 'PATCH', '/api/vms/fine', { [field]: value });
    assert.equal(patched.status, 400, patched.text);
    assert.equal(patched.json.field, field, patched.text);
  }
  const media = await api(base, 'POST', '/api/vms/fine/media', { action: 'change', path: '/etc/shadow' });
  assert.equal(media.status, 400, media.text);
  assert.equal(media.json.field, 'path');
});

test('a drive\'s image through the API is confined before it is looked for: the answer tells nothing of files outside', async () => {
  for (const path of ['/etc/hostname', '/nonexistent-vmdeck/x.img', '../../../etc/hostname']) {
    for (const drive of ['fda', 'fdb']) {
      const r = await api(base, 'PATCH', `/api/vms/fine/drives/${drive}`, { path });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.field, 'path', r.text);
      assert.doesNotMatch(r.json.error, /does not exist/, `${path}: ${r.json.error}`);
    }
  }
  const cd = await api(base, 'POST', '/api/vms/fine/cds', { iso: '/nonexistent-vmdeck/x.iso' });
  assert.equal(cd.status, 400, cd.text);
  assert.equal(cd.json.field, 'iso');
  assert.doesNotMatch(cd.json.error, /does not exist/);
});

test('the CLI (the host user\'s hand) keeps every option', async () => {
  const { vm } = await createVm({ label: 'byhand', template: 'kernel-initrd', env: demoVmEnv(images), values: { argsAdd: ['-chardev', 'null,id=n0'] }, createImage: false });
  assert.ok(existsSync(join(vm.dir, 'byhand.ctys')));
});
