// The VM spec: everything a VM is, in one zod schema. The CLI, the API and the
// wizard all validate through parseSpec, so a refusal reads the same everywhere.
import * as z from 'zod';
import { PASSWORD_HASH_RE, SSH_KEY_RE, TIMEZONE_RE, UNATTENDED_KINDS, VMUSER_RE } from './seeds';

export const ARCHES = [
  'x86_64', 'i386', 'aarch64', 'arm', 'm68k', 'mips', 'mipsel', 'mips64', 'ppc', 'ppc64',
  'sparc', 'sparc64', 'sh4', 'alpha', 'riscv64',
] as const;
export const BOOT_MODES = ['VHDD', 'CD', 'DVD', 'PXE', 'FDD', 'USB', 'KERNEL'] as const;
export const INST_MODES = ['CD', 'DVD', 'PXE', 'FDD', 'USB', 'KERNEL'] as const;
export const CONSOLES = ['VNC', 'SDL', 'CLI', 'CLI0', 'NONE'] as const;
export const NET_MODES = ['user', 'vde', 'tap', 'none'] as const;
export const ACCELERATORS = ['KVM', 'QEMU'] as const;
export const DISK_FORMATS = ['qcow2', 'raw'] as const;
export const FIRMWARES = ['BIOS', 'UEFI'] as const;
export const SECUREBOOT_MODES = ['off', 'on'] as const;
export const TPM_MODELS = ['none', '2.0'] as const;
/** The guests vmdeck has UEFI firmware and a TPM device for (Debian's ovmf, qemu-efi-aarch64). */
export const UEFI_ARCHES: readonly string[] = ['x86_64', 'aarch64'];
export const TPM_ARCHES: readonly string[] = ['x86_64', 'i386', 'aarch64'];
/** Machine types with SMM, which OVMF's Secure Boot needs: q35 and its versions. */
export const SECUREBOOT_MACHINE_RE = /^(pc-)?q35(-[0-9.]+)?(,|$)/;

export type BootMode = (typeof BOOT_MODES)[number];
export type InstMode = (typeof INST_MODES)[number];
export type Console = (typeof CONSOLES)[number];

const CONTROL = /[\u0000-\u001f\u007f]/;

/** Free text that ends up in a config file and a command line: any printable character. */
const text = (max: number, what: string) =>
  z.string({ error: `must be text` })
    .max(max, { error: `is longer than ${max} characters` })
    .refine((s) => !CONTROL.test(s), { error: `${what} may not contain control characters or line breaks` });

/** A file path: may be relative to the VM's directory; empty means none. */
const path = (what: string) =>
  z.string({ error: 'must be a path' })
    .max(4000, { error: `${what} path is too long` })
    .refine((s) => !CONTROL.test(s), { error: `${what} path may not contain control characters or line breaks` });

/**
 * A value as a one-line message shows it: control characters (a newline, an
 * escape) and the marks that reorder text (U+202E and its kin) as \n, \uXXXX,
 * so that a refusal stays one line and reads as what was given.
 */
export function visible(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) =>
    c === '\n' ? '\\n' : c === '\t' ? '\\t' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A value as a refusal quotes it; a JSON object or list from the API (whose toString may be anything) as JSON, cut short. */
export function quoted(v: unknown): string {
  if (typeof v === 'string') return `'${visible(v)}'`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return `'${v}'`;
  let json: string;
  try {
    json = JSON.stringify(v) ?? typeof v;
  } catch {
    json = typeof v;
  }
  return `'${json.length > 60 ? `${json.slice(0, 57)}...` : json}'`;
}

const word = (re: RegExp, hint: string) =>
  z.string({ error: 'must be text' }).refine((s) => re.test(s), { error: (i) => `${quoted(i.input)} ${hint}` });

/**
 * Why a zone is none of the IANA database as the JavaScript engine has it
 * (an alias such as US/Pacific is one), the same in the server and the
 * browser; '' when it is one. The engine takes a name in any case, the
 * guest's tzdata only in its own (europe/berlin leaves the guest on UTC):
 * each part of a name starts with a capital, and a name the engine spells
 * otherwise only in case is refused naming its spelling.
 */
