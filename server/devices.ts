// A VM's disks and NICs after it is made: `vmdeck disk|nic` and the API's
// routes per list. The config is the truth (lib/hardware.ts names the
// variables); on a running VM the same change is made live through QMP
// first (blockdev-add + device_add, netdev_add + device_add, block_resize),
// so the next start agrees with what runs now.
import { readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join } from 'node:path';
import { setAssignment } from '../lib/config-edit';
import { CD_INTERFACES, cdsOf, cdVar, DISK_INTERFACES, diskOptionAssignments, diskVar, disksOf, ideRoomError, MAX_EXTRA, nextIndex, nicsOf, nicVar, parseNet, type CdDrive, type Disk, type Nic } from '../lib/hardware';
import { confinePath } from './confine';
import { VmSpecSchema } from '../lib/spec';
import type { VmInfo } from '../lib/vm';
import { renderWrapper } from '../lib/wrapper';
import { readConfig } from './config';
import type { ConfigVars } from '../lib/ctys';
import { pruneKept, writeConfig } from './edit';
import { badInput, conflict, VmdeckError } from './errors';
import { exists, inDir, linkIntoPlace, removeDeadPidFiles } from './fsutil';
import { mediaByName } from './media-library';
import { runRoot } from './paths';
import { MEDIUM_CHANGED, recordLive, recordPending } from './pending';
import { run } from './proc';
import { vmStatus } from './runner';
import { hasVmdeckWrapper } from './wrapper';
import { isSocket, qmpCall, qmpMessage, resolveVm, withQmp } from './runtime';
import { deviceVars, enumerate, GENERATOR, keepCopy, stamp, uniqueMac } from './store';
import { task } from './tasks';
import { withVmLock } from './vm-lock';

export interface DeviceOutcome<T> {
  vm: VmInfo;
  /** The disk or NIC as the config now has it. */
  device: T;
  /** The config lines written. */
  lines: string[];
  kept: string;
  /** True when the running VM got the change at once (hot-plug, block_resize). */
  live: boolean;
  /** What was written as asked but keeps the VM from starting as it is (a VDE switch not running). */
  warning?: string;
}

/** "(it has only disk 0)", "(it has disks 0, 1)", "(it has none)": what a VM has, where a number it lacks was asked for. */
function hasList(what: string, indexes: number[]): string {
  if (indexes.length === 0) return '(it has none)';
  return indexes.length === 1 ? `(it has only ${what} ${indexes[0]})` : `(it has ${what}s ${indexes.join(', ')})`;
}

/** Bytes as a user reads them beside a size they typed: 64 MiB (67108864 bytes). */
function sizeText(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let unit = '';
  for (const u of units) {
    if (v < 1024) break;
    v /= 1024;
    unit = u;
  }
  const shown = unit ? `${Number.isInteger(v) ? v : v.toFixed(1)} ${unit} (${bytes} bytes)` : `${bytes} bytes`;
  return shown;
}

const SIZE_RE = /^[1-9]\d{0,6}[KMGT]?$/;
const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
const bytesOf = (size: string) => Number(size.replace(/[KMGT]$/, '')) * UNITS[/[KMGT]$/.exec(size)?.[0] ?? ''];

/** A VM's config and its variables, a ctys-made one's with ctys's meanings of its devices (what its disks, NICs and drives are in QEMU). */
async function readDevices(vm: VmInfo): Promise<{ text: string; vars: ConfigVars }> {
  const { text, vars } = await readConfig(vm.config);
  return { text, vars: deviceVars(vars, vm.source, vm.dir).vars };
}

async function running(vm: VmInfo): Promise<boolean> {
  const { state } = await vmStatus(vm);
  return state === 'running' || state === 'paused';
}

/**
 * Whether the VM runs, for a change of its devices; refused while it is
 * suspended: its saved state is of the machine without the change, and
 * QEMU resumes it into one with it (the guest never sees a disk added).
 */
async function runningForDeviceChange(vm: VmInfo, what: string): Promise<boolean> {
  const { state } = await vmStatus(vm);
  if (state === 'suspended') {
    throw conflict(`label: VM '${vm.label}' is suspended: its saved state would resume without ${what}; start it (it resumes) and make the change then, or remove ${join(vm.dir, `${vm.label}.suspend`)} to boot it afresh`, 'label');
  }
  return state === 'running' || state === 'paused';
}

/** The config with name=value for each pair, the user's lines kept; a variable set by logic is refused. */
function assign(text: string, pairs: [string, string][], field: string): { text: string; lines: string[] } {
  const lines: string[] = [];
  for (const [name, value] of pairs) {
    const r = setAssignment(text, name, value);
    if (!r.ok) throw badInput(field, r.error);
    text = r.text;
    lines.push(`${name}=${value === '' ? "''" : `'${value.replace(/'/g, `'\\''`)}'`}`);
  }
  return { text, lines };
}

