// Internal qcow2 snapshots (ctys's S4 savevm/loadvm): through the HMP monitor
// while QEMU runs (with the RAM and device state), with qemu-img when it
// does not (the disks only). Either way every writable disk is in it, as
// savevm takes them.
import { dirname } from 'node:path';
import { checkSnapshotName, parseImgSnapshots, parseInfoSnapshots, stateSaveRefusal, type Snapshot } from '../lib/snapshots';
import type { VmInfo } from '../lib/vm';
import { badInput, conflict, notFound, VmdeckError } from './errors';
import { exists, inDir, noSpaceLeft } from './fsutil';
import { run } from './proc';
import { vmStatus } from './runner';
import { hmpStrict, resolveVm, withQmp } from './runtime';
import { task } from './tasks';

export type { Snapshot } from '../lib/snapshots';

async function qemuImg(args: string[]): Promise<string> {
  try {
    return (await run('qemu-img', args, { timeout: 120000, maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new VmdeckError(500, 'qemu-img: not found (install Debian\'s qemu-utils)', 'disk');
    const line = (err.stderr || err.message).trim().split('\n').pop()!.replace(/^qemu-img: /, '');
    throw new VmdeckError(500, `disk: qemu-img ${args[0]} failed: ${line}`, 'disk');
  }
}

/**
 * The images a snapshot covers: every writable disk of the VM, as QEMU's
 * savevm takes them (a read-only one is left out), each refused unless it
 * is qcow2 (only qcow2 holds internal snapshots). The first disk first.
 */
async function snapshotImages(vm: VmInfo): Promise<string[]> {
  if (!vm.disk) throw badInput('disk', `disk: VM '${vm.label}' has no disk image to snapshot`);
  const images = vm.disks.filter((d) => d.index === 0 || !d.readOnly).map((d) => (d.index === 0 ? vm.disk : inDir(vm.dir, d.file)));
  if (!images.includes(vm.disk)) images.unshift(vm.disk);
  for (const image of images) {
    if (!(await exists(image))) throw notFound(`disk: image '${image}' does not exist`, 'disk');
    // -U: the image may be open in a running QEMU.
    const { format } = JSON.parse(await qemuImg(['info', '-U', '--output=json', image])) as { format?: string };
    if (format !== 'qcow2') throw badInput('disk', `disk: snapshots need a qcow2 image; '${image}' is ${format}${image === vm.disk ? '' : ' (every writable disk is in a snapshot: make it read-only, or qcow2)'}`);
  }
  return images;
}

/** Each image's snapshots by name. */
async function imageSnapshots(images: string[]): Promise<Snapshot[][]> {
  return Promise.all(images.map(async (image) => parseImgSnapshots(JSON.parse(await qemuImg(['info', '-U', '--output=json', image])))));
}

function validName(name: string): void {
  const problem = checkSnapshotName(name);
  if (problem) throw badInput('name', problem);
}

async function context(label: string) {
  const vm = await resolveVm(label);
  const images = await snapshotImages(vm);
  const status = await vmStatus(vm);
  const live = status.state === 'running' || status.state === 'paused';
  return { vm, images, status, live };
}

/** The loadable snapshots: those on every image, as QEMU's `info snapshots` lists them while it runs (the first disk's facts). */
async function listOf(vm: VmInfo, images: string[], live: boolean): Promise<Snapshot[]> {
  if (live) return withQmp(vm, async (c) => parseInfoSnapshots(await hmpStrict(c, 'info snapshots', 'snapshot')));
  const [first, ...others] = await imageSnapshots(images);
  return first.filter((snap) => others.every((list) => list.some((o) => o.name === snap.name)));
}

export async function listSnapshots(label: string): Promise<Snapshot[]> {
  const { vm, images, live } = await context(label);
  return listOf(vm, images, live);
}

/** Takes a snapshot: with the VM's RAM and devices while it runs (savevm), of the disk only when stopped. */
export function saveSnapshot(label: string, name: string): Promise<Snapshot> {
  return task('snapshot:save', label, { name }, () => saveNow(label, name));
}

async function saveNow(label: string, name: string): Promise<Snapshot> {
  validName(name);
  const { vm, images, live } = await context(label);
  const before = await listOf(vm, images, live);
  if (before.some((s) => s.name === name)) {
    throw conflict(`name: VM '${vm.label}' already has a snapshot '${name}' (delete it first)`, 'name');
  }
  /** Stopped: each disk, and none when one fails (those done are deleted again). */
  const saveImages = async () => {
    const done: string[] = [];
    try {
      for (const image of images) {
        await qemuImg(['snapshot', '-c', name, image]);
        done.push(image);
      }
    } catch (e) {
      for (const image of done) await qemuImg(['snapshot', '-d', name, image]).catch(() => undefined);
      throw e;
    }
    return '';
  };
  const savevm = () => withQmp(vm, (c) => hmpStrict(c, `savevm ${name}`, 'snapshot')).catch((e: Error) => {
    const refusal = stateSaveRefusal(vm.label, e.message, 'snapshot');
    throw refusal ? conflict(refusal, 'snapshot') : e;
  });
  const said = live ? await savevm() : await saveImages();
  const made = (await listOf(vm, images, live)).find((s) => s.name === name);
  // QEMU says why (e.g. no space left for the RAM's state) without an "Error:" before it.
  const why = said.trim().split('\n').find((l) => l.trim() !== '')?.trim();
  if (!made) {
    const full = await noSpaceLeft(dirname(vm.disk));
    const reason = full ? `${full}${why ? `; QEMU said: ${why}` : ''}` : why;
    throw new VmdeckError(500, `snapshot: '${name}' was not saved${reason ? `: ${reason}` : ''}`, 'name');
  }
  return made;
}

async function existing(vm: VmInfo, images: string[], live: boolean, name: string): Promise<Snapshot> {
  validName(name);
  const snap = (await listOf(vm, images, live)).find((s) => s.name === name);
  if (!snap) throw notFound(`name: VM '${vm.label}' has no snapshot '${name}' (vmdeck snapshot ${vm.label} list)`, 'name');
  return snap;
}

/** Returns the VM to a snapshot; everything since it is lost. */
export function loadSnapshot(label: string, name: string): Promise<Snapshot> {
  return task('snapshot:load', label, { name }, () => loadNow(label, name));
}

async function loadNow(label: string, name: string): Promise<Snapshot> {
  const { vm, images, live, status } = await context(label);
  const snap = await existing(vm, images, live, name);
  if (status.state === 'suspended') {
    throw conflict(`label: VM '${vm.label}' is suspended; its saved state belongs to the current disk (start it, or remove ${vm.dir}/${vm.label}.suspend, first)`, 'label');
  }
  if (live) {
    if (snap.vmStateSize === 0) {
      throw conflict(`name: snapshot '${name}' holds the disk only; load it while VM '${vm.label}' is stopped`, 'name');
    }
    await withQmp(vm, (c) => hmpStrict(c, `loadvm ${name}`, 'snapshot'));
  } else {
    for (const image of images) await qemuImg(['snapshot', '-a', name, image]);
  }
  return snap;
}

export function deleteSnapshot(label: string, name: string): Promise<void> {
  return task('snapshot:delete', label, { name }, () => deleteNow(label, name));
}

async function deleteNow(label: string, name: string): Promise<void> {
  const { vm, images, live } = await context(label);
  if (live) {
    await existing(vm, images, live, name);
    await withQmp(vm, (c) => hmpStrict(c, `delvm ${name}`, 'snapshot'));
    return;
  }
  // Also one that only some disks have (taken before every disk was): it goes from those.
  validName(name);
  const lists = await imageSnapshots(images);
  const holding = images.filter((_, i) => lists[i].some((snap) => snap.name === name));
  if (holding.length === 0) throw notFound(`name: VM '${vm.label}' has no snapshot '${name}' (vmdeck snapshot ${vm.label} list)`, 'name');
  for (const image of holding) await qemuImg(['snapshot', '-d', name, image]);
}
