// The VM config <LABEL>.ctys: bash that the wrapper sources, with ctys's
// ENUMERATE markers. Rendering it from a spec and reading it back.
import type { VmSpec } from './spec';

/** Spec field ↔ config variable; ctys's names where ctys has one. */
export const CTYS_VARS = {
  label: 'LABEL', uuid: 'UUID', mac: 'MAC0', ip: 'IP0', netmask: 'NETMASK0', gateway: 'GATEWAY0',
  dist: 'DIST', distrel: 'DISTREL', os: 'OS', osrel: 'OSREL', arch: 'ARCH',
  accelerator: 'ACCELERATOR', qemu: 'STARTERCALL', machine: 'MACHINE', cpu: 'CPU', smp: 'SMP',
  memsize: 'MEMSIZE', disk: 'HDDBOOTIMAGE', diskFormat: 'HDDBOOTIMAGE_FORMAT',
  diskSize: 'HDDBOOTIMAGE_INST_SIZE', diskIf: 'HDDBOOTIMAGE_IF', cdromIf: 'CDROM_IF', nic: 'NIC',
  netmode: 'NETMODE', vdeSwitch: 'QEMUSOCK', tapDevice: 'TAPDEV', hostfwd: 'HOSTFWD', vga: 'VGA',
  kbdLayout: 'KBD_LAYOUT', bootmode: 'DEFAULTBOOTMODE', instmode: 'DEFAULTINSTMODE',
  instSrcCdrom: 'INSTSRCCDROM', instSrcFdd: 'INSTSRCFDD', instSrcUsb: 'INSTSRCUSB', pxeRoot: 'PXEROOT', pxeBootFile: 'PXEBOOTFILE',
  kernel: 'KERNELIMAGE', initrd: 'INITRDIMAGE', append: 'APPEND', console: 'DEFAULTCONSOLE',
  vncDisplay: 'VNCACCESSDISPLAY', qemuMonSock: 'QEMUMONSOCK', argsAdd: 'ARGSADD', template: 'VMDECK_TEMPLATE',
  unattended: 'UNATTENDED', vmUser: 'VMUSER', sshKey: 'SSHKEY', passwordHash: 'PASSWORD_HASH', timezone: 'TIMEZONE',
  mirror: 'MIRROR', targetDisk: 'TARGETDISK', seedImage: 'SEEDIMAGE',
} as const satisfies Record<keyof VmSpec, string>;

export const CONFIG_VAR_NAMES: readonly string[] = Object.values(CTYS_VARS);

/** Quote a value for bash: single quotes, with ' written as '\''. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A marker value: markers are comments, read by ENUMERATE, so a " is dropped. */
const marker = (name: string, value: string) => `#@#${name.padEnd(15)}= "${value.replace(/"/g, '')}"`;

export interface RenderContext {
  generator: string;
  /** ISO date of generation: passed in so that rendering stays pure. */
  date: string;
}

