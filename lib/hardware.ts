// A VM's disks and NICs as lists, read from and written to its config. The
// first of each keeps ctys's names (HDDBOOTIMAGE…, NIC/MAC0/IP0/NETMODE…);
// disk N ≥ 1 is HDDBOOTIMAGE<N> with HDDBOOTIMAGE<N>_FORMAT and _IF (and, for
// every disk, the options _READONLY, _CACHE, _DISCARD, _BOOTINDEX), NIC
// N ≥ 1 is NIC<N> (its model) with MAC<N>, IP<N>, NETMODE<N>, QEMUSOCK<N>
// and TAPDEV<N> (ctys's own second interface is MAC1/IP1). A list runs from
// 1 while its name is set and not empty: a ctys config's MAC1 without NIC1
// adds no interface, so every config written before keeps starting as it did.
import type { ConfigVars } from './ctys';
import { quoted, TAPDEV_HINT, TAPDEV_RE, vdeSwitchProblem } from './spec';

export const DISK_INTERFACES = ['virtio', 'ide', 'scsi'] as const;
export type DiskInterface = (typeof DISK_INTERFACES)[number];
/** Extra disks and NICs a VM may have beside its first ones (QEMU's ids stay short, the loops bounded). */
export const MAX_EXTRA = 15;

/** QEMU's cache modes of a drive; unset is QEMU's default (writeback). */
export const DISK_CACHES = ['writeback', 'none', 'writethrough', 'directsync', 'unsafe'] as const;

/** A disk's options beside its image: each unset in the config leaves QEMU's default. */
export interface DiskOptions {
  readOnly: boolean;
  /** '' for QEMU's default. */
  cache: string;
  /** Guest TRIMs free the image's space (discard=unmap). */
  discard: boolean;
  /** The firmware's boot order (bootindex), null for none. */
  bootIndex: number | null;
}

export interface Disk extends DiskOptions {
  /** 0 is the first disk (HDDBOOTIMAGE), then 1, 2, … */
  index: number;
  /** As the config has it: relative to the VM's directory, or absolute. */
  file: string;
  format: string;
  interface: string;
}

export interface Nic {
  index: number;
  model: string;
  mac: string;
  ip: string;
  /** user, vde, tap or none. */
  netmode: string;
  vdeSwitch: string;
  tapDevice: string;
}

/** The config variable of a disk's property: HDDBOOTIMAGE, HDDBOOTIMAGE2_IF, … */
export type DiskSuffix = '' | '_FORMAT' | '_IF' | '_READONLY' | '_CACHE' | '_DISCARD' | '_BOOTINDEX';
const OPTION_SUFFIXES = ['_READONLY', '_CACHE', '_DISCARD', '_BOOTINDEX'] as const;

export function diskVar(index: number, suffix: DiskSuffix = ''): string {
  return `HDDBOOTIMAGE${index === 0 ? '' : index}${suffix}`;
}

/** The config variable of a NIC's property: NIC, MAC0, NIC1, MAC1, NETMODE1, … */
export function nicVar(index: number, prop: 'NIC' | 'MAC' | 'IP' | 'NETMODE' | 'QEMUSOCK' | 'TAPDEV'): string {
  if (prop === 'MAC' || prop === 'IP') return `${prop}${index}`;
  return index === 0 ? prop : `${prop}${index}`;
}

export const CD_INTERFACES = ['ide', 'scsi'] as const;

/** A CD/DVD drive N ≥ 1 (drive 0 is the one every VM has, cd0, empty unless it boots from it). */
export interface CdDrive {
  index: number;
  /** The ISO in it, as the config has it; '' for an empty drive. */
  file: string;
  interface: string;
}

/** A floppy drive, A or B (QEMU's -fda/-fdb, ctys's FDA/FDB). */
export interface FloppyDrive {
  drive: 'A' | 'B';
  file: string;
}

/** CDROM<N> (the ISO) and CDROM<N>_IF (ide|scsi; the drive is there while it is set). */
export function cdVar(index: number, suffix: '' | '_IF' = ''): string {
  return `CDROM${index}${suffix}`;
}

