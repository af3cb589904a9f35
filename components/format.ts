// Small formatting helpers shared by the list and the VM page.
import type { VmInfo } from '@/lib/vm';

export function formatMemory(mib: number): string {
  if (!mib) return '—';
  if (mib >= 1024 && mib % 1024 === 0) return `${mib / 1024} GiB`;
  if (mib >= 1024) return `${(mib / 1024).toFixed(1)} GiB`;
  return `${mib} MiB`;
}

export function formatOs(vm: Pick<VmInfo, 'os' | 'osrel' | 'dist' | 'distrel'>): string {
  const os = [vm.os, vm.osrel].filter(Boolean).join(' ');
  const dist = [vm.dist, vm.distrel].filter(Boolean).join(' ');
  return [os, dist].filter(Boolean).join(' · ') || '—';
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** Whether the VM shows a screen (VNC or SDL display) that a thumbnail can capture. */
export function hasDisplay(vm: Pick<VmInfo, 'console'>): boolean {
  return vm.console === 'VNC' || vm.console === 'SDL';
}

export const byLabel = (a: { label: string }, b: { label: string }) =>
  a.label.localeCompare(b.label, undefined, { numeric: true, sensitivity: 'base' });

/** One shell word: quoted only when it needs to be. */
export function shellQuote(a: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** QEMU's command, one option and its value per line, as a person would write it. */
export function formatArgv(argv: string[]): string {
  const lines: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (i > 0 && a.startsWith('-') && i + 1 < argv.length && !argv[i + 1].startsWith('-')) {
      lines.push(`${shellQuote(a)} ${shellQuote(argv[i + 1])}`);
      i++;
    } else {
      lines.push(shellQuote(a));
    }
  }
  return lines.join(' \\\n  ');
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** A timestamp in the user's locale, to the minute. */
export function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}
