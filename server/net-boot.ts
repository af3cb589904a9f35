// A boot server on a VDE switch: QEMU's user networking (its DHCP, TFTP and
// NAT, the same that NETMODE=user gives one VM) joined to the switch through a
// QEMU hub, in a QEMU process with no machine at all. VMs on the switch get
// an address by DHCP and, with a PXE tree, PXEBOOTFILE by TFTP.
//   <NAME>.boot.pid   its pidfile, beside the switch's files in $VMDECK_RUN/net/
import { constants } from 'node:fs';
import { access, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { badInput, VmdeckError } from './errors';
import { processArgv, run, sleep } from './proc';

export interface BootServerOptions {
  /** DHCP (and NAT) for the switch's VMs. */
  dhcp?: boolean;
  /** A TFTP tree served to them: PXE. Implies dhcp. */
  pxe?: string;
  /** The file DHCP offers in the tree (default pxelinux.0). */
  bootfile?: string;
}

export interface BootServer {
  pid: number;
  pxe: string | null;
  bootfile: string | null;
}

const BOOTFILE_RE = /^[A-Za-z0-9_.+-]+(\/[A-Za-z0-9_.+-]+)*$/;

/** The tree and boot file, checked as the wrapper's --check does for PXEROOT. */
export async function checkBootOptions(opts: BootServerOptions): Promise<{ pxe: string | null; bootfile: string | null } | null> {
  if (!opts.dhcp && opts.pxe === undefined) {
    if (opts.bootfile !== undefined) throw badInput('bootfile', 'bootfile: a boot file is offered from a PXE tree: give --pxe DIR as well');
    return null;
  }
  if (opts.pxe === undefined) return { pxe: null, bootfile: null };
  const root = resolve(opts.pxe);
  const bootfile = opts.bootfile ?? 'pxelinux.0';
  if (!BOOTFILE_RE.test(bootfile) || bootfile.split('/').includes('..')) {
    throw badInput('bootfile', `bootfile: '${bootfile}' is not a file name inside the PXE tree (like pxelinux.0)`);
  }
  if (!(await stat(root).then((s) => s.isDirectory(), () => false))) throw badInput('pxe', `pxe: PXE tree '${root}' is not a directory`);
  if (!(await access(join(root, bootfile), constants.R_OK).then(() => true, () => false))) {
    throw badInput('pxe', `pxe: PXE tree '${root}' has no boot file '${bootfile}' (--bootfile)`);
  }
  return { pxe: root, bootfile };
}

const QEMU = 'qemu-system-x86_64';

/** The boot server's pid when it runs: a QEMU whose -name is this switch's boot server. */
export async function bootServerPid(pidfile: string, name: string): Promise<number | null> {
  const pid = Number((await readFile(pidfile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const argv = await processArgv(pid);
  return argv && argv.includes(`vmdeck-boot-${name}`) ? pid : null;
}

/** Starts the boot server on the switch whose directory is sock. */
export async function startBootServer(name: string, sock: string, pidfile: string, boot: { pxe: string | null; bootfile: string | null }): Promise<number> {
  const user = ['user', 'id=user0', 'net=10.0.2.0/24'];
  if (boot.pxe) user.push(`tftp=${boot.pxe.replace(/,/g, ',,')}`, `bootfile=${boot.bootfile!.replace(/,/g, ',,')}`);
  const args = [
    '-name', `vmdeck-boot-${name}`, '-machine', 'none', '-nodefaults', '-display', 'none',
    '-netdev', user.join(','), '-netdev', `vde,id=switch0,sock=${sock.replace(/,/g, ',,')}`,
    // A hub joins the two netdevs: frames of the switch reach user networking and back.
    '-netdev', 'hubport,id=hub0a,hubid=0,netdev=user0', '-netdev', 'hubport,id=hub0b,hubid=0,netdev=switch0',
    '-pidfile', pidfile, '-daemonize',
  ];
  try {
    await run(QEMU, args, { timeout: 15000 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new VmdeckError(500, `pxe: ${QEMU} not found (apt-get install qemu-system-x86): it is the switch's boot server`, 'pxe');
    const line = (err.stderr || err.message).split('\n').filter((l) => !/hub 0 with no nics/.test(l)).join(' ').trim();
    throw new VmdeckError(500, `pxe: the boot server did not start: ${line}`, 'pxe');
  }
  for (let i = 0; i < 100; i++) {
    const pid = await bootServerPid(pidfile, name);
    if (pid !== null) return pid;
    await sleep(50);
  }
  throw new VmdeckError(500, 'pxe: the boot server did not write its pidfile', 'pxe');
}

export async function stopBootServer(pidfile: string, name: string): Promise<void> {
  const pid = await bootServerPid(pidfile, name);
  if (pid !== null) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch { /* gone */ }
    for (let i = 0; i < 100 && (await processArgv(pid)) !== null; i++) await sleep(50);
  }
  await rm(pidfile, { force: true });
}