/** What a wrapper's body needs to have for a change: its function that builds it. */
export const WRAPPER_BUILDS = { lists: 'add_extra_devices', diskOptions: 'disk_options', drives: 'add_cd', firmware: 'add_firmware', hotplug: 'add_spare_ports' } as const;

/** Whether the machine is q35, whose PCIe root bus takes no hot-plugged device (the wrapper's pcie_port). */
const isQ35 = (vars: ConfigVars) => /^(pc-)?q35/.test(String(vars.MACHINE ?? ''));

interface PciDevice { qdev_id?: string; pci_bridge?: { devices?: PciDevice[] } }

/**
 * Where a device added while a q35 VM runs goes: a root port the wrapper
 * left spare (hpK) with nothing on it, as QEMU's query-pci lists them; no
 * bus on other machines (QEMU picks a slot of the root bus).
 */
async function hotplugBus(c: Parameters<Parameters<typeof withQmp>[1]>[0], vm: VmInfo, vars: ConfigVars, field: string): Promise<{ bus?: string }> {
  if (!isQ35(vars)) return {};
  const buses = await qmpCall<{ devices: PciDevice[] }[]>(c, 'query-pci');
  const ports = buses.flatMap((b) => b.devices).filter((d) => /^hp\d+$/.test(d.qdev_id ?? '') && d.pci_bridge);
  const free = ports.find((d) => (d.pci_bridge!.devices ?? []).length === 0);
  if (free) return { bus: free.qdev_id };
  throw conflict(ports.length
    ? `${field}: VM '${vm.label}' has no PCIe port left for a device added while it runs (q35 takes them on root ports; each start leaves ${HOTPLUG_SPARE} spare): stop it and add it then, or restart it for ${HOTPLUG_SPARE} more`
    : `${field}: VM '${vm.label}' (q35) was started without PCIe ports for devices added while it runs (its wrapper is older; it is written afresh now): stop it and add it then, or restart it`, field);
}

/** The root ports a q35 VM's start leaves spare for devices added live (the wrapper's HOTPLUG_SPARE). */
export const HOTPLUG_SPARE = 8;

/**
 * A wrapper of vmdeck's written before a change it cannot build (disks and
 * NICs as lists, disk options, drives, firmware) would ignore it: it is
 * written afresh (the old one kept beside it). A ctys config is run by
 * vmdeck's own body, never by its wrapper (server/wrapper.ts): nothing to do.
 */
export async function wrapperTakesLists(vm: VmInfo, needs: keyof typeof WRAPPER_BUILDS = 'lists'): Promise<void> {
  if (!hasVmdeckWrapper(vm)) return;
  const text = await readFile(vm.wrapper, 'utf8').catch(() => '');
  if (text.includes(`${WRAPPER_BUILDS[needs]}()`)) return;
  await keepCopy(vm.wrapper, `${vm.wrapper}.${stamp()}`);
  const tmp = `${vm.wrapper}.new-${process.pid}`;
  await writeFile(tmp, renderWrapper(basename(vm.config, '.ctys'), { generator: GENERATOR, date: new Date().toISOString().slice(0, 10) }), { mode: 0o755 });
  await rename(tmp, vm.wrapper);
}

// --- disks ------------------------------------------------------------------

export interface DiskRequest {
  size?: string;
  file?: string;
  interface?: string;
  /** readOnly, cache, discard, bootIndex (lib/hardware.ts's diskOptionAssignments). */
  options?: Record<string, unknown>;
}

/**
 * An image that is a disk of this VM already, or of another: QEMU takes one
 * writer per image (the start fails with "Is another process using the
 * image?"), and two VMs writing one image corrupt it. Compared by real path.
 */
async function refuseDiskInUse(vm: VmInfo, disks: Disk[], path: string, readOnly: boolean): Promise<void> {
  const real = (p: string) => realpath(p).catch(() => p);
  const wanted = await real(path);
  for (const d of disks) {
    if (d.file && (await real(inDir(vm.dir, d.file))) === wanted) {
      throw conflict(`file: '${path}' is disk ${d.index} of VM '${vm.label}' already`, 'file');
    }
  }
  for (const other of await enumerate()) {
    if (other.label === vm.label) continue;
    const theirs = await Promise.all(other.disks.map(async (d) => ({ d, at: d.file ? await real(inDir(other.dir, d.file)) : '' })));
    // Read-only on both sides is safe: QEMU shares an image between readers.
    const clash = theirs.find(({ d, at }) => at === wanted && !(readOnly && d.readOnly));
    if (clash) {
      throw conflict(`file: '${path}' is disk ${clash.d.index} of VM '${other.label}': attach a copy of it, or both read-only (two VMs writing one image corrupt it)`, 'file');
    }
  }
}