export function renderCtys(spec: VmSpec, ctx: RenderContext): string {
  const v = (s: string) => shellQuote(s);
  const n = (x: number | null) => (x === null ? "''" : String(x));
  const lines = [
    '#!/usr/bin/env bash',
    `# ${spec.label}.ctys: the configuration of QEMU VM "${spec.label}".`,
    `# Written by ${ctx.generator} on ${ctx.date}; sourced by ${spec.label}.sh.`,
    '# Edit freely: this is bash, and the wrapper reads it at every start, so',
    '# logic such as MEMSIZE=$((64*4)) works. vmdeck reads it back the same way.',
    '#',
    '# ENUMERATE markers (ctys): comments that find and describe the VM',
    '# without running anything.',
    '#@#MAGICID-QEMU',
    marker('LABEL', spec.label),
    marker('UUID', spec.uuid),
    marker('MAC0', spec.mac),
    marker('IP0', spec.ip),
    marker('DIST', spec.dist),
    marker('DISTREL', spec.distrel),
    marker('OS', spec.os),
    marker('OSREL', spec.osrel),
    marker('SESSIONTYPE', 'QEMU'),
    marker('DEFAULTCONSOLE', spec.console),
    marker('ARCH', spec.arch),
    '',
    '# Identity',
    `LABEL=${v(spec.label)}`,
    `UUID=${v(spec.uuid)}`,
    `VMDECK_TEMPLATE=${v(spec.template)}`,
    `DIST=${v(spec.dist)}`,
    `DISTREL=${v(spec.distrel)}`,
    `OS=${v(spec.os)}`,
    `OSREL=${v(spec.osrel)}`,
    '',
    '# Hardware. ACCELERATOR: KVM (needs /dev/kvm) or QEMU (emulation, TCG).',
    `ARCH=${v(spec.arch)}`,
    `ACCELERATOR=${v(spec.accelerator)}`,
    `STARTERCALL=${v(spec.qemu)}`,
    `MACHINE=${v(spec.machine)}`,
    `CPU=${v(spec.cpu)}`,
    `SMP=${spec.smp}`,
    '# MiB',
    `MEMSIZE=${spec.memsize}`,
    `VGA=${v(spec.vga)}`,
    `KBD_LAYOUT=${v(spec.kbdLayout)}`,
    '',
    '# Storage. A relative path is relative to this directory.',
    `HDDBOOTIMAGE=${v(spec.disk)}`,
    `HDDBOOTIMAGE_FORMAT=${v(spec.diskFormat)}`,
    `HDDBOOTIMAGE_INST_SIZE=${v(spec.diskSize)}`,
    `HDDBOOTIMAGE_IF=${v(spec.diskIf)}`,
    `CDROM_IF=${v(spec.cdromIf)}`,
    '',
    '# Network. NETMODE: user (NAT, HOSTFWD port forwards), vde (QEMUSOCK: a',
    '# switch of vmdeck net create), tap (TAPDEV) or none.',
    `MAC0=${v(spec.mac)}`,
    `IP0=${v(spec.ip)}`,
    `NETMASK0=${v(spec.netmask)}`,
    `GATEWAY0=${v(spec.gateway)}`,
    `NIC=${v(spec.nic)}`,
    `NETMODE=${v(spec.netmode)}`,
    `QEMUSOCK=${v(spec.vdeSwitch)}`,
    `TAPDEV=${v(spec.tapDevice)}`,
    '# Blank-separated rules like tcp:127.0.0.1:2222-:22',
    `HOSTFWD=${v(spec.hostfwd.join(' '))}`,
    '',
    '# Boot and install. DEFAULTBOOTMODE: VHDD|CD|DVD|PXE|FDD|USB|KERNEL;',
    '# DEFAULTINSTMODE is what --instmode boots, with the disk as target.',
    `DEFAULTBOOTMODE=${v(spec.bootmode)}`,
    `DEFAULTINSTMODE=${v(spec.instmode)}`,
    `INSTSRCCDROM=${v(spec.instSrcCdrom)}`,
    `INSTSRCFDD=${v(spec.instSrcFdd)}`,
    `INSTSRCUSB=${v(spec.instSrcUsb)}`,
    '# PXE: user networking serves PXEROOT by TFTP and offers PXEBOOTFILE',
    '# by DHCP (a path inside the tree).',
    `PXEROOT=${v(spec.pxeRoot)}`,
    `PXEBOOTFILE=${v(spec.pxeBootFile)}`,
    `KERNELIMAGE=${v(spec.kernel)}`,
    `INITRDIMAGE=${v(spec.initrd)}`,
    `APPEND=${v(spec.append)}`,
    '',
    '# Consoles. DEFAULTCONSOLE: VNC|SDL|CLI|CLI0|NONE. VNCACCESSDISPLAY: also a',
    '# TCP VNC display N on 127.0.0.1. QEMUMONSOCK: where the serial socket',
    '# (serial0 + HMP) goes, if not the runtime dir; ACTUALLABEL and ACTUALPID',
    '# are replaced.',
    `DEFAULTCONSOLE=${v(spec.console)}`,
    `VNCACCESSDISPLAY=${n(spec.vncDisplay)}`,
    `QEMUMONSOCK=${v(spec.qemuMonSock)}`,
    '',
    '# Unattended install (vmdeck create-conf --unattended=cloud-init|preseed|kickstart):',
    '# the seed files <LABEL>.seed.* beside this file were written from these. SEEDIMAGE,',
    '# the seed volume (cidata or OEMDRV), is attached read-only as a second drive.',
    '# The password is in the seed files only (as a hash, mode 0600), never here.',
    `UNATTENDED=${v(spec.unattended)}`,
    `VMUSER=${v(spec.vmUser)}`,
    `SSHKEY=${v(spec.sshKey)}`,
    `TIMEZONE=${v(spec.timezone)}`,
    `MIRROR=${v(spec.mirror)}`,
    `TARGETDISK=${v(spec.targetDisk)}`,
    `SEEDIMAGE=${v(spec.seedImage)}`,
    '',
    '# More QEMU arguments, one array element each.',
    `ARGSADD=(${spec.argsAdd.map(v).join(' ')})`,
    '',
  ];
  return lines.join('\n');
}

