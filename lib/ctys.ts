// The VM config <LABEL>.ctys: bash that the wrapper sources, with ctys's
// ENUMERATE markers. Rendering it from a spec and reading it back.
import type { VmSpec } from './spec';
import type { VmInterface } from './vm';

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
  firmware: 'FIRMWARE', secureBoot: 'SECUREBOOT', tpm: 'TPM',
  autostart: 'AUTOSTART', autostartOrder: 'AUTOSTART_ORDER', autostartDelay: 'AUTOSTART_DELAY', clipboard: 'CLIPBOARD',
} as const satisfies Record<keyof VmSpec, string>;

export const CONFIG_VAR_NAMES: readonly string[] = Object.values(CTYS_VARS);

/** Quote a value for bash: single quotes, with ' written as '\''. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A word to paste into a shell: as it is when plain, else shellQuote's. */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : shellQuote(value);
}

/** A marker value: markers are comments, read by ENUMERATE (vmdeck's and ctys's) up to a quote, so quotes of either kind are dropped. */
const markerValue = (value: string) => value.replace(/["']/g, '');
const marker = (name: string, value: string) => `#@#${name.padEnd(15)}= "${markerValue(value)}"`;

/** The config variables that have an ENUMERATE marker of the same name (renderCtys writes them). */
export const MARKED_VARS: ReadonlySet<string> = new Set(['LABEL', 'UUID', 'MAC0', 'IP0', 'DIST', 'DISTREL', 'OS', 'OSREL', 'DEFAULTCONSOLE', 'ARCH']);

/** The text with marker NAME's value replaced where the config has it as renderCtys writes it (`#@#NAME   = "…"`); as it was otherwise. */
export function setMarker(text: string, name: string, value: string): string {
  return text.replace(new RegExp(String.raw`^#@#${name}([ \t]*)= ".*"$`, 'm'), (_m, pad: string) => `#@#${name}${pad}= "${markerValue(value)}"`);
}

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
    '# FIRMWARE: BIOS (SeaBIOS) or UEFI (OVMF; its variables in <LABEL>.uefi-vars*.fd',
    '# beside this file). SECUREBOOT=on needs UEFI and machine q35. TPM: none or',
    '# 2.0 (swtpm, its state in <LABEL>.tpm/ beside this file).',
    `FIRMWARE=${v(spec.firmware)}`,
    `SECUREBOOT=${v(spec.secureBoot)}`,
    `TPM=${v(spec.tpm)}`,
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
    '# CLIPBOARD: vdagent shares the clipboard with a guest that runs spice-vdagent',
    '# (QEMU\'s qemu-vdagent); empty: text is pasted as key presses.',
    `CLIPBOARD=${v(spec.clipboard)}`,
    '',
    '# Start on host boot (vmdeck autostart L on|off [--order N] [--delay S]):',
    '# the unit vmdeck-autostart.service starts the VMs with AUTOSTART=on by',
    '# AUTOSTART_ORDER (empty: after the ordered ones) and waits AUTOSTART_DELAY',
    '# seconds after each before the next.',
    `AUTOSTART=${v(spec.autostart)}`,
    `AUTOSTART_ORDER=${n(spec.autostartOrder)}`,
    `AUTOSTART_DELAY=${spec.autostartDelay}`,
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

const PLAIN_ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(?:'([^']*)'|([A-Za-z0-9_.,:/@%+=-]*))$/;

// Character classes of the lines vmdeck writes, by char code.
const BLANK = 1; // space, tab, carriage return
const NAME_START = 2; // A-Z a-z _
const NAME = 4; // A-Z a-z 0-9 _
const WORD_CHAR = 8; // a plain word: A-Z a-z 0-9 _ . , : / @ % + = -
const CLASS = new Uint8Array(128);
for (const c of ' \t\r') CLASS[c.charCodeAt(0)] |= BLANK;
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z_]/.test(ch)) CLASS[c] |= NAME_START;
  if (/[A-Za-z0-9_]/.test(ch)) CLASS[c] |= NAME;
  if (/[A-Za-z0-9_.,:/@%+=-]/.test(ch)) CLASS[c] |= WORD_CHAR;
}
const is = (code: number, kind: number) => code < 128 && (CLASS[code] & kind) !== 0;
const NL = 10;
const HASH = 35;
const EQUALS = 61;
const QUOTE = 39;

/** One plain line read by scanPlainLine: where the next line starts, and its assignment if it is one. */
export interface PlainLine {
  end: number;
  name?: string;
  value?: string;
}

/**
 * The line of text at `at` when it is one of the lines vmdeck writes: blanks
 * (space, tab, carriage return) about a comment, a NAME='text without
 * quotes or newlines', a NAME=plain-word or nothing, then its newline or the
 * end. null for any other line, which parseLine then reads. ENUMERATE parses
 * every config it has not seen: a scan of char codes here is several times
 * faster than the sticky regex it replaces, and than splitting the file into
 * trimmed lines (docs/PERFORMANCE.md). The unit tests hold it to that regex
 * over random lines.
 */
