// What a VM made or started through the API may reach: files under the bases
// or the media directories only, ARGSADD from the allowlist (lib/argsadd.ts),
// a QEMU binary by name. The CLI is the host user's own hand and is not
// confined; the API is reached by a browser, which other pages can steer.
import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { argsAddError, machineError } from '../lib/argsadd';
import type { VmSpec } from '../lib/spec';
import { badInput } from './errors';
import { run } from './proc';
import { bases, mediaDirs, runRoot } from './paths';

/** The path with symlinks resolved as far as it exists (a disk to be made does not yet). */
async function realish(path: string): Promise<string> {
  const rest: string[] = [];
  let cur = resolve(path);
  for (;;) {
    try {
      return join(await realpath(cur), ...rest.reverse());
    } catch {
      const up = dirname(cur);
      if (up === cur) return resolve(path);
      rest.push(basename(cur));
      cur = up;
    }
  }
}

const within = (dir: string, path: string) => {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** Where a path may be and how to get there: the bases and the media directories, or (a socket) the runtime root. */
interface Confinement {
  dirs: string[];
  /** What the refusal says after "is outside". */
  outside: (dirs: string[]) => string;
}

const FILES: () => Confinement = () => ({
  dirs: [...bases(), ...mediaDirs()],
  outside: (dirs) => `the bases and the media directories (${dirs.join(', ')}); put it in one of them (VMDECK_MEDIA)`,
});

const RUNTIME: () => Confinement = () => ({
  dirs: [runRoot()],
  outside: ([root]) => `the runtime directory (${root}); name a socket under it (VMDECK_RUN), or leave it empty for the VM's own`,
});

/** Refuses (400, naming the field and the allowed directories) a path outside them; relative paths are the VM directory's. */
export async function confinePath(field: string, path: string, vmDir: string, { dirs, outside }: Confinement = FILES()): Promise<void> {
  if (path === '') return;
  // A relative path is the VM directory's own: one that climbs out of it would also be made outside the atomic create.
  if (!isAbsolute(path) && path.split('/').includes('..')) {
    throw badInput(field, `${field}: '${path}' climbs out of the VM directory ('..'); name a file in it, or an absolute path under the bases or the media directories`);
  }
  const real = await realish(isAbsolute(path) ? path : join(vmDir, path));
  const roots = await Promise.all(dirs.map(realish));
  if (!roots.some((d) => within(d, real))) throw badInput(field, `${field}: '${path}' is outside ${outside(dirs)}`);
  // An image names the files QEMU opens with it (a backing file, an external data file): each is confined too,
  // as QEMU names it: relative to the image's path as opened (not its real path), a protocol when a ':' comes
  // before any '/' (QEMU's path_has_protocol: host_device:, nbd+unix:, json:).
  let image = isAbsolute(path) ? path : join(vmDir, path);
  for (let depth = 0; depth < 16; depth++) {
    const named = await namedFiles(image);
    for (const f of named) {
      if (/^[^/:\\]*:/.test(f)) throw badInput(field, `${field}: '${path}' is an image whose ${depth ? 'chain names' : 'header names'} '${f}', no file (a protocol); the API takes images of files under ${outside(dirs)}`);
      const at = await realish(isAbsolute(f) ? f : join(dirname(image), f));
      if (!roots.some((d) => within(d, at))) {
        throw badInput(field, `${field}: '${path}' is an image whose ${depth ? 'chain names' : 'header names'} '${f}', outside ${outside(dirs)}`);
      }
    }
    if (!named[0]) return;
    image = isAbsolute(named[0]) ? named[0] : join(dirname(image), named[0]);
  }
  throw badInput(field, `${field}: '${path}' has a chain of more than 16 backing files`);
}

/**
 * The files an image's header names for QEMU to open with it, as qemu-img
 * reads it (the image alone, none of them opened): its backing file first
 * (or '' for none), then an external data file. Nothing for a file that is
 * not there or no image qemu-img knows.
 */
async function namedFiles(image: string): Promise<string[]> {
  const info = await run('qemu-img', ['info', '--output=json', '-U', image], { timeout: 10000 })
    .then(({ stdout }) => JSON.parse(stdout) as { 'backing-filename'?: string; 'format-specific'?: { data?: { 'data-file'?: string } } }, () => null);
  if (!info) return [];
  const backing = info['backing-filename'] ?? '';
  const data = info['format-specific']?.data?.['data-file'];
  return data ? [backing, data] : backing ? [backing] : [];
}

/** Changes of single fields from the API (PATCH, vmdeck set's API face), held to confineSpec's rules. */
export async function confineFields(values: Partial<VmSpec>, vmDir: string): Promise<void> {
  for (const [field, value] of Object.entries(values)) {
    if (field === 'argsAdd') {
      const args = argsAddError(value as string[]);
      if (args) throw badInput('argsAdd', args);
    } else if (field === 'machine') {
      const machine = machineError(String(value ?? ''));
      if (machine) throw badInput('machine', machine);
    } else if (field === 'qemu') {
      if (!/^qemu-system-[a-z0-9_]+$/.test(String(value))) throw badInput('qemu', `qemu: '${value}' is not a qemu-system binary name (like qemu-system-x86_64); a path goes into the config by hand`);
    } else if (PATH_FIELDS.includes(field as (typeof PATH_FIELDS)[number])) {
      await confinePath(field, String(value ?? ''), vmDir);
    } else if (field === 'hostfwd') {
      confineForwards(value as string[] | undefined);
    } else if (field === 'qemuMonSock') {
      await confinePath('qemuMonSock', String(value ?? '').replace(/ACTUALLABEL|ACTUALPID/g, 'x'), vmDir, RUNTIME());
    }
  }
}

// pxeRoot is served to the guest (user networking's TFTP, and a preseed's tree links its entries);
// seedImage is attached to it as a disk: both would hand it host files.
const PATH_FIELDS = ['disk', 'instSrcCdrom', 'instSrcFdd', 'instSrcUsb', 'kernel', 'initrd', 'pxeRoot', 'seedImage'] as const;

/** A spec from the API, checked before anything is written. */
export async function confineSpec(spec: VmSpec, vmDir: string): Promise<void> {
  const args = argsAddError(spec.argsAdd);
  if (args) throw badInput('argsAdd', args);
  const machine = machineError(spec.machine);
  if (machine) throw badInput('machine', machine);
  // A path would run any program as QEMU; a name is looked up in PATH.
  if (!/^qemu-system-[a-z0-9_]+$/.test(spec.qemu)) throw badInput('qemu', `qemu: '${spec.qemu}' is not a qemu-system binary name (like qemu-system-x86_64); a path goes into the config by hand`);
  for (const field of PATH_FIELDS) await confinePath(field, spec[field], vmDir);
  confineForwards(spec.hostfwd);
  // The serial socket and its monitor stay in the private runtime root.
  await confinePath('qemuMonSock', spec.qemuMonSock.replace(/ACTUALLABEL|ACTUALPID/g, 'x'), vmDir, RUNTIME());
}

/**
 * Port forwards from the API listen on loopback only: QEMU takes 0.0.0.0 (or
 * a LAN address) as a port open to the network, which a page steering the
 * browser could ask for. The CLI may still write one (docs/NETWORKS.md).
 */
function confineForwards(rules: readonly string[] | undefined): void {
  rules?.forEach((rule, i) => {
    const host = /^(?:tcp|udp):([^:]*):/.exec(rule)?.[1] ?? '';
    if (host !== '' && !host.startsWith('127.')) {
      throw badInput('hostfwd', `hostfwd: [${i}] '${rule}' listens on ${host}: a forward made through the API listens on loopback only (127.0.0.0/8; empty is 127.0.0.1); one open to the network is written with vmdeck set by hand`);
    }
  });
}

/** The paths inside start options from the API: --bootmode=MODE%PATH, --instmode=MODE%SRC%TARGETMODE%TARGET, --kernelmode=KERNEL%INITRD%APPEND. */
export async function confineStart(opts: { bootmode?: string; instmode?: string | true; kernelmode?: string }, vmDir: string): Promise<void> {
  const parts = (v: string | true | undefined) => (typeof v === 'string' ? v.split('%') : []);
  const [, bootPath] = parts(opts.bootmode);
  if (bootPath) await confinePath('bootmode', bootPath, vmDir);
  const [, src, , target] = parts(opts.instmode);
  if (src) await confinePath('instmode', src, vmDir);
  if (target) await confinePath('instmode', target, vmDir);
  const [kernel, initrd] = parts(opts.kernelmode);
  if (kernel) await confinePath('kernelmode', kernel, vmDir);
  if (initrd) await confinePath('kernelmode', initrd, vmDir);
}
