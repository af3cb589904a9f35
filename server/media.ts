// The CD/DVD drive while a VM runs (ctys's monitor change/eject). The wrapper
// always gives a VM a drive with id cd0, empty unless it boots from it.
import { confinePath } from './confine';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { VmInfo } from '../lib/vm';
import { badInput, VmdeckError } from './errors';
import { mediaByName } from './media-library';
import type { QmpClient } from './qmp';
import { qmpCall, qmpMessage, resolveVm, withQmp } from './runtime';
import { task } from './tasks';

export const CD_DRIVE = 'cd0';

export interface MediaState {
  device: string;
  /** The image in the drive, or null when it is empty. */
  file: string | null;
  trayOpen: boolean;
  /** The guest has locked the tray. */
  locked: boolean;
}

interface BlockInfo {
  device: string;
  locked?: boolean;
  tray_open?: boolean;
  inserted?: { file?: string };
}

async function driveState(vm: VmInfo, c: QmpClient): Promise<MediaState> {
  const blocks = await qmpCall<BlockInfo[]>(c, 'query-block');
  const cd = blocks.find((b) => b.device === CD_DRIVE);
  if (!cd) throw badInput('media', `media: VM '${vm.label}' has no CD/DVD drive (CDROM_IF=none in its config)`);
  return { device: cd.device, file: cd.inserted?.file ?? null, trayOpen: Boolean(cd.tray_open), locked: Boolean(cd.locked) };
}

function qmpFailure(vm: VmInfo, what: string, e: unknown): VmdeckError {
  if (e instanceof VmdeckError) return e;
  return new VmdeckError(500, `media: ${what} failed for VM '${vm.label}': ${qmpMessage(e)}`, 'media');
}

export async function queryMedia(label: string): Promise<MediaState> {
  const vm = await resolveVm(label);
  return withQmp(vm, (c) => driveState(vm, c));
}

/** Puts an ISO image into the VM's CD/DVD drive, read-only, replacing what was there. */
export function changeMedia(label: string, isoPath: string, opts: { confined?: boolean } = {}): Promise<MediaState> {
  return task('media:change', label, { path: isoPath }, () => changeNow(label, isoPath, opts));
}

async function changeNow(label: string, isoPath: string, opts: { confined?: boolean }): Promise<MediaState> {
  if (!isoPath) throw badInput('path', 'path: an ISO image is needed');
  // A name of the media library, as its picker and list show them; another relative path is the VM directory's,
  // as for every other drive (the CLI made a file of its working directory absolute).
  const dir = (await resolveVm(label)).dir;
  const path = resolve(dir, await mediaByName(isoPath, dir));
  // From the API: no host file outside the bases and media directories (/etc/shadow as a CD).
  if (opts.confined) await confinePath('path', path, '/');
  const st = await stat(path).catch(() => null);
  if (!st) throw badInput('path', `path: ISO image '${path}' does not exist${isAbsolute(isoPath) ? '' : ` (nor '${isoPath}' in the media library)`}`);
  if (!st.isFile() && !st.isBlockDevice()) throw badInput('path', `path: '${path}' is not an image file`);
  if (!(await access(path, constants.R_OK).then(() => true, () => false))) throw badInput('path', `path: ISO image '${path}' is not readable`);
  const vm = await resolveVm(label);
  return withQmp(vm, async (c) => {
    await driveState(vm, c);
    try {
      await qmpCall(c, 'blockdev-change-medium', { device: CD_DRIVE, filename: path, format: 'raw', 'read-only-mode': 'read-only' });
    } catch (e) {
      throw qmpFailure(vm, 'changing the medium', e);
    }
    return driveState(vm, c);
  });
}

/** Empties the VM's CD/DVD drive, even when the guest has locked it. */
export function ejectMedia(label: string): Promise<MediaState> {
  return task('media:eject', label, {}, () => ejectNow(label));
}

async function ejectNow(label: string): Promise<MediaState> {
  const vm = await resolveVm(label);
  return withQmp(vm, async (c) => {
    await driveState(vm, c);
    try {
      await qmpCall(c, 'eject', { device: CD_DRIVE, force: true });
    } catch (e) {
      throw qmpFailure(vm, 'eject', e);
    }
    return driveState(vm, c);
  });
}
