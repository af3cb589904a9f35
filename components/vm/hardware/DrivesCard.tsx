'use client';
// The VM's CD/DVD drives beside drive 0 and its floppies A and B
// (lib/hardware.ts): each with the image in it, changed or ejected in place
// (live on a running VM, and written to the config), and an Add for a new
// CD/DVD drive (pending on a running VM: QEMU plugs no IDE drive live).
import { useState } from 'react';
import { api, type VmDetail } from '../../api';
import { useAction } from './useAction';

export function DrivesCard({ vm, onChanged }: { vm: VmDetail; onChanged: () => void }) {
  const drives = [
    ...vm.cds.map((d) => ({ drive: `cd${d.index}`, what: `CD/DVD ${d.index} (${d.interface})`, file: d.file })),
    ...vm.floppies.map((f) => ({ drive: `fd${f.drive.toLowerCase()}`, what: `Floppy ${f.drive}`, file: f.file })),
  ];
  const [draft, setDraft] = useState<Record<string, string>>({});
  const { busy, error, done, act: run, clearError } = useAction(onChanged);
  const act = (what: () => Promise<string>) => run(async () => {
    const line = await what();
    setDraft({});
    return line;
  });
  const change = (drive: string, path: string) => act(async () => {
    const r = await api.changeDrive(vm.label, drive, path);
    return `${drive}: ${r.file || 'empty'}${r.live ? ' (live)' : r.pending ? ' (pending until the next start)' : ''}: ${r.lines.join(' ')}`;
  });
  const add = () => act(async () => {
    const r = await api.addCd(vm.label, {});
    return `Added CD/DVD drive ${r.device.index}${r.pending ? ' (pending until the next start)' : ''}: ${r.lines.join(' ')}`;
  });

  return (
    <section aria-labelledby="hw-list-drives" data-card="list-drives" className="rounded border border-line bg-panel">
      <h2 id="hw-list-drives" className="border-b border-line px-3 py-1.5 text-xs font-semibold">CD/DVD drives and floppies</h2>
      <table className="w-full text-xs">
        <tbody>
          {drives.map((d) => (
            <tr key={d.drive} data-drive={d.drive} className="border-b border-line last:border-0">
              <td className="px-3 py-1 font-mono">{d.drive}</td><td className="px-2">{d.what}</td>
              <td className="px-2">
                <input aria-label={`Image in ${d.drive}`} className="input font-mono" value={draft[d.drive] ?? d.file} disabled={busy}
                  onChange={(e) => { setDraft((x) => ({ ...x, [d.drive]: e.target.value })); clearError(); }} />
              </td>
              <td className="whitespace-nowrap px-2">
                <button type="button" className="btn btn-sm" disabled={busy || !(draft[d.drive] ?? '')} onClick={() => void change(d.drive, draft[d.drive])}>Change</button>{' '}
                <button type="button" className="btn btn-sm" disabled={busy || d.file === ''} onClick={() => void change(d.drive, '')}>Eject</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="flex items-center gap-2 border-t border-line px-3 py-1.5">
        <button type="button" className="btn btn-sm" disabled={busy} onClick={() => void add()}>Add CD/DVD drive</button>
        <span className="text-xs text-muted">Drive 0 is in the CD/DVD menu; floppies: <span className="font-mono">vmdeck cd {vm.label} change fda IMAGE</span></span>
      </div>
      {error && <p role="alert" className="field-error px-3 pb-2">{error}</p>}
      {done && <p role="status" className="px-3 pb-2 text-xs text-muted">{done}</p>}
    </section>
  );
}
