// How a VM spec comes together for create-conf and the wizard: the template's
// defaults, ctys's environment-variable options, then what the user typed.
import { CTYS_VARS, type ConfigVars } from './ctys';
import { kvmRuns } from './host';
import type { Template, TemplateDefaults } from './templates';
import type { VmSpec, VmSpecInput } from './spec';

type Field = keyof VmSpec;

export interface EnvOption {
  env: string;
  field: Field;
  help: string;
}

/** ctys-createConfVM's environment options (and a few of vmdeck's own). */
export const ENV_OPTIONS: readonly EnvOption[] = [
  { env: 'OS', field: 'os', help: 'operating system family, e.g. Linux, BSD' },
  { env: 'OSREL', field: 'osrel', help: 'release of the OS, e.g. a kernel version' },
  { env: 'DIST', field: 'dist', help: 'distribution, e.g. Debian' },
  { env: 'DISTREL', field: 'distrel', help: 'release of the distribution, e.g. 12' },
  { env: 'UUID', field: 'uuid', help: 'the VM\'s UUID' },
  { env: 'MAC', field: 'mac', help: 'MAC address of the first NIC' },
  { env: 'IP', field: 'ip', help: 'IPv4 address of the first NIC (empty: DHCP)' },
  { env: 'NETMASK', field: 'netmask', help: 'netmask of the first NIC' },
  { env: 'GATEWAY', field: 'gateway', help: 'default gateway' },
  { env: 'ACCELERATOR', field: 'accelerator', help: 'KVM (needs /dev/kvm) or QEMU (emulation)' },
  { env: 'STARTERCALL', field: 'qemu', help: 'the qemu-system binary' },
  { env: 'ARCH', field: 'arch', help: 'guest architecture' },
  { env: 'MACHINE', field: 'machine', help: 'QEMU machine type' },
  { env: 'CPU', field: 'cpu', help: 'QEMU CPU model' },
  { env: 'SMP', field: 'smp', help: 'number of virtual CPUs' },
  { env: 'MEMSIZE', field: 'memsize', help: 'memory in MiB' },
  { env: 'HDDBOOTIMAGE', field: 'disk', help: 'disk image (relative to the VM directory)' },
  { env: 'HDDBOOTIMAGE_FORMAT', field: 'diskFormat', help: 'qcow2 or raw' },
  { env: 'HDDBOOTIMAGE_INST_SIZE', field: 'diskSize', help: 'size of a new disk image, e.g. 8G' },
  { env: 'HDDBOOTIMAGE_IF', field: 'diskIf', help: 'disk interface: virtio, ide, scsi, sd, none' },
  { env: 'INSTCDROM', field: 'instSrcCdrom', help: 'install ISO image' },
  { env: 'INSTFDD', field: 'instSrcFdd', help: 'install floppy image' },
  { env: 'INSTUSB', field: 'instSrcUsb', help: 'install USB image' },
  { env: 'PXEROOT', field: 'pxeRoot', help: 'TFTP tree for boot mode PXE (user networking serves it)' },
  { env: 'PXEBOOTFILE', field: 'pxeBootFile', help: 'boot file in PXEROOT offered by DHCP' },
  { env: 'INST_KERNEL', field: 'kernel', help: 'kernel for boot mode KERNEL' },
  { env: 'INST_INITRD', field: 'initrd', help: 'initrd for boot mode KERNEL' },
  { env: 'INST_APPEND', field: 'append', help: 'kernel command line for boot mode KERNEL' },
  { env: 'DEFAULTBOOTMODE', field: 'bootmode', help: 'VHDD, CD, DVD, PXE, FDD, USB or KERNEL' },
  { env: 'DEFAULTINSTMODE', field: 'instmode', help: 'what --instmode boots: CD, DVD, PXE, FDD, USB, KERNEL' },
  { env: 'DEFAULTCONSOLE', field: 'console', help: 'VNC, SDL, CLI, CLI0 or NONE' },
  { env: 'VNCACCESSDISPLAY', field: 'vncDisplay', help: 'also a TCP VNC display N on 127.0.0.1' },
  { env: 'KBD_LAYOUT', field: 'kbdLayout', help: 'VNC keyboard layout, e.g. de' },
  { env: 'NIC', field: 'nic', help: 'NIC model: rtl8139, e1000, virtio-net-pci, …' },
  { env: 'NETMODE', field: 'netmode', help: 'user, vde, tap or none' },
  { env: 'QEMUSOCK', field: 'vdeSwitch', help: 'VDE switch (name from vmdeck net create)' },
  { env: 'TAPDEV', field: 'tapDevice', help: 'TAP interface for network mode tap' },
  { env: 'HOSTFWD', field: 'hostfwd', help: 'port forwards, blank-separated, e.g. tcp:127.0.0.1:2222-:22' },
  { env: 'VGA', field: 'vga', help: 'display adapter: std, cirrus, virtio, qxl, none' },
  { env: 'FIRMWARE', field: 'firmware', help: 'BIOS or UEFI (OVMF)' },
  { env: 'SECUREBOOT', field: 'secureBoot', help: 'UEFI Secure Boot: on or off (on needs machine q35)' },
  { env: 'TPM', field: 'tpm', help: 'TPM: none or 2.0 (swtpm)' },
  { env: 'ARGSADD', field: 'argsAdd', help: 'more QEMU arguments, blank-separated' },
  { env: 'UNATTENDED', field: 'unattended', help: 'install seed: cloud-init, preseed or kickstart (or --unattended=)' },
  { env: 'VMUSER', field: 'vmUser', help: 'user the seed creates (empty: vmdeck)' },
  { env: 'SSHKEY', field: 'sshKey', help: 'SSH public key for VMUSER: the key, or a file holding it' },
  { env: 'PASSWORD_HASH', field: 'passwordHash', help: 'crypt(3) hash of VMUSER\'s password (openssl passwd -6); seeds only' },
  { env: 'TIMEZONE', field: 'timezone', help: 'time zone of the installed system (empty: Etc/UTC)' },
  { env: 'MIRROR', field: 'mirror', help: 'package mirror for preseed/kickstart (empty: deb.debian.org)' },
  { env: 'TARGETDISK', field: 'targetDisk', help: 'disk the installer writes (empty: /dev/vda for virtio, else /dev/sda)' },
  { env: 'CLIPBOARD', field: 'clipboard', help: 'vdagent: a shared clipboard for a guest with spice-vdagent (empty: paste as keys)' },
  { env: 'AUTOSTART', field: 'autostart', help: 'on: start on host boot (vmdeck autostart makes the systemd unit)' },
  { env: 'AUTOSTART_ORDER', field: 'autostartOrder', help: 'start order on host boot, 0-9999 (empty: after the ordered ones)' },
  { env: 'AUTOSTART_DELAY', field: 'autostartDelay', help: 'seconds to wait after this VM started on host boot before the next' },
];