/** The variables of the extra disks and NICs, for reading a config that only bash can evaluate. */
export const EXTRA_DEVICE_VARS: readonly string[] = [...OPTION_SUFFIXES.map((s) => diskVar(0, s)), 'FDA', 'FDB', ...Array.from({ length: MAX_EXTRA }, (_, i) => i + 1).flatMap((n) => [
  cdVar(n), cdVar(n, '_IF'),
  diskVar(n), diskVar(n, '_FORMAT'), diskVar(n, '_IF'), ...OPTION_SUFFIXES.map((s) => diskVar(n, s)),
  ...(['NIC', 'MAC', 'IP', 'NETMODE', 'QEMUSOCK', 'TAPDEV'] as const).map((p) => nicVar(n, p)),
])];

const get = (vars: ConfigVars, name: string): string => {
  const v = vars[name];
  return Array.isArray(v) ? v.join(' ') : v ?? '';
};

const formatOf = (file: string, format: string) => format || (file.endsWith('.qcow2') ? 'qcow2' : 'raw');

function optionsOf(vars: ConfigVars, n: number): DiskOptions {
  const boot = get(vars, diskVar(n, '_BOOTINDEX'));
  return {
    readOnly: get(vars, diskVar(n, '_READONLY')) === 'on',
    cache: get(vars, diskVar(n, '_CACHE')),
    discard: get(vars, diskVar(n, '_DISCARD')) === 'on',
    bootIndex: /^\d+$/.test(boot) ? Number(boot) : null,
  };
}

export function disksOf(vars: ConfigVars): Disk[] {
  const out: Disk[] = [];
  const disk = (index: number, file: string): Disk => ({
    index, file, format: formatOf(file, get(vars, diskVar(index, '_FORMAT'))), interface: get(vars, diskVar(index, '_IF')) || 'virtio', ...optionsOf(vars, index),
  });
  const first = get(vars, diskVar(0));
  if (first !== '') out.push(disk(0, first));
  for (let n = 1; n <= MAX_EXTRA; n++) {
    const file = get(vars, diskVar(n));
    if (file === '') break;
    out.push(disk(n, file));
  }
  return out;
}

/**
 * Checks a change of disk options (`vmdeck disk L set N readonly=on …`, a
 * PATCH body): the config assignments it makes, or the refusal naming the
 * option. Text values are read as the command line writes them.
 */
export function diskOptionAssignments(index: number, options: Record<string, unknown>, iface = 'virtio'): { pairs: [string, string][] } | { field: string; error: string } {
  const pairs: [string, string][] = [];
  const names: Record<string, keyof DiskOptions> = { readonly: 'readOnly', readOnly: 'readOnly', cache: 'cache', discard: 'discard', bootindex: 'bootIndex', bootIndex: 'bootIndex' };
  const onOff = (v: unknown) => (v === true || v === 'on' ? 'on' : v === false || v === 'off' ? 'off' : null);
  if (Object.keys(options).length === 0) return { field: 'options', error: 'options: nothing to change (readOnly, cache, discard, bootIndex)' };
  for (const [key, value] of Object.entries(options)) {
    const field = Object.hasOwn(names, key) ? names[key] : undefined;
    if (!field) return { field: key, error: `${key}: is not a disk option (readOnly, cache, discard, bootIndex)` };
    if (field === 'readOnly' || field === 'discard') {
      const v = onOff(value);
      if (v === null) return { field, error: `${field}: ${quoted(value)} is not on or off` };
      // QEMU's IDE hard disk refuses a read-only drive: the VM would not start.
      if (field === 'readOnly' && v === 'on' && iface === 'ide') return { field, error: `readOnly: an IDE disk cannot be read-only in QEMU (disk ${index} is ide): use virtio or scsi` };
      pairs.push([diskVar(index, field === 'readOnly' ? '_READONLY' : '_DISCARD'), v]);
    } else if (field === 'cache') {
      if (value !== '' && !(DISK_CACHES as readonly unknown[]).includes(value)) return { field, error: `cache: ${quoted(value)} is not one of ${DISK_CACHES.join(', ')} (or '' for QEMU's default)` };
      pairs.push([diskVar(index, '_CACHE'), value as string]);
    } else {
      const v = value === null || value === '' ? '' : typeof value === 'string' || typeof value === 'number' ? String(value) : null;
      if (v === null || (v !== '' && !/^\d{1,2}$/.test(v))) return { field, error: `bootIndex: ${quoted(value)} is not a boot index 0-99 (or empty for none)` };
      pairs.push([diskVar(index, '_BOOTINDEX'), v === '' ? '' : String(Number(v))]);
    }
  }
  return { pairs };
}

