// Internal qcow2 snapshots as QEMU reports them: the HMP monitor's
// `info snapshots` (VM running) and `qemu-img info --output=json` (stopped).

export interface Snapshot {
  name: string;
  /** Size of the saved RAM and device state; 0 for a disk-only snapshot (qemu-img snapshot -c). */
  vmStateSize: number;
  /** When it was taken, ISO 8601. */
  date: string;
  /** The guest's clock when it was taken, HH:MM:SS.mmm. */
  vmClock: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A snapshot name: what QEMU's monitor can take as one word and no one confuses with an ID. */
export function checkSnapshotName(name: string): string | null {
  if (!name) return 'name: a snapshot name is needed';
  if (!NAME.test(name)) return `name: '${name}' is not a snapshot name (letters, digits, '.', '_', '-'; at most 64; starting with a letter or digit)`;
  if (/^\d+$/.test(name)) return `name: '${name}' is only digits, which QEMU takes for a snapshot ID (add a letter)`;
  return null;
}

/**
 * QEMU's refusal to save a running VM's state, as a line that names the
 * cause and the way out; null for any other failure. savevm cannot snapshot
 * a raw drive (the UEFI variables, pflash1, or a raw disk); neither savevm
 * nor a suspend's migration can save QEMU's qemu-vdagent (CLIPBOARD=vdagent).
 */
export function stateSaveRefusal(label: string, qemuError: string, action: 'snapshot' | 'suspend'): string | null {
  const clipboard = /vdagent chardev doesn't yet support migration/.test(qemuError);
  const drive = /Device '([^']+)' is writable but does not support snapshots/.exec(qemuError);
  const doing = action === 'snapshot' ? 'take a snapshot while it runs' : 'be suspended';
  if (clipboard) {
    return `${action}: VM '${label}' cannot ${doing}: QEMU cannot save its shared clipboard (CLIPBOARD=vdagent); set CLIPBOARD= for the next start${action === 'snapshot' ? ', or stop it to snapshot its disk' : ''}`;
  }
  if (drive && action === 'snapshot') {
    const what = drive[1] === 'pflash1' ? 'its UEFI variables (pflash1, a raw file: FIRMWARE=UEFI)' : `its drive '${drive[1]}' (not qcow2)`;
    return `snapshot: VM '${label}' cannot take a snapshot while it runs: QEMU cannot snapshot ${what}; stop it to snapshot its disk, or suspend it (vmdeck cancel ${label} --suspend)`;
  }
  return null;
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4, PiB: 1024 ** 5, EiB: 1024 ** 6 };

function clock(totalNs: number): string {
  const ms = Math.floor(totalNs / 1e6);
  const h = Math.floor(ms / 3600000);
  const m = Math.floor(ms / 60000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/**
 * The loadable snapshots in HMP `info snapshots` (the list of those present
 * on all disks). Dates there are QEMU's local time.
 */
export function parseInfoSnapshots(text: string): Snapshot[] {
  const lines = text.replace(/\r/g, '').split('\n');
  const out: Snapshot[] = [];
  let inAll = false;
  for (const line of lines) {
    if (/^List of snapshots present on all disks/.test(line)) { inAll = true; continue; }
    if (/^List of /.test(line)) { inAll = false; continue; }
    if (!inAll) continue;
    const m = /^(\S+)\s+(.+?)\s+(\d+(?:\.\d+)?)\s*([KMGTPE]?i?B)\s+(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\s+(\d+:\d\d:\d\d\.\d+)/.exec(line);
    if (!m) continue;
    const when = new Date(`${m[5]}T${m[6]}`);
    out.push({
      name: m[2],
      vmStateSize: Math.round(Number(m[3]) * (UNITS[m[4]] ?? 1)),
      date: Number.isNaN(when.getTime()) ? `${m[5]} ${m[6]}` : when.toISOString(),
      vmClock: m[7],
    });
  }
  return out;
}

interface ImgSnapshot {
  name: string;
  'vm-state-size'?: number;
  'date-sec'?: number;
  'date-nsec'?: number;
  'vm-clock-sec'?: number;
  'vm-clock-nsec'?: number;
}

/** The snapshots in `qemu-img info --output=json` of a qcow2 image. */
export function parseImgSnapshots(info: { snapshots?: ImgSnapshot[] }): Snapshot[] {
  return (info.snapshots ?? []).map((s) => ({
    name: s.name,
    vmStateSize: s['vm-state-size'] ?? 0,
    date: new Date((s['date-sec'] ?? 0) * 1000 + Math.floor((s['date-nsec'] ?? 0) / 1e6)).toISOString(),
    vmClock: clock((s['vm-clock-sec'] ?? 0) * 1e9 + (s['vm-clock-nsec'] ?? 0)),
  }));
}
