// Running a VM's wrapper: vmdeck's own <LABEL>.sh, or for a ctys-made VM
// vmdeck's wrapper body from its own copy (bash -c), so that a foreign
// wrapper beside a config is never executed, not for --print, --check or a
// start (docs/CTYS.md).
import { closeSync, openSync, readSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { VmInfo } from '../lib/vm';
import { isVmdeckWrapper, renderCtysRunner } from '../lib/wrapper';

/** The first bytes of a file, '' when it cannot be read. */
function head(path: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** True when the VM's <LABEL>.sh is a wrapper vmdeck wrote, which vmdeck runs. */
export function hasVmdeckWrapper(vm: Pick<VmInfo, 'wrapper'>): boolean {
  return isVmdeckWrapper(head(vm.wrapper));
}

/** A VM (its wrapper and config), or the path of its wrapper, its config beside it. */
export type WrapperOf = Pick<VmInfo, 'wrapper' | 'config'> | string;

/**
 * The arguments for bash that run the VM's wrapper with options: its own
 * wrapper when vmdeck wrote it, else vmdeck's wrapper for its ctys config.
 */
export function wrapperArgs(of: WrapperOf, options: string[] = []): string[] {
  const vm = typeof of === 'string' ? { wrapper: of, config: of.replace(/\.sh$/, '.ctys') } : of;
  if (hasVmdeckWrapper(vm)) return [vm.wrapper, ...options];
  const name = basename(vm.config);
  return ['-c', renderCtysRunner(dirname(vm.config), name), `vmdeck-${name.replace(/\.ctys$/, '')}.sh`, ...options];
}