export function scanPlainLine(text: string, at: number): PlainLine | null {
  const n = text.length;
  let i = at;
  while (i < n && is(text.charCodeAt(i), BLANK)) i++;
  if (i >= n) return { end: n };
  const c = text.charCodeAt(i);
  if (c === NL) return { end: i + 1 };
  if (c === HASH) {
    const nl = text.indexOf('\n', i);
    return { end: nl < 0 ? n : nl + 1 };
  }
  if (!is(c, NAME_START)) return null;
  const nameStart = i;
  do i++; while (i < n && is(text.charCodeAt(i), NAME));
  if (i >= n || text.charCodeAt(i) !== EQUALS) return null;
  const name = text.slice(nameStart, i);
  i++;
  let value: string;
  if (i < n && text.charCodeAt(i) === QUOTE) {
    const close = text.indexOf("'", i + 1);
    if (close < 0) return null;
    const nl = text.indexOf('\n', i + 1);
    if (nl >= 0 && nl < close) return null;
    value = text.slice(i + 1, close);
    i = close + 1;
  } else {
    const start = i;
    while (i < n && is(text.charCodeAt(i), WORD_CHAR)) i++;
    value = text.slice(start, i);
  }
  while (i < n && is(text.charCodeAt(i), BLANK)) i++;
  if (i >= n) return { end: n, name, value };
  return text.charCodeAt(i) === NL ? { end: i + 1, name, value } : null;
}

/**
 * Reads a config made only of comments and literal assignments, as vmdeck
 * writes it. Returns null when the file holds anything that needs bash to
 * evaluate (expansions, logic, commands): the caller then asks bash.
 */
export function parseCtysPlain(text: string): ConfigVars | null {
  const vars: ConfigVars = {};
  for (let at = 0; at < text.length;) {
    const plain = scanPlainLine(text, at);
    if (plain) {
      if (plain.name !== undefined) vars[plain.name] = plain.value!;
      at = plain.end;
      continue;
    }
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    if (!parseLine(text.slice(at, end), vars)) return null;
    at = end + 1;
  }
  return vars;
}

/** One line into vars; false when it needs bash. */
function parseLine(raw: string, vars: ConfigVars): boolean {
  const line = raw.trim();
  if (line === '' || line.startsWith('#')) return true;
  // What vmdeck writes: NAME='text without quotes' or NAME=plain-word
  // (no ~, $, glob or quote characters): taken as it is, no tokenizing.
  const fast = PLAIN_ASSIGNMENT.exec(line);
  if (fast) {
    vars[fast[1]] = fast[2] ?? fast[3];
    return true;
  }
  const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
  if (!m) return false;
  const [, name, value] = m;
  const arr = /^\((.*)\)$/.exec(value);
  if (arr) {
    const words = literalWords(arr[1]);
    if (!words) return false;
    vars[name] = words;
    return true;
  }
  if (value === '') {
    vars[name] = '';
    return true;
  }
  const words = literalWords(value);
  // `X= cmd` runs cmd, and `X=a b` runs b: both need bash.
  if (!words || words.length !== 1 || /^\s/.test(value)) return false;
  vars[name] = words[0];
  return true;
}

/** ENUMERATE's view of a config: its markers, read without running it. */
export interface CtysMarkers {
  magic: 'QEMU' | 'IGNORE' | 'NOENUM' | null;
  /** Each marker's value, the first occurrence winning, as ctys's getConfValueOf reads it. */
  values: Record<string, string>;
}

/**
 * One `#@#NAME = value` line as ctys's getConfValueOf reads it: tabs dropped,
 * single quotes taken as double quotes, the value up to its first quote and
 * nothing after it. vmdeck then trims the value; ctys keeps only its last
 * blank-separated word (docs/CTYS.md says where that differs).
 */
const MARKER_LINE = /^ *#@#([A-Za-z0-9_]+) *= *"*([^"]*)/;

export function readMarkers(textIn: string): CtysMarkers {
  let magic: CtysMarkers['magic'] = null;
  const values: Record<string, string> = {};
  // Only the lines with #@# in them, found without splitting the whole file.
  for (let at = textIn.indexOf('#@#'), end = 0; at >= 0; at = textIn.indexOf('#@#', end)) {
    const start = textIn.lastIndexOf('\n', at) + 1;
    end = textIn.indexOf('\n', at);
    if (end < 0) end = textIn.length;
    const raw = textIn.slice(start, end);
    // ctys's enumfilter.awk: these match anywhere in a line, and IGNORE or
    // NOENUM anywhere in the file wins over QEMU.
    if (raw.includes('#@#MAGICID-')) {
      if (raw.includes('#@#MAGICID-IGNORE')) magic = 'IGNORE';
      else if (raw.includes('#@#MAGICID-NOENUM')) { if (magic !== 'IGNORE') magic = 'NOENUM'; }
      else if (raw.includes('#@#MAGICID-QEMU') && magic === null) magic = 'QEMU';
    }
    const line = /[\t']/.test(raw) ? raw.replace(/\t/g, '').replace(/'/g, '"') : raw;
    const m = MARKER_LINE.exec(line);
    if (m && !(m[1] in values)) values[m[1]] = m[2].trim();
  }
  return { magic, values };
}

