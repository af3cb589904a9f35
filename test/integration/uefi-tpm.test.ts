// UEFI and TPM (issue 12): a VM with FIRMWARE=UEFI boots the test guest
// through Debian's OVMF (the guest has /sys/firmware/efi), TPM=2.0 gives it
// swtpm's TPM (the guest's /sys/class/tpm, QMP query-tpm), its UEFI
// variables and TPM state are its own, beside its config; killing QEMU, or a
// start that fails, leaves no swtpm; Secure Boot (the Windows 11 template)
// refuses OVMF's own unsigned shell. OVMF under TCG is slow: generous
// timeouts, few boots.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { qmpOnce } from '../../server/qmp';
import { demoVmEnv, guestImages, sandbox, type Sandbox } from '../helpers/guest';
import { vmdeck } from '../helpers/lifecycle';
import type { SocketTerminal } from '../helpers/serial';
import { alive, guestShell, qemuPid, quitVm, waitFor } from '../helpers/vms';

let sb: Sandbox;
let shell: SocketTerminal | undefined;
const dir = (label: string) => join(sb.home, 'vms', label);

before(() => {
  sb = sandbox('uefi');
});
after(() => {
  shell?.close();
  sb.cleanup();
});

/** The live (not zombie) swtpm processes serving a VM's runtime dir. */
function swtpms(label: string): number[] {
  const sock = `path=${join(sb.run, label)}/swtpm.sock`;
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return cmd[0] === 'swtpm' && cmd.some((a) => a.includes(sock)) && alive(pid);
    } catch {
      return false;
    }
  });
}

/** What a guest command prints, between markers its shell computes (its echo never matches). */
async function guestSays(command: string): Promise<string> {
  const out = await shell!.run(`echo "B$((1+1)) $(${command}) E$((1+1))"`, /B2 [^\r\n]*E2/);
  return /B2 ([^\r\n]*)E2/.exec(out)![1].trim();
}

test('FIRMWARE=UEFI TPM=2.0: OVMF boots the guest, which sees its TPM; variables and TPM state beside the config; kill -9 of QEMU leaves no swtpm', async () => {
  const made = await vmdeck(['create-conf', '--label', 'uv', '--template', 'kernel-initrd', '--auto-all'],
    { ...sb.env, ...demoVmEnv(undefined, { FIRMWARE: 'uefi', TPM: '2.0', MACHINE: 'q35' }) });
  assert.equal(made.code, 0, made.stderr);
  const config = readFileSync(join(dir('uv'), 'uv.ctys'), 'utf8');
  assert.match(config, /^FIRMWARE='UEFI'\nSECUREBOOT='off'\nTPM='2.0'$/m);

  const started = await vmdeck(['start', 'uv'], sb.env);
  assert.equal(started.code, 0, started.stderr);
  // The VM's own variable store, a private copy of OVMF's empty one; the TPM's state directory.
  const vars = statSync(join(dir('uv'), 'uv.uefi-vars.fd'));
  assert.equal(vars.mode & 0o777, 0o600);
  assert.equal(vars.size, statSync('/usr/share/OVMF/OVMF_VARS_4M.fd').size);
  assert.equal(statSync(join(dir('uv'), 'uv.tpm')).mode & 0o777, 0o700);
  const tpm = await qmpOnce<{ id: string; model: string; options: { type: string } }[]>(join(sb.run, 'uv', 'qmp.sock'), 'query-tpm');
  assert.deepEqual(tpm.map((t) => [t.id, t.model, t.options.type]), [['tpm0', 'tpm-tis', 'emulator']]);
  assert.equal(swtpms('uv').length, 1);

  shell = await guestShell(sb.run, 'uv', 300000);
  assert.equal(await guestSays('test -d /sys/firmware/efi && echo uefi'), 'uefi');
  assert.equal(await guestSays('cat /sys/class/tpm/tpm0/tpm_version_major'), '2');
  assert.ok(readdirSync(join(dir('uv'), 'uv.tpm')).includes('tpm2-00.permall'), 'swtpm keeps its state beside the config');
  shell.close();
  shell = undefined;

  process.kill(qemuPid(sb.run, 'uv'), 'SIGKILL');
  await waitFor('swtpm to end with its QEMU', () => swtpms('uv').length === 0, 15000);
});