export type ConfigValue = string | string[];
export type ConfigVars = Record<string, ConfigValue>;

// One bash word made only of quoted or plain literal pieces: nothing in it
// that bash would expand.
const WORD = /^(?:'[^']*'|"[^"$`\\!]*"|\\'|[A-Za-z0-9_./:,@%+=-])+/;

function unquoteWord(word: string): string {
  let out = '';
  let rest = word;
  while (rest.length) {
    const m = /^'([^']*)'|^"([^"]*)"|^\\(')|^([^'"\\]+)/.exec(rest)!;
    out += m[1] ?? m[2] ?? m[3] ?? m[4];
    rest = rest.slice(m[0].length);
  }
  return out;
}

/** Splits a run of words separated by blanks; null when any piece is not a literal word. */
function literalWords(s: string): string[] | null {
  const words: string[] = [];
  let rest = s.trim();
  while (rest.length) {
    const m = WORD.exec(rest);
    if (!m) return null;
    words.push(unquoteWord(m[0]));
    rest = rest.slice(m[0].length);
    if (rest.length && !/^\s/.test(rest)) return null;
    rest = rest.trimStart();
  }
  return words;
}

/**
 * Reads a config made only of comments and literal assignments, as vmdeck
 * writes it. Returns null when the file holds anything that needs bash to
 * evaluate (expansions, logic, commands): the caller then asks bash.
 */
const PLAIN_ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(?:'([^']*)'|([A-Za-z0-9_.,:/@%+=-]*))$/;

export function parseCtysPlain(textIn: string): ConfigVars | null {
  const vars: ConfigVars = {};
  for (const raw of textIn.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    // What vmdeck writes: NAME='text without quotes' or NAME=plain-word
    // (no ~, $, glob or quote characters): taken as it is, no tokenizing.
    const fast = PLAIN_ASSIGNMENT.exec(line);
    if (fast) {
      vars[fast[1]] = fast[2] ?? fast[3];
      continue;
    }
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) return null;
    const [, name, value] = m;
    const arr = /^\((.*)\)$/.exec(value);
    if (arr) {
      const words = literalWords(arr[1]);
      if (!words) return null;
      vars[name] = words;
      continue;
    }
    if (value === '') { vars[name] = ''; continue; }
    const words = literalWords(value);
    // `X= cmd` runs cmd, and `X=a b` runs b: both need bash.
    if (!words || words.length !== 1 || /^\s/.test(value)) return null;
    vars[name] = words[0];
  }
  return vars;
}

/** ENUMERATE's view of a config: its markers, read without running it. */
export interface CtysMarkers {
  magic: 'QEMU' | 'IGNORE' | 'NOENUM' | null;
  values: Record<string, string>;
}

export function readMarkers(textIn: string): CtysMarkers {
  let magic: CtysMarkers['magic'] = null;
  const values: Record<string, string> = {};
  for (const line of textIn.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('#@#')) continue;
    const id = /^#@#MAGICID-([A-Z0-9]+)/.exec(t);
    if (id) {
      if (id[1] === 'IGNORE' || id[1] === 'NOENUM') magic = id[1];
      else if (id[1] === 'QEMU' && magic === null) magic = 'QEMU';
      continue;
    }
    const kv = /^#@#([A-Z0-9_]+)\s*=\s*"?([^"]*)"?\s*$/.exec(t);
    if (kv) values[kv[1]] = kv[2];
  }
  return { magic, values };
}