export function addDisk(label: string, req: DiskRequest): Promise<DeviceOutcome<Disk>> {
  return task('disk:add', label, { ...req }, () => withVmLock(label, 'disk add', () => addDiskNow(label, req)));
}

async function addDiskNow(label: string, req: DiskRequest): Promise<DeviceOutcome<Disk>> {
  const vm = await resolveVm(label);
  const iface = req.interface ?? 'virtio';
  if (!(DISK_INTERFACES as readonly string[]).includes(iface)) throw badInput('interface', `interface: '${iface}' is not one of ${DISK_INTERFACES.join(', ')}`);
  if (req.size !== undefined && !SIZE_RE.test(req.size)) throw badInput('size', `size: '${req.size}' is not a size like 512M or 8G`);
  if (req.file !== undefined && req.size !== undefined) throw badInput('size', 'size: give a size for a new image or the file of an existing one, not both');
  const { text, vars } = await readDevices(vm);
  const disks = disksOf(vars);
  const n = nextIndex(disks);
  if (n > MAX_EXTRA) throw badInput('disk', `disk: VM '${vm.label}' has ${disks.length} disks, the most vmdeck gives a VM`);
  const live = await runningForDeviceChange(vm, 'the new disk');
  if (live && iface !== 'virtio') throw conflict(`interface: a${iface === 'ide' ? 'n' : ''} ${iface} disk cannot be added while VM '${vm.label}' runs; use virtio, or stop it first`, 'interface');
  const noIde = iface === 'ide' ? ideRoomError(vars, vm.label) : null;
  if (noIde) throw badInput('interface', noIde);
  let file: string;
  let created = false;
  if (req.file !== undefined) {
    const p = VmSpecSchema.shape.disk.safeParse(req.file);
    if (!p.success || req.file === '') throw badInput('file', `file: ${p.success ? 'is empty' : p.error.issues[0].message}`);
    file = req.file;
    if (!(await exists(inDir(vm.dir, file)))) throw badInput('file', `file: '${file}' does not exist${isAbsolute(file) ? '' : ` in VM '${vm.label}''s directory ${vm.dir}`} (omit --file to make a new image)`);
  } else {
    // A disk removed before left its image (removing keeps it): the new one takes the next free name.
    file = `${vm.label}-disk${n}.qcow2`;
    for (let k = 2; await exists(join(vm.dir, file)); k++) {
      if (k > 99) throw conflict(`file: '${join(vm.dir, `${vm.label}-disk${n}.qcow2`)}' and 98 more names like it exist already; give one with --file to use it`, 'file');
      file = `${vm.label}-disk${n}-${k}.qcow2`;
    }
  }
  const path = inDir(vm.dir, file);
  const format = file.endsWith('.qcow2') ? 'qcow2' : 'raw';
  const options = req.options && Object.keys(req.options).length ? diskOptionAssignments(n, req.options, iface) : { pairs: [] };
  if ('error' in options) throw badInput(options.field, options.error);
  if (req.file !== undefined) await refuseDiskInUse(vm, disks, path, options.pairs.some(([v, value]) => v === diskVar(n, '_READONLY') && value === 'on'));
  const edit = assign(text, [[diskVar(n), file], [diskVar(n, '_FORMAT'), format], [diskVar(n, '_IF'), iface], ...options.pairs], 'disk');
  await wrapperTakesLists(vm, options.pairs.length ? 'diskOptions' : 'lists');
  if (isQ35(vars)) await wrapperTakesLists(vm, 'hotplug');
  const opt = (suffix: '_READONLY' | '_CACHE' | '_DISCARD' | '_BOOTINDEX') => options.pairs.find(([v]) => v === diskVar(n, suffix))?.[1] ?? '';
  if (req.file === undefined) {
    // Made under a hidden name and renamed: a create cut short (the server killed) leaves no image
    // that the config does not name and that refuses every next add; the next add removes it.
    await removeDeadPidFiles(vm.dir, `.${file}.part-`);
    const part = join(vm.dir, `.${file}.part-${process.pid}`);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', part, req.size ?? '1G']).catch(async (e) => {
      await rm(part, { force: true });
      throw new VmdeckError(500, `disk: qemu-img could not create '${path}': ${String((e as { stderr?: string }).stderr ?? e).trim().split('\n')[0]}`, 'disk');
    });
    // Linked, not renamed: a file made there meanwhile is not replaced.
    try {
      if (!(await linkIntoPlace(part, path))) throw conflict(`file: '${path}' already exists; give it with --file to use it`, 'file');
    } finally {
      await rm(part, { force: true });
    }
    created = true;
  }
  try {
    // The config first, then QEMU: cut short between them, the disk is a change pending until the next
    // start, where QEMU first left it attached and the config without it (and the next add refused).
    const kept = await writeConfig(vm, edit.text, { prune: !live });
    if (live) {
      await withQmp(vm, async (c) => {
        // The options as the wrapper's -drive gives them (QEMU's cache modes are these two switches).
        const cache = opt('_CACHE');
        await qmpCall(c, 'blockdev-add', {
          driver: format, 'node-name': `hd${n}`, file: { driver: 'file', filename: path },
          ...(opt('_READONLY') === 'on' ? { 'read-only': true } : {}),
          ...(opt('_DISCARD') === 'on' ? { discard: 'unmap' } : {}),
          ...(cache ? { cache: { direct: cache === 'none' || cache === 'directsync', 'no-flush': cache === 'unsafe' } } : {}),
        });
        try {
          const boot = opt('_BOOTINDEX');
          await qmpCall(c, 'device_add', { driver: 'virtio-blk-pci', drive: `hd${n}`, id: `disk${n}`, serial: `disk${n}`, ...(boot ? { bootindex: Number(boot) } : {}), ...(await hotplugBus(c, vm, vars, 'disk')) });
        } catch (e) {
          await qmpCall(c, 'blockdev-del', { 'node-name': `hd${n}` }).catch(() => undefined);
          throw e;
        }
      }).catch(async (e) => {
        // Not added: the config as it was, from its copy (a link of the same file) put back in place.
        await rename(kept, vm.config).catch((undo: Error) => {
          created = false; // the config still names the image: it stays
          throw new VmdeckError(500, `disk: QEMU could not add disk ${n} to VM '${vm.label}' (${qmpMessage(e)}), and the config could not be put back (${undo.message}): it names ${file}, kept`, 'disk');
        });
        if (e instanceof VmdeckError) throw e;
        throw new VmdeckError(500, `disk: QEMU could not add disk ${n} to VM '${vm.label}': ${qmpMessage(e)}`, 'disk');
      });
    }
    if (live) {
      await recordLive(vm.label, `disk ${n} added`);
      await pruneKept(vm.config, kept);
    }
    const after = await resolveVm(vm.config);
    return { vm: after, device: after.disks.find((d) => d.index === n)!, lines: edit.lines, kept, live };
  } catch (e) {
    if (created) await rm(path, { force: true });
    throw e;
  }
}

