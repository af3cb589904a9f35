// ctys-made configs for boards without PCI or IDE (ARM integratorcp booting
// its kernel and initrd, a ColdFire mcf5208evb on its serial line with
// NIC=): vmdeck's --check passes exactly when QEMU accepts the command line
// vmdeck prints for them (QEMU started with -S, seen up on QMP, quit).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createSwitch } from '../../server/net';
import { qmpOnce } from '../../server/qmp';
import { wrapperCheck, wrapperPrint } from '../../server/store';
import { writeCtysVm, type CtysVm } from '../helpers/ctys';
import { sandbox, type Sandbox } from '../helpers/guest';
import { installed, waitFor } from '../helpers/vms';

let sb: Sandbox;
let base: string;

before(async () => {
  sb = sandbox('ctysarch');
  sb.enter();
  base = join(sb.home, 'ctys');
  await createSwitch('armlan');
});
after(() => sb.cleanup());

/**
 * Whether QEMU accepts a command line: run as printed, paused (-S) and not
 * daemonized; accepted once it answers on QMP (then quit), refused when it
 * exits first (with what it said).
 */
async function qemuAccepts(label: string, argv: string[]): Promise<{ ok: boolean; said: string }> {
  mkdirSync(join(sb.run, label), { recursive: true, mode: 0o700 });
  const args = [...argv.slice(1).filter((a) => a !== '-daemonize'), '-S'];
  const child = spawn(argv[0], args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let said = '';
  child.stderr!.on('data', (d) => { said += d; });
  let exited = false;
  child.once('exit', () => { exited = true; });
  const qmp = join(sb.run, label, 'qmp.sock');
  // The socket is there before QEMU has checked the rest of its command line.
  let status: { status: string } | undefined;
  await waitFor(`${label}: QEMU up or gone`, async () => {
    if (exited) return true;
    if (!existsSync(qmp)) return false;
    status = await qmpOnce<{ status: string }>(qmp, 'query-status').catch(() => undefined);
    return status !== undefined;
  }, 20000);
  if (!status) {
    await waitFor(`${label}: QEMU to exit`, () => exited, 20000);
    return { ok: false, said: said.trim() };
  }
  assert.equal(status.status, 'prelaunch');
  await qmpOnce(qmp, 'quit').catch(() => undefined);
  await waitFor(`${label}: QEMU to quit`, () => exited, 20000);
  return { ok: true, said };
}

async function checkMatchesQemu(vm: CtysVm, label: string, wantOk: boolean, complaint?: RegExp): Promise<void> {
  const problem = await wrapperCheck({ wrapper: vm.wrapper, config: vm.config });
  const argv = await wrapperPrint({ wrapper: vm.wrapper, config: vm.config });
  const qemu = await qemuAccepts(label, argv);
  assert.equal(problem === null, qemu.ok, `${label}: --check says ${problem ?? 'ok'}, QEMU says ${qemu.ok ? 'ok' : qemu.said}`);
  assert.equal(qemu.ok, wantOk, `${label}: ${qemu.said}`);
  if (complaint) assert.match(problem ?? '', complaint);
  assert.equal(existsSync(vm.ranMarker), false, "ctys's wrapper was run");
}

test('an ARM integratorcp ctys config with kernel and initrd: --check passes exactly when QEMU accepts it', {
  skip: installed('qemu-system-arm') ? false : 'qemu-system-arm is not installed',
}, async () => {
  const board = (label: string, nic: string) => {
    const vm = writeCtysVm(base, `arm/${label}`, {
      LABEL: label, ARCH: 'arm', DEFAULTSTARTERCALL: 'qemu-system-arm', MAC: '00:50:56:13:11:d1', MEMSIZE: '128', KBD_LAYOUT: 'en-us',
    }, [
      'CPU=arm926', 'ARGSADD="-M integratorcp"', 'KERNELIMAGE=${CTYSWRAPPERPATH}/zImage', 'INITRDIMAGE=${CTYSWRAPPERPATH}/initrd.img',
      "APPEND='console=ttyAMA0'", nic, 'QEMUSOCK=armlan',
    ].join('\n'));
    for (const f of ['zImage', 'initrd.img']) writeFileSync(join(vm.dir, f), '');
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', join(vm.dir, 'hda.img'), '1M']);
    return vm;
  };
  const ok = board('board1', 'NIC=smc91c111');
  const argv = await wrapperPrint({ wrapper: ok.wrapper, config: ok.config });
  // The board's own SD slot takes the disk; there is no IDE or PCI for a CD drive.
  assert.ok(argv.includes(`file=${join(ok.dir, 'hda.img')},format=raw,if=sd,index=0,media=disk,id=hd0`), argv.join(' '));
  assert.ok(!argv.some((a) => a.includes('media=cdrom')), argv.join(' '));
  assert.deepEqual(argv.slice(argv.indexOf('-kernel'), argv.indexOf('-kernel') + 6),
    ['-kernel', join(ok.dir, 'zImage'), '-initrd', join(ok.dir, 'initrd.img'), '-append', 'console=ttyAMA0']);
  await checkMatchesQemu(ok, 'board1', true);
  // ctys's default NIC (rtl8139) is a PCI card: integratorcp has no PCI.
  await checkMatchesQemu(board('board2', ''), 'board2', false, /^NIC: 'rtl8139' is not a NIC model of machine integratorcp/);
});

test('a ColdFire mcf5208evb ctys config, CLI0 with NIC=: --check passes exactly when QEMU accepts it', {
  skip: installed('qemu-system-m68k') ? false : 'qemu-system-m68k is not installed',
}, async () => {
  const coldfire = (label: string, disk: boolean) => {
    const vm = writeCtysVm(base, `m68k/${label}`, {
      LABEL: label, ARCH: 'm68k', DEFAULTSTARTERCALL: 'qemu-system-m68k', DEFAULTCONSOLE: 'CLI0', MEMSIZE: '64',
    }, ['CPU=m5208', 'KERNELIMAGE=${CTYSWRAPPERPATH}/vmlinux', 'NIC=', ...(disk ? [] : ['HDDBOOTIMAGE='])].join('\n'));
    writeFileSync(join(vm.dir, 'vmlinux'), '');
    if (disk) execFileSync('qemu-img', ['create', '-q', '-f', 'raw', join(vm.dir, 'hda.img'), '1M']);
    return vm;
  };
  const ok = coldfire('cf1', false);
  const argv = await wrapperPrint({ wrapper: ok.wrapper, config: ok.config });
  assert.deepEqual(argv.slice(argv.indexOf('-nic'), argv.indexOf('-nic') + 2), ['-nic', 'none']);
  // serial0 is logged through serial.fifo, whose copier keeps serial.log under its cap (docs/SECURITY.md).
  assert.ok(argv.includes('stdio,id=serial0,mux=on,signal=off,' + `logfile=${join(sb.run, 'cf1', 'serial.fifo')},logappend=on`), argv.join(' '));
  await checkMatchesQemu(ok, 'cf1', true);
  // A disk on a board with no bus for one: QEMU refuses it, and --check says why first.
  await checkMatchesQemu(coldfire('cf2', true), 'cf2', false, /^HDDBOOTIMAGE: machine \(default\) of qemu-system-m68k has no bus a disk can go on/);
});