export function nicsOf(vars: ConfigVars): Nic[] {
  const nic = (index: number, model: string): Nic => ({
    index, model,
    mac: get(vars, nicVar(index, 'MAC')),
    ip: get(vars, nicVar(index, 'IP')),
    netmode: (get(vars, nicVar(index, 'NETMODE')) || 'user').toLowerCase(),
    vdeSwitch: get(vars, nicVar(index, 'QEMUSOCK')),
    tapDevice: get(vars, nicVar(index, 'TAPDEV')),
  });
  const out: Nic[] = [];
  const first = nic(0, get(vars, 'NIC') || 'rtl8139');
  if (first.netmode !== 'none') out.push(first);
  for (let n = 1; n <= MAX_EXTRA; n++) {
    const model = get(vars, nicVar(n, 'NIC'));
    if (model === '') break;
    out.push(nic(n, model));
  }
  return out;
}

export function cdsOf(vars: ConfigVars): CdDrive[] {
  const out: CdDrive[] = [];
  for (let n = 1; n <= MAX_EXTRA; n++) {
    const iface = get(vars, cdVar(n, '_IF'));
    if (iface === '') break;
    out.push({ index: n, file: get(vars, cdVar(n)), interface: iface });
  }
  return out;
}

export function floppiesOf(vars: ConfigVars): FloppyDrive[] {
  return (['A', 'B'] as const).filter((d) => get(vars, `FD${d}`) !== '').map((d) => ({ drive: d, file: get(vars, `FD${d}`) }));
}

/** The QMP drive name of a CD/DVD drive (cdN) or floppy (fda, fdb), as the wrapper names it. */
export const cdDrive = (index: number) => `cd${index}`;
export const floppyDrive = (drive: 'A' | 'B') => `fd${drive.toLowerCase()}`;

/**
 * Whether one more IDE device fits: the IDE slots the machine has, as the
 * wrapper gives them (its ide_at: q35's AHCI six, the PC's four), against
 * those the VM's disks and CD/DVD drives take (drive 0 is IDE unless
 * CDROM_IF says otherwise). The refusal, naming the field, or null.
 */
export function ideRoomError(vars: ConfigVars, label: string): string | null {
  const machine = get(vars, 'MACHINE') || 'pc';
  const slots = machine.includes('q35') ? 6 : 4;
  const cd0 = (get(vars, 'CDROM_IF') || 'ide') === 'ide' ? 1 : 0;
  const used = cd0 + disksOf(vars).filter((d) => d.interface === 'ide').length + cdsOf(vars).filter((c) => c.interface === 'ide').length;
  return used < slots ? null : `interface: VM '${label}' has no IDE slot left (machine ${machine} has ${slots}, all taken by its disks and CD/DVD drives); use scsi (--if scsi)`;
}

/** The index a new extra disk or NIC takes: one past the last (1 when there is only the first). */
export function nextIndex(list: readonly { index: number }[]): number {
  return Math.max(0, ...list.map((d) => d.index)) + 1;
}

/** --net's words: user, vde:SWITCH, tap:IF, none. */
export function parseNet(net: string): { netmode: string; vdeSwitch: string; tapDevice: string } | { error: string } {
  if (net === 'user' || net === 'none') return { netmode: net, vdeSwitch: '', tapDevice: '' };
  const m = /^(vde|tap):(.+)$/.exec(net);
  if (!m) return { error: `'${net}' is not one of user, vde:SWITCH, tap:IF, none` };
  if (m[1] === 'vde') {
    const problem = vdeSwitchProblem(m[2]);
    return problem ? { error: `'${m[2]}' ${problem}` } : { netmode: 'vde', vdeSwitch: m[2], tapDevice: '' };
  }
  if (!TAPDEV_RE.test(m[2])) return { error: `'${m[2]}' ${TAPDEV_HINT}` };
  return { netmode: 'tap', vdeSwitch: '', tapDevice: m[2] };
}

