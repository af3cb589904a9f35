// The template catalog: per guest, the spec's defaults and the boot and install
// modes that make sense for it. Users add and override templates with files
// under $VMDECK_HOME/templates/ (read by server/templates.ts).
import type { BootMode, InstMode, VmSpecInput } from './spec';

export type TemplateDefaults = Omit<Partial<VmSpecInput>, 'label' | 'uuid' | 'mac'>;

export interface Template {
  id: string;
  name: string;
  description: string;
  defaults: TemplateDefaults;
  bootModes: BootMode[];
  instModes: InstMode[];
  /** NIC models this machine takes (qemu-system-X -M MACHINE -nic model=help), the default first. */
  nicModels?: string[];
  /** 'builtin', or the file a user template came from. */
  source: string;
}

const PC_BOOT: BootMode[] = ['VHDD', 'CD', 'DVD', 'PXE', 'FDD', 'USB', 'KERNEL'];
const PC_INST: InstMode[] = ['CD', 'DVD', 'PXE', 'FDD', 'USB', 'KERNEL'];
// rtl8139 is ctys's default; e1000 and virtio-net-pci are what current guests prefer.
const PC_NICS = ['rtl8139', 'e1000', 'virtio-net-pci', 'ne2k_pci', 'pcnet', 'i82559er'];
/** PCI boards: the common PCI NICs, the board's preferred one first. */
const pciNics = (first: string) => [first, ...PC_NICS.filter((n) => n !== first)];

const builtin = (t: Omit<Template, 'source'>): Template => ({ ...t, source: 'builtin' });

