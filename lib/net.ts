// VDE switches (ctys-setupVDE): the names vmdeck accepts, what a switch's
// management socket answers, read into values, and a switch as the CLI and
// the API tell it. Pure: the socket talk and the processes are server/vde.ts
// and server/net.ts.

/** A switch name becomes a directory under $VMDECK_RUN/net and a QEMUSOCK value. */
export const SWITCH_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
/** A Linux interface name: at most 15 bytes, no '/', no blanks; not starting with '-', which ip and QEMU would read as an option. */
export const IFACE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;

export interface SwitchPort {
  /** The switch's port number. */
  port: number;
  /** vm: a running VM's QEMU; tap: the switch's TAP device; client: anything else (vde_plug, ...). */
  kind: 'vm' | 'tap' | 'client';
  /** The label of the VM on this port. */
  vm: string | null;
  /** What the client calls itself ('QEMU', 'vdeplug:'), or the TAP device's name. */
  descr: string;
  pid: number | null;
  user: string | null;
  /** MAC addresses the switch has learned on this port (only after traffic). */
  macs: string[];
}

export interface SwitchInfo {
  name: string;
  /** stale: files of a switch whose process is gone (create or cancel clears them). */
  state: 'running' | 'stale';
  pid: number | null;
  /** The switch directory: what QEMUSOCK=<name> resolves to. */
  dir: string;
  mgmt: string;
  tap: string | null;
  bridge: string | null;
  ports: SwitchPort[];
  /** Labels of the VMs on the switch. */
  vms: string[];
  /** Set when a running switch could not be asked for its ports. */
  problem?: string;
  /** The boot server vmdeck runs on the switch (DHCP, and TFTP for PXE), when it has one. */
  boot?: { pid: number | null; pxe: string | null; bootfile: string | null };
}

export interface CancelResult {
  name: string;
  /** VMs and clients that were on the switch (only with force). */
  detached: string[];
  /** Interfaces removed with it (the TAP device, a bridge vmdeck made). */
  removed: string[];
}

/** The one-line complaint about a switch name, or null when it is fine. */
export function switchNameError(name: string): string | null {
  if (SWITCH_NAME_RE.test(name)) return null;
  return `name: '${name}' is not a switch name: use letters, digits, '_' and '-' (at most 32), starting with a letter or digit`;
}

/** The one-line complaint about an interface name (field tap or bridge), or null. */
export function ifaceNameError(field: 'tap' | 'bridge', name: string): string | null {
  if (IFACE_RE.test(name)) return null;
  return `${field}: '${name}' is not a network interface name: letters, digits, '_', '.', '-', at most 15, not starting with '-' or '.'`;
}

/** A management command's answer: its status line and the data lines between DATA and '.'. */
export interface MgmtReply {
  code: number;
  message: string;
  data: string[];
}

/**
 * Reads one answer of vde_switch's management terminal, e.g.
 * "0000 DATA END WITH '.'\n<lines>\n.\n1000 Success\n". Null while incomplete:
 * an answer ends with a status line whose code is 1000 or more.
 */
export function parseMgmtReply(text: string): MgmtReply | null {
  const lines = text.replace(/\r/g, '').split('\n');
  const data: string[] = [];
  let inData = false;
  for (const raw of lines) {
    const line = raw.replace(/^vde\$ /, '');
    if (inData) {
      if (line === '.') inData = false;
      else data.push(line);
      continue;
    }
    const status = /^(\d{4}) (.*)$/.exec(line);
    if (!status) continue;
    const code = Number(status[1]);
    if (code === 0) { inData = true; continue; }
    if (code >= 1000) return { code, message: status[2], data };
  }
  return null;
}

/** One client plugged into a switch port: a VM's QEMU, a vde_plug, the TAP device. */
export interface VdeEndpoint {
  port: number;
  endpoint: number;
  /** 'unix' for a socket client, 'tuntap' for the switch's own TAP device. */
  module: string;
  /** What the client says it is: 'QEMU', 'vdeplug:', or the TAP interface's name. */
  descr: string;
  user: string | null;
  pid: number | null;
}

/** The endpoints of `port/allprint`; a port without an endpoint is free. */
export function parsePortTable(lines: readonly string[]): VdeEndpoint[] {
  const out: VdeEndpoint[] = [];
  let port = 0;
  for (const line of lines) {
    const p = /^Port (\d+) /.exec(line);
    if (p) { port = Number(p[1]); continue; }
    // "  -- endpoint ID 0003 module unix prog   : QEMU user=root pid=9976"
    // "  -- endpoint ID 0006 module tuntap      : vdtap0"
    const e = /^\s*-- endpoint ID (\d+) module (\S+)(?: prog)?\s*: ?(.*)$/.exec(line);
    if (!e || port === 0) continue;
    let descr = e[3].trim();
    let user: string | null = null;
    let pid: number | null = null;
    const owner = /^(.*?)\s*user=(\S+) pid=(\d+)$/.exec(descr);
    if (owner) {
      descr = owner[1];
      user = owner[2];
      pid = Number(owner[3]);
    }
    out.push({ port, endpoint: Number(e[1]), module: e[2], descr, user, pid });
  }
  return out;
}

/** MAC addresses the switch has learned, by port (`hash/print`). */
export function parseHashTable(lines: readonly string[]): Map<number, string[]> {
  const byPort = new Map<number, string[]>();
  for (const line of lines) {
    // "Hash: 0129 Addr: 52:54:00:12:34:56 VLAN 0000 to port: 001  age 2 secs"
    const m = /Addr:\s*([0-9a-f]{2}(?::[0-9a-f]{2}){5})\b.*?port:\s*(\d+)/i.exec(line);
    if (!m) continue;
    const port = Number(m[2]);
    const macs = byPort.get(port) ?? [];
    macs.push(m[1].toLowerCase());
    byPort.set(port, macs);
  }
  return byPort;
}

/** The label a QEMU process was started for, from its argv (`-name guest=LABEL,…`). */
export function labelFromQemuArgv(argv: readonly string[]): string | null {
  const i = argv.indexOf('-name');
  if (i < 0 || i + 1 >= argv.length) return null;
  const value = argv[i + 1];
  // QEMU's option syntax: a comma inside a value is doubled.
  const parts = value.split(/(?<!,),(?!,)/).map((p) => p.replace(/,,/g, ','));
  const guest = parts.find((p) => p.startsWith('guest='));
  if (guest) return guest.slice('guest='.length);
  return parts[0].includes('=') ? null : parts[0];
}
