// `vmdeck check` (ctys-plugins -T qemu -E): what this host has for running
// VMs, each line green or red with the fix, and whether anything needed is missing.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { qemuArch, type CheckItem, type HostReport } from '../lib/host';
import { ARCHES } from '../lib/spec';
import { kvmVerdict } from './kvm-probe';

export type { CheckItem, HostReport };

const QEMU_PACKAGE: Record<string, string> = {
  x86_64: 'qemu-system-x86', i386: 'qemu-system-x86', aarch64: 'qemu-system-arm', arm: 'qemu-system-arm',
  m68k: 'qemu-system-misc', sh4: 'qemu-system-misc', alpha: 'qemu-system-misc', riscv64: 'qemu-system-misc',
  mips: 'qemu-system-mips', mipsel: 'qemu-system-mips', mips64: 'qemu-system-mips',
  ppc: 'qemu-system-ppc', ppc64: 'qemu-system-ppc', sparc: 'qemu-system-sparc', sparc64: 'qemu-system-sparc',
};

function firstLine(cmd: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return resolve(null);
      const text = `${stdout}\n${stderr}`.split('\n').find((l) => l.trim() && !l.includes('module ui-ui'));
      resolve(err && !text ? null : (text ?? '').trim());
    });
  });
}

const version = (line: string | null) => (line ?? '').replace(/^.*?version\s+/i, '').replace(/^QEMU emulator\s*/, '').replace(/,\s*Copyright.*$/, '');

export async function checkHost(): Promise<HostReport> {
  const items: CheckItem[] = [];
  const tool = async (name: string, args: string[], needed: boolean, pkg: string, what: string) => {
    const line = await firstLine(name, args);
    items.push({
      name, ok: line !== null, needed,
      // A tool without --version answers with its usage: installed, version unknown.
      detail: line === null ? `${what}: not found` : `${what}: ${line && !/^usage/i.test(line) ? version(line) : 'installed'}`,
      fix: line === null ? `apt-get install ${pkg}` : undefined,
    });
  };
  await tool('bash', ['--version'], true, 'bash', 'runs the wrappers');
  await tool('flock', ['--version'], true, 'util-linux', 'one start per VM');
  await tool('qemu-img', ['--version'], true, 'qemu-utils', 'creates disk images');
  // KVM counts only where a test guest really runs under it (server/kvm-probe.ts).
  const kvm = await kvmVerdict();
  items.push({ name: '/dev/kvm', ok: kvm.usable, needed: false, detail: kvm.detail, fix: kvm.fix });
  const arches = await Promise.all(ARCHES.map(async (arch) => ({ arch, line: await firstLine(`qemu-system-${arch}`, ['--version']) })));
  for (const { arch, line } of arches) {
    items.push({
      name: `qemu-system-${arch}`, ok: line !== null, needed: arch === 'x86_64',
      detail: line === null ? `${arch} guests: not installed` : `${arch} guests: ${version(line)}`,
      fix: line === null ? `apt-get install ${QEMU_PACKAGE[arch]}` : undefined,
    });
  }
  // UEFI (FIRMWARE=UEFI, SECUREBOOT=on) and the TPM (TPM=2.0): the files and the program the wrapper uses.
  const firmware = async (name: string, file: string, pkg: string, what: string) => {
    const ok = await access(file, constants.R_OK).then(() => true, () => false);
    items.push({ name, ok, needed: false, detail: `${what}: ${ok ? file : 'not installed'}`, fix: ok ? undefined : `apt-get install ${pkg}` });
  };
  await firmware('ovmf', '/usr/share/OVMF/OVMF_CODE_4M.fd', 'ovmf', 'UEFI for x86_64 guests');
  await firmware('ovmf secure boot', '/usr/share/OVMF/OVMF_CODE_4M.ms.fd', 'ovmf', 'UEFI Secure Boot for x86_64 guests');
  await firmware('aavmf', '/usr/share/AAVMF/AAVMF_CODE.fd', 'qemu-efi-aarch64', 'UEFI for aarch64 guests');
  await tool('swtpm', ['--version'], false, 'swtpm', 'TPM 2.0 (TPM=2.0)');
  await tool('vde_switch', ['--version'], false, 'vde2', 'VDE switches (vmdeck net)');
  await tool('vde_plug', ['--help'], false, 'vde2', 'VDE plugs');
  const ok = items.every((i) => i.ok || !i.needed);
  return { ok, kvm: kvm.usable, arch: qemuArch(process.arch), items };
}
