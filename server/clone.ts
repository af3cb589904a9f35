// vmdeck clone: a new VM from a stopped one. Its disks are copied (qemu-img
// convert: a full copy, independent of its source, without the source's
// internal snapshots) or, --linked, made qcow2 overlays whose backing file is
// the source's image (which must then stay unchanged: its VM must not run).
// The config is the source's, byte for byte, but for the assignments of the
// new identity (LABEL, UUID, MAC<N>) and disk files, and its markers.
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { setAssignment } from '../lib/config-edit';
import { setMarker } from '../lib/ctys';
import { diskVar, disksOf, nicVar, nicsOf, uefiVarsFiles } from '../lib/hardware';
import { LABEL_RE, RESERVED_LABELS } from '../lib/spec';
import type { SeedIdentity } from '../lib/seeds';
import type { VmInfo } from '../lib/vm';
import { renderWrapper } from '../lib/wrapper';
import { readConfig } from './config';
import { badInput, conflict, VmdeckError } from './errors';
import { exists } from './fsutil';
import { defaultBase, historyFile } from './paths';
import { run } from './proc';
import { cloneSeeds, type ClonedSeeds } from './seeds';
import { vmStatus, withStatus } from './runner';
import { resolveVm } from './runtime';
import { enumerate, GENERATOR, removeStaleTmp, tmpDirPrefix, uniqueMac } from './store';
import { task } from './tasks';
import { withVmLock } from './vm-lock';

export interface CloneOutcome {
  vm: VmInfo;
  linked: boolean;
  /** Each disk of the clone and the image it came from. */
  disks: { file: string; from: string }[];
}

/** Config variables that may name a file of the VM's own beside its config (<L>.…), which a clone copies. */
const OWN_FILE_VARS = ['KERNELIMAGE', 'INITRDIMAGE', 'SEEDIMAGE'] as const;

const marker = setMarker;

/**
 * A task (the task log says it, as a create), under its source's lock: the
 * source unchanged, and not deleted, while its disks are copied or become
 * backing files (vm-lock.ts). Built as a create is, in a temporary directory
 * beside the new one (.<label>.tmp-<pid>-…) and renamed into place: a clone
 * cut short (the server killed during the copy) leaves no half-made VM
 * directory that no ENUMERATE shows and that holds the label; the next create
 * or clone of the label removes what it left.
 */
export function cloneVm(source: string, label: string, opts: { linked?: boolean } = {}): Promise<CloneOutcome> {
  return task('clone', label, { source, linked: Boolean(opts.linked) }, () => withVmLock(source, 'clone', () => cloneVmNow(source, label, opts)));
}

