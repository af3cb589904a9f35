// A VM's disks and NICs as lists, read from and written to its config. The
// first of each keeps ctys's names (HDDBOOTIMAGE…, NIC/MAC0/IP0/NETMODE…);
// disk N ≥ 1 is HDDBOOTIMAGE<N> with HDDBOOTIMAGE<N>_FORMAT and _IF, NIC
// N ≥ 1 is NIC<N> (its model) with MAC<N>, IP<N>, NETMODE<N>, QEMUSOCK<N>
// and TAPDEV<N> (ctys's own second interface is MAC1/IP1). A list runs from
// 1 while its name is set and not empty: a ctys config's MAC1 without NIC1
// adds no interface, so every config written before keeps starting as it did.
import type { ConfigVars } from './ctys';

export const DISK_INTERFACES = ['virtio', 'ide', 'scsi'] as const;
export type DiskInterface = (typeof DISK_INTERFACES)[number];
/** Extra disks and NICs a VM may have beside its first ones (QEMU's ids stay short, the loops bounded). */
export const MAX_EXTRA = 15;

export interface Disk {
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
export function diskVar(index: number, suffix: '' | '_FORMAT' | '_IF' = ''): string {
  return `HDDBOOTIMAGE${index === 0 ? '' : index}${suffix}`;
}

/** The config variable of a NIC's property: NIC, MAC0, NIC1, MAC1, NETMODE1, … */
export function nicVar(index: number, prop: 'NIC' | 'MAC' | 'IP' | 'NETMODE' | 'QEMUSOCK' | 'TAPDEV'): string {
  if (prop === 'MAC' || prop === 'IP') return `${prop}${index}`;
  return index === 0 ? prop : `${prop}${index}`;
}

/** The variables of the extra disks and NICs, for reading a config that only bash can evaluate. */
export const EXTRA_DEVICE_VARS: readonly string[] = Array.from({ length: MAX_EXTRA }, (_, i) => i + 1).flatMap((n) => [
  diskVar(n), diskVar(n, '_FORMAT'), diskVar(n, '_IF'),
  ...(['NIC', 'MAC', 'IP', 'NETMODE', 'QEMUSOCK', 'TAPDEV'] as const).map((p) => nicVar(n, p)),
]);

const get = (vars: ConfigVars, name: string): string => {
  const v = vars[name];
  return Array.isArray(v) ? v.join(' ') : v ?? '';
};

const formatOf = (file: string, format: string) => format || (file.endsWith('.qcow2') ? 'qcow2' : 'raw');

export function disksOf(vars: ConfigVars): Disk[] {
  const out: Disk[] = [];
  const first = get(vars, diskVar(0));
  if (first !== '') out.push({ index: 0, file: first, format: formatOf(first, get(vars, diskVar(0, '_FORMAT'))), interface: get(vars, diskVar(0, '_IF')) || 'virtio' });
  for (let n = 1; n <= MAX_EXTRA; n++) {
    const file = get(vars, diskVar(n));
    if (file === '') break;
    out.push({ index: n, file, format: formatOf(file, get(vars, diskVar(n, '_FORMAT'))), interface: get(vars, diskVar(n, '_IF')) || 'virtio' });
  }
  return out;
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

/** The index a new extra disk or NIC takes: one past the last (1 when there is only the first). */
export function nextIndex(list: readonly { index: number }[]): number {
  return Math.max(0, ...list.map((d) => d.index)) + 1;
}

/** --net's words: user, vde:SWITCH, tap:IF, none. */
export function parseNet(net: string): { netmode: string; vdeSwitch: string; tapDevice: string } | { error: string } {
  if (net === 'user' || net === 'none') return { netmode: net, vdeSwitch: '', tapDevice: '' };
  const m = /^(vde|tap):(.+)$/.exec(net);
  if (!m) return { error: `'${net}' is not one of user, vde:SWITCH, tap:IF, none` };
  return m[1] === 'vde' ? { netmode: 'vde', vdeSwitch: m[2], tapDevice: '' } : { netmode: 'tap', vdeSwitch: '', tapDevice: m[2] };
}

// The firmware's files beside a VM's config, as the wrapper names them: the
// UEFI variables (one store per Secure Boot setting: .ms has Microsoft's keys
// enrolled) and the TPM's state directory, with the files swtpm keeps there.
export const uefiVarsFiles = (label: string): string[] => [`${label}.uefi-vars.fd`, `${label}.uefi-vars.ms.fd`];
export const tpmStateDir = (label: string): string => `${label}.tpm`;
export const TPM_STATE_FILE_RE = /^(tpm2?-00\.(permall|volatilestate|savestate)|\.lock)$/;
