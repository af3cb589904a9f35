// Internal qcow2 snapshots (ctys's S4 savevm/loadvm): through the HMP monitor
// while QEMU runs (with the RAM and device state), with qemu-img when it
// does not (the disk only).
import { dirname } from 'node:path';
import { checkSnapshotName, parseImgSnapshots, parseInfoSnapshots, stateSaveRefusal, type Snapshot } from '../lib/snapshots';
import type { VmInfo } from '../lib/vm';
import { badInput, conflict, notFound, VmdeckError } from './errors';
import { exists, noSpaceLeft } from './fsutil';
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

/** The VM's disk, refused unless it is a qcow2 image (only qcow2 holds internal snapshots). */
async function requireQcow2(vm: VmInfo): Promise<void> {
  if (!vm.disk) throw badInput('disk', `disk: VM '${vm.label}' has no disk image to snapshot`);
  if (!(await exists(vm.disk))) throw notFound(`disk: image '${vm.disk}' does not exist`, 'disk');
  // -U: the image may be open in a running QEMU.
  const { format } = JSON.parse(await qemuImg(['info', '-U', '--output=json', vm.disk])) as { format?: string };
  if (format !== 'qcow2') throw badInput('disk', `disk: snapshots need a qcow2 image; '${vm.disk}' is ${format}`);
}

function validName(name: string): void {
  const problem = checkSnapshotName(name);
  if (problem) throw badInput('name', problem);
}

async function context(label: string) {
  const vm = await resolveVm(label);
  await requireQcow2(vm);
  const status = await vmStatus(vm);
  const live = status.state === 'running' || status.state === 'paused';
  return { vm, status, live };
}

async function listOf(vm: VmInfo, live: boolean): Promise<Snapshot[]> {
  if (live) return withQmp(vm, async (c) => parseInfoSnapshots(await hmpStrict(c, 'info snapshots', 'snapshot')));
  return parseImgSnapshots(JSON.parse(await qemuImg(['info', '-U', '--output=json', vm.disk])));
}

export async function listSnapshots(label: string): Promise<Snapshot[]> {
  const { vm, live } = await context(label);
  return listOf(vm, live);
}

/** Takes a snapshot: with the VM's RAM and devices while it runs (savevm), of the disk only when stopped. */
export function saveSnapshot(label: string, name: string): Promise<Snapshot> {
  return task('snapshot:save', label, { name }, () => saveNow(label, name));
}

async function saveNow(label: string, name: string): Promise<Snapshot> {
  validName(name);
  const { vm, live } = await context(label);
  const before = await listOf(vm, live);
  if (before.some((s) => s.name === name)) {
    throw conflict(`name: VM '${vm.label}' already has a snapshot '${name}' (delete it first)`, 'name');
  }
  const savevm = () => withQmp(vm, (c) => hmpStrict(c, `savevm ${name}`, 'snapshot')).catch((e: Error) => {
    const refusal = stateSaveRefusal(vm.label, e.message, 'snapshot');
    throw refusal ? conflict(refusal, 'snapshot') : e;
  });
  const said = live ? await savevm() : (await qemuImg(['snapshot', '-c', name, vm.disk]), '');
  const made = (await listOf(vm, live)).find((s) => s.name === name);
  // QEMU says why (e.g. no space left for the RAM's state) without an "Error:" before it.
  const why = said.trim().split('\n').find((l) => l.trim() !== '')?.trim();
  if (!made) {
    const full = await noSpaceLeft(dirname(vm.disk));
    const reason = full ? `${full}${why ? `; QEMU said: ${why}` : ''}` : why;
    throw new VmdeckError(500, `snapshot: '${name}' was not saved${reason ? `: ${reason}` : ''}`, 'name');
  }
  return made;
}

async function existing(vm: VmInfo, live: boolean, name: string): Promise<Snapshot> {
  validName(name);
  const snap = (await listOf(vm, live)).find((s) => s.name === name);
  if (!snap) throw notFound(`name: VM '${vm.label}' has no snapshot '${name}' (vmdeck snapshot ${vm.label} list)`, 'name');
  return snap;
}

/** Returns the VM to a snapshot; everything since it is lost. */
export function loadSnapshot(label: string, name: string): Promise<Snapshot> {
  return task('snapshot:load', label, { name }, () => loadNow(label, name));
}

async function loadNow(label: string, name: string): Promise<Snapshot> {
  const { vm, live, status } = await context(label);
  const snap = await existing(vm, live, name);
  if (status.state === 'suspended') {
    throw conflict(`label: VM '${vm.label}' is suspended; its saved state belongs to the current disk (start it, or remove ${vm.dir}/${vm.label}.suspend, first)`, 'label');
  }
  if (live) {
    if (snap.vmStateSize === 0) {
      throw conflict(`name: snapshot '${name}' holds the disk only; load it while VM '${vm.label}' is stopped`, 'name');
    }
    await withQmp(vm, (c) => hmpStrict(c, `loadvm ${name}`, 'snapshot'));
  } else {
    await qemuImg(['snapshot', '-a', name, vm.disk]);
  }
  return snap;
}

export function deleteSnapshot(label: string, name: string): Promise<void> {
  return task('snapshot:delete', label, { name }, () => deleteNow(label, name));
}

async function deleteNow(label: string, name: string): Promise<void> {
  const { vm, live } = await context(label);
  await existing(vm, live, name);
  if (live) await withQmp(vm, (c) => hmpStrict(c, `delvm ${name}`, 'snapshot'));
  else await qemuImg(['snapshot', '-d', name, vm.disk]);
}