async function cloneVmNow(source: string, label: string, opts: { linked?: boolean }): Promise<CloneOutcome> {
  if (!LABEL_RE.test(label) || RESERVED_LABELS.includes(label)) throw badInput('label', `label: '${label}' is not a valid label: use letters, digits, '.', '_' and '-' (at most 63), starting with a letter or digit`);
  const src = await resolveVm(source);
  const { state } = await vmStatus(src);
  if (state !== 'stopped') throw conflict(`label: VM '${src.label}' is ${state}; clone it once it is stopped (its disks change while it runs)`, 'label');
  const known = await enumerate();
  if (known.some((v) => v.label === label)) throw conflict(`label: a VM '${label}' exists already`, 'label');
  const { text: original, vars } = await readConfig(src.config);
  const disks = disksOf(vars).map((d) => ({ ...d, path: isAbsolute(d.file) ? d.file : join(src.dir, d.file) }));
  if (opts.linked) {
    // A backing file must not change under its overlay: none may be a running VM's disk.
    const runningVms = (await withStatus(known)).filter((v) => v.state === 'running' || v.state === 'paused');
    for (const d of disks) {
      const user = runningVms.find((v) => v.disks.some((x) => (isAbsolute(x.file) ? x.file : join(v.dir, x.file)) === d.path));
      if (user) throw conflict(`disk: '${d.path}' is a disk of running VM '${user.label}': a linked clone's backing file must not change`, 'disk');
    }
  }
  // A disk the source names but does not have is the source's problem, said before anything is copied.
  for (const d of disks) if (!(await exists(d.path))) throw conflict(`disk: VM '${src.label}' has no disk '${d.path}' to clone (its disk ${d.index} is missing)`, 'disk');
  const base = defaultBase();
  const dir = join(base, label);
  if (await exists(dir)) throw conflict(`label: '${dir}' exists already`, 'label');
  await removeStaleTmp(base, label);
  const tmp = await mkdtemp(join(base, tmpDirPrefix(label)));
  /** A file of the clone where it is built; out and the config name it where it will be. */
  const building = (file: string) => join(tmp, file.slice(dir.length + 1));
  let text = original;
  const set = (name: string, value: string) => {
    const r = setAssignment(text, name, value);
    if (!r.ok) throw badInput('label', r.error);
    text = r.text;
  };
  const uuid = randomUUID();
  set('LABEL', label);
  set('UUID', uuid);
  const used = [...known];
  const from: SeedIdentity = { label: src.label, uuid: src.uuid, macs: [] };
  const to: SeedIdentity = { label, uuid, macs: [] };
  for (const n of nicsOf(vars)) {
    const mac = uniqueMac(used);
    used.push({ ...src, label: '', mac, nics: [] });
    from.macs.push(n.mac);
    to.macs.push(mac);
    set(nicVar(n.index, 'MAC'), mac);
    if (n.index === 0) text = marker(text, 'MAC0', mac);
  }
  text = marker(marker(text, 'LABEL', label), 'UUID', uuid);
  // A copy does not start at the host's boot because its source does (two VMs, one forwarded port):
  // the clone's autostart is off until asked for.
  if (vars.AUTOSTART === 'on') {
    const off = setAssignment(text, 'AUTOSTART', 'off');
    if (off.ok) text = off.text;
  }
  // The source's own files that its config names beside it (a debootstrap VM's <L>.vmlinuz):
  // copied under the clone's name. An unattended install's seeds (<L>.seed.*) are made the clone's below.
  const own: { from: string; to: string }[] = [];
  for (const name of OWN_FILE_VARS) {
    const value = vars[name];
    if (typeof value !== 'string' || !value.startsWith(`${src.label}.`) || value.startsWith(`${src.label}.seed.`) || value.includes('/')) continue;
    const file = `${label}${value.slice(src.label.length)}`;
    set(name, file);
    own.push({ from: join(src.dir, value), to: join(tmp, file) });
  }
  const out: CloneOutcome['disks'] = [];
  for (const d of disks) {
    const file = d.index === 0 ? `${label}.qcow2` : `${label}-disk${d.index}.qcow2`;
    set(diskVar(d.index), file);
    set(diskVar(d.index, '_FORMAT'), 'qcow2');
    out.push({ file: join(dir, file), from: d.path });
  }
  const seeds: ClonedSeeds = { files: [], vars: {} };
  try {
    for (const [i, d] of disks.entries()) {
      const args = opts.linked
        ? ['create', '-q', '-f', 'qcow2', '-b', d.path, '-F', d.format, building(out[i].file)]
        : ['convert', '-q', '-f', d.format, '-O', 'qcow2', d.path, building(out[i].file)];
      await run('qemu-img', args, { timeout: 3600000 }).catch((e) => {
        throw new VmdeckError(500, `disk: qemu-img could not ${opts.linked ? 'make an overlay of' : 'copy'} '${d.path}': ${String((e as { stderr?: string }).stderr ?? e).trim().split('\n')[0]}`, 'disk');
      });
    }
    for (const f of own) if (await exists(f.from)) await copyFile(f.from, f.to, constants.COPYFILE_EXCL);
    // The UEFI variables hold the boot entries of the system on the disks; the TPM is not copied: a clone is a new machine.
    for (const [i, f] of uefiVarsFiles(src.label).entries()) {
      if (await exists(join(src.dir, f))) await copyFile(join(src.dir, f), join(tmp, uefiVarsFiles(label)[i]), constants.COPYFILE_EXCL);
    }
    // The seeds of an install not yet run name the source: the clone's name its hostname, instance-id and MACs.
    await cloneSeeds(src.dir, from, tmp, to, vars, seeds);
    for (const [name, value] of Object.entries(seeds.vars)) set(name, value);
    await writeFile(join(tmp, `${label}.ctys`), text, { mode: 0o644, flag: 'wx' });
    await writeFile(join(tmp, `${label}.sh`), renderWrapper(label, { generator: GENERATOR, date: new Date().toISOString().slice(0, 10) }), { mode: 0o755, flag: 'wx' });
    // A label no VM has: graphs kept of an earlier VM of it are not the clone's.
    await rm(historyFile(label), { force: true });
    try {
      await rename(tmp, dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw conflict(`label: '${dir}' exists already (made while the clone was copied)`, 'label');
      throw e;
    }
  } catch (e) {
    // Links of a PXE tree go with it: rm removes a link, never what it names.
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { vm: await resolveVm(join(dir, `${label}.ctys`)), linked: Boolean(opts.linked), disks: out };
}