/**
 * Changes disk N's options (read-only, cache, discard, boot index) in the
 * config. QEMU cannot change them on a running disk: then they are pending
 * until the next start.
 */
export function setDiskOptions(label: string, index: number, options: Record<string, unknown>): Promise<DeviceOutcome<Disk> & { pending: boolean }> {
  return task('disk:set', label, { disk: index, options }, () => withVmLock(label, 'disk set', () => setDiskOptionsNow(label, index, options)));
}

async function setDiskOptionsNow(label: string, index: number, options: Record<string, unknown>): Promise<DeviceOutcome<Disk> & { pending: boolean }> {
  const vm = await resolveVm(label);
  const { text, vars } = await readDevices(vm);
  const disks = disksOf(vars);
  const disk = disks.find((d) => d.index === index);
  if (!disk) throw badInput('disk', `disk: VM '${vm.label}' has no disk ${index} ${hasList('disk', disks.map((d) => d.index))}`);
  const r = diskOptionAssignments(index, options, disk.interface);
  if ('error' in r) throw badInput(r.field, r.error);
  const edit = assign(text, r.pairs, 'disk');
  const live = edit.text === text ? await running(vm) : await runningForDeviceChange(vm, "the disk's new options");
  await wrapperTakesLists(vm, 'diskOptions');
  const kept = edit.text === text ? '' : await writeConfig(vm, edit.text);
  if (live && kept) await recordPending(vm.label, r.pairs.map(([v]) => v));
  const after = await resolveVm(vm.config);
  return { vm: after, device: after.disks.find((d) => d.index === index)!, lines: edit.lines, kept, live: false, pending: live };
}

interface ImageInfo { 'virtual-size': number; snapshots?: { name: string }[] }

/**
 * Resizes disk N. Grows only, unless shrink names the VM (a shrink loses
 * what lies past the new end); a qcow2 with internal snapshots is refused,
 * since they would no longer fit the image. Running: block_resize, the guest
 * sees the new size at once.
 */
export function resizeDisk(label: string, index: number, size: string, shrink?: string): Promise<DeviceOutcome<Disk> & { from: number; to: number }> {
  return task('disk:resize', label, { disk: index, size, shrink }, () => withVmLock(label, 'disk resize', () => resizeDiskNow(label, index, size, shrink)));
}

