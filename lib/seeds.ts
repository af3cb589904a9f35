// Unattended install seeds, written beside the VM from its spec: cloud-init
// NoCloud (user-data, meta-data, network-config on a 'cidata' volume), a
// Debian/Ubuntu preseed (added to the initrd of a KERNEL install or of the
// installer taken off an install CD, or served by a per-VM PXE tree for a PXE
// install, with auto=true priority=critical) and a kickstart (on an 'OEMDRV'
// volume, with inst.ks= for a KERNEL install; in the initrd of Anaconda taken
// off an install CD). Pure: server/seeds.ts writes the files, reads the CD
// and builds the volumes.
import type { VmSpec } from './spec';

export const UNATTENDED_KINDS = ['cloud-init', 'preseed', 'kickstart'] as const;
export type Unattended = (typeof UNATTENDED_KINDS)[number];

/** The user the seeds make when VMUSER is empty. */
export const DEFAULT_VMUSER = 'vmdeck';
export const DEFAULT_TIMEZONE = 'Etc/UTC';

/** A seed file: its name in the VM's directory, its name on the seed volume (or in the initrd), its text. */
export interface SeedFile {
  file: string;
  /** Name on the volume or in the initrd. */
  as: string;
  text: string;
}

/** What create writes and how the wrapper attaches it. */
export interface SeedPlan {
  kind: Unattended;
  files: SeedFile[];
  /** A volume made of the files (genisoimage -V LABEL), attached read-only as a second drive. */
  volume?: { file: string; label: 'cidata' | 'OEMDRV' };
  /** The initrd with the files added (a preseed for a KERNEL install): the base initrd and the result. */
  initrd?: { base: string; file: string };
  /** Appended to the kernel command line of a KERNEL install. */
  append?: string;
  /**
   * A preseed for a PXE install: the VM's own TFTP tree (dir, PXEROOT from
   * now on), made of links to the user's tree (root) with a pxelinux.cfg of
   * its own that boots the tree's installer with append, and the preseed.
   */
  pxe?: { label: string; root: string; dir: string; append: string };
  /**
   * A preseed or kickstart for a CD install: the installer's kernel and
   * initrd taken off the ISO (at installer's paths: debianCdInstaller by the
   * guest's architecture, anacondaCdInstaller), written as kernel and initrd
   * (the initrd with the files added); the VM boots them in KERNEL mode with
   * the ISO still in its CD drive.
   */
  cdrom?: { iso: string; installer: CdInstaller; kernel: string; initrd: string };
}

/** An installer on a CD: whose, and where its kernel and initrd may be, in the order to look. */
export interface CdInstaller {
  name: 'Debian' | 'Anaconda';
  paths: { kernel: string; initrd: string }[];
}

/**
 * Where debian-cd puts the installer on a CD, by the guest's architecture
 * (tools/boot/<release>/boot-x86: install.amd for amd64, install.386 for
 * i386; boot-arm64: install.a64), then Ubuntu's legacy (alternate, server
 * before 20.04) /install/.
 */
export function debianCdInstaller(arch: string): CdInstaller {
  const dirs = arch === 'x86_64' ? ['install.amd', 'install'] : arch === 'i386' ? ['install.386', 'install'] : arch === 'aarch64' ? ['install.a64', 'install'] : ['install'];
  return { name: 'Debian', paths: dirs.map((d) => ({ kernel: `/${d}/vmlinuz`, initrd: `/${d}/initrd.gz` })) };
}

/**
 * Where a RHEL, CentOS or Fedora DVD (lorax's layout) has Anaconda's kernel
 * and initrd: images/pxeboot/, the same on every architecture, then
 * isolinux/ of older x86 releases (CentOS 7).
 */
export function anacondaCdInstaller(): CdInstaller {
  return { name: 'Anaconda', paths: ['/images/pxeboot', '/isolinux'].map((d) => ({ kernel: `${d}/vmlinuz`, initrd: `${d}/initrd.img` })) };
}

