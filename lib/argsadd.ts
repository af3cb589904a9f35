// What ARGSADD may carry when it comes from the dashboard or its API (a hand
// edit of a config stays free, as in ctys). Only options that cannot run a
// program (-incoming exec:, migrate), open or write a host file (-drive,
// -chardev file|pipe, romfile=, -D, dumpdtb=), listen on the network (-vnc,
// -display, -netdev) or change QEMU's own sockets and monitors (-qmp,
// -monitor, -serial, -nographic). Each option's value is QEMU's "a,k=v,k=v"
// with known keys only, and no value may hold '/', so it names no path.

type Rule =
  | { kind: 'flag' }
  | { kind: 'list'; positional?: RegExp; keys: string[] };

const WORD = /^[A-Za-z0-9_.:+-]*$/;

const list = (keys: string[], positional?: RegExp): Rule => ({ kind: 'list', keys, positional });
const flag: Rule = { kind: 'flag' };

/** Devices that open no host file and reach no host device (no romfile, drive, chardev or netdev keys either). */
export const ARGSADD_DEVICES = [
  'usb-tablet', 'usb-kbd', 'usb-mouse', 'qemu-xhci', 'nec-usb-xhci', 'usb-ehci', 'ich9-usb-ehci1', 'piix3-usb-uhci',
  'virtio-rng-pci', 'virtio-balloon-pci', 'virtio-keyboard-pci', 'virtio-tablet-pci', 'virtio-mouse-pci',
  'i6300esb', 'ib700', 'pvpanic', 'pci-bridge', 'virtio-scsi-pci',
];

export const MACHINE_KEYS = ['accel', 'usb', 'vmport', 'kernel_irqchip', 'smm', 'hpet', 'graphics', 'dump-guest-core', 'mem-merge', 'gic-version', 'highmem', 'acpi', 'pic', 'pit', 'sata', 'type'];

export const ARGSADD_OPTIONS: Record<string, Rule> = {
  '-no-reboot': flag,
  '-no-shutdown': flag,
  '-no-hpet': flag,
  '-usb': flag,
  '-enable-kvm': flag,
  '-snapshot': flag,
  '-rtc': list(['base', 'clock', 'driftfix']),
  '-boot': list(['order', 'once', 'menu', 'strict', 'reboot-timeout', 'splash-time'], /^[a-z]+$/),
  '-device': list(['id', 'bus', 'addr', 'port', 'bootindex', 'multifunction', 'vectors', 'num_queues', 'chassis_nr'], new RegExp(`^(${ARGSADD_DEVICES.join('|')})$`)),
  '-smbios': list(['type', 'vendor', 'version', 'date', 'release', 'manufacturer', 'product', 'serial', 'uuid', 'sku', 'family', 'uefi']),
  '-vga': list([], /^(std|cirrus|vmware|qxl|virtio|none)$/),
  '-k': list([], /^[a-z]{2}(-[a-z]{2,3})?$/),
  '-cpu': list([], /^[A-Za-z0-9_.+=-]+$/),
  '-smp': list(['cpus', 'sockets', 'cores', 'threads', 'maxcpus', 'dies', 'clusters'], /^\d+$/),
  '-m': list(['size', 'slots', 'maxmem'], /^\d+[KMGT]?$/),
  '-machine': list(MACHINE_KEYS, /^[A-Za-z0-9_.-]+$/),
  '-accel': list(['thread', 'tb-size'], /^(kvm|tcg)$/),
  '-watchdog-action': list([], /^(reset|shutdown|poweroff|pause|debug|none|inject-nmi)$/),
  '-overcommit': list(['mem-lock', 'cpu-pm']),
  '-msg': list(['timestamp', 'guest-name']),
};

/** Why one "a,k=v" value of option is refused, or null. */
function valueError(option: string, rule: Extract<Rule, { kind: 'list' }>, value: string): string | null {
  if (value.includes(',,')) return `'${option} ${value}': ',,' (an escaped comma) is not allowed here`;
  const parts = value.split(',');
  for (const [i, part] of parts.entries()) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (i === 0 && rule.positional?.test(part)) continue;
      return `'${option} ${value}': '${part}' is not allowed here${rule.positional ? '' : ' (give key=value)'}`;
    }
    const key = part.slice(0, eq);
    const v = part.slice(eq + 1);
    if (!rule.keys.includes(key)) return `'${option} ${value}': the key '${key}' is not allowed (allowed: ${rule.keys.join(', ') || 'none'})`;
    if (!WORD.test(v)) return `'${option} ${value}': '${v}' may hold only letters, digits and . _ : + - (no paths)`;
  }
  return null;
}

/**
 * The first problem of an ARGSADD list given through the API, as
 * "argsAdd: …", or null. Hand-edited configs are not checked.
 */
export function argsAddError(args: readonly string[]): string | null {
  const allowed = Object.keys(ARGSADD_OPTIONS).join(' ');
  for (let i = 0; i < args.length; i++) {
    const option = args[i];
    const rule = Object.hasOwn(ARGSADD_OPTIONS, option) ? ARGSADD_OPTIONS[option] : undefined;
    if (!rule) {
      return `argsAdd: '${option}' is not an option the dashboard may add (allowed: ${allowed}); others go into the config by hand`;
    }
    if (rule.kind === 'flag') continue;
    const value = args[i + 1];
    if (value === undefined) return `argsAdd: '${option}' needs a value`;
    const problem = valueError(option, rule, value);
    if (problem) return `argsAdd: ${problem}`;
    i++;
  }
  return null;
}

/** The machine field from the API: a type and known keys only (dumpdtb= writes a file, dtb= reads one). */
export function machineError(machine: string): string | null {
  if (machine === '') return null;
  const problem = valueError('-machine', ARGSADD_OPTIONS['-machine'] as Extract<Rule, { kind: 'list' }>, machine);
  return problem ? `machine: ${problem}` : null;
}