test('a start that fails leaves no swtpm, and the wrapper refuses Secure Boot without UEFI, naming the variable', async () => {
  const file = join(dir('uv'), 'uv.ctys');
  const config = readFileSync(file, 'utf8');
  writeFileSync(file, config.replace(/^ARGSADD=\(\)$/m, 'ARGSADD=(-no-such-option)'));
  const failed = await vmdeck(['start', 'uv'], sb.env);
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /-no-such-option/);
  await waitFor('swtpm of the failed start to end', () => swtpms('uv').length === 0, 15000);

  writeFileSync(file, config.replace(/^FIRMWARE='UEFI'$/m, "FIRMWARE='BIOS'").replace(/^SECUREBOOT='off'$/m, 'SECUREBOOT=on'));
  const check = await vmdeck(['start', 'uv'], sb.env);
  assert.notEqual(check.code, 0);
  assert.equal(check.stderr, 'vmdeck start: SECUREBOOT: Secure Boot needs UEFI firmware (FIRMWARE=UEFI)\n');
  writeFileSync(file, config);
  const set = await vmdeck(['set', 'uv', 'FIRMWARE=BIOS', 'SECUREBOOT=on'], sb.env);
  assert.equal(set.code, 1);
  assert.equal(set.stderr, 'vmdeck set: SECUREBOOT: Secure Boot needs UEFI firmware (FIRMWARE=UEFI)\n', 'named as typed, as the wrapper names it');
  assert.equal(readFileSync(file, 'utf8'), config, 'nothing written');
});

test('a clone takes the UEFI variables (its boot entries) and gets a TPM of its own; delete removes both with the VM', async () => {
  const cloned = await vmdeck(['clone', 'uv', 'uv2'], sb.env);
  assert.equal(cloned.code, 0, cloned.stderr);
  assert.deepEqual(readFileSync(join(dir('uv2'), 'uv2.uefi-vars.fd')), readFileSync(join(dir('uv'), 'uv.uefi-vars.fd')));
  assert.ok(!existsSync(join(dir('uv2'), 'uv2.tpm')), 'no copy of the TPM');
  sb.enter();
  const { resolveVm } = await import('../../server/runtime');
  const { deleteVmFiles } = await import('../../server/store');
  await deleteVmFiles(await resolveVm('uv'), true);
  assert.ok(!existsSync(dir('uv')), `left: ${existsSync(dir('uv')) ? readdirSync(dir('uv')).join(' ') : ''}`);
});

test('the Windows 11 template: q35 with SMM, OVMF with Microsoft\'s keys, a TPM; Secure Boot refuses OVMF\'s unsigned shell', async () => {
  // No network: OVMF would try PXE over IPv4 and IPv6 first, a minute each under TCG.
  const made = await vmdeck(['create-conf', '--label', 'win', '--template', 'windows11', '--auto-all'],
    { ...sb.env, ACCELERATOR: 'QEMU', NETMODE: 'none', MEMSIZE: '512', SMP: '1', HDDBOOTIMAGE_INST_SIZE: '64M' });
  assert.equal(made.code, 0, made.stderr);
  assert.match(readFileSync(join(dir('win'), 'win.ctys'), 'utf8'), /^MACHINE='q35'$[\s\S]*^FIRMWARE='UEFI'\nSECUREBOOT='on'\nTPM='2.0'$[\s\S]*^NIC='e1000e'$/m);
  const argv = execFileSync('bash', [join(dir('win'), 'win.sh'), '--print'], { env: sb.env, encoding: 'utf8' });
  for (const arg of ['q35,smm=on', 'if=pflash,format=raw,unit=0,file=/usr/share/OVMF/OVMF_CODE_4M.ms.fd,readonly=on',
    `if=pflash,format=raw,unit=1,file=${dir('win')}/win.uefi-vars.ms.fd`, 'driver=cfi.pflash01,property=secure,value=on',
    'tpm-tis,tpmdev=tpm0']) {
    assert.ok(argv.split('\n').some((a) => a.includes(arg)), `${arg} in\n${argv}`);
  }
  const started = await vmdeck(['start', 'win'], sb.env);
  assert.equal(started.code, 0, started.stderr);
  assert.equal(swtpms('win').length, 1);
  const log = join(sb.run, 'win', 'serial.log');
  await waitFor('OVMF to refuse its shell', () => readFileSync(log, 'utf8').includes('Security Violation'), 300000);
  assert.match(readFileSync(log, 'utf8'), /failed to start Boot\d+ "EFI Internal Shell".*: Security Violation/);
  await quitVm(sb.run, 'win');
  await waitFor('swtpm to end with its QEMU', () => swtpms('win').length === 0, 15000);
});