/** QEMU's user networking: the guest sees its TFTP server (and the host) at this address. */
export const USER_NET_HOST = '10.0.2.2';

/** The installer's kernel command line for a preseed served by the VM's PXE tree. */
export function pxePreseedAppend(spec: Pick<VmSpec, 'label' | 'append' | 'console'> & { arch?: string }): string {
  // hostname= and url=: the file comes after the network is up (netcfg asks the hostname at
  // priority high, so it is given here); auto=true keeps the locale and keyboard until then.
  return ['auto=true', 'priority=critical', `url=tftp://${USER_NET_HOST}/preseed.cfg`, `hostname=${spec.label}`, serialInstaller(spec), spec.append]
    .filter((w) => w !== '').join(' ');
}

/**
 * The installer's console on the serial line when the VM's console has no
 * screen (NONE, CLI, CLI0): it showed on the VGA screen alone, which nobody
 * looks at then. '' otherwise, or when APPEND names a console already.
 */
export function serialInstaller(spec: Pick<VmSpec, 'append' | 'console'> & { arch?: string }): string {
  if (!['NONE', 'CLI', 'CLI0'].includes(spec.console.toUpperCase()) || /(^|\s)console=/.test(spec.append)) return '';
  // The serial line's name on the board: the PC's 16550, the Arm virt board's PL011; another's is left to its device tree.
  const arch = spec.arch ?? 'x86_64';
  return arch === 'x86_64' || arch === 'i386' ? 'console=ttyS0,115200' : arch === 'aarch64' || arch === 'arm' ? 'console=ttyAMA0,115200' : '';
}

/** Below this much memory the Debian installer enters its low-memory mode, whose question stops an unattended install. */
export const PRESEED_MIN_MIB = 768;

/** pxelinux's config for the VM's tree: straight into the installer, no menu (kernel and initrd inside the tree). */
export function pxelinuxConfig(label: string, kernel: string, initrd: string, append: string): string {
  return [
    `# Written by vmdeck for VM ${label}: the tree's Debian installer, preseeded`,
    '# (the preseed is preseed.cfg at the top of this tree, fetched by TFTP).',
    'default vmdeck-preseed',
    'prompt 0',
    'timeout 0',
    'label vmdeck-preseed',
    `\tkernel ${kernel}`,
    `\tappend initrd=${initrd} ${append}`,
    '',
  ].join('\n');
}

export const seedName = (label: string, what: string) => `${label}.seed.${what}`;

