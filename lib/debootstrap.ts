// debootstrap installs (ctys-createConfVM's first install column): a Debian
// system built from the host's package archive with mmdebstrap into an ext4
// disk image, booted in KERNEL mode with the kernel and initrd kept beside
// the VM (no boot loader or partition table to install: mkfs.ext4 -d fills
// the file system without mounting anything). Pure: server/debootstrap.ts runs it.

/** The Debian releases vmdeck builds, by number and by name. */
export const DEBIAN_RELEASES: Record<string, string> = {
  11: 'bullseye', bullseye: 'bullseye',
  12: 'bookworm', bookworm: 'bookworm',
  13: 'trixie', trixie: 'trixie',
};

/**
 * Ubuntu's releases, by number and by name: known, so that they are refused
 * saying why. mmdebstrap takes the suite from this host's apt sources, which
 * hold Debian's archive only; an Ubuntu suite would need Ubuntu's archive as
 * its mirror, ubuntu-keyring and another kernel package (docs/INSTALL.md).
 */
export const UBUNTU_RELEASES: Record<string, string> = {
  '20.04': 'focal', focal: 'focal',
  '22.04': 'jammy', jammy: 'jammy',
  '24.04': 'noble', noble: 'noble',
  '24.10': 'oracular', oracular: 'oracular',
  '25.04': 'plucky', plucky: 'plucky',
};

const CAN_BUILD = '12 or bookworm, 13 or trixie, 11 or bullseye';

/** The suite of a DISTREL, or the one-line refusal. */
export function debianSuite(distrel: string): { suite: string } | { error: string } {
  const name = (distrel || '12').toLowerCase();
  const suite = DEBIAN_RELEASES[name];
  if (suite) return { suite };
  const ubuntu = UBUNTU_RELEASES[name] ?? UBUNTU_RELEASES[name.replace(/^ubuntu[- ]?/, '')];
  if (ubuntu) {
    return { error: `distrel: '${distrel}' is Ubuntu ${ubuntu}: vmdeck builds Debian releases only, from this host's apt sources (${CAN_BUILD})` };
  }
  return { error: `distrel: '${distrel}' is not a Debian release vmdeck can build (${CAN_BUILD})` };
}

/** What the image has: a kernel, systemd, a serial getty (systemd's, on console=ttyS0), SSH, cloud-init. */
export const DEBOOTSTRAP_PACKAGES = [
  'linux-image-cloud-amd64', 'initramfs-tools', 'systemd-sysv', 'udev', 'openssh-server', 'cloud-init',
  'netbase', 'iproute2', 'ifupdown', 'isc-dhcp-client', 'sudo',
  // systemd-logind, which powers off at the ACPI power button (vmdeck cancel, Shut down), runs only with D-Bus.
  'dbus',
] as const;

export const ROOT_LABEL = 'vmdeck-root';

/** A debootstrap VM's kernel and initrd, kept beside its config (delete takes them with the VM). */
export const debootstrapBootFiles = (label: string) => ({ kernel: `${label}.vmlinuz`, initrd: `${label}.initrd.img` });

/** The spec values of a debootstrap VM: its own disk, booted in KERNEL mode, reachable through its cloud-init seed. */
export function debootstrapValues(label: string, distrel: string): Record<string, unknown> {
  return {
    dist: 'Debian', distrel: distrel || '12', os: 'Linux',
    disk: `${label}.raw`, diskFormat: 'raw', diskIf: 'virtio',
    bootmode: 'KERNEL', ...debootstrapBootFiles(label),
    append: `root=LABEL=${ROOT_LABEL} rw console=tty0 console=ttyS0,115200`,
    unattended: 'cloud-init',
  };
}

/** mmdebstrap's arguments: the suite from the host's own apt sources (no mirror given). */
export function mmdebstrapArgs(suite: string, tree: string, mode: 'root' | 'unshare'): string[] {
  return [`--mode=${mode}`, '--variant=apt', `--include=${DEBOOTSTRAP_PACKAGES.join(',')}`,
    // The image gets its hostname and network from cloud-init (the NoCloud seed), matched by MAC.
    // C.UTF-8, which every Debian has: cloud-init's locale module failed at each boot on en_US.UTF-8, never generated here.
    '--customize-hook=printf "datasource_list: [ NoCloud, None ]\\nlocale: C.UTF-8\\n" > "$1/etc/cloud/cloud.cfg.d/90-vmdeck.cfg"',
    `--customize-hook=echo "LABEL=${ROOT_LABEL} / ext4 defaults 0 1" > "$1/etc/fstab"`,
    suite, tree];
}
