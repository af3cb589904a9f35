// vmdeck list: ctys's LIST. The running VMs, however they were started.
import { applyStatus, listRunning, vmStatus } from '../runner';
import { runtimeFacts } from '../runtime';
import { parseArgs, UsageError, type Io } from './args';

export const usage = 'vmdeck list [--json]                   the running VMs with pid, state and sockets';

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
  const head = ['LABEL', 'STATE', 'PID', 'UP', 'CONSOLE', 'SOCKETS (qmp, monitor, serial, vnc)'];
  // A warning's gist in the state column, its words beneath the table.
  const gist = (w: string) => (w.startsWith('no progress') ? 'no progress' : 'KVM error');
  const table = rows.map((r) => [r.label, r.warning ? `${r.state} (${gist(r.warning)})` : r.state, String(r.pid ?? '?'), r.startedAt ? uptime(Date.now() - r.startedAt) : '?', r.console, `${r.runDir}/`]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  for (const r of [head, ...table]) io.out(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}\n`);
  for (const r of rows) if (r.warning) io.out(`${r.label}: ${r.warning}\n`);
  return 0;
}