/** OpenSSH's one-line public key: type, base64, an optional comment (no quotes, so it can sit in a seed's quoting). */
export const SSH_KEY_RE = /^(ssh-ed25519|ssh-rsa|ssh-dss|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) AAAA[A-Za-z0-9+/]{12,}={0,3}( [^'"\\`$\u0000-\u001f]*)?$/;
/** crypt(3) hashes that the installers take: md5, sha-256, sha-512, yescrypt, bcrypt. */
export const PASSWORD_HASH_RE = /^\$(1|5|6|y|2[aby])\$[./A-Za-z0-9$=,]+$/;
export const VMUSER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;
export const TIMEZONE_RE = /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+){0,2}$/;

/** The installer's name of the VM's disk, from its interface. */
export function targetDisk(spec: Pick<VmSpec, 'diskIf' | 'targetDisk'>): string {
  if (spec.targetDisk) return spec.targetDisk;
  return spec.diskIf === 'virtio' ? '/dev/vda' : spec.diskIf === 'sd' ? '/dev/mmcblk0' : '/dev/sda';
}

/** QEMU's keymap name (en-us, de, de-ch) as an X keyboard layout (us, de, ch). */
export function xkbLayout(kbd: string): string {
  if (!kbd || kbd === 'en-us') return 'us';
  if (kbd === 'en-gb') return 'gb';
  const [lang, country] = kbd.split('-');
  return country ?? lang;
}

function prefixOf(mask: string): number {
  return mask.split('.').reduce((n, o) => n + Number(o).toString(2).replace(/0/g, '').length, 0);
}

/** http://host[:port]/dir as the preseed's hostname and directory. */
function mirrorParts(mirror: string): { host: string; dir: string; proto: string } {
  const m = /^(https?):\/\/([^/]+)(\/.*)?$/.exec(mirror)!;
  return { proto: m[1], host: m[2], dir: m[3] ?? '/debian' };
}

export interface SeedInput {
  spec: VmSpec;
  /** crypt(3) hash, or '': never stored in the config. */
  passwordHash: string;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

// cloud-config is YAML; JSON is YAML too, and needs no escaping rules of its own.
export function cloudInitFiles({ spec, passwordHash }: SeedInput): SeedFile[] {
  const user = spec.vmUser || DEFAULT_VMUSER;
  const account: Record<string, unknown> = {
    name: user,
    groups: ['sudo'],
    sudo: 'ALL=(ALL) NOPASSWD:ALL',
    shell: '/bin/bash',
    lock_passwd: passwordHash === '',
  };
  if (passwordHash) account.passwd = passwordHash;
  if (spec.sshKey) account.ssh_authorized_keys = [spec.sshKey];
  const userData: Record<string, unknown> = {
    hostname: spec.label,
    preserve_hostname: false,
    users: [account],
    ssh_pwauth: false,
    timezone: spec.timezone || DEFAULT_TIMEZONE,
  };
  if (spec.kbdLayout) userData.keyboard = { layout: xkbLayout(spec.kbdLayout) };
  const eth: Record<string, unknown> = { match: { macaddress: spec.mac }, 'set-name': 'eth0' };
  if (spec.ip) {
    eth.addresses = [`${spec.ip}/${spec.netmask ? prefixOf(spec.netmask) : 24}`];
    if (spec.gateway) {
      eth.routes = [{ to: '0.0.0.0/0', via: spec.gateway }];
      eth.nameservers = { addresses: [spec.gateway] };
    }
  } else {
    eth.dhcp4 = true;
  }
  return [
    { file: seedName(spec.label, 'user-data'), as: 'user-data', text: `#cloud-config\n${json(userData)}` },
    { file: seedName(spec.label, 'meta-data'), as: 'meta-data', text: json({ 'instance-id': `vmdeck-${spec.uuid}`, 'local-hostname': spec.label }) },
    { file: seedName(spec.label, 'network-config'), as: 'network-config', text: json({ version: 2, ethernets: { eth0: eth } }) },
  ];
}

/** A preseed line: owner, question, type, value. */
const d = (question: string, type: string, value: string, owner = 'd-i') => `${owner} ${question} ${type} ${value}`.trimEnd();

export function preseedFile({ spec, passwordHash }: SeedInput): SeedFile {
  const user = spec.vmUser || DEFAULT_VMUSER;
  const disk = targetDisk(spec);
  const mirror = mirrorParts(spec.mirror || 'http://deb.debian.org/debian');
  const lines = [
    `# Debian installer preseed for VM ${spec.label}, written by vmdeck from its spec.`,
    '# Booted with auto=true priority=critical: no question below critical is asked.',
    d('debian-installer/locale', 'string', 'en_US.UTF-8'),
    d('keyboard-configuration/xkb-keymap', 'select', xkbLayout(spec.kbdLayout)),
    d('netcfg/choose_interface', 'select', 'auto'),
  ];
  if (spec.ip) {
    lines.push(
      d('netcfg/disable_autoconfig', 'boolean', 'true'),
      d('netcfg/get_ipaddress', 'string', spec.ip),
      d('netcfg/get_netmask', 'string', spec.netmask || '255.255.255.0'),
      d('netcfg/get_gateway', 'string', spec.gateway),
      d('netcfg/get_nameservers', 'string', spec.gateway),
      d('netcfg/confirm_static', 'boolean', 'true'),
    );
  }
  lines.push(
    d('netcfg/get_hostname', 'string', spec.label),
    d('netcfg/get_domain', 'string', ''),
    d('netcfg/hostname', 'string', spec.label),
    d('hw-detect/load_firmware', 'boolean', 'false'),
    d('mirror/country', 'string', 'manual'),
    d(`mirror/${mirror.proto}/hostname`, 'string', mirror.host),
    d(`mirror/${mirror.proto}/directory`, 'string', mirror.dir),
    d(`mirror/${mirror.proto}/proxy`, 'string', ''),
    d('passwd/root-login', 'boolean', 'false'),
    d('passwd/user-fullname', 'string', user),
    d('passwd/username', 'string', user),
    // Without a hash the account has no password (locked): SSHKEY is the way in.
    d('passwd/user-password-crypted', 'password', passwordHash || '!'),
    d('clock-setup/utc', 'boolean', 'true'),
    d('time/zone', 'string', spec.timezone || DEFAULT_TIMEZONE),
    d('clock-setup/ntp', 'boolean', 'false'),
    d('partman-auto/disk', 'string', disk),
    d('partman-auto/method', 'string', 'regular'),
    d('partman-auto/choose_recipe', 'select', 'atomic'),
    d('partman-partitioning/confirm_write_new_label', 'boolean', 'true'),
    d('partman/choose_partition', 'select', 'finish'),
    d('partman/confirm', 'boolean', 'true'),
    d('partman/confirm_nooverwrite', 'boolean', 'true'),
    d('grub-installer/bootdev', 'string', disk),
    d('tasksel/first', 'multiselect', 'standard, ssh-server', 'tasksel'),
    d('pkgsel/include', 'string', 'openssh-server sudo'),
    d('popularity-contest/participate', 'boolean', 'false', 'popularity-contest'),
    d('finish-install/reboot_in_progress', 'note', ''),
  );
  if (spec.sshKey) {
    // SSH_KEY_RE admits no quote, backslash, $ or backquote: safe inside single quotes.
    const home = `/home/${user}`;
    lines.push(d('preseed/late_command', 'string',
      `in-target sh -c 'mkdir -p ${home}/.ssh && echo "${spec.sshKey}" >> ${home}/.ssh/authorized_keys && chown -R ${user}: ${home}/.ssh && chmod 700 ${home}/.ssh && chmod 600 ${home}/.ssh/authorized_keys'`));
  }
  return { file: seedName(spec.label, 'preseed.cfg'), as: 'preseed.cfg', text: `${lines.join('\n')}\n` };
}

export function kickstartFile({ spec, passwordHash }: SeedInput): SeedFile {
  const user = spec.vmUser || DEFAULT_VMUSER;
  const disk = targetDisk(spec).replace(/^\/dev\//, '');
  const xkb = xkbLayout(spec.kbdLayout);
  const net = spec.ip
    ? `network --bootproto=static --device=${spec.mac} --ip=${spec.ip} --netmask=${spec.netmask || '255.255.255.0'}${spec.gateway ? ` --gateway=${spec.gateway} --nameserver=${spec.gateway}` : ''} --hostname=${spec.label} --activate`
    : `network --bootproto=dhcp --device=${spec.mac} --hostname=${spec.label} --activate`;
  const lines = [
    `# Kickstart for VM ${spec.label}, written by vmdeck from its spec.`,
    'text',
    'lang en_US.UTF-8',
    `keyboard --vckeymap=${xkb} --xlayouts=${xkb}`,
    `timezone ${spec.timezone || DEFAULT_TIMEZONE} --utc`,
    net,
    ...(spec.mirror ? [`url --url=${spec.mirror}`] : []),
    'rootpw --lock',
    passwordHash ? `user --name=${user} --groups=wheel --iscrypted --password=${passwordHash}` : `user --name=${user} --groups=wheel --lock`,
    ...(spec.sshKey ? [`sshkey --username=${user} "${spec.sshKey}"`] : []),
    `ignoredisk --only-use=${disk}`,
    'zerombr',
    `clearpart --all --initlabel --drives=${disk}`,
    'autopart',
    `bootloader --boot-drive=${disk}`,
    'firstboot --disable',
    'reboot',
    '',
    '%packages',
    '@^minimal-environment',
    'openssh-server',
    '%end',
  ];
  return { file: seedName(spec.label, 'ks.cfg'), as: 'ks.cfg', text: `${lines.join('\n')}\n` };
}

/** The kickstart commands vmdeck writes and the options each takes (pykickstart's RHEL 9 / Fedora syntax). */
export const KICKSTART_COMMANDS: Record<string, readonly string[]> = {
  text: [],
  lang: [],
  keyboard: ['--vckeymap', '--xlayouts'],
  timezone: ['--utc'],
  network: ['--bootproto', '--device', '--ip', '--netmask', '--gateway', '--nameserver', '--hostname', '--activate'],
  url: ['--url'],
  rootpw: ['--lock', '--iscrypted'],
  user: ['--name', '--groups', '--iscrypted', '--password', '--lock'],
  sshkey: ['--username'],
  ignoredisk: ['--only-use'],
  zerombr: [],
  clearpart: ['--all', '--initlabel', '--drives'],
  autopart: [],
  bootloader: ['--boot-drive'],
  firstboot: ['--disable'],
  reboot: [],
};

/**
 * Checks a kickstart against the commands it uses: every command line is one
 * of KICKSTART_COMMANDS with only its options, sections are closed with %end,
 * and the commands an unattended install needs are there. null when it is fine.
 */
export function kickstartError(text: string): string | null {
  let section: string | null = null;
  const seen = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const at = `line ${i + 1}`;
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('%')) {
      const word = line.split(/\s+/)[0];
      if (word === '%end') {
        if (!section) return `${at}: %end without a section`;
        section = null;
      } else if (['%packages', '%pre', '%post'].includes(word)) {
        if (section) return `${at}: ${word} inside ${section} (missing %end)`;
        section = word;
      } else {
        return `${at}: unknown section '${word}'`;
      }
      continue;
    }
    if (section) continue;
    const [command, ...args] = line.match(/"[^"]*"|\S+/g)!;
    const options = KICKSTART_COMMANDS[command];
    if (!options) return `${at}: unknown kickstart command '${command}'`;
    for (const a of args) {
      if (!a.startsWith('--')) continue;
      const name = a.split('=')[0];
      if (!options.includes(name)) return `${at}: '${command}' has no option ${name}`;
    }
    seen.add(command);
  }
  if (section) return `${section} is not closed with %end`;
  for (const needed of ['lang', 'keyboard', 'timezone', 'rootpw', 'bootloader']) {
    if (!seen.has(needed)) return `the '${needed}' command is missing (an unattended install needs it)`;
  }
  return null;
}

/**
 * What an unattended install's account lacks to be logged in to: with
 * neither an SSH key nor a password hash, the seeds lock it (and root), so
 * nobody can log in to the installed system. Said, not refused: a seed may
 * be meant for a first boot that another tool finishes.
 */
export function accountWarning(spec: Pick<VmSpec, 'unattended' | 'vmUser' | 'sshKey' | 'passwordHash'>): string | null {
  if (!spec.unattended || spec.sshKey || spec.passwordHash) return null;
  return `unattended: the account '${spec.vmUser || DEFAULT_VMUSER}' gets neither an SSH key (SSHKEY) nor a password (PASSWORD_HASH): nobody can log in to the installed system`;
}

/**
 * What an unattended install writes and attaches, and the spec the config is
 * rendered from: a KERNEL install of a preseed boots the initrd with the
 * preseed added, and both KERNEL installs get the installer's options.
 */
export function seedPlan(input: SeedInput): { spec: VmSpec; plan: SeedPlan } | null {
  const { spec } = input;
  if (!spec.unattended) return null;
  const kernelInstall = spec.bootmode === 'KERNEL' || spec.instmode === 'KERNEL';
  const withAppend = (extra: string) => (spec.append.includes(extra) ? spec.append : `${spec.append} ${extra}`.trim());
  const bootCd = spec.bootmode === 'CD' || spec.bootmode === 'DVD';
  const cdInstall = (bootCd || spec.instmode === 'CD' || spec.instmode === 'DVD') && spec.instSrcCdrom !== '';
  // virt-install's --location ISO --initrd-inject: the CD's installer booted by kernel (boot
  // mode CD becomes KERNEL, install mode CD install mode KERNEL), the seed in its initrd.
  const cdPlan = (file: SeedFile, installer: CdInstaller, append: string): { spec: VmSpec; plan: SeedPlan } => {
    const cdrom = { iso: spec.instSrcCdrom, installer, kernel: seedName(spec.label, 'vmlinuz'), initrd: seedName(spec.label, 'initrd') };
    return {
      spec: { ...spec, kernel: cdrom.kernel, initrd: cdrom.initrd, append: withAppend(append), ...(bootCd ? { bootmode: 'KERNEL' as const } : { instmode: 'KERNEL' as const }) },
      plan: { kind: spec.unattended as Unattended, files: [file], cdrom, append },
    };
  };
  switch (spec.unattended) {
    case 'cloud-init': {
      const volume = { file: seedName(spec.label, 'iso'), label: 'cidata' as const };
      return { spec: { ...spec, seedImage: volume.file }, plan: { kind: 'cloud-init', files: cloudInitFiles(input), volume } };
    }
    case 'preseed': {
      const file = preseedFile(input);
      const pxeInstall = (spec.bootmode === 'PXE' || spec.instmode === 'PXE') && spec.netmode === 'user' && spec.pxeRoot !== '';
      if (!kernelInstall && pxeInstall) {
        // The user's tree is shared (and often a package's): the VM gets a tree of its own.
        const pxe = { label: spec.label, root: spec.pxeRoot, dir: seedName(spec.label, 'pxe'), append: pxePreseedAppend(spec) };
        return { spec: { ...spec, pxeRoot: pxe.dir }, plan: { kind: 'preseed', files: [file], pxe } };
      }
      if (!kernelInstall && !pxeInstall && cdInstall) {
        return cdPlan(file, debianCdInstaller(spec.arch), [`auto=true priority=critical hostname=${spec.label}`, serialInstaller(spec)].filter(Boolean).join(' '));
      }
      if (!kernelInstall || !spec.initrd) return { spec, plan: { kind: 'preseed', files: [file] } };
      // The installer reads /preseed.cfg from its initrd by itself.
      const initrd = { base: spec.initrd, file: seedName(spec.label, 'initrd') };
      const append = ['auto=true priority=critical', serialInstaller(spec)].filter(Boolean).join(' ');
      return { spec: { ...spec, initrd: initrd.file, append: withAppend(append) }, plan: { kind: 'preseed', files: [file], initrd, append } };
    }
    case 'kickstart': {
      // Anaconda reads /ks.cfg from its initrd's root with inst.ks=file:/ks.cfg, its packages off the CD.
      if (!kernelInstall && cdInstall) return cdPlan(kickstartFile(input), anacondaCdInstaller(), 'inst.ks=file:/ks.cfg inst.repo=cdrom');
      const volume = { file: seedName(spec.label, 'iso'), label: 'OEMDRV' as const };
      const append = 'inst.ks=hd:LABEL=OEMDRV:/ks.cfg';
      return {
        spec: { ...spec, seedImage: volume.file, append: kernelInstall ? withAppend(append) : spec.append },
        plan: { kind: 'kickstart', files: [kickstartFile(input)], volume, append: kernelInstall ? append : undefined },
      };
    }
  }
}

/** What the API may show of a seed: the password hash is never returned. */
export function redactSeed(text: string, passwordHash: string): string {
  return passwordHash ? text.split(passwordHash).join('(PASSWORD_HASH, not shown)') : text;
}

/** Who a VM is, as its seeds name it. */
export interface SeedIdentity {
  label: string;
  uuid: string;
  /** Each NIC's MAC. */
  macs: string[];
}

/** The seed files a clone gets under its own name, their names on a volume or in an initrd. */
export const SEED_TEXTS = ['user-data', 'meta-data', 'network-config', 'preseed.cfg', 'ks.cfg'] as const;

/**
 * A seed as vmdeck wrote it for `from`, rewritten for `to` (a clone): the
 * hostname, cloud-init's instance-id (a clone is a new instance, so
 * cloud-init runs again) and each NIC's MAC where the seed matches it. Only
 * the places vmdeck writes them change; a seed edited out of its form (a
 * cloud-init file that is no longer JSON) is given back as it was.
 */
export function reidentifySeed(as: string, text: string, from: SeedIdentity, to: SeedIdentity): string {
  const mac = (m: unknown) => {
    const i = typeof m === 'string' ? from.macs.findIndex((x) => x.toLowerCase() === m.toLowerCase()) : -1;
    return i >= 0 && to.macs[i] ? to.macs[i] : m;
  };
  const jsonDoc = (head: string, edit: (doc: Record<string, unknown>) => void) => {
    if (!text.startsWith(head)) return text;
    let doc: unknown;
    try {
      doc = JSON.parse(text.slice(head.length));
    } catch {
      return text;
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return text;
    edit(doc as Record<string, unknown>);
    return `${head}${json(doc)}`;
  };
  switch (as) {
    case 'user-data':
      return jsonDoc('#cloud-config\n', (doc) => {
        if (doc.hostname === from.label) doc.hostname = to.label;
      });
    case 'meta-data':
      return jsonDoc('', (doc) => {
        if (doc['instance-id'] === `vmdeck-${from.uuid}`) doc['instance-id'] = `vmdeck-${to.uuid}`;
        if (doc['local-hostname'] === from.label) doc['local-hostname'] = to.label;
      });
    case 'network-config':
      return jsonDoc('', (doc) => {
        const eths = doc.ethernets;
        if (!eths || typeof eths !== 'object') return;
        for (const eth of Object.values(eths as Record<string, { match?: { macaddress?: unknown } }>)) {
          if (eth?.match && typeof eth.match === 'object') eth.match.macaddress = mac(eth.match.macaddress);
        }
      });
    case 'preseed.cfg':
      return text.split('\n').map((line) => {
        const m = /^(# Debian installer preseed for VM |d-i netcfg\/(?:get_)?hostname string )([^\s,]+)(,.*)?$/.exec(line);
        return m && m[2] === from.label ? `${m[1]}${to.label}${m[3] ?? ''}` : line;
      }).join('\n');
    case 'ks.cfg':
      return text.split('\n').map((line) => {
        if (line === `# Kickstart for VM ${from.label}, written by vmdeck from its spec.`) return `# Kickstart for VM ${to.label}, written by vmdeck from its spec.`;
        if (!line.startsWith('network ')) return line;
        return line.split(' ').map((w) => {
          if (w === `--hostname=${from.label}`) return `--hostname=${to.label}`;
          if (w.startsWith('--device=')) return `--device=${mac(w.slice('--device='.length))}`;
          return w;
        }).join(' ');
      }).join('\n');
    default:
      return text;
  }
}

/** A kernel command line with the installer's hostname=FROM (what a CD or PXE preseed adds) made hostname=TO. */
export const reidentifyAppend = (append: string, from: string, to: string) =>
  append.split(' ').map((w) => (w === `hostname=${from}` ? `hostname=${to}` : w)).join(' ');
