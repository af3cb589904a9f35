// Writes an unattended install's seeds beside the VM (lib/seeds.ts says what):
// the files mode 0600, the cidata/OEMDRV volume made with genisoimage, the
// preseed added to a copy of the installer's initrd (the user's, or the one on
// the install CD: <L>.seed.vmlinuz and <L>.seed.initrd taken off the ISO, as a
// kickstart for Anaconda's) or served by the VM's own PXE tree (<L>.seed.pxe/:
// links to the user's tree, its own pxelinux.cfg).
import { execFile } from 'node:child_process';
import { chmod, lstat, mkdir, readdir, readFile, rmdir, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cpioNewc } from '../lib/cpio';
import { pxelinuxConfig, type SeedPlan } from '../lib/seeds';
import { badInput, VmdeckError } from './errors';
import { isoHasFiles, readIsoFiles } from './iso';

function genisoimage(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('genisoimage', args, { timeout: 60000 }, (err, _out, stderr) => {
      if (!err) return resolve();
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new VmdeckError(500, missing
        ? 'unattended: genisoimage is not installed (Debian package genisoimage)'
        : `unattended: genisoimage failed: ${String(stderr).trim().split('\n').pop()}`, 'unattended'));
    });
  });
}

/**
 * Writes the plan into dir (the VM's directory being made); relative paths
 * in the plan (the base initrd) are the VM's, resolved against vmDir.
 */
export async function writeSeeds(plan: SeedPlan, dir: string, vmDir: string): Promise<void> {
  for (const f of plan.files) {
    await writeFile(join(dir, f.file), f.text, { mode: 0o600 });
    await chmod(join(dir, f.file), 0o600);
  }
  if (plan.volume) {
    const out = join(dir, plan.volume.file);
    await genisoimage(['-quiet', '-output', out, '-volid', plan.volume.label, '-joliet', '-rock', '-graft-points',
      ...plan.files.map((f) => `${f.as}=${join(dir, f.file)}`)]);
    await chmod(out, 0o600);
  }
  // The installer reads /preseed.cfg (Anaconda /ks.cfg) from its initrd: a newc cpio of the files, appended.
  const withSeeds = (initrd: Uint8Array) => Buffer.concat([initrd, gzipSync(cpioNewc(plan.files.map((f) => ({ name: f.as, data: Buffer.from(f.text) }))))]);
  if (plan.initrd) {
    const base = isAbsolute(plan.initrd.base) ? plan.initrd.base : join(vmDir, plan.initrd.base);
    const initrd = await readFile(base).catch(() => {
      throw badInput('initrd', `initrd: the installer's initrd '${base}' cannot be read (the preseed is added to it)`);
    });
    await writeFile(join(dir, plan.initrd.file), withSeeds(initrd), { mode: 0o600 });
  }
  if (plan.cdrom) {
    const { kernel, initrd } = await installerOnCd(plan.cdrom, vmDir, plan.kind);
    await writeFile(join(dir, plan.cdrom.kernel), kernel, { mode: 0o600 });
    await writeFile(join(dir, plan.cdrom.initrd), withSeeds(initrd), { mode: 0o600 });
  }
  if (plan.pxe) await writePxeTree(plan, dir, vmDir);
}

/**
 * The installer's kernel and initrd on an install CD, at the first of the
 * installer's places that has both (lib/seeds.ts: debian-cd's, lorax's).
 */
async function installerOnCd(cdrom: NonNullable<SeedPlan['cdrom']>, vmDir: string, kind: string): Promise<{ kernel: Uint8Array; initrd: Uint8Array }> {
  const { image, path } = await findCdInstaller(cdrom, vmDir, kind);
  const [kernel, initrd] = await readIsoFiles(image, [path.kernel, path.initrd]).catch(unreadable(image));
  return { kernel: kernel!, initrd: initrd! };
}

const unreadable = (image: string) => (e: NodeJS.ErrnoException): never => {
  throw badInput('instSrcCdrom', `instSrcCdrom: ISO '${image}' ${e.code ? `cannot be read (${e.code})` : e.message}`);
};

/** Where on the CD its installer is; refused in one line naming instSrcCdrom when it has none. */
async function findCdInstaller(cdrom: NonNullable<SeedPlan['cdrom']>, vmDir: string, kind: string) {
  const image = isAbsolute(cdrom.iso) ? cdrom.iso : join(vmDir, cdrom.iso);
  const { name, paths } = cdrom.installer;
  for (const path of paths) {
    if (await isoHasFiles(image, [path.kernel, path.initrd]).catch(unreadable(image))) return { image, path };
  }
  throw badInput('instSrcCdrom', `instSrcCdrom: ISO '${image}' has no ${name} installer kernel (${paths[0].kernel}) to ${kind === 'kickstart' ? 'kickstart' : 'preseed'}`);
}

