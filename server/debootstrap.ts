// Builds a debootstrap VM's disk (lib/debootstrap.ts says what): mmdebstrap
// into a cached tree (keyed on the suite, the package list and the hooks, so
// a second VM of the same release does not build it again), then an ext4
// image filled from the tree by mkfs.ext4 -d, its /etc/hostname set with
// debugfs, and the tree's kernel and initrd copied beside the VM.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEBOOTSTRAP_PACKAGES, debootstrapBootFiles, mmdebstrapArgs, ROOT_LABEL } from '../lib/debootstrap';
import { VmdeckError } from './errors';
import { exists } from './fsutil';
import { vmdeckHome } from './paths';

/** A line of how the build goes, and the share done (0 to 1) at the steps where it is known. */
export type Progress = (line: string, done?: number) => void;

// The share done at each step: mmdebstrap's build is most of an uncached create.
const DONE = { start: 0.02, tree: 0.6, disk: 0.65, hostname: 0.95, ready: 1 } as const;

/** Where built trees are kept: VMDECK_DEBOOTSTRAP_CACHE, default $VMDECK_HOME/cache/debootstrap. */
export function debootstrapCache(env = process.env): string {
  return env.VMDECK_DEBOOTSTRAP_CACHE || join(vmdeckHome(env), 'cache', 'debootstrap');
}

/** Runs a command, each line of its output to progress; rejects with its last lines. */
function stream(cmd: string, args: string[], progress: Progress, field: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const onData = (d: Buffer) => {
      for (const line of d.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 5) tail.shift();
        progress(`${cmd}: ${line}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(new VmdeckError(500, e.code === 'ENOENT' ? `${field}: ${cmd} is not installed (Debian package ${cmd === 'mmdebstrap' ? 'mmdebstrap' : 'e2fsprogs'})` : `${field}: ${cmd}: ${e.message}`, field));
    });
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new VmdeckError(500, `${field}: ${cmd} failed (exit ${code}): ${tail.slice(-2).join(' / ')}`, field));
    });
  });
}

/** The cached tree of a suite, built when missing. */
async function tree(suite: string, progress: Progress, env: NodeJS.ProcessEnv): Promise<string> {
  const mode = process.getuid?.() === 0 ? 'root' : 'unshare';
  const key = createHash('sha256').update(JSON.stringify(mmdebstrapArgs(suite, '', 'root'))).digest('hex').slice(0, 16);
  const cache = debootstrapCache(env);
  const dir = join(cache, `${suite}-${key}`);
  if (await exists(join(dir, 'tree', 'boot'))) {
    progress(`debootstrap: Debian ${suite} from the cache (${dir})`, DONE.tree);
    return join(dir, 'tree');
  }
  await mkdir(cache, { recursive: true });
  const tmp = await mkdtemp(join(cache, `.${suite}-`));
  try {
    progress(`debootstrap: building Debian ${suite} with mmdebstrap (${DEBOOTSTRAP_PACKAGES.length} packages and their dependencies, from this host's apt sources)`, DONE.start);
    await stream('mmdebstrap', mmdebstrapArgs(suite, join(tmp, 'tree'), mode), progress, 'install');
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    progress(`debootstrap: Debian ${suite} built and cached (${dir})`, DONE.tree);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return join(dir, 'tree');
}

/**
 * Writes <label>.raw (ext4, label vmdeck-root), <label>.vmlinuz and
 * <label>.initrd.img into dir, the VM's directory being made.
 */
export async function buildDebootstrapDisk(opts: { label: string; suite: string; size: string; dir: string; progress: Progress; env?: NodeJS.ProcessEnv }): Promise<void> {
  const { label, suite, size, dir, progress } = opts;
  const started = Date.now();
  const root = await tree(suite, progress, opts.env ?? process.env);
  const boot = await readdir(join(root, 'boot'));
  const kernel = boot.find((f) => f.startsWith('vmlinuz-'));
  const initrd = boot.find((f) => f.startsWith('initrd.img-'));
  if (!kernel || !initrd) throw new VmdeckError(500, `install: the built tree has no kernel and initrd in ${join(root, 'boot')}`, 'install');
  const files = debootstrapBootFiles(label);
  await copyFile(join(root, 'boot', kernel), join(dir, files.kernel));
  await copyFile(join(root, 'boot', initrd), join(dir, files.initrd));
  progress(`debootstrap: making the ext4 disk ${label}.raw (${size}) from the tree`, DONE.disk);
  const image = join(dir, `${label}.raw`);
  await stream('mkfs.ext4', ['-q', '-F', '-L', ROOT_LABEL, '-d', root, image, size], progress, 'install');
  // The hostname is the label before cloud-init runs, too.
  progress(`debootstrap: setting the hostname ${label} on the disk`, DONE.hostname);
  const hostname = join(dir, '.hostname');
  await writeFile(hostname, `${label}\n`);
  await stream('debugfs', ['-w', '-R', `rm /etc/hostname`, image], () => undefined, 'install').catch(() => undefined);
  await stream('debugfs', ['-w', '-R', `write ${hostname} /etc/hostname`, image], () => undefined, 'install');
  await rm(hostname, { force: true });
  progress(`debootstrap: disk ready in ${Math.round((Date.now() - started) / 1000)} s`, DONE.ready);
}
