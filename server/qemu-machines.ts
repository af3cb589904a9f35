// The machine types a QEMU binary has (`qemu-system-X -machine help`), so that
// a MACHINE it does not have is refused when it is written (create, set), in
// a line naming it, not at the next start in QEMU's words.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './proc';

/**
 * Per binary, its file's change time and the list asked (-machine or -cpu):
 * the names QEMU lists (aliases too). An upgraded QEMU is asked again; one
 * that could not be asked (not installed yet, timed out on a busy host) is
 * asked again next time.
 */
const known = new Map<string, Promise<Set<string> | null>>();

async function namesOf(qemu: string, list: '-machine' | '-cpu'): Promise<Set<string> | null> {
  const path = qemu.includes('/') ? qemu : await which(qemu);
  if (!path) return null;
  const changed = await stat(path).then((st) => st.ctimeMs, () => undefined);
  if (changed === undefined) return null;
  const key = `${path}\0${changed}\0${list}`;
  let p = known.get(key);
  if (!p) {
    p = run(path, [list, 'help'], { timeout: 10000 }).then(({ stdout }) => {
      // Its first block, after the heading: "pc-i440fx-7.2  Standard PC …", "x86 Broadwell  (alias …)", "  cortex-a57".
      const block = stdout.split(/\n\s*\n/)[0].split('\n').slice(1);
      const names = block.flatMap((l) => {
        const words = l.trim().split(/\s+/);
        // -cpu help names the architecture first on some targets (x86 486): both words count.
        return list === '-cpu' ? words.slice(0, 2) : words.slice(0, 1);
      }).filter(Boolean);
      return names.length ? new Set(names) : null;
    }, () => null);
    known.set(key, p);
    p.then((names) => { if (!names) known.delete(key); }, () => known.delete(key));
  }
  return p;
}

/** The file PATH finds for a command name, or undefined. */
async function which(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const path = join(dir, name);
    if (await access(path, constants.X_OK).then(() => true, () => false)) return path;
  }
  return undefined;
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
  const names = await namesOf(qemu, '-machine');
  if (!names || names.has(type)) return null;
  const common = ['pc', 'q35', 'virt', 'microvm'].filter((n) => names.has(n));
  const some = (common.length ? common : [...names].slice(0, 4)).join(', ');
  return `machine: '${type}' is not a machine type of ${qemu} (such as ${some}; ${qemu} -machine help lists them all)`;
}

/**
 * Why QEMU would refuse this CPU model, or null: it has the model (features
 * after it, `max,-pdpe1gb`, are QEMU's to judge), or none is named, or no
 * binary is named (qemu '') or it cannot be asked. `host` needs KVM: under
 * TCG QEMU refuses it.
 */
/** The QEMUs whose `-cpu help` this reads right (a heading line, names one word each, as QEMU takes them); the others list theirs in shapes of their own (quoted, with spaces, in another case). */
const CPU_LISTS_READ = /(^|\/)qemu-system-(x86_64|i386|aarch64|arm|s390x)$/;

export async function cpuError(qemu: string, cpu: string, accelerator: string): Promise<string | null> {
  const model = cpu.split(',')[0];
  if (!model) return null;
  if (model === 'host' && accelerator.toUpperCase() !== 'KVM') return "cpu: 'host' needs KVM (ACCELERATOR=KVM); under TCG take 'max', or a model QEMU lists";
  if (!qemu || !CPU_LISTS_READ.test(qemu)) return null;
  const names = await namesOf(qemu, '-cpu');
  if (!names || names.has(model)) return null;
  const common = ['max', 'qemu64', 'host', 'cortex-a57'].filter((n) => names.has(n));
  return `cpu: '${model}' is not a CPU model of ${qemu} (such as ${common.join(', ') || [...names].slice(0, 4).join(', ')}; ${qemu} -cpu help lists them all)`;
}
