// What `vmdeck check` and GET /api/host say about the host, and which guests
// KVM can run on it: shared by the server, the CLI and the wizard.

export interface CheckItem {
  name: string;
  ok: boolean;
  /** A missing needed item makes `vmdeck check` exit 1. */
  needed: boolean;
  detail: string;
  fix?: string;
}

export interface HostReport {
  ok: boolean;
  /** /dev/kvm is there and usable. */
  kvm: boolean;
  /** The host's architecture in QEMU's words (x86_64, aarch64, …). */
  arch: string;
  items: CheckItem[];
}

/** Node's process.arch in QEMU's words. */
export function qemuArch(nodeArch: string): string {
  return ({ x64: 'x86_64', ia32: 'i386', arm64: 'aarch64', arm: 'arm', ppc64: 'ppc64', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[nodeArch] ?? nodeArch;
}

/** KVM runs guests of the host's own architecture only (and 32-bit x86 on x86_64). */
export function kvmRuns(hostArch: string, guestArch: string): boolean {
  return guestArch === hostArch || (hostArch === 'x86_64' && guestArch === 'i386');
}
