// The machine types a QEMU binary has (`qemu-system-X -machine help`), so that
// a MACHINE it does not have is refused when it is written (create, set), in
// a line naming it, not at the next start in QEMU's words.
import { run } from './proc';

/** Per binary: its machine types (aliases too), or null when it could not be asked. */
const known = new Map<string, Promise<Set<string> | null>>();

function machinesOf(qemu: string): Promise<Set<string> | null> {
  let p = known.get(qemu);
  if (!p) {
    p = run(qemu, ['-machine', 'help'], { timeout: 10000 }).then(({ stdout }) => {
      const names = stdout.split('\n').slice(1).map((l) => l.split(/\s+/)[0]).filter(Boolean);
      return names.length ? new Set(names) : null;
    }, () => null);
    known.set(qemu, p);
  }
  return p;
}

/** The machine type of a MACHINE value: `q35`, `q35,smm=on`, `type=q35,accel=kvm`; '' when it names none. */
const typeOf = (machine: string): string => {
  const parts = machine.split(',');
  if (!parts[0].includes('=')) return parts[0];
  return parts.find((p) => p.startsWith('type='))?.slice(5) ?? '';
};

/**
 * Why QEMU would refuse this MACHINE, or null: it has the type, or none is
 * named, or no binary is named or it cannot be asked (a missing QEMU is said elsewhere).
 */
export async function machineError(qemu: string, machine: string): Promise<string | null> {
  const type = typeOf(machine);
  if (!type || type === 'help') return type === 'help' ? `machine: 'help' is not a machine type (${qemu} -machine help lists them)` : null;
  if (!qemu) return null;
  const names = await machinesOf(qemu);
  if (!names || names.has(type)) return null;
  const common = ['pc', 'q35', 'virt', 'microvm'].filter((n) => names.has(n));
  const some = (common.length ? common : [...names].slice(0, 4)).join(', ');
  return `machine: '${type}' is not a machine type of ${qemu} (such as ${some}; ${qemu} -machine help lists them all)`;
}