export const BUILTIN_TEMPLATES: readonly Template[] = [
  builtin({
    id: 'linux-x86_64',
    name: 'Linux (x86_64, virtio)',
    description: 'A current Linux distribution on a q35 PC with virtio disk and network; install from an ISO.',
    defaults: {
      os: 'Linux', arch: 'x86_64', qemu: 'qemu-system-x86_64', machine: 'q35', cpu: 'max', smp: 2,
      memsize: 2048, diskSize: '20G', diskIf: 'virtio', nic: 'virtio-net-pci', vga: 'std',
      bootmode: 'VHDD', instmode: 'CD', console: 'VNC',
    },
    bootModes: ['VHDD', 'CD', 'DVD', 'PXE', 'USB', 'KERNEL'],
    instModes: ['CD', 'DVD', 'PXE', 'USB', 'KERNEL'],
    nicModels: pciNics('virtio-net-pci'),
  }),
  builtin({
    id: 'linux-uefi',
    name: 'Linux (x86_64, UEFI)',
    description: 'A current Linux distribution booting UEFI (OVMF) on a q35 PC with virtio disk and network; for UEFI-only images and installers.',
    defaults: {
      os: 'Linux', arch: 'x86_64', qemu: 'qemu-system-x86_64', machine: 'q35', cpu: 'max', smp: 2,
      memsize: 2048, diskSize: '20G', diskIf: 'virtio', nic: 'virtio-net-pci', vga: 'std',
      bootmode: 'VHDD', instmode: 'CD', console: 'VNC', firmware: 'UEFI', secureBoot: 'off', tpm: 'none',
    },
    bootModes: ['VHDD', 'CD', 'DVD', 'PXE', 'USB', 'KERNEL'],
    instModes: ['CD', 'DVD', 'PXE', 'USB', 'KERNEL'],
    nicModels: pciNics('virtio-net-pci'),
  }),
  builtin({
    id: 'windows11',
    name: 'Windows 11 (UEFI, Secure Boot, TPM 2.0)',
    description: 'What Windows 11 asks of a PC: q35 with UEFI and Secure Boot (Microsoft\'s keys), a TPM 2.0, 4 GiB and 64 GiB; SATA disk and an e1000e NIC, which its installer has drivers for.',
    defaults: {
      os: 'Windows', dist: 'Windows', distrel: '11', arch: 'x86_64', qemu: 'qemu-system-x86_64', machine: 'q35',
      cpu: 'max', smp: 2, memsize: 4096, diskSize: '64G', diskIf: 'ide', nic: 'e1000e', vga: 'std',
      bootmode: 'VHDD', instmode: 'CD', console: 'VNC', firmware: 'UEFI', secureBoot: 'on', tpm: '2.0',
    },
    bootModes: ['VHDD', 'CD', 'DVD', 'USB'],
    instModes: ['CD', 'DVD', 'USB'],
    nicModels: pciNics('e1000e'),
  }),
  builtin({
    id: 'legacy-pc',
    name: 'Legacy PC (i386, rtl8139)',
    description: 'An older PC guest as ctys made them: i440FX, IDE disk, rtl8139 NIC, Cirrus VGA.',
    defaults: {
      arch: 'i386', qemu: 'qemu-system-i386', machine: 'pc', smp: 1, memsize: 512, diskSize: '8G',
      diskIf: 'ide', nic: 'rtl8139', vga: 'cirrus', bootmode: 'VHDD', instmode: 'CD', console: 'VNC',
    },
    bootModes: PC_BOOT,
    instModes: PC_INST,
    nicModels: pciNics('rtl8139'),
  }),
  builtin({
    id: 'freebsd',
    name: 'FreeBSD (x86_64)',
    description: 'FreeBSD on a PC with an e1000 NIC and IDE disk, which every release installs on.',
    defaults: {
      os: 'BSD', dist: 'FreeBSD', arch: 'x86_64', qemu: 'qemu-system-x86_64', machine: 'pc', smp: 2,
      memsize: 2048, diskSize: '20G', diskIf: 'ide', nic: 'e1000', vga: 'std', bootmode: 'VHDD',
      instmode: 'CD', console: 'VNC',
    },
    bootModes: ['VHDD', 'CD', 'DVD', 'PXE', 'USB'],
    instModes: ['CD', 'DVD', 'PXE', 'USB'],
    nicModels: pciNics('e1000'),
  }),
  builtin({
    id: 'openbsd',
    name: 'OpenBSD (x86_64)',
    description: 'OpenBSD on a PC with an e1000 NIC and IDE disk.',
    defaults: {
      os: 'BSD', dist: 'OpenBSD', arch: 'x86_64', qemu: 'qemu-system-x86_64', machine: 'pc', smp: 1,
      memsize: 1024, diskSize: '16G', diskIf: 'ide', nic: 'e1000', vga: 'std', bootmode: 'VHDD',
      instmode: 'CD', console: 'VNC',
    },
    bootModes: ['VHDD', 'CD', 'DVD', 'PXE', 'USB'],
    instModes: ['CD', 'DVD', 'PXE', 'USB'],
    nicModels: pciNics('e1000'),
  }),
  builtin({
    id: 'netbsd',
    name: 'NetBSD (x86_64)',
    description: 'NetBSD on a PC with an e1000 NIC and IDE disk.',
    defaults: {
      os: 'BSD', dist: 'NetBSD', arch: 'x86_64', qemu: 'qemu-system-x86_64', machine: 'pc', smp: 1,
      memsize: 1024, diskSize: '16G', diskIf: 'ide', nic: 'e1000', vga: 'std', bootmode: 'VHDD',
      instmode: 'CD', console: 'VNC',
    },
    bootModes: ['VHDD', 'CD', 'DVD', 'PXE', 'USB'],
    instModes: ['CD', 'DVD', 'PXE', 'USB'],
    nicModels: pciNics('e1000'),
  }),
  builtin({
    id: 'freedos',
    name: 'FreeDOS (floppy)',
    description: 'FreeDOS on an i386 PC, installed from a boot floppy onto a small IDE disk.',
    defaults: {
      os: 'DOS', dist: 'FreeDOS', arch: 'i386', qemu: 'qemu-system-i386', machine: 'pc', smp: 1,
      memsize: 64, diskSize: '512M', diskIf: 'ide', diskFormat: 'raw', nic: 'ne2k_pci', vga: 'std',
      bootmode: 'VHDD', instmode: 'FDD', console: 'VNC',
    },
    bootModes: ['VHDD', 'CD', 'FDD'],
    instModes: ['FDD', 'CD'],
    nicModels: pciNics('ne2k_pci'),
  }),
  builtin({
    id: 'kernel-initrd',
    name: 'Linux kernel + initrd (x86_64)',
    description: 'Boots a Linux kernel and initrd directly, with a serial console; the demo guest is one.',
    defaults: {
      os: 'Linux', arch: 'x86_64', qemu: 'qemu-system-x86_64', machine: 'pc', smp: 1, memsize: 256,
      diskSize: '64M', diskIf: 'virtio', nic: 'virtio-net-pci', vga: 'std', bootmode: 'KERNEL',
      instmode: 'KERNEL', console: 'VNC', append: 'console=tty0 console=ttyS0,115200 quiet panic=-1',
    },
    bootModes: ['KERNEL', 'VHDD', 'CD', 'PXE'],
    instModes: ['KERNEL', 'CD'],
    nicModels: pciNics('virtio-net-pci'),
  }),
  builtin({
    id: 'arm-integratorcp',
    name: 'ARM uClinux (integratorcp, ARM926)',
    description: 'The seed\'s ARM example: an Integrator/CP board with an ARM926 and a kernel on the serial console.',
    defaults: {
      os: 'Linux', dist: 'uClinux', arch: 'arm', qemu: 'qemu-system-arm', machine: 'integratorcp',
      cpu: 'arm926', smp: 1, memsize: 128, diskIf: 'none', cdromIf: 'none', nic: 'smc91c111',
      vga: 'none', bootmode: 'KERNEL', instmode: 'KERNEL', console: 'NONE', append: 'console=ttyAMA0',
    },
    bootModes: ['KERNEL'],
    instModes: ['KERNEL'],
    nicModels: ['smc91c111'],
  }),
  builtin({
    id: 'aarch64-virt',
    name: 'Linux on AArch64 (virt)',
    description: 'A 64-bit ARM virt machine with virtio disk and network; serial console on ttyAMA0.',
    defaults: {
      os: 'Linux', arch: 'aarch64', qemu: 'qemu-system-aarch64', machine: 'virt', cpu: 'cortex-a57',
      smp: 1, memsize: 512, diskSize: '8G', diskIf: 'virtio', cdromIf: 'none', nic: 'virtio-net-pci',
      vga: 'none', bootmode: 'KERNEL', instmode: 'KERNEL', console: 'NONE',
      append: 'console=ttyAMA0 quiet panic=-1',
    },
    bootModes: ['KERNEL', 'VHDD', 'PXE'],
    instModes: ['KERNEL', 'PXE'],
    nicModels: pciNics('virtio-net-pci'),
  }),
  builtin({
    id: 'm68k-coldfire',
    name: 'm68k ColdFire (mcf5208evb)',
    description: 'The seed\'s ColdFire board: a uClinux kernel, no display (-nographic), serial console only.',
    defaults: {
      os: 'Linux', dist: 'uClinux', arch: 'm68k', qemu: 'qemu-system-m68k', machine: 'mcf5208evb',
      cpu: 'm5208', smp: 1, memsize: 64, diskIf: 'none', cdromIf: 'none', nic: 'mcf-fec', vga: 'none',
      bootmode: 'KERNEL', instmode: 'KERNEL', console: 'NONE',
    },
    bootModes: ['KERNEL'],
    instModes: ['KERNEL'],
    nicModels: ['mcf-fec'],
  }),
  builtin({
    id: 'mips-malta',
    name: 'MIPS (malta)',
    description: 'A big-endian MIPS Malta board with IDE disk and a pcnet NIC.',
    defaults: {
      os: 'Linux', arch: 'mips', qemu: 'qemu-system-mips', machine: 'malta', smp: 1, memsize: 256,
      diskSize: '8G', diskIf: 'ide', nic: 'pcnet', vga: '', bootmode: 'KERNEL', instmode: 'KERNEL',
      console: 'VNC', append: 'console=ttyS0',
    },
    bootModes: ['KERNEL', 'VHDD', 'CD'],
    instModes: ['KERNEL', 'CD'],
    nicModels: pciNics('pcnet'),
  }),
  builtin({
    id: 'ppc-g3beige',
    name: 'PowerPC (g3beige)',
    description: 'A PowerMac G3 (beige) with IDE disk and CD, for Mac OS and 32-bit PowerPC Linux.',
    defaults: {
      arch: 'ppc', qemu: 'qemu-system-ppc', machine: 'g3beige', smp: 1, memsize: 512, diskSize: '8G',
      diskIf: 'ide', nic: 'rtl8139', vga: 'std', bootmode: 'VHDD', instmode: 'CD', console: 'VNC',
    },
    bootModes: ['VHDD', 'CD', 'KERNEL'],
    instModes: ['CD', 'KERNEL'],
    nicModels: pciNics('rtl8139').concat('sungem'),
  }),
  builtin({
    id: 'ppc-mac99',
    name: 'PowerPC (mac99)',
    description: 'A PowerMac G4 (mac99) with IDE disk and CD.',
    defaults: {
      arch: 'ppc', qemu: 'qemu-system-ppc', machine: 'mac99', smp: 1, memsize: 1024, diskSize: '8G',
      diskIf: 'ide', nic: 'rtl8139', vga: 'std', bootmode: 'VHDD', instmode: 'CD', console: 'VNC',
    },
    bootModes: ['VHDD', 'CD', 'KERNEL'],
    instModes: ['CD', 'KERNEL'],
    nicModels: pciNics('rtl8139').concat('sungem'),
  }),
  builtin({
    id: 'sparc-ss5',
    name: 'SPARC (SPARCstation 5)',
    description: 'A SPARCstation 5 (sun4m) with SCSI disk and CD and a Lance NIC, for Solaris, NetBSD or Linux.',
    defaults: {
      arch: 'sparc', qemu: 'qemu-system-sparc', machine: 'SS-5', smp: 1, memsize: 256, diskSize: '4G',
      diskIf: 'scsi', cdromIf: 'scsi', nic: 'lance', vga: '', bootmode: 'VHDD', instmode: 'CD',
      console: 'VNC',
    },
    bootModes: ['VHDD', 'CD'],
    instModes: ['CD'],
    nicModels: ['lance'],
  }),
];

/**
 * The catalog a user sees: the built-in templates, replaced or extended by
 * the user's own, each with the user's general defaults laid on top (as
 * ctys's defaults-QEMU.ctys did for every VM it created).
 */
export function mergeCatalog(
  builtins: readonly Template[],
  userTemplates: readonly (Partial<Template> & { id: string; extends?: string })[],
  userDefaults: TemplateDefaults,
): Template[] {
  const byId = new Map(builtins.map((t) => [t.id, t]));
  for (const u of userTemplates) {
    const base = byId.get(u.extends ?? u.id);
    byId.set(u.id, {
      id: u.id,
      name: u.name ?? base?.name ?? u.id,
      description: u.description ?? base?.description ?? '',
      defaults: { ...base?.defaults, ...u.defaults },
      bootModes: u.bootModes ?? base?.bootModes ?? [...PC_BOOT],
      instModes: u.instModes ?? base?.instModes ?? [...PC_INST],
      nicModels: u.nicModels ?? base?.nicModels,
      source: u.source ?? 'user',
    });
  }
  return [...byId.values()].map((t) => ({ ...t, defaults: { ...t.defaults, ...userDefaults } }));
}

export const DEFAULT_TEMPLATE = 'linux-x86_64';