const NUMBER_FIELDS = new Set<Field>(['smp', 'memsize', 'autostartDelay']);
const LIST_FIELDS = new Set<Field>(['hostfwd', 'argsAdd']);

/** A text value (environment, prompt, config) as the spec field's type. */
export function fieldValue(field: Field, value: string | string[]): unknown {
  if (Array.isArray(value)) return LIST_FIELDS.has(field) ? value : value.join(' ');
  if (LIST_FIELDS.has(field)) return value.trim() === '' ? [] : value.trim().split(/\s+/);
  if (NUMBER_FIELDS.has(field)) return /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (field === 'vncDisplay' || field === 'autostartOrder') return value.trim() === '' ? null : /^\d+$/.test(value) ? Number(value) : value;
  if (field === 'accelerator' || field === 'bootmode' || field === 'instmode' || field === 'console' || field === 'firmware') return value.toUpperCase();
  if (field === 'secureBoot' || field === 'tpm') return value.toLowerCase();
  return value;
}

export function envValues(env: Record<string, string | undefined>): Partial<VmSpecInput> {
  const out: Record<string, unknown> = {};
  for (const o of ENV_OPTIONS) {
    const v = env[o.env];
    if (v !== undefined) out[o.field] = fieldValue(o.field, v);
  }
  return out as Partial<VmSpecInput>;
}