async function resizeDiskNow(label: string, index: number, size: string, shrink?: string): Promise<DeviceOutcome<Disk> & { from: number; to: number }> {
  const vm = await resolveVm(label);
  if (!SIZE_RE.test(size)) throw badInput('size', `size: '${size}' is not a size like 512M or 8G`);
  const { vars } = await readDevices(vm);
  const disk = disksOf(vars).find((d) => d.index === index);
  if (!disk) throw badInput('disk', `disk: VM '${vm.label}' has no disk ${index} ${hasList('disk', disksOf(vars).map((d) => d.index))}`);
  const path = inDir(vm.dir, disk.file);
  const live = await runningForDeviceChange(vm, 'the resized disk');
  // -U: the image may be open in the running QEMU; only its header is read.
  const info = JSON.parse((await run('qemu-img', ['info', '-U', '--output=json', path])).stdout) as ImageInfo;
  const to = bytesOf(size);
  const from = info['virtual-size'];
  if (to < from && shrink !== vm.label) {
    throw badInput('size', `size: ${size} is smaller than disk ${index}'s ${sizeText(from)}; shrinking loses the data past the new end: confirm with the VM's name (--shrink=${vm.label}; in the dashboard, the Resize form's "To shrink" field)`);
  }
  if (info.snapshots?.length) {
    throw conflict(`disk: disk ${index} of VM '${vm.label}' is used by snapshot${info.snapshots.length > 1 ? 's' : ''} ${info.snapshots.map((s) => `'${s.name}'`).join(', ')}: delete ${info.snapshots.length > 1 ? 'them' : 'it'} before resizing`, 'disk');
  }
  if (live) {
    await withQmp(vm, (c) => qmpCall(c, 'block_resize', { device: `hd${index}`, size: to })
      .catch(() => qmpCall(c, 'block_resize', { 'node-name': `hd${index}`, size: to })))
      .catch((e) => {
        if (e instanceof VmdeckError) throw e;
        throw new VmdeckError(500, `disk: QEMU could not resize disk ${index} of VM '${vm.label}': ${qmpMessage(e)}`, 'disk');
      });
  } else {
    await run('qemu-img', ['resize', '-q', ...(to < from ? ['--shrink'] : []), '-f', disk.format, path, String(to)]);
  }
  return { vm, device: disk, lines: [], kept: '', live, from, to };
}

// --- NICs ---------------------------------------------------------------------

export interface NicRequest {
  model?: string;
  net?: string;
}

export function addNic(label: string, req: NicRequest): Promise<DeviceOutcome<Nic>> {
  return task('nic:add', label, { ...req }, () => withVmLock(label, 'nic add', () => addNicNow(label, req)));
}

async function addNicNow(label: string, req: NicRequest): Promise<DeviceOutcome<Nic>> {
  const vm = await resolveVm(label);
  const { text, vars } = await readDevices(vm);
  const model = req.model ?? (vars.NIC as string | undefined) ?? 'virtio-net-pci';
  const m = VmSpecSchema.shape.nic.safeParse(model);
  if (!m.success) throw badInput('model', `model: ${m.error.issues[0].message}`);
  const net = parseNet(req.net ?? 'user');
  if ('error' in net) throw badInput('net', `net: ${net.error}`);
  const nics = nicsOf(vars);
  // A first NIC with network mode none counts: the next one is still NIC1.
  const n = Math.max(1, nextIndex(nics));
  if (n > MAX_EXTRA) throw badInput('nic', `nic: VM '${vm.label}' has ${nics.length} NICs, the most vmdeck gives a VM`);
  // ctys's second interface may already have its MAC1 (and IP1): NIC 1 takes it.
  const mac = (vars[nicVar(n, 'MAC')] as string | undefined) || uniqueMac([...(await enumerate()), vm]);
  const pairs: [string, string][] = [[nicVar(n, 'NIC'), model], [nicVar(n, 'MAC'), mac], [nicVar(n, 'NETMODE'), net.netmode]];
  if (net.vdeSwitch) pairs.push([nicVar(n, 'QEMUSOCK'), net.vdeSwitch]);
  if (net.tapDevice) pairs.push([nicVar(n, 'TAPDEV'), net.tapDevice]);
  const edit = assign(text, pairs, 'nic');
  await wrapperTakesLists(vm);
  if (isQ35(vars)) await wrapperTakesLists(vm, 'hotplug');
  const live = await runningForDeviceChange(vm, 'the new NIC') && net.netmode !== 'none';
  // A bare switch name is one of vmdeck net's, as the wrapper reads it.
  const sock = net.vdeSwitch.includes('/') ? net.vdeSwitch : join(runRoot(), 'net', net.vdeSwitch);
  const start = net.vdeSwitch.includes('/') ? 'start a switch there' : `start it: vmdeck net create ${net.vdeSwitch}`;
  const noSwitch = net.netmode === 'vde' && !(await isSocket(join(sock, 'ctl'))) && !(await isSocket(sock))
    ? `VDE switch '${net.vdeSwitch}' is not running (${start})` : null;
  if (live && noSwitch) throw conflict(`net: ${noSwitch}: VM '${vm.label}' runs and cannot plug into it now`, 'net');
  if (live) {
    const netdev: Record<string, unknown> = net.netmode === 'user' ? { type: 'user', id: `net${n}` }
      : net.netmode === 'vde' ? { type: 'vde', id: `net${n}`, sock }
        : { type: 'tap', id: `net${n}`, ifname: net.tapDevice, script: 'no', downscript: 'no' };
    await withQmp(vm, async (c) => {
      await qmpCall(c, 'netdev_add', netdev);
      try {
        // A USB or ISA model is no PCI device (the wrapper's add_nic): no root port for it.
        const pci = !/^usb-|isa/.test(model);
        await qmpCall(c, 'device_add', { driver: model, netdev: `net${n}`, mac, id: `nic${n}`, ...(pci ? await hotplugBus(c, vm, vars, 'nic') : {}) });
      } catch (e) {
        await qmpCall(c, 'netdev_del', { id: `net${n}` }).catch(() => undefined);
        throw e;
      }
    }).catch((e) => {
      if (e instanceof VmdeckError) throw e;
      throw new VmdeckError(500, `nic: QEMU could not add NIC ${n} to VM '${vm.label}': ${qmpMessage(e)}`, 'nic');
    });
  }
  const kept = await writeConfig(vm, edit.text);
  if (live) await recordLive(vm.label, `NIC ${n} added`);
  const after = await resolveVm(vm.config);
  const warning = noSwitch ? `net: ${noSwitch}: VM '${vm.label}' cannot start until it is` : undefined;
  return { vm: after, device: after.nics.find((x) => x.index === n)!, lines: edit.lines, kept, live, ...(warning ? { warning } : {}) };
}

