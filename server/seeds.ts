// Writes an unattended install's seeds beside the VM (lib/seeds.ts says what):
// the files mode 0600, the cidata/OEMDRV volume made with genisoimage, the
// preseed added to a copy of the installer's initrd (the user's, or the one on
// the install CD: <L>.seed.vmlinuz and <L>.seed.initrd taken off the ISO, as a
// kickstart for Anaconda's) or served by the VM's own PXE tree (<L>.seed.pxe/:
// links to the user's tree, its own pxelinux.cfg).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, readlink, rmdir, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type * as Zlib from 'node:zlib';
import { cpioNewc } from '../lib/cpio';
import { pxelinuxConfig, reidentifyAppend, reidentifySeed, SEED_TEXTS, seedName, type SeedFile, type SeedIdentity, type SeedPlan } from '../lib/seeds';
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
  if (plan.volume) await writeVolume(dir, plan.volume, plan.files);
  const withSeeds = (initrd: Uint8Array) => Buffer.concat([initrd, seedArchive(plan.files)]);
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

/** The seed volume (cidata, OEMDRV) of the files written in dir, mode 0600. */
async function writeVolume(dir: string, volume: NonNullable<SeedPlan['volume']>, files: SeedFile[]): Promise<void> {
  const out = join(dir, volume.file);
  await genisoimage(['-quiet', '-output', out, '-volid', volume.label, '-joliet', '-rock', '-graft-points',
    ...files.map((f) => `${f.as}=${join(dir, f.file)}`)]);
  await chmod(out, 0o600);
}

/** The installer reads /preseed.cfg (Anaconda /ks.cfg) from its initrd: a newc cpio of the files, gzipped, appended. */
/** node:zlib when a seed is archived, not at every command's start (1-2 ms of it: docs/PERFORMANCE.md). */
const zlib = () => createRequire(import.meta.url)('node:zlib') as typeof Zlib;
const seedArchive = (files: SeedFile[]) => zlib().gzipSync(cpioNewc(files.map((f) => ({ name: f.as, data: Buffer.from(f.text) }))));

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

/** What cloneSeeds made: the files to remove if the clone fails, and the config's new values. */
export interface ClonedSeeds {
  files: string[];
  /** The clone's PXE tree, when the source has one. */
  pxeTree?: string;
  vars: Record<string, string>;
}

/**
 * A clone's seeds: the source's (<S>.seed.*, in srcDir) under the clone's
 * name in dir, made the clone's (lib/seeds.ts reidentifySeed: its hostname,
 * instance-id and MACs), and what is made of them made again: the seed
 * volume, the initrd with the seeds appended (when it ends with the
 * source's seeds as create appended them; else it is copied as it is), the
 * PXE tree with its own pxelinux.cfg and preseed. The installer's kernel is
 * copied. vars are the config's values for the clone (SEEDIMAGE,
 * KERNELIMAGE, INITRDIMAGE, PXEROOT, APPEND), given those of the source.
 * What it wrote is in out as it goes, for the clone to remove if it fails.
 */
export async function cloneSeeds(srcDir: string, from: SeedIdentity, dir: string, to: SeedIdentity, vars: Record<string, unknown>,
  out: ClonedSeeds = { files: [], vars: {} }): Promise<ClonedSeeds> {
  // A piece the source's config names but the source does not have is left out, as the source has it.
  const own = (v: unknown, what: string) => v === seedName(from.label, what) && existsSync(join(srcDir, seedName(from.label, what)));
  const write = async (name: string, data: string | Uint8Array) => {
    out.files.push(join(dir, name));
    await writeFile(join(dir, name), data, { mode: 0o600, flag: 'wx' });
  };
  const before: SeedFile[] = [];
  const after: SeedFile[] = [];
  for (const as of SEED_TEXTS) {
    const text = await readFile(join(srcDir, seedName(from.label, as)), 'utf8').catch(() => null);
    if (text === null) continue;
    before.push({ file: seedName(from.label, as), as, text });
    const mine = { file: seedName(to.label, as), as, text: reidentifySeed(as, text, from, to) };
    after.push(mine);
    await write(mine.file, mine.text);
  }
  if (own(vars.SEEDIMAGE, 'iso')) {
    const volume = { file: seedName(to.label, 'iso'), label: after.some((f) => f.as === 'ks.cfg') ? 'OEMDRV' as const : 'cidata' as const };
    const onVolume = after.filter((f) => f.as !== 'preseed.cfg');
    if (onVolume.length) {
      out.files.push(join(dir, volume.file));
      await writeVolume(dir, volume, onVolume);
    } else {
      await write(volume.file, await readFile(join(srcDir, seedName(from.label, 'iso')))); // its files are not beside it
    }
    out.vars.SEEDIMAGE = volume.file;
  }
  if (own(vars.KERNELIMAGE, 'vmlinuz')) {
    await write(seedName(to.label, 'vmlinuz'), await readFile(join(srcDir, seedName(from.label, 'vmlinuz'))));
    out.vars.KERNELIMAGE = seedName(to.label, 'vmlinuz');
  }
  if (own(vars.INITRDIMAGE, 'initrd')) {
    const initrd = await readFile(join(srcDir, seedName(from.label, 'initrd')));
    // Create appended one archive of the one seed an installer reads (preseed.cfg or ks.cfg).
    const seed = (files: SeedFile[]) => files.filter((f) => f.as === 'preseed.cfg' || f.as === 'ks.cfg').slice(0, 1);
    const tail = seedArchive(seed(before));
    const ours = seed(before).length === 1 && initrd.length > tail.length && initrd.subarray(initrd.length - tail.length).equals(tail);
    await write(seedName(to.label, 'initrd'), ours ? Buffer.concat([initrd.subarray(0, initrd.length - tail.length), seedArchive(seed(after))]) : initrd);
    out.vars.INITRDIMAGE = seedName(to.label, 'initrd');
  }
  if (own(vars.PXEROOT, 'pxe')) {
    const srcTree = join(srcDir, seedName(from.label, 'pxe'));
    const tree = join(dir, seedName(to.label, 'pxe'));
    await mkdir(join(tree, PXELINUX_CFG), { recursive: true, mode: 0o700 });
    out.pxeTree = tree;
    for (const name of await readdir(srcTree)) {
      const st = await lstat(join(srcTree, name));
      if (name === PRESEED_IN_TREE && st.isSymbolicLink()) await symlink(`../${seedName(to.label, PRESEED_IN_TREE)}`, join(tree, name));
      else if (st.isSymbolicLink()) await symlink(await readlink(join(srcTree, name)), join(tree, name));
    }
    const config = await readFile(join(srcTree, PXELINUX_CFG, 'default'), 'utf8');
    const mine = config.split('\n').map((line) => (line.startsWith(`# Written by vmdeck for VM ${from.label}:`)
      ? `# Written by vmdeck for VM ${to.label}:${line.slice(`# Written by vmdeck for VM ${from.label}:`.length)}`
      : line.startsWith('\tappend ') ? reidentifyAppend(line, from.label, to.label) : line)).join('\n');
    await writeFile(join(tree, PXELINUX_CFG, 'default'), mine, { mode: 0o600 });
    out.vars.PXEROOT = seedName(to.label, 'pxe');
  }
  if (typeof vars.APPEND === 'string' && vars.APPEND.split(' ').includes(`hostname=${from.label}`)) out.vars.APPEND = reidentifyAppend(vars.APPEND, from.label, to.label);
  return out;
}