/** Host facts that decide defaults: passed in, so this stays pure. */
export interface HostFacts {
  kvm: boolean;
  /** The host's architecture in QEMU's words (see lib/host.ts). */
  arch: string;
}

export interface Generated {
  uuid: string;
  mac: string;
}

export type Origin = 'template' | 'host' | 'generated' | 'environment' | 'user' | 'vmdeck';

/**
 * The spec input for a new VM, and where each value came from (for --levo
 * and the wizard): vmdeck's fallbacks < template < host < environment < user.
 */
export function composeSpec(
  label: string,
  template: Template,
  host: HostFacts,
  generated: Generated,
  env: Partial<VmSpecInput>,
  user: Partial<VmSpecInput>,
): { input: Record<string, unknown>; origin: Record<string, Origin> } {
  const input: Record<string, unknown> = {};
  const origin: Record<string, Origin> = {};
  const lay = (values: Partial<VmSpecInput> | TemplateDefaults, from: Origin) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) continue;
      input[k] = v;
      origin[k] = from;
    }
  };
  lay({
    smp: 1, memsize: 256, nic: 'rtl8139', netmode: 'user', bootmode: 'VHDD', instmode: 'CD', console: 'VNC',
    arch: 'x86_64', qemu: 'qemu-system-x86_64', diskFormat: 'qcow2', autostart: 'off', autostartDelay: 0,
  }, 'vmdeck');
  lay(template.defaults, 'template');
  // KVM where it can run this guest; any other architecture is emulated.
  const arch = String(env.arch ?? user.arch ?? template.defaults.arch ?? 'x86_64');
  lay({ accelerator: host.kvm && kvmRuns(host.arch, arch) ? 'KVM' : 'QEMU' }, 'host');
  lay({ uuid: generated.uuid, mac: generated.mac }, 'generated');
  const t = template.defaults;
  if (t.diskIf !== 'none' && t.diskSize !== undefined) {
    lay({ disk: `${label}.${t.diskFormat ?? 'qcow2'}` }, 'vmdeck');
  }
  lay({ template: template.id }, 'template');
  lay(env, 'environment');
  lay(user, 'user');
  // An architecture chosen without a binary takes that architecture's QEMU.
  if ((origin.arch === 'environment' || origin.arch === 'user') && origin.qemu !== 'environment' && origin.qemu !== 'user'
    && input.arch !== template.defaults.arch) {
    input.qemu = `qemu-system-${String(input.arch)}`;
    origin.qemu = origin.arch;
  }
  input.label = label;
  origin.label = 'user';
  // A disk named after the label follows a changed format.
  if (origin.disk === 'vmdeck' && input.diskFormat) input.disk = `${label}.${String(input.diskFormat)}`;
  return { input, origin };
}

const ALL_FIELDS = Object.keys(CTYS_VARS) as Field[];

/**
 * Config variables back to spec fields (for reading a VM); only the fields
 * given, when a caller needs a few (ENUMERATE reads 14 of them from each of
 * thousands of configs).
 */
export function specFromVars<F extends Field = Field>(vars: ConfigVars, fields: readonly F[] = ALL_FIELDS as F[]): Partial<Record<F, unknown>> {
  const out: Partial<Record<F, unknown>> = {};
  for (const field of fields) {
    const v = vars[CTYS_VARS[field]];
    if (v !== undefined) out[field] = fieldValue(field, v);
  }
  return out;
}

/** A MAC in QEMU's locally administered 52:54:00 range from three random bytes. */
export function macFromBytes(bytes: Uint8Array): string {
  const hex = [...bytes.slice(0, 3)].map((b) => b.toString(16).padStart(2, '0'));
  return ['52', '54', '00', ...hex].join(':');
}
