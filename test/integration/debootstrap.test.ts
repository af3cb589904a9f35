// create-conf --install=debootstrap: a Debian 12 system built from this host's
// package archive with mmdebstrap, on its own ext4 disk, booted in KERNEL mode
// to a login prompt on serial and on VNC; its cloud-init seed (NoCloud) gives the user
// the key this test generated, so the test logs in over SSH through a
// HOSTFWD port on 127.0.0.1 and `hostname` answers the label. The built tree
// is cached in .cache/debootstrap (keyed on the suite and the package list):
// only the first run builds it.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createVm, deleteVmFiles } from '../../server/store';
import { stopVm } from '../../server/runner';
import { REPO, sandbox, type Sandbox } from '../helpers/guest';
import { waitForScreen } from '../helpers/media';
import { SocketTerminal } from '../helpers/serial';
import { quitVm, startWrapper } from '../helpers/vms';

let sb: Sandbox;

before(() => {
  sb = sandbox('deboot');
  sb.enter();
  mkdirSync(sb.home, { recursive: true });
  process.env.VMDECK_DEBOOTSTRAP_CACHE = join(REPO, '.cache', 'debootstrap');
});
after(() => {
  delete process.env.VMDECK_DEBOOTSTRAP_CACHE;
  sb.cleanup();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

test('a debootstrap of an unknown release (or an Ubuntu one) is refused in one line naming distrel; nothing is written', async () => {
  // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
  await assert.rejects(createVm({ label: 'nosuch', install: 'debootstrap', env: { ACCELERATOR: 'QEMU', DISTREL: 'hamm2' } }),
    (e: Error) => e.message === "distrel: 'hamm2' is not a Debian release vmdeck can build (12 or bookworm, 13 or trixie, 11 or bullseye)");
  // Ubuntu: this host's apt sources have Debian's archive only.
  await assert.rejects(createVm({ label: 'nosuch', install: 'debootstrap', env: { ACCELERATOR: 'QEMU', DISTREL: 'jammy' } }),
    (e: Error) => e.message === "distrel: 'jammy' is Ubuntu jammy: vmdeck builds Debian releases only, from this host's apt sources (12 or bookworm, 13 or trixie, 11 or bullseye)");
  await assert.rejects(createVm({ label: 'nosuch', install: 'debootstrap', env: { ACCELERATOR: 'QEMU', DIST: 'Ubuntu', DISTREL: '12' } }),
    (e: Error) => e.message === "dist: 'Ubuntu': --install=debootstrap builds Debian only, from this host's apt sources (DIST=Debian or empty)");
  assert.equal(existsSync(join(sb.home, 'vms', 'nosuch')), false);
});

// About 100 s to build uncached and 90 s to the login prompt here; the suite gives a test file 10 minutes.
test('Debian 12 by mmdebstrap boots to a login prompt on serial and on VNC, and answers hostname over SSH', async () => {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'deboot-test', '-f', join(sb.home, 'key')]);
  const port = await freePort();
  const progress: string[] = [];
  const t0 = Date.now();
  const { vm } = await createVm({
    label: 'deb12', install: 'debootstrap', progress: (l) => progress.push(l),
    // This host's /dev/kvm (kvm_pvm) cannot run ordinary guests: emulation.
    // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
    env: { ACCELERATOR: 'QEMU', MEMSIZE: '1024', DISTREL: '12', HDDBOOTIMAGE_INST_SIZE: '3G', SSHKEY: join(sb.home, 'key.pub'), VMUSER: 'tester', HOSTFWD: `tcp:127.0.0.1:${port}-:22` },
  });
  const built = Date.now() - t0;
  assert.ok(progress.some((l) => /^debootstrap: disk ready in \d+ s$/.test(l)), progress.join('\n'));
  assert.deepEqual(readdirSync(vm.dir).sort(), ['deb12.ctys', 'deb12.initrd.img', 'deb12.raw', 'deb12.seed.iso', 'deb12.seed.meta-data',
    'deb12.seed.network-config', 'deb12.seed.user-data', 'deb12.sh', 'deb12.vmlinuz']);
  const t1 = Date.now();
  await startWrapper(vm, sb.env);
  const serial = await SocketTerminal.open(join(sb.run, 'deb12', 'serial.sock'));
  try {
    await serial.waitFor(/deb12 login: /, 360_000);
    const booted = Date.now() - t1;
    // And on VNC: systemd's getty on tty1 (console=tty0 too), the screen read by tesseract.
    const screen = await waitForScreen('deb12', /deb12 login:/, 120_000);
    assert.match(screen, /Debian GNU\/Linux 12/);
    // sshd and cloud-init's key may come a little after the prompt.
    let answer = '';
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      answer = await new Promise<string>((resolve) => {
        execFile('ssh', ['-i', join(sb.home, 'key'), '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
          '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', 'tester@127.0.0.1', 'hostname'], { timeout: 30000 }, (err, out) => resolve(err ? '' : String(out).trim()));
      });
      if (answer) break;
      await new Promise((r) => setTimeout(r, 3000));
    }
    assert.equal(answer, 'deb12');
    console.log(`debootstrap: build ${Math.round(built / 1000)} s, first boot to login ${Math.round(booted / 1000)} s`);
    // cloud-init's locale module runs without a failure (it failed at every boot on en_US.UTF-8).
    assert.doesNotMatch(readFileSync(join(sb.run, 'deb12', 'serial.log'), 'latin1'), /invalid locale settings|Running module locale .* failed/);
    // Shut down as the dashboard's button does: the ACPI power button, which systemd-logind (with D-Bus) takes.
    const t2 = Date.now();
    const down = await stopVm('deb12', { mode: 'poweroff', timeout: 120 });
    assert.equal(down.state, 'stopped', down.reason);
    console.log(`debootstrap: powered off in ${Math.round((Date.now() - t2) / 1000)} s`);
  } finally {
    serial.close();
    // Powered off above; quit here when a step before failed.
    if (existsSync(join(sb.run, 'deb12', 'qemu.pid'))) await quitVm(sb.run, 'deb12');
  }
  assert.ok(readFileSync(join(vm.dir, 'deb12.seed.user-data'), 'utf8').includes('deboot-test'));
  // Delete takes everything the build made beside the config (the kernel and initrd too), and the directory.
  await deleteVmFiles(vm, true);
  assert.equal(existsSync(vm.dir), false);
});
