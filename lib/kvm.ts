// Whether KVM can run guests here: decided from a probe guest, not from
// /dev/kvm opening. A /dev/kvm served by kvm_pvm (paravirtual KVM for hosts
// without VT-x, which runs only PVM guest kernels), broken nested
// virtualization or a kvm module loaded without the CPU feature all open the
// device and then hang every ordinary guest. Pure: the facts come in, the
// verdict and its one line go out (server/kvm-probe.ts gathers the facts).

/** What opening /dev/kvm read+write gave. */
export type KvmDevice =
  | { kind: 'missing' }
  | { kind: 'refused'; code: string }
  | { kind: 'opens' };

/** How the probe guest (lib/kvm-probe-image.ts) ended under -accel kvm. */
export type ProbeOutcome =
  /** It reached long mode and said so: KVM runs guests. */
  | { kind: 'ok'; ms: number }
  /** No answer within the time; `stage` is the last stage mark it printed ('' for none). */
  | { kind: 'stuck'; stage: string; ms: number }
  /** It ended, but not with the probe's answer. */
  | { kind: 'wrong'; exitCode: number | null; output: string }
  /** QEMU itself refused -accel kvm (its first complaint). */
  | { kind: 'qemu-refused'; message: string }
  /** No probe guest for this host's architecture. */
  | { kind: 'unprobed'; arch: string };

export interface KvmFacts {
  device: KvmDevice;
  /** The kvm modules loaded (/sys/module/kvm*), e.g. ['kvm', 'kvm_intel']. */
  modules: string[];
  /** Absent when the device does not open (nothing to probe). */
  probe?: ProbeOutcome;
}

export interface KvmVerdict {
  usable: boolean;
  /** One line for `vmdeck check` and the host page: what was seen and what follows. */
  detail: string;
  /** What was seen, for a VM set to KVM (its wrapper's --check says it). */
  reason: string;
  fix?: string;
}

const EMULATED = 'VMs run emulated (ACCELERATOR=QEMU)';

/** What a module is known for, where that explains a failed probe. */
function moduleNote(modules: string[]): string {
  if (modules.includes('kvm_pvm')) return 'kvm_pvm: runs only PVM guest kernels';
  const vendor = modules.find((m) => m === 'kvm_intel' || m === 'kvm_amd');
  return vendor ? `${vendor} loaded` : 'no kvm_intel or kvm_amd module';
}

/** What the probe's last stage mark (scripts/kvm-probe/x86_64.S) says about where it stopped. */
const STAGES: Record<string, string> = {
  '': 'it never reached its first instruction',
  R: 'it stopped in real mode',
  P: 'it stopped in protected mode, before long mode',
  L: 'it reached long mode, then hung at its first exception',
  I: 'it hung at its first page fault',
  F: 'it stopped after its page fault, before reporting',
};

export function decideKvm(facts: KvmFacts): KvmVerdict {
  const { device, modules, probe } = facts;
  const no = (reason: string, fix?: string, slower = ''): KvmVerdict => ({ usable: false, reason, detail: `${reason}: ${EMULATED}${slower}`, fix });
  if (device.kind === 'missing') {
    return no('/dev/kvm: not present', 'enable virtualization in the firmware and load kvm_intel or kvm_amd', ', much slower');
  }
  if (device.kind === 'refused') {
    return no(`/dev/kvm: cannot be opened (${device.code})`, 'add the user to group kvm (then log in again)', ', much slower');
  }
  if (!probe) return no('/dev/kvm: opens, but was not tried with a test guest');
  const yes = (reason: string): KvmVerdict => ({ usable: true, reason, detail: `${reason}: VMs get ACCELERATOR=KVM` });
  switch (probe.kind) {
    case 'ok':
      return yes(`/dev/kvm: a test guest runs under it (${probe.ms} ms)`);
    case 'unprobed':
      // No probe guest for this architecture yet: the device opening is all there is to go by.
      return yes(`/dev/kvm: opens (no test guest for ${probe.arch} hosts, not tried)`);
    case 'stuck':
      return no(
        `/dev/kvm: opens, but a test guest does not run under it (${moduleNote(modules)}; ${STAGES[probe.stage] ?? STAGES['']} in ${Math.round(probe.ms / 1000)} s)`,
        'a host with VT-x/AMD-V and kvm_intel or kvm_amd runs guests under KVM',
      );
    case 'wrong':
      return no(`/dev/kvm: opens, but a test guest runs wrongly under it (exit ${probe.exitCode ?? 'by signal'}${probe.output ? `, printed '${probe.output.slice(0, 60)}'` : ''}; ${moduleNote(modules)})`);
    case 'qemu-refused':
      return no(`/dev/kvm: opens, but QEMU cannot use it (${probe.message})`);
  }
}

/**
 * How the probe's run ended, from what QEMU left: its exit code (null when
 * killed at the time limit), what the probe printed on COM1 and QEMU's stderr.
 */
export function probeOutcome(r: { exitCode: number | null; timedOut: boolean; serial: string; stderr: string; ms: number }): ProbeOutcome {
  const marks = r.serial.replace(/vmdeck-kvm-probe:[^\n]*\n?/, '').replace(/[^RPLIF]/g, '');
  if (r.exitCode === 99 && r.serial.includes('vmdeck-kvm-probe: long mode')) return { kind: 'ok', ms: r.ms };
  if (r.timedOut) return { kind: 'stuck', stage: marks.slice(-1), ms: r.ms };
  // QEMU's own complaint (not its warnings about CPU features) means it never ran the probe.
  const complaint = r.stderr.split('\n').map((l) => l.trim()).find((l) => l && !/warning:/i.test(l));
  if (complaint && !r.serial) return { kind: 'qemu-refused', message: complaint.replace(/^qemu-system-[^:]*: /, '') };
  return { kind: 'wrong', exitCode: r.exitCode, output: r.serial.trim() };
}

// The verdict is cached per host boot and kvm modules, in the runtime root:
// a small key=value file that the wrappers read too (their --check of a VM set
// to KVM refuses with the same line), so both sides compute the same key.

/** The cache key: the boot id and the loaded kvm modules, in C order. */
export function probeKey(bootId: string, modules: string[]): string {
  return `${bootId.trim()} ${[...modules].sort().join(',')}`;
}

export function renderProbeCache(key: string, v: KvmVerdict): string {
  const one = (s: string) => s.replace(/[\r\n]+/g, ' ');
  return `key=${one(key)}\nusable=${v.usable ? 'yes' : 'no'}\nreason=${one(v.reason)}\ndetail=${one(v.detail)}\n${v.fix ? `fix=${one(v.fix)}\n` : ''}`;
}

export function parseProbeCache(text: string): { key: string; verdict: KvmVerdict } | null {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1));
  }
  const key = kv.get('key');
  const usable = kv.get('usable');
  const detail = kv.get('detail');
  const reason = kv.get('reason');
  if (!key || (usable !== 'yes' && usable !== 'no') || !detail || !reason) return null;
  return { key, verdict: { usable: usable === 'yes', detail, reason, fix: kv.get('fix') } };
}