// --- removing -----------------------------------------------------------------

/** Waits until QEMU no longer has device id (the guest acknowledged the unplug). */
async function unplugged(c: Parameters<Parameters<typeof withQmp>[1]>[0], id: string, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const list = await qmpCall<{ name: string }[]>(c, 'qom-list', { path: '/machine/peripheral' });
    if (!list.some((p) => p.name === id)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new VmdeckError(504, `${what}: the guest did not release ${id} within 10 s (it may not take hot-unplug); stop the VM and remove it then`, what);
}

/**
 * Removes extra device N (disk or NIC). Stopped: the later ones move down
 * one number. Running: only the last one, since QEMU's ids (diskN, nicN)
 * follow the numbers the VM was started with.
 */
function removeDevice(label: string, kind: 'disk' | 'nic', index: number): Promise<DeviceOutcome<Disk | Nic>> {
  return task(`${kind}:remove`, label, { [kind]: index }, () => withVmLock(label, `${kind} remove`, () => removeDeviceNow(label, kind, index)));
}

async function removeDeviceNow(label: string, kind: 'disk' | 'nic', index: number): Promise<DeviceOutcome<Disk | Nic>> {
  const vm = await resolveVm(label);
  const { text, vars } = await readDevices(vm);
  const list: (Disk | Nic)[] = kind === 'disk' ? disksOf(vars) : nicsOf(vars);
  const device = list.find((d) => d.index === index);
  if (!device) throw badInput(kind, `${kind}: VM '${vm.label}' has no ${kind === 'disk' ? 'disk' : 'NIC'} ${index} ${hasList(kind === 'disk' ? 'disk' : 'NIC', list.map((d) => d.index))}`);
  if (index === 0) {
    throw badInput(kind, kind === 'disk'
      ? `disk: disk 0 is the first disk (HDDBOOTIMAGE): change it with vmdeck set HDDBOOTIMAGE=…`
      : `nic: NIC 0 is the first NIC: vmdeck set NETMODE=none takes it away`);
  }
  const last = Math.max(...list.map((d) => d.index));
  const live = await runningForDeviceChange(vm, `the ${kind === 'disk' ? 'disk' : 'NIC'} removed`);
  if (live && index !== last) throw conflict(`${kind}: VM '${vm.label}' runs: only its last ${kind === 'disk' ? 'disk' : 'NIC'} (${last}) can be removed now; stop it to remove ${index}`, kind);
  const names: ((n: number) => string)[] = kind === 'disk'
    ? (['', '_FORMAT', '_IF', '_READONLY', '_CACHE', '_DISCARD', '_BOOTINDEX'] as const).map((x) => (n: number) => diskVar(n, x))
    : (['NIC', 'MAC', 'IP', 'NETMODE', 'QEMUSOCK', 'TAPDEV'] as const).map((p) => (n: number) => nicVar(n, p));
  const pairs: [string, string][] = [];
  const value = (name: string) => { const v = vars[name]; return Array.isArray(v) ? v.join(' ') : v ?? ''; };
  for (let k = index; k < last; k++) for (const name of names) pairs.push([name(k), value(name(k + 1))]);
  // The last one's name set empty ends the list there (its lines stay, emptied).
  for (const name of names) if (vars[name(last)] !== undefined) pairs.push([name(last), '']);
  const edit = assign(text, pairs, kind);
  if (live) {
    await withQmp(vm, async (c) => {
      if (kind === 'disk') {
        await qmpCall(c, 'device_del', { id: `disk${index}` });
        await unplugged(c, `disk${index}`, 'disk');
        // A disk hot-added by vmdeck has a node of its own; one of the command line went with its device.
        await qmpCall(c, 'blockdev-del', { 'node-name': `hd${index}` }).catch(() => undefined);
      } else {
        await qmpCall(c, 'device_del', { id: `nic${index}` });
        await unplugged(c, `nic${index}`, 'nic');
        await qmpCall(c, 'netdev_del', { id: `net${index}` }).catch(() => undefined);
      }
    }).catch((e) => {
      if (e instanceof VmdeckError) throw e;
      throw new VmdeckError(500, `${kind}: QEMU could not remove ${kind} ${index} of VM '${vm.label}': ${qmpMessage(e)}`, kind);
    });
  }
  const kept = await writeConfig(vm, edit.text);
  if (live) await recordLive(vm.label, `${kind === 'nic' ? 'NIC' : 'disk'} ${index} removed`);
  return { vm: await resolveVm(vm.config), device, lines: edit.lines, kept, live };
}

/** Removes disk N ≥ 1 from the VM; its image is kept. */
export const removeDisk = (label: string, index: number) => removeDevice(label, 'disk', index) as Promise<DeviceOutcome<Disk>>;
/** Removes NIC N ≥ 1 from the VM. */
export const removeNic = (label: string, index: number) => removeDevice(label, 'nic', index) as Promise<DeviceOutcome<Nic>>;

// --- CD/DVD drives and floppies ---------------------------------------------

/** An ISO or floppy image given by the user: a path the config can hold, of an image that exists. */
async function imageFile(vm: VmInfo, field: string, given: string): Promise<string> {
  // A name of the media library, as its picker and list show them.
  const file = await mediaByName(given, vm.dir);
  const p = VmSpecSchema.shape.instSrcCdrom.safeParse(file);
  if (!p.success || file === '') throw badInput(field, `${field}: ${p.success ? 'an image is needed' : p.error.issues[0].message}`);
  if (!(await exists(inDir(vm.dir, file)))) throw badInput(field, `${field}: '${file}' does not exist${isAbsolute(file) ? '' : ` in VM '${vm.label}''s directory or the media library`}`);
  return file;
}

/**
 * Adds CD/DVD drive N (CDROM<N>_IF, with the ISO CDROM<N> or empty). QEMU
 * cannot plug an IDE drive into a running VM: there it is pending until the
 * next start.
 */
export function addCd(label: string, req: { iso?: string; interface?: string }): Promise<DeviceOutcome<CdDrive> & { pending: boolean }> {
  return task('cd:add', label, { ...req }, () => withVmLock(label, 'cd add', () => addCdNow(label, req)));
}

async function addCdNow(label: string, req: { iso?: string; interface?: string }): Promise<DeviceOutcome<CdDrive> & { pending: boolean }> {
  const vm = await resolveVm(label);
  const iface = req.interface ?? 'ide';
  if (!(CD_INTERFACES as readonly string[]).includes(iface)) throw badInput('interface', `interface: '${iface}' is not one of ${CD_INTERFACES.join(', ')}`);
  const iso = req.iso === undefined || req.iso === '' ? '' : await imageFile(vm, 'iso', req.iso);
  const { text, vars } = await readDevices(vm);
  const cds = cdsOf(vars);
  const n = nextIndex(cds);
  if (n > MAX_EXTRA) throw badInput('cd', `cd: VM '${vm.label}' has ${cds.length + 1} CD/DVD drives, the most vmdeck gives a VM`);
  const noIde = iface === 'ide' ? ideRoomError(vars, vm.label) : null;
  if (noIde) throw badInput('interface', noIde);
  const edit = assign(text, [[cdVar(n), iso], [cdVar(n, '_IF'), iface]], 'cd');
  await wrapperTakesLists(vm, 'drives');
  const live = await runningForDeviceChange(vm, 'the new drive');
  const kept = await writeConfig(vm, edit.text);
  if (live) await recordPending(vm.label, [cdVar(n), cdVar(n, '_IF')]);
  const after = await resolveVm(vm.config);
  return { vm: after, device: after.cds.find((d) => d.index === n)!, lines: edit.lines, kept, live: false, pending: live };
}

/** Removes CD/DVD drive N ≥ 1 (the later ones move down a number); pending on a running VM. */
export function removeCd(label: string, index: number): Promise<DeviceOutcome<CdDrive> & { pending: boolean }> {
  return task('cd:remove', label, { drive: index }, () => withVmLock(label, 'cd remove', () => removeCdNow(label, index)));
}

async function removeCdNow(label: string, index: number): Promise<DeviceOutcome<CdDrive> & { pending: boolean }> {
  const vm = await resolveVm(label);
  const { text, vars } = await readDevices(vm);
  const cds = cdsOf(vars);
  const device = cds.find((d) => d.index === index);
  if (!device) {
    throw badInput('cd', index === 0
      ? 'cd: drive 0 is the drive every VM has (CDROM_IF=none takes it away)'
      : `cd: VM '${vm.label}' has no CD/DVD drive ${index} ${hasList('drive', [0, ...cds.map((d) => d.index)])}`);
  }
  const last = cds[cds.length - 1].index;
  const pairs: [string, string][] = [];
  for (let k = index; k < last; k++) for (const x of ['', '_IF'] as const) pairs.push([cdVar(k, x), String(vars[cdVar(k + 1, x)] ?? '')]);
  for (const x of ['', '_IF'] as const) if (vars[cdVar(last, x)] !== undefined) pairs.push([cdVar(last, x), '']);
  const edit = assign(text, pairs, 'cd');
  const live = await runningForDeviceChange(vm, 'the drive removed');
  const kept = await writeConfig(vm, edit.text);
  if (live) await recordPending(vm.label, pairs.map(([v]) => v));
  return { vm: await resolveVm(vm.config), device, lines: edit.lines, kept, live: false, pending: live };
}

export interface DriveChange {
  vm: VmInfo;
  /** QEMU's name of the drive: cdN, fda, fdb. */
  drive: string;
  /** The image in it now ('' empty). */
  file: string;
  lines: string[];
  /** The running VM got it at once (QMP blockdev-change-medium, eject). */
  live: boolean;
  /** The running VM has no such drive yet: it comes with the next start. */
  pending: boolean;
}

/**
 * Puts an image into CD/DVD drive N ≥ 1 or floppy drive A/B, or empties it
 * (file ''): live when the VM runs with that drive, and written to the
 * config (CDROM<N>, FDA, FDB) so the next start agrees.
 */
export function changeDrive(label: string, drive: string, file: string, opts: { confined?: boolean } = {}): Promise<DriveChange> {
  return task('cd:change', label, { drive, file }, () => withVmLock(label, 'cd change', () => changeDriveNow(label, drive, file, opts)));
}

async function changeDriveNow(label: string, drive: string, file: string, opts: { confined?: boolean }): Promise<DriveChange> {
  const vm = await resolveVm(label);
  const { text, vars } = await readDevices(vm);
  const m = /^(?:cd(\d{1,2})|fd([ab]))$/.exec(drive);
  if (!m || m[1] === '0') throw badInput('drive', `drive: '${drive}' is not a CD/DVD drive cd1…cd${MAX_EXTRA} or a floppy drive fda, fdb (cd0: vmdeck media L change ISO)`);
  const variable = m[1] ? cdVar(Number(m[1])) : `FD${m[2].toUpperCase()}`;
  if (m[1] && !cdsOf(vars).some((d) => d.index === Number(m[1]))) {
    throw badInput('drive', `drive: VM '${vm.label}' has no CD/DVD drive ${m[1]} (add one: vmdeck cd ${vm.label} add)`);
  }
  // Confined first: a refusal must not tell whether a file outside the bases exists.
  if (file !== '' && opts.confined) await confinePath('path', file, vm.dir);
  const image = file === '' ? '' : await imageFile(vm, 'path', file);
  const path = image && inDir(vm.dir, image);
  const edit = assign(text, [[variable, image]], 'drive');
  await wrapperTakesLists(vm, 'drives');
  let live = false;
  let pending = false;
  if (await running(vm)) {
    live = await withQmp(vm, async (c) => {
      const blocks = await qmpCall<{ device: string }[]>(c, 'query-block');
      if (!blocks.some((b) => b.device === drive)) return false;
      if (path) await qmpCall(c, 'blockdev-change-medium', { device: drive, filename: path, format: 'raw', 'read-only-mode': m[1] ? 'read-only' : 'retain' });
      else await qmpCall(c, 'eject', { device: drive, force: true });
      return true;
    }).catch((e) => {
      if (e instanceof VmdeckError) throw e;
      throw new VmdeckError(500, `drive: QEMU could not change ${drive} of VM '${vm.label}': ${qmpMessage(e)}`, 'drive');
    });
    pending = !live;
  }
  await writeConfig(vm, edit.text);
  if (live) await recordLive(vm.label, MEDIUM_CHANGED);
  if (pending) await recordPending(vm.label, [variable]);
  return { vm: await resolveVm(vm.config), drive, file: image, lines: edit.lines, live, pending };
}