test('under UEFI the boot mode orders OVMF\'s boot entries (OVMF ignores -boot order): the disk first from VHDD, the CD/DVD drive first from CD', async () => {
  // The witness is OVMF's own boot manager on the serial line: the first
  // "BdsDxe: … Boot000N "…"" line names the device it tried first. Nothing is
  // bootable here (a blank disk, a data ISO), so it goes on to its shell.
  const tree = join(sb.home, 'iso-tree');
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, 'readme.txt'), 'not bootable\n');
  const iso = join(sb.home, 'data.iso');
  execFileSync('genisoimage', ['-quiet', '-V', 'DATA', '-o', iso, tree]);
  // TCG pinned: OVMF's boot manager is reached in seconds under TCG on every host. No network: OVMF would try PXE first.
  const made = await vmdeck(['create-conf', '--label', 'ub', '--template', 'linux-uefi', '--auto-all'],
    { ...sb.env, ACCELERATOR: 'QEMU', NETMODE: 'none', MEMSIZE: '256', SMP: '1', HDDBOOTIMAGE_INST_SIZE: '16M' });
  assert.equal(made.code, 0, made.stderr);
  const log = join(sb.run, 'ub', 'serial.log');
  const firstTried = async (args: string[]) => {
    const started = await vmdeck(['start', 'ub', ...args], sb.env);
    assert.equal(started.code, 0, started.stderr);
    // This run's output: serial.log after the size serial.start recorded.
    const from = Number(readFileSync(join(sb.run, 'ub', 'serial.start'), 'utf8'));
    const printed = () => (existsSync(log) ? readFileSync(log).subarray(from).toString('latin1') : '');
    const first = /BdsDxe: (?:failed to load|loading) Boot\d+ "([^"]*)"/;
    await waitFor('OVMF\'s boot manager', () => first.test(printed()), 240000);
    const tried = first.exec(printed())![1];
    await quitVm(sb.run, 'ub');
    return tried;
  };
  const argv = (args: string[]) => execFileSync('bash', [join(dir('ub'), 'ub.sh'), '--print', ...args], { env: sb.env, encoding: 'utf8' }).split('\n');
  assert.ok(argv([]).some((a) => /^virtio-blk-pci,drive=hd0,.*bootindex=0$/.test(a)), argv([]).join('\n'));
  assert.doesNotMatch(await firstTried([]), /DVD-ROM/, 'from VHDD OVMF tried the CD/DVD drive first');
  // OVMF keeps that order in the VM's variables; the CD boot still goes first.
  // Drive 0 on the IDE slot where if=ide index 2 is (the wrapper's ide_at).
  assert.ok(argv([`--bootmode=CD%${iso}`]).some((a) => /^ide-cd,drive=cd0,id=cdrom0,bus=ide\.[12],unit=0,bootindex=0$/.test(a)), argv([`--bootmode=CD%${iso}`]).join('\n'));
  assert.match(await firstTried([`--bootmode=CD%${iso}`]), /DVD-ROM/, 'from CD OVMF did not try the CD/DVD drive first');
});

test('AArch64: UEFI is AAVMF and the TPM a tpm-tis-device; without qemu-efi-aarch64 the check names the package', async () => {
  const made = await vmdeck(['create-conf', '--label', 'arm', '--template', 'aarch64-virt', '--auto-all'],
    { ...sb.env, ...demoVmEnv(guestImages('arm64'), { FIRMWARE: 'UEFI', TPM: '2.0' }) });
  assert.equal(made.code, 0, made.stderr);
  const argv = execFileSync('bash', [join(dir('arm'), 'arm.sh'), '--print'], { env: sb.env, encoding: 'utf8' }).split('\n');
  assert.ok(argv.includes('if=pflash,format=raw,unit=0,file=/usr/share/AAVMF/AAVMF_CODE.fd,readonly=on'), argv.join('\n'));
  assert.ok(argv.includes(`if=pflash,format=raw,unit=1,file=${dir('arm')}/arm.uefi-vars.fd`));
  assert.ok(argv.includes('tpm-tis-device,tpmdev=tpm0'));
  if (!existsSync('/usr/share/AAVMF/AAVMF_CODE.fd')) {
    const check = await vmdeck(['start', 'arm'], sb.env);
    assert.equal(check.stderr, "vmdeck start: FIRMWARE: UEFI firmware '/usr/share/AAVMF/AAVMF_CODE.fd' is not installed (apt-get install qemu-efi-aarch64)\n");
    assert.equal(swtpms('arm').length, 0, 'nothing started');
  }
});
