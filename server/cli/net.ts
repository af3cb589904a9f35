// vmdeck net: ctys-setupVDE. VDE switches that VMs join with NETMODE=vde
// QEMUSOCK=<NAME>; as root also connected to a TAP device and a bridge.
import { cancelSwitch, createSwitch, listSwitches, switchInfo, type SwitchInfo } from '../net';
import { flagString, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck net create NAME [--tap IFACE [--bridge BR]] [--dhcp | --pxe DIR [--bootfile F]] [--json]
                                         starts VDE switch NAME (ctys-setupVDE); VMs join it with
                                         NETMODE=vde QEMUSOCK=NAME; --tap (root) connects it to a
                                         TAP device, --bridge enslaves that to a bridge; --dhcp
                                         runs a DHCP/NAT server on it, --pxe also serves the TFTP
                                         tree DIR (F, default pxelinux.0, is offered by DHCP)
vmdeck net cancel NAME [--force] [--json] stops it (refused while VMs are on it, unless --force)
vmdeck net info NAME [--json]            its ports and the VMs on them
vmdeck net list [--json]                 every switch with its ports and VMs`;

function table(rows: string[][], io: Io): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) io.out(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}\n`);
}

const dash = (s: string | number | null | undefined) => (s === null || s === undefined || s === '' ? '-' : String(s));

function printInfo(s: SwitchInfo, io: Io): void {
  io.out(`switch ${s.name}: ${s.state === 'running' ? `running (pid ${s.pid})` : 'not running (stale files; vmdeck net cancel clears them)'}\n`);
  io.out(`  directory:  ${s.dir}   (VMs: NETMODE=vde QEMUSOCK=${s.name})\n`);
  io.out(`  management: ${s.mgmt}\n`);
  if (s.tap) io.out(`  tap:        ${s.tap}${s.bridge ? ` (bridge ${s.bridge})` : ''}\n`);
  if (s.boot) io.out(`  boot:       DHCP${s.boot.pxe ? `, PXE ${s.boot.bootfile} from ${s.boot.pxe}` : ''} (${s.boot.pid === null ? 'not running' : `pid ${s.boot.pid}`})\n`);
  if (s.problem) io.out(`  problem:    ${s.problem}\n`);
  if (s.state !== 'running') return;
  if (!s.ports.length) {
    io.out('  no ports in use\n');
    return;
  }
  table([
    ['PORT', 'KIND', 'VM', 'PID', 'CLIENT', 'MACS'],
    ...s.ports.map((p) => [String(p.port), p.kind, dash(p.vm), dash(p.pid), dash(p.descr), dash(p.macs.join(','))]),
  ], io);
}

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['tap', 'bridge', 'pxe', 'bootfile'], ['force', 'json', 'dhcp']);
  const [action, name, ...extra] = p.positional;
  const json = p.flags.has('json');
  const out = (v: unknown) => io.out(`${JSON.stringify(v, null, 2)}\n`);
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const needName = () => {
    if (!name) throw new UsageError(`net ${action} needs a switch NAME`);
    return name;
  };
  const only = (allowed: string[]) => {
    for (const flag of p.flags.keys()) {
      if (!allowed.includes(flag)) throw new UsageError(`--${flag} does not go with net ${action}`);
    }
  };
  switch (action) {
    case 'create': {
      only(['tap', 'bridge', 'json', 'dhcp', 'pxe', 'bootfile']);
      const s = await createSwitch(needName(), {
        tap: flagString(p, 'tap'), bridge: flagString(p, 'bridge'),
        dhcp: p.flags.has('dhcp'), pxe: flagString(p, 'pxe'), bootfile: flagString(p, 'bootfile'),
      });
      if (json) out(s);
      else {
        io.out(`created switch '${s.name}' (pid ${s.pid})${s.tap ? ` on TAP device ${s.tap}${s.bridge ? ` in bridge ${s.bridge}` : ''}` : ''}\n`);
        io.out(`  VMs join it with NETMODE=vde QEMUSOCK=${s.name}   (directory ${s.dir})\n`);
      }
      return 0;
    }
    case 'cancel': {
      only(['force', 'json']);
      const r = await cancelSwitch(needName(), { force: p.flags.has('force') });
      if (json) out(r);
      else {
        io.out(`cancelled switch '${r.name}'\n`);
        if (r.detached.length) io.out(`  cut off: ${r.detached.join(', ')}\n`);
        if (r.removed.length) io.out(`  removed: ${r.removed.join(', ')}\n`);
      }
      return 0;
    }
    case 'info': {
      only(['json']);
      const s = await switchInfo(needName());
      if (json) out(s);
      else printInfo(s, io);
      return 0;
    }
    case 'list': {
      only(['json']);
      const all = name ? [await switchInfo(name)] : await listSwitches();
      if (json) {
        out(all);
        return 0;
      }
      if (!all.length) {
        io.out('no VDE switches (make one: vmdeck net create NAME)\n');
        return 0;
      }
      table([
        ['NAME', 'STATE', 'PID', 'PORTS', 'TAP', 'VMS'],
        ...all.map((s) => [
          s.name, s.state, dash(s.pid), String(s.ports.length),
          s.tap ? `${s.tap}${s.bridge ? `@${s.bridge}` : ''}` : '-', dash(s.vms.join(', ')),
        ]),
      ], io);
      return 0;
    }
    default:
      throw new UsageError(action ? `unknown action '${action}' (create, cancel, info or list)` : 'net needs an action: create, cancel, info or list');
  }
}
