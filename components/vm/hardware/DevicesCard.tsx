'use client';
// The VM's disks and NICs as lists (lib/hardware.ts), each with its Add
// form: on a running VM the server hot-plugs it and writes the config; on a
// stopped one it only writes the config (and makes a new disk image). Each
// disk's row grows it, sets its options or removes it (DiskRow); a NIC after
// the first is removed from its row. Each removal is asked about first.
import { useState } from 'react';
import { api, type VmDetail } from '../../api';
import { useConfirm } from '../../Confirm';
import { DiskRow } from './DiskRow';
import { useAction } from './useAction';

type Kind = 'disks' | 'nics';

export function DevicesCard({ kind, vm, onChanged }: { kind: Kind; vm: VmDetail; onChanged: () => void }) {
  const [value, setValue] = useState(kind === 'disks' ? '1G' : 'user');
  const { busy, error, done, act, clearError } = useAction(onChanged);
  const running = vm.state === 'running' || vm.state === 'paused';
  const title = kind === 'disks' ? 'Disks' : 'Network interfaces';
  const [dialog, ask] = useConfirm();
  const lastNic = Math.max(0, ...vm.nics.map((n) => n.index));

  const removeNic = async (n: number) => {
    const ok = await ask({
      title: `Remove NIC ${n} of ${vm.label}?`,
      body: running
        ? <p>The running guest loses this network interface at once, and the config no longer has it.</p>
        : <p>The config no longer has it{n < lastNic ? '; the NICs after it move down a number (their MACs go with them)' : ''}.</p>,
      confirm: `Remove NIC ${n}`,
    });
    if (!ok) return;
    await act(async () => {
      const r = await api.removeNic(vm.label, n);
      return `NIC ${n} removed${r.live ? ' from the running VM' : ''}`;
    });
  };

  const add = () => act(async () => {
    const r = kind === 'disks' ? await api.addDisk(vm.label, { size: value }) : await api.addNic(vm.label, { net: value });
    return `Added ${kind === 'disks' ? 'disk' : 'NIC'} ${r.device.index}${r.live ? ' to the running VM' : ''}: ${r.lines.join(' ')}${r.warning ? `. Warning: ${r.warning}` : ''}`;
  });

  return (
    <section aria-labelledby={`hw-list-${kind}`} data-card={`list-${kind}`} className="rounded border border-line bg-panel">
      <h2 id={`hw-list-${kind}`} className="border-b border-line px-3 py-1.5 text-xs font-semibold">{title}</h2>
      <table className="w-full text-xs">
        <tbody>
          {kind === 'disks'
            ? vm.disks.map((d) => <DiskRow key={d.index} vm={vm} disk={d} onChanged={onChanged} cardAct={act} ask={ask} />)
            : vm.nics.map((n) => (
              <tr key={n.index} className="border-b border-line last:border-0" data-nic={n.index}>
                <td className="px-3 py-1 tabular-nums">{n.index}</td><td className="px-2 font-mono">{n.model}</td><td className="px-2 font-mono">{n.mac}</td>
                <td className="w-full px-2">{n.netmode}{n.vdeSwitch ? `:${n.vdeSwitch}` : n.tapDevice ? `:${n.tapDevice}` : ''}</td>
                <td className="whitespace-nowrap px-2 text-right">
                  {n.index > 0 && (
                    <button type="button" className="btn btn-sm" aria-label={`Remove NIC ${n.index}`} disabled={busy || (running && n.index !== lastNic)}
                      title={running && n.index !== lastNic ? `Only the last NIC (${lastNic}) can be removed while the VM runs` : undefined}
                      onClick={() => void removeNic(n.index)}>Remove</button>
                  )}
                </td>
              </tr>
            ))}
        </tbody>
      </table>
      <div className="flex items-end gap-2 border-t border-line px-3 py-1.5">
        <div className="w-40">
          <label htmlFor={`hw-add-${kind}`} className="label">{kind === 'disks' ? 'New disk size' : 'Network (user, vde:SWITCH, tap:IF, none)'}</label>
          <input id={`hw-add-${kind}`} className="input font-mono" value={value} disabled={busy} onChange={(e) => { setValue(e.target.value); clearError(); }} />
        </div>
        <button type="button" className="btn btn-sm" disabled={busy || value === ''} onClick={() => void add()}>
          {kind === 'disks' ? 'Add disk' : 'Add NIC'}{running ? ' (live)' : ''}
        </button>
      </div>
      {error && <p role="alert" className="field-error px-3 pb-2">{error}</p>}
      {done && <p role="status" className="px-3 pb-2 text-xs text-muted">{done}</p>}
      {dialog}
    </section>
  );
}