function timeZoneError(zone: string): string {
  let spelled: string;
  try {
    spelled = new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return 'is no time zone of the IANA database (like Europe/Berlin or Etc/UTC)';
  }
  if (spelled !== zone && spelled.toLowerCase() === zone.toLowerCase()) return `is spelled ${spelled} (the guest's zone names are case-sensitive)`;
  if (zone.split('/').some((part) => !/^[A-Z]/.test(part))) return 'is no time zone of the IANA database: each part of a zone name starts with a capital (like Europe/Berlin or Etc/UTC)';
  return '';
}

const enumOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: (i) => `${quoted(i.input)} is not one of ${values.map((v) => (v === '' ? "'' (the machine's default)" : v)).join(', ')}` });

export const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/**
 * The complaint about a label named by a URL (an API route or a console
 * socket), or null when it is one. Only a label is taken there, never a path:
 * server/ reads a label with '/' as the path of a config (that is the CLI's).
 */
export function labelError(label: string): string | null {
  if (LABEL_RE.test(label)) return null;
  return `label: '${JSON.stringify(label).slice(1, -1)}' is not a valid label: use letters, digits, '.', '_' and '-' (at most 63), starting with a letter or digit`;
}
/** Names in the runtime root that are not VMs: `net/` holds the VDE switches. */
export const RESERVED_LABELS: readonly string[] = ['net'];
export const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/**
 * What is wrong with a VDE switch (QEMUSOCK, QEMUSOCK<N>), or null: a name
 * of `vmdeck net create` (its directory in the runtime root), or the
 * absolute path of another switch's directory (ctys-setupVDE's
 * /var/tmp/vde_switch0.USER). A relative path would be QEMU's working
 * directory's.
 */
export function vdeSwitchProblem(name: string): string | null {
  if (name === '' || /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) return null;
  if (/^\/[A-Za-z0-9._/-]*$/.test(name) && !name.split('/').includes('..')) return null;
  return 'is not a VDE switch: a name of vmdeck net create, or the absolute path of a switch directory';
}

/** A network interface's name, as Linux takes it (IFNAMSIZ). */
export const TAPDEV_RE = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,14}$/;
export const TAPDEV_HINT = 'is not a network interface name (at most 15 letters, digits, . _ -, not starting with -)';

const HOSTFWD_RULE = /^(tcp|udp):([0-9.]*):(\d+)-([0-9.]*):(\d+)$/;
const isPort = (p: string) => /^[1-9]\d{0,4}$/.test(p) && Number(p) <= 65535;

/** What is wrong with a port forward (`tcp|udp:[HOSTADDR]:PORT-[GUESTADDR]:PORT`), or null. */
export function hostfwdProblem(rule: string): string | null {
  const m = HOSTFWD_RULE.exec(rule);
  if (!m) return 'is not a port forward like tcp:127.0.0.1:2222-:22';
  const [, , hostAddr, hostPort, guestAddr, guestPort] = m;
  for (const [addr, side] of [[hostAddr, 'host'], [guestAddr, 'guest']]) {
    if (addr !== '' && !IPV4.test(addr)) return `has a ${side} address that is not IPv4 (${addr})`;
  }
  for (const [port, side] of [[hostPort, 'host'], [guestPort, 'guest']]) {
    if (!isPort(port)) return `has a ${side} port out of 1-65535 (${port})`;
  }
  return null;
}

const ipOrEmpty = (what: string) =>
  z.string().refine((s) => s === '' || IPV4.test(s), { error: (i) => `${quoted(i.input)} is not an IPv4 address${what}` });

/** 255.255.255.0 yes, 255.0.255.0 no. */
function contiguousMask(mask: string): boolean {
  const n = mask.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const inverted = 0xffffffff - n;
  return (inverted & (inverted + 1)) === 0;
}

