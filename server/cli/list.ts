// vmdeck list: ctys's LIST. The running VMs, however they were started.
import { nowAndNext, type VmInfo } from '../../lib/vm';
import { applyStatus, listRunning, vmStatus } from '../runner';
import { runtimeFacts } from '../runtime';
import { parseArgs, UsageError, type Io } from './args';

export const usage = 'vmdeck list [--json]                   the running VMs with pid, state, memory, CPUs and sockets';

const mib = (n: number) => (n ? `${n} MiB` : '?');
const cpus = (n: number) => `${n} CPU${n === 1 ? '' : 's'}`;

/**
 * Memory or CPUs as the VM runs with them, marked with * while the config
 * has another value for the next start (the dashboard's list shows both).
 */
function cell(vm: VmInfo, field: 'memsize' | 'smp'): string {
  const { now, next } = nowAndNext(vm, field);
  const text = field === 'memsize' ? mib(now) : now ? String(now) : '?';
  return next === undefined ? text : `${text}*`;
}

/** What a running VM's next start changes, as the dashboard's page says it; undefined when nothing waits. */
function pendingLine(vm: VmInfo): string | undefined {
  if (!vm.pending) return undefined;
  // Memory and CPUs where the next start changes them, each as QEMU runs with it and as the config says.
  const differ = ([['memsize', mib], ['smp', cpus]] as const)
    .map(([field, say]) => ({ say, ...nowAndNext(vm, field) }))
    .filter((d): d is { say: (n: number) => string; now: number; next: number } => d.next !== undefined);
  const what = vm.pending.variables.length ? vm.pending.variables.join(', ') : 'the config, edited by hand';
  return differ.length
    ? `${vm.label}: runs with ${differ.map((d) => d.say(d.now)).join(' and ')}; ${differ.map((d) => d.say(d.next)).join(' and ')} from the next start (changed: ${what})`
    : `${vm.label}: changed since its start, pending until the next start: ${what}`;
}

function uptime(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, [], ['json']);
  if (p.positional.length) throw new UsageError(`unexpected argument '${p.positional[0]}'`);
  const vms = await listRunning();
  const rows = await Promise.all(vms.map(async (vm) => {
    // A screen sample each time: `vmdeck list` tells a stuck guest also without a dashboard.
    const status = await vmStatus(vm, { sample: true });
    return { ...applyStatus(vm, status), console: status.console ?? vm.console, ...(await runtimeFacts(vm.label, status)) };
  }));
  if (p.flags.has('json')) {
    io.out(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    io.out('no VM is running\n');
    return 0;
  }
  const head = ['LABEL', 'STATE', 'PID', 'UP', 'MEMORY', 'CPUS', 'CONSOLE', 'SOCKETS (qmp, monitor, serial, vnc)'];
  // A warning's gist in the state column, its words beneath the table.
  const gist = (w: string) => (w.startsWith('no progress') ? 'no progress' : 'KVM error');
  const table = rows.map((r) => [r.label, r.warning ? `${r.state} (${gist(r.warning)})` : r.state, String(r.pid ?? '?'), r.startedAt ? uptime(Date.now() - r.startedAt) : '?', cell(r, 'memsize'), cell(r, 'smp'), r.console, `${r.runDir}/`]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  for (const r of [head, ...table]) io.out(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}\n`);
  for (const r of rows) if (r.warning) io.out(`${r.label}: ${r.warning}\n`);
  for (const r of rows) {
    const line = pendingLine(r);
    if (line) io.out(`${line}\n`);
  }
  return 0;
}