/** One network interface of a VM: `MACn` with `IPn` in ctys's extended syntax. */
export type CtysInterface = VmInterface;

/**
 * `ip%netmask%relay%ifname%sshport%gateway`, each part optional (ctys's
 * getIFlst); a comma separates more addresses of one interface.
 */
export function parseIpEntity(index: number, mac: string, value: string): CtysInterface[] {
  const out: CtysInterface[] = [];
  for (const one of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [ip = '', netmask = '', relay = '', ifname = '', sshport = '', gateway = ''] = one.split('%');
    out.push({ index, mac, ip, netmask, relay, ifname: ifname || String(index), sshport, gateway });
  }
  if (out.length === 0) out.push({ index, mac, ip: '', netmask: '', relay: '', ifname: String(index), sshport: '', gateway: '' });
  return out;
}

/**
 * Every interface of a config: the MACn and IPn pairs, from the variables
 * (what the wrapper will use) or else the markers (what ctys's ENUMERATE
 * reads), ordered by n. `#@#MAC`/`#@#IP` without a number, as ctys-genmconf
 * writes them, are interface 0. NETMASKn and GATEWAYn fill what IPn leaves out.
 */
export function interfacesOf(vars: ConfigVars, markers: Record<string, string>): CtysInterface[] {
  const indexes = new Set<number>();
  const scan = (names: Iterable<string>) => {
    for (const name of names) {
      // Most of a config's ~60 names start with neither M nor I: no regex for them (ENUMERATE of 10,000 configs).
      const first = name.charCodeAt(0);
      if (first !== 77 && first !== 73) continue;
      const m = /^(?:MAC|IP)(\d*)$/.exec(name);
      if (m) indexes.add(m[1] === '' ? 0 : Number(m[1]));
    }
  };
  scan(Object.keys(vars));
  scan(Object.keys(markers));
  const pick = (kind: string, n: number): string => {
    for (const name of n === 0 ? [`${kind}0`, kind] : [`${kind}${n}`]) {
      const v = vars[name];
      if (typeof v === 'string' && v !== '') return v;
    }
    for (const name of n === 0 ? [`${kind}0`, kind] : [`${kind}${n}`]) {
      if (markers[name]) return markers[name];
    }
    return '';
  };
  const out: CtysInterface[] = [];
  for (const n of [...indexes].sort((a, b) => a - b)) {
    const mac = pick('MAC', n);
    const ip = pick('IP', n);
    if (!mac && !ip) continue;
    for (const one of parseIpEntity(n, mac, ip)) {
      const netmask = vars[`NETMASK${n}`];
      const gateway = vars[`GATEWAY${n}`];
      if (!one.netmask && typeof netmask === 'string') one.netmask = netmask;
      if (!one.gateway && typeof gateway === 'string') one.gateway = gateway;
      out.push(one);
    }
  }
  return out;
}

/** ctys's VM states (#@#VMSTATE); ENUMERATE shows ACTIVE, DISABLED and none by default, as ctys's MATCHVSTAT. */
export const VMSTATES = ['ACTIVE', 'DISABLED', 'BACKUP', 'TEMPLATE', 'TESTDUMMY', 'IGNORE'] as const;
export const DEFAULT_MATCHVSTAT = ['ACTIVE', 'DISABLED', ''] as const;

/**
 * A MATCHVSTAT value (`ACTIVE%BACKUP`, `all`, `present`, `empty`,
 * `CUSTOM%MINE`) as the states it lets through; null lets every state
 * through. Throws on a state ctys does not know unless CUSTOM comes first.
 */
export function parseMatchVstat(spec: string): Set<string> | null {
  const out = new Set<string>();
  let custom = false;
  for (const word of spec.split('%').filter(Boolean).map((w) => w.toUpperCase())) {
    if (word === 'ALL') return null;
    if (word === 'CUSTOM') { custom = true; continue; }
    if (word === 'PRESENT') { for (const s of VMSTATES) out.add(s); out.add('*'); continue; }
    if (word === 'EMPTY') { out.add(''); continue; }
    if (word === 'ENABLED') { out.add('ACTIVE'); continue; }
    if (!(VMSTATES as readonly string[]).includes(word) && !custom) {
      throw new Error(`vmstate: '${word}' is not one of ${VMSTATES.join(', ')}, ENABLED (ACTIVE), EMPTY, PRESENT, ALL (put CUSTOM first for your own)`);
    }
    out.add(word);
  }
  return out;
}

export function matchesVstat(vmstate: string, allowed: Set<string> | null): boolean {
  if (!allowed) return true;
  return allowed.has(vmstate.toUpperCase()) || (allowed.has('*') && vmstate !== '');
}