export const VmSpecSchema = z.object({
  label: word(LABEL_RE, "is not a valid label: use letters, digits, '.', '_' and '-' (at most 63), starting with a letter or digit")
    .refine((l) => !RESERVED_LABELS.includes(l), { error: (i) => `${quoted(i.input)} is reserved for vmdeck's network switches` }),
  template: z.string().default(''),
  uuid: word(UUID_RE, 'is not a UUID like 123e4567-e89b-12d3-a456-426614174000'),
  mac: word(MAC_RE, 'is not a MAC address like 52:54:00:12:34:56 (lower case)')
    .refine((m) => (parseInt(m.slice(0, 2), 16) & 1) === 0, { error: (i) => `${quoted(i.input)} is a multicast MAC address: the first byte must be even` }),
  ip: ipOrEmpty(' (leave empty for DHCP)').default(''),
  netmask: ipOrEmpty(' like 255.255.255.0')
    .refine((m) => m === '' || contiguousMask(m), { error: (i) => `${quoted(i.input)} is not a netmask: its one bits must come first, like 255.255.255.0` })
    .default(''),
  gateway: ipOrEmpty('').default(''),
  dist: text(64, 'dist').default(''),
  distrel: text(64, 'distrel').default(''),
  os: text(64, 'os').default(''),
  osrel: text(64, 'osrel').default(''),
  arch: enumOf(ARCHES),
  accelerator: enumOf(ACCELERATORS),
  qemu: word(/^[A-Za-z0-9_./+-]+$/, "is not a QEMU binary name or path (like qemu-system-x86_64)"),
  machine: word(/^[A-Za-z0-9_.,=-]*$/, 'is not a QEMU machine type (like pc, q35, virt)').default(''),
  cpu: word(/^[A-Za-z0-9_.,=+-]*$/, 'is not a QEMU CPU model (like max, host, cortex-a57)').default(''),
  smp: z.number({ error: (i) => `${quoted(i.input)} is not a number of CPUs` }).int({ error: 'must be a whole number of CPUs' })
    .min(1, { error: 'must be at least 1 CPU' }).max(255, { error: 'must be at most 255 CPUs' }),
  memsize: z.number({ error: (i) => `${quoted(i.input)} is not a size in MiB` }).int({ error: 'must be a whole number of MiB' })
    .min(8, { error: 'must be at least 8 MiB' }).max(4 * 1024 * 1024, { error: 'must be at most 4 TiB' }),
  disk: path('disk').default(''),
  diskFormat: enumOf(DISK_FORMATS).default('qcow2'),
  diskSize: word(/^[1-9]\d{0,6}[KMGT]?$/, 'is not a size like 512M or 8G').default('8G'),
  diskIf: enumOf(['virtio', 'ide', 'scsi', 'sd', 'none'] as const).default('virtio'),
  cdromIf: enumOf(['ide', 'scsi', 'none'] as const).default('ide'),
  nic: word(/^[A-Za-z0-9_-]+$/, 'is not a NIC model (like rtl8139, e1000, virtio-net-pci)'),
  netmode: enumOf(NET_MODES).default('user'),
  vdeSwitch: z.string({ error: 'must be text' }).superRefine((name, ctx) => {
    const problem = vdeSwitchProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: `${quoted(name)} ${problem}` });
  }).default(''),
  tapDevice: z.string({ error: 'must be text' }).refine((s) => s === '' || TAPDEV_RE.test(s), { error: (i) => `${quoted(i.input)} ${TAPDEV_HINT}` }).default(''),
  hostfwd: z.array(z.string({ error: 'must be text' }).superRefine((rule, ctx) => {
    const problem = hostfwdProblem(rule);
    if (problem) ctx.addIssue({ code: 'custom', message: `${quoted(rule)} ${problem}` });
  })).default([]),
  vga: enumOf(['', 'std', 'cirrus', 'vmware', 'qxl', 'virtio', 'none'] as const).default(''),
  kbdLayout: word(/^([a-z]{2}(-[a-z]{2,3})?)?$/, 'is not a keyboard layout like en-us or de').default(''),
  bootmode: enumOf(BOOT_MODES),
  instmode: enumOf(INST_MODES).default('CD'),
  instSrcCdrom: path('ISO').default(''),
  instSrcFdd: path('floppy image').default(''),
  instSrcUsb: path('USB image').default(''),
  pxeRoot: path('PXE tree').default(''),
  pxeBootFile: word(/^([A-Za-z0-9_.+-]+(\/[A-Za-z0-9_.+-]+)*)?$/, "is not a file name inside the PXE tree (like pxelinux.0)")
    .refine((f) => !f.split('/').includes('..'), { error: "may not leave the PXE tree ('..')" }).default('pxelinux.0'),
  kernel: path('kernel').default(''),
  initrd: path('initrd').default(''),
  append: text(4096, 'append').default(''),
  console: enumOf(CONSOLES),
  vncDisplay: z.number({ error: (i) => `${quoted(i.input)} is not a display number 0-99` }).int({ error: 'must be a display number 0-99' }).min(0, { error: 'must be a display number 0-99' })
    .max(99, { error: 'must be a display number 0-99' }).nullable().default(null),
  qemuMonSock: path('serial socket').default(''),
  argsAdd: z.array(text(4096, 'argsAdd')).default([]),
  // The unattended install (lib/seeds.ts); the password hash is written to the seeds only, never to the config.
  unattended: z.enum(['', ...UNATTENDED_KINDS] as const, { error: (i) => `${quoted(i.input)} is not an unattended install: cloud-init, preseed or kickstart (or empty for none)` }).default(''),
  vmUser: word(new RegExp(`^$|${VMUSER_RE.source}`), 'is not a user name (lower case letters, digits, _ and -, at most 32, starting with a letter or _)').default(''),
  sshKey: z.string({ error: 'must be text' }).refine((k) => k === '' || SSH_KEY_RE.test(k), {
    error: (i) => `'${String(i.input).slice(0, 40)}${String(i.input).length > 40 ? '…' : ''}' is not an OpenSSH public key (one line like ssh-ed25519 AAAA… comment, no quotes)`,
  }).default(''),
  passwordHash: z.string({ error: 'must be text' }).refine((h) => h === '' || PASSWORD_HASH_RE.test(h), {
    error: 'is not a crypt(3) password hash (make one with: openssl passwd -6); a plain password is not taken',
  }).default(''),
  timezone: word(new RegExp(`^$|${TIMEZONE_RE.source}`), 'is not a time zone like Europe/Berlin or Etc/UTC')
    .refine((s) => s === '' || timeZoneError(s) === '', { error: (i) => `${quoted(i.input)} ${timeZoneError(String(i.input))}` }).default(''),
  mirror: word(/^$|^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~\/-]*)?$/, 'is not a package mirror URL like http://deb.debian.org/debian').default(''),
  targetDisk: word(/^$|^\/dev\/[a-z0-9]+$/, 'is not a disk device like /dev/vda').default(''),
  seedImage: path('seed volume').default(''),
  // UEFI firmware (OVMF) with its variables per VM, Secure Boot, and a TPM by swtpm (the wrapper starts both).
  firmware: enumOf(FIRMWARES).default('BIOS'),
  secureBoot: enumOf(SECUREBOOT_MODES).default('off'),
  tpm: enumOf(TPM_MODELS).default('none'),
  // Start on host boot (server/autostart.ts): in AUTOSTART_ORDER (none: after the ordered ones), then AUTOSTART_DELAY seconds before the next.
  autostart: enumOf(['off', 'on'] as const).default('off'),
  autostartOrder: z.number({ error: (i) => `${quoted(i.input)} is not a start order (a whole number 0-9999, or empty for none)` })
    .int({ error: 'must be a whole number 0-9999' }).min(0, { error: 'must be a whole number 0-9999' })
    .max(9999, { error: 'must be a whole number 0-9999' }).nullable().default(null),
  autostartDelay: z.number({ error: (i) => `${quoted(i.input)} is not a number of seconds` }).int({ error: 'must be a whole number of seconds' })
    .min(0, { error: 'must be 0-3600 seconds' }).max(3600, { error: 'must be 0-3600 seconds' }).default(0),
  // The clipboard: vdagent (QEMU's qemu-vdagent chardev, for a guest running spice-vdagent) or '' (paste as keys only).
  clipboard: enumOf(['', 'vdagent'] as const).default(''),
}).strict().superRefine((s, ctx) => {
  const need = (field: keyof typeof s, why: string) => {
    if (s[field] === '') ctx.addIssue({ code: 'custom', path: [field], message: why });
  };
  if (s.bootmode === 'KERNEL') need('kernel', `is needed for boot mode KERNEL`);
  if (s.bootmode === 'CD' || s.bootmode === 'DVD') need('instSrcCdrom', `is needed for boot mode ${s.bootmode}`);
  if (s.bootmode === 'FDD') need('instSrcFdd', 'is needed for boot mode FDD');
  if (s.bootmode === 'USB') need('instSrcUsb', 'is needed for boot mode USB');
  if (s.bootmode === 'VHDD') need('disk', 'is needed for boot mode VHDD');
  if (s.unattended === 'preseed' && (s.bootmode === 'KERNEL' || s.instmode === 'KERNEL')) need('initrd', 'is needed for a preseed KERNEL install (the installer\'s initrd, which gets the preseed)');
  if (s.unattended === 'preseed' && s.pxeRoot !== '' && (s.bootmode === 'PXE' || s.instmode === 'PXE') && !/^l?pxelinux\.0$/.test(s.pxeBootFile)) {
    // The preseed's own tree boots the installer through a pxelinux.cfg of its own.
    ctx.addIssue({ code: 'custom', path: ['pxeBootFile'], message: `is '${s.pxeBootFile}': a preseed served by the PXE tree boots through pxelinux.0 at the tree's top` });
  }
  if (s.bootmode === 'PXE' && s.netmode === 'user') need('pxeRoot', 'is needed for boot mode PXE with user networking (a TFTP tree such as the Debian installer\'s netboot directory)');
  if (s.pxeRoot !== '' && s.netmode !== 'user') {
    ctx.addIssue({ code: 'custom', path: ['pxeRoot'], message: "is served by user networking's TFTP: it needs network mode user" });
  }
  if (s.netmode === 'vde') need('vdeSwitch', 'is needed for network mode vde (a switch from vmdeck net create)');
  if (s.netmode === 'tap') need('tapDevice', 'is needed for network mode tap');
  if (s.hostfwd.length > 0 && s.netmode !== 'user') {
    ctx.addIssue({ code: 'custom', path: ['hostfwd'], message: 'port forwards need network mode user' });
  }
  if (s.firmware === 'UEFI' && !UEFI_ARCHES.includes(s.arch)) {
    ctx.addIssue({ code: 'custom', path: ['firmware'], message: `UEFI is there for ${UEFI_ARCHES.join(' and ')} guests, not ${s.arch}` });
  }
  if (s.secureBoot === 'on' && s.firmware !== 'UEFI') {
    ctx.addIssue({ code: 'custom', path: ['secureBoot'], message: 'Secure Boot needs UEFI firmware (FIRMWARE=UEFI)' });
  }
  if (s.secureBoot === 'on' && s.arch === 'x86_64' && !SECUREBOOT_MACHINE_RE.test(s.machine)) {
    ctx.addIssue({ code: 'custom', path: ['secureBoot'], message: `Secure Boot needs machine q35 (OVMF's Secure Boot needs SMM), not '${s.machine || 'pc'}'` });
  }
  if (s.secureBoot === 'on' && s.arch !== 'x86_64') {
    ctx.addIssue({ code: 'custom', path: ['secureBoot'], message: `Secure Boot is there for x86_64 guests (Debian's OVMF), not ${s.arch}` });
  }
  if (s.tpm !== 'none' && !TPM_ARCHES.includes(s.arch)) {
    ctx.addIssue({ code: 'custom', path: ['tpm'], message: `a TPM is there for ${TPM_ARCHES.join(', ')} guests, not ${s.arch}` });
  }
  if (s.cdromIf === 'none' && (s.bootmode === 'CD' || s.bootmode === 'DVD')) {
    ctx.addIssue({ code: 'custom', path: ['bootmode'], message: `${s.bootmode} needs a CD/DVD drive, and this machine has none` });
  }
});

export type VmSpec = z.output<typeof VmSpecSchema>;
export type VmSpecInput = z.input<typeof VmSpecSchema>;

/** A refusal: which field, and one line that says what is wrong. */
export class SpecError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'SpecError';
  }
}

export type ParseResult = { ok: true; spec: VmSpec } | { ok: false; field: string; error: string };

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let v: unknown = input;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

export function parseSpec(input: unknown): ParseResult {
  const r = VmSpecSchema.safeParse(input);
  if (r.success) return { ok: true, spec: r.data };
  const issue = r.error.issues[0];
  const field = issue.path.length ? String(issue.path[0]) : '';
  const detail = issue.path.length > 1 ? `[${issue.path.slice(1).join('.')}] ` : '';
  const message = issue.code === 'unrecognized_keys'
    ? `unknown field '${issue.keys[0]}'`
    : issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined ? 'is required' : issue.message;
  const f = issue.code === 'unrecognized_keys' ? issue.keys[0] : field;
  return { ok: false, field: f, error: `${f}: ${detail}${message}` };
}

export function assertSpec(input: unknown): VmSpec {
  const r = parseSpec(input);
  if (!r.ok) throw new SpecError(r.field, r.error.slice(r.field.length + 2));
  return r.spec;
}
