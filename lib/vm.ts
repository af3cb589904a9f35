// What vmdeck tells about a VM: the shape of `enumerate --json`, `list --json`
// and GET /api/vms, shared by the server and the browser.
import type { CdDrive, Disk, FloppyDrive, Nic } from './hardware';

export type { Disk, Nic } from './hardware';
export const VM_STATES = ['stopped', 'running', 'paused', 'suspended'] as const;
export type VmState = (typeof VM_STATES)[number];

/** One network interface (MACn/IPn, ctys's extended IP syntax split up); see lib/ctys.ts. */
export interface VmInterface {
  /** n of MACn/IPn. */
  index: number;
  mac: string;
  ip: string;
  netmask: string;
  relay: string;
  /** The guest's interface name; ctys's default is the index. */
  ifname: string;
  sshport: string;
  gateway: string;
}

export interface VmInfo {
  label: string;
  uuid: string;
  /** The first interface's MAC and IP address (interfaces[0]), for what shows one. */
  mac: string;
  ip: string;
  /** Every MACn/IPn pair, ordered by n; an IPn with more addresses (a,b) gives one entry each, as ctys's ENUMERATE. */
  interfaces: VmInterface[];
  /** ctys's #@#VMSTATE (ACTIVE, DISABLED, BACKUP, TEMPLATE, …); '' when the config has none. */
  vmstate: string;
  dist: string;
  distrel: string;
  os: string;
  osrel: string;
  arch: string;
  accelerator: string;
  /** STARTERCALL: the qemu-system binary. */
  qemu: string;
  memsize: number;
  smp: number;
  console: string;
  template: string;
  /** The VM's directory, its config and wrapper. */
  dir: string;
  config: string;
  wrapper: string;
  disk: string;
  /** Every disk, the first (HDDBOOTIMAGE, also in disk) at index 0 (lib/hardware.ts). */
  disks: Disk[];
  /** Every NIC, the first (NIC, MAC0, also in mac) at index 0. */
  nics: Nic[];
  /** The CD/DVD drives beside drive 0 (cd0, which every VM has), from 1. */
  cds: CdDrive[];
  /** Floppy drives A and B, where the config gives them an image. */
  floppies: FloppyDrive[];
  /** 'vmdeck' when vmdeck wrote it, 'ctys' for a config found with ctys's markers only. */
  source: 'vmdeck' | 'ctys';
  /** True when the config holds bash logic, read by letting bash evaluate it. */
  dynamic: boolean;
  state: VmState;
  pid?: number;
  /** What ENUMERATE found suspicious, one line each (a MAC/IP pair the macmap database disagrees with). */
  warnings?: string[];
  /** Why a VM that was running is not any more (a crash, a kill). */
  reason?: string;
  /**
   * A running VM that makes no progress (nothing on serial and the same
   * screen since its start, for VMDECK_NO_PROGRESS_SECONDS), or QEMU's KVM
   * errors: shown beside the state badge.
   */
  warning?: string;
  /** Running with a config written since it started: what its next start changes. */
  pending?: Pending;
}

/** Config changes a running VM takes at its next start. */
export interface Pending {
  /** When the config was last written, ms since the epoch. */
  since: number;
  /** The variables vmdeck changed since the start; empty after a hand edit. */
  variables: string[];
  /** Memory (MiB) and CPUs QEMU runs with, from its command line, each only where the config now differs. */
  running?: { memsize?: number; smp?: number };
}

/**
 * Memory or CPUs as the VM has them now: while a change waits, what QEMU
 * runs with, the config's value after the next start beside it. The
 * dashboard's list and VM page and `vmdeck list` show both.
 */
export function nowAndNext(vm: Pick<VmInfo, 'memsize' | 'smp' | 'pending'>, field: 'memsize' | 'smp'): { now: number; next?: number } {
  const running = vm.pending?.running?.[field];
  return running === undefined ? { now: vm[field] } : { now: running, next: vm[field] };
}

const MEM_UNIT: Record<string, number> = { '': 1, m: 1, k: 1 / 1024, g: 1024, t: 1024 * 1024 };

/**
 * Memory (MiB) and CPUs in a QEMU command line: `-m 512`, `-m 1G`,
 * `-m size=1G,maxmem=…`, `-smp 2`, `-smp cpus=2,sockets=1`; a value given
 * twice is QEMU's last. What it cannot read is left out.
 */
export function argvHardware(argv: readonly string[]): { memsize?: number; smp?: number } {
  const out: { memsize?: number; smp?: number } = {};
  for (let i = 0; i + 1 < argv.length; i++) {
    const flag = argv[i].replace(/^--/, '-');
    if (flag !== '-m' && flag !== '-smp') continue;
    const parts = argv[i + 1].split(',');
    if (flag === '-m') {
      const size = parts.find((p) => !p.includes('=')) ?? parts.find((p) => p.startsWith('size='))?.slice(5);
      const m = /^(\d+(?:\.\d+)?)([kmgt]?)b?$/i.exec(size ?? '');
      if (m) out.memsize = Math.round(Number(m[1]) * MEM_UNIT[m[2].toLowerCase()]);
    } else {
      const cpus = parts.find((p) => /^\d+$/.test(p)) ?? parts.find((p) => p.startsWith('cpus='))?.slice(5);
      if (cpus !== undefined && /^\d+$/.test(cpus)) out.smp = Number(cpus);
    }
  }
  return out;
}

/**
 * A running (or paused) VM's runtime directory as GET /api/vms/:label tells
 * it: where its sockets are and when its QEMU started.
 */
export interface VmRuntime {
  /** $VMDECK_RUN/<LABEL>, also for a stopped VM. */
  runDir: string;
  /** When QEMU started (its pidfile's time), ms since the epoch; only while it runs. */
  startedAt?: number;
  /** The sockets QEMU listens on now; a console the VM was started without has none. */
  sockets: {
    qmp?: string;
    monitor?: string;
    /** serial0 with HMP behind Ctrl-a c: where QEMUMONSOCK put it, else serial.sock. */
    serial?: string;
    vnc?: string;
  };
  /** Everything serial0 printed (kept while nobody is attached). */
  serialLog?: string;
}