/**
 * What a preview checks of the plan's sources before anything is written:
 * the install CD has its installer (its directories read, not its files).
 */
export async function checkSeedSources(plan: SeedPlan, vmDir: string): Promise<void> {
  if (plan.cdrom) await findCdInstaller(plan.cdrom, vmDir, plan.kind);
}

const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);

/**
 * The Debian (or Ubuntu) installer in a netboot tree, as paths inside it:
 * <x>-installer/<arch>/linux and initrd.gz (debian-installer/amd64/… in
 * Debian's debian-installer-12-netboot-amd64), or linux and initrd.gz at its top.
 */
export async function findInstaller(root: string): Promise<{ kernel: string; initrd: string } | null> {
  const at = async (rel: string) => ((await isFile(join(root, rel, 'linux'))) && (await isFile(join(root, rel, 'initrd.gz')))
    ? { kernel: rel ? `${rel}/linux` : 'linux', initrd: rel ? `${rel}/initrd.gz` : 'initrd.gz' } : null);
  const top = await at('');
  if (top) return top;
  const names = (d: string) => readdir(join(root, d)).then((n) => n.sort(), () => [] as string[]);
  for (const installer of (await names('')).filter((n) => n.endsWith('-installer'))) {
    for (const arch of await names(installer)) {
      const found = await at(`${installer}/${arch}`);
      if (found) return found;
    }
  }
  return null;
}

const PXELINUX_CFG = 'pxelinux.cfg';
const PRESEED_IN_TREE = 'preseed.cfg';

/**
 * <L>.seed.pxe/: every entry at the top of the user's tree as a link (its
 * pxelinux.0, ldlinux.c32, the installer), a pxelinux.cfg/default of its own
 * that boots the installer with the preseed's options, and preseed.cfg, a
 * link to the VM's <L>.seed.preseed.cfg. QEMU's TFTP follows the links.
 */
async function writePxeTree(plan: SeedPlan, dir: string, vmDir: string): Promise<void> {
  const pxe = plan.pxe!;
  const root = isAbsolute(pxe.root) ? pxe.root : resolve(vmDir, pxe.root);
  if (!(await stat(root).then((s) => s.isDirectory(), () => false))) throw badInput('pxeRoot', `pxeRoot: PXE tree '${root}' is not a directory`);
  // create-conf --force with PXEROOT=<L>.seed.pxe: its links would point into the tree being replaced.
  if (resolve(root) === resolve(vmDir, pxe.dir)) throw badInput('pxeRoot', `pxeRoot: '${root}' is this VM's own preseed tree: give the installer's tree`);
  const installer = await findInstaller(root);
  if (!installer) {
    throw badInput('pxeRoot', `pxeRoot: PXE tree '${root}' has no Debian installer to preseed (debian-installer/ARCH/linux and initrd.gz)`);
  }
  const tree = join(dir, pxe.dir);
  await mkdir(join(tree, PXELINUX_CFG), { recursive: true, mode: 0o700 });
  for (const name of await readdir(root)) {
    if (name !== PXELINUX_CFG && name !== PRESEED_IN_TREE) await symlink(join(root, name), join(tree, name));
  }
  await writeFile(join(tree, PXELINUX_CFG, 'default'), pxelinuxConfig(pxe.label, installer.kernel, installer.initrd, pxe.append), { mode: 0o600 });
  await symlink(`../${plan.files[0].file}`, join(tree, PRESEED_IN_TREE));
}

/**
 * Removes a VM's PXE tree as writePxeTree made it: its links, its
 * pxelinux.cfg/default, the directories. Nothing is followed, and anything
 * else found there stays (with the directory that holds it).
 */
export async function removePxeTree(tree: string): Promise<void> {
  const entries = await readdir(tree).catch(() => null);
  if (!entries) return;
  for (const name of entries) {
    const p = join(tree, name);
    const st = await lstat(p);
    if (st.isSymbolicLink()) await unlink(p);
    else if (name === PXELINUX_CFG && st.isDirectory()) {
      await unlink(join(p, 'default')).catch(() => undefined);
      await rmdir(p).catch(() => undefined);
    }
  }
  await rmdir(tree).catch(() => undefined);
}
