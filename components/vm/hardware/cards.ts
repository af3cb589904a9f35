// The Hardware tab's cards: the settings grouped as the user sees them (as
// cockpit-machines groups its cards), each setting with its config variable
// and, for a choice, its values. Which values are valid is the server's
// check (lib/settings.ts); these lists only make the choices pickable.
import { ACCELERATORS, BOOT_MODES, CONSOLES, DISK_FORMATS, FIRMWARES, INST_MODES, NET_MODES, SECUREBOOT_MODES, TPM_MODELS } from '@/lib/spec';

export interface Setting {
  field: string;
  variable: string;
  label: string;
  /** A choice; '' stands for the machine's default where the spec allows it. */
  options?: readonly string[];
  /** A number (MEMSIZE, SMP); otherwise text. */
  number?: boolean;
  mono?: boolean;
}

export interface Card {
  id: string;
  title: string;
  settings: Setting[];
}

export const CARDS: Card[] = [
  {
    id: 'cpu', title: 'Processor and memory', settings: [
      { field: 'smp', variable: 'SMP', label: 'CPUs', number: true },
      { field: 'memsize', variable: 'MEMSIZE', label: 'Memory (MiB)', number: true },
      { field: 'cpu', variable: 'CPU', label: 'CPU model', mono: true },
      { field: 'accelerator', variable: 'ACCELERATOR', label: 'Accelerator', options: ACCELERATORS },
      { field: 'machine', variable: 'MACHINE', label: 'Machine type', mono: true },
    ],
  },
  {
    id: 'display', title: 'Display and keyboard', settings: [
      { field: 'vga', variable: 'VGA', label: 'Display adapter', options: ['', 'std', 'cirrus', 'vmware', 'qxl', 'virtio', 'none'] },
      { field: 'kbdLayout', variable: 'KBD_LAYOUT', label: 'Keyboard layout', mono: true },
      { field: 'console', variable: 'DEFAULTCONSOLE', label: 'Console', options: CONSOLES },
      { field: 'clipboard', variable: 'CLIPBOARD', label: 'Clipboard (vdagent: shared with spice-vdagent)', options: ['', 'vdagent'] },
    ],
  },
  {
    id: 'firmware', title: 'Firmware and TPM', settings: [
      { field: 'firmware', variable: 'FIRMWARE', label: 'Firmware', options: FIRMWARES },
      { field: 'secureBoot', variable: 'SECUREBOOT', label: 'Secure Boot', options: SECUREBOOT_MODES },
      { field: 'tpm', variable: 'TPM', label: 'TPM', options: TPM_MODELS },
    ],
  },
  {
    id: 'boot', title: 'Boot', settings: [
      { field: 'bootmode', variable: 'DEFAULTBOOTMODE', label: 'Boot from', options: BOOT_MODES },
      { field: 'instmode', variable: 'DEFAULTINSTMODE', label: 'Install from', options: INST_MODES },
      { field: 'instSrcCdrom', variable: 'INSTSRCCDROM', label: 'CD/DVD image', mono: true },
      { field: 'instSrcFdd', variable: 'INSTSRCFDD', label: 'Floppy image', mono: true },
      { field: 'instSrcUsb', variable: 'INSTSRCUSB', label: 'USB image', mono: true },
      { field: 'pxeRoot', variable: 'PXEROOT', label: 'PXE tree', mono: true },
      { field: 'pxeBootFile', variable: 'PXEBOOTFILE', label: 'PXE boot file', mono: true },
      { field: 'kernel', variable: 'KERNELIMAGE', label: 'Kernel', mono: true },
      { field: 'initrd', variable: 'INITRDIMAGE', label: 'Initrd', mono: true },
      { field: 'append', variable: 'APPEND', label: 'Kernel command line', mono: true },
    ],
  },
  {
    id: 'disks', title: 'Disk', settings: [
      { field: 'disk', variable: 'HDDBOOTIMAGE', label: 'Image', mono: true },
      { field: 'diskFormat', variable: 'HDDBOOTIMAGE_FORMAT', label: 'Format', options: DISK_FORMATS },
      { field: 'diskIf', variable: 'HDDBOOTIMAGE_IF', label: 'Interface', options: ['virtio', 'ide', 'scsi', 'sd', 'none'] },
      { field: 'cdromIf', variable: 'CDROM_IF', label: 'CD/DVD drive', options: ['ide', 'scsi', 'none'] },
    ],
  },
  {
    id: 'nics', title: 'Network interface', settings: [
      { field: 'nic', variable: 'NIC', label: 'Model', mono: true },
      { field: 'mac', variable: 'MAC0', label: 'MAC address', mono: true },
      { field: 'netmode', variable: 'NETMODE', label: 'Network', options: NET_MODES },
      { field: 'vdeSwitch', variable: 'QEMUSOCK', label: 'VDE switch', mono: true },
      { field: 'tapDevice', variable: 'TAPDEV', label: 'TAP device', mono: true },
      { field: 'hostfwd', variable: 'HOSTFWD', label: 'Port forwards', mono: true },
      { field: 'ip', variable: 'IP0', label: 'IPv4 address', mono: true },
    ],
  },
];

/** A setting's value as the input shows it. */
export function shown(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.join(' ');
  return String(value);
}