// The firmware's files beside a VM's config, as the wrapper names them: the
// UEFI variables (one store per Secure Boot setting: .ms has Microsoft's keys
// enrolled) and the TPM's state directory, with the files swtpm keeps there.
export const uefiVarsFiles = (label: string): string[] => [`${label}.uefi-vars.fd`, `${label}.uefi-vars.ms.fd`];
export const tpmStateDir = (label: string): string => `${label}.tpm`;
export const TPM_STATE_FILE_RE = /^(tpm2?-00\.(permall|volatilestate|savestate)|\.lock)$/;

/** What a ctys-made config's devices depend on beside its variables (server/store.ts's ctysDeviceFacts). */
export interface CtysDeviceFacts {
  /** The user ctys-setupVDE's default switch is named for (/var/tmp/vde_switch0.USER). */
  user: string;
  /** The bus types and names of the machine as the wrapper last asked QEMU (its machines cache), null when never asked. */
  buses: string | null;
  /** The first disk's format from its first bytes (qcow2 or raw), null when the image is not there to read. */
  diskFormat: string | null;
}

/** The board a ctys config names: MACHINE, else ARGSADD's -M/-machine, as the wrapper's ctys_late takes it. */
export function ctysMachine(vars: ConfigVars): string {
  const machine = get(vars, 'MACHINE');
  if (machine) return machine;
  const raw = vars.ARGSADD;
  const words = Array.isArray(raw) ? raw : (raw ?? '').split(/\s+/).filter(Boolean);
  const at = words.findIndex((w) => w === '-M' || w === '-machine');
  return at >= 0 && at + 1 < words.length ? words[at + 1] : '';
}

/**
 * A ctys-made config's variables with ctys's meanings of its devices, as the
 * wrapper's ctys_meanings and ctys_late give them QEMU (docs/CTYS.md), so
 * that disksOf, nicsOf and cdsOf read what the VM runs with: `NIC=` (set and
 * empty) is no NIC, any other NIC goes on the VDE switch QEMUSOCK
 * (/var/tmp/vde_switch0.USER when the config does not say); the disk and the
 * CD/DVD drive go on a bus the machine has, IDE first (ctys's -hda, -cdrom);
 * the disk's format is its image's (ctys lets QEMU probe it).
 */
export function ctysDeviceVars(vars: ConfigVars, facts: CtysDeviceFacts): ConfigVars {
  const out: ConfigVars = { ...vars };
  // The board as ctys names it (ARGSADD's -M), for what depends on it (q35's slots and hot-plug ports).
  if (get(vars, 'MACHINE') === '' && ctysMachine(vars) !== '') out.MACHINE = ctysMachine(vars);
  if (get(vars, 'NETMODE') === '') out.NETMODE = Object.hasOwn(vars, 'NIC') && get(vars, 'NIC') === '' ? 'none' : 'vde';
  if (get(out, 'NETMODE').toLowerCase() === 'vde' && get(vars, 'QEMUSOCK') === '') out.QEMUSOCK = `/var/tmp/vde_switch0.${facts.user}`;
  const buses = facts.buses === null ? null : ` ${facts.buses} `;
  const has = (...types: string[]) => buses === null || types.some((t) => buses.includes(` ${t} `));
  if (get(vars, diskVar(0, '_IF')) === '') {
    out[diskVar(0, '_IF')] = has('IDE') ? 'ide' : has('PCI', 'PCIE') ? 'virtio' : has('SCSI') ? 'scsi' : has('sd-bus') ? 'sd' : 'ide';
  }
  if (get(vars, 'CDROM_IF') === '') out.CDROM_IF = has('IDE') ? 'ide' : has('SCSI') ? 'scsi' : 'none';
  if (get(vars, diskVar(0, '_FORMAT')) === '' && facts.diskFormat) out[diskVar(0, '_FORMAT')] = facts.diskFormat;
  return out;
}
