'use client';
// The VM's CD/DVD drives beside drive 0 and its floppies A and B
// (lib/hardware.ts): each with the image in it, changed or ejected in place
// (live on a running VM, and written to the config), an Add for a new
// CD/DVD drive and a Remove for each (pending on a running VM: QEMU plugs no
// IDE drive live). A PC's floppy drives A and B are always listed, empty
// until an image is put in. The images of the media library are offered as
// the field's suggestions; a path can be typed all the same.
import { useState } from 'react';
import { api, type VmDetail } from '../../api';
import { useMediaLibrary } from '../../media/MediaLibrary';
import { useAction } from './useAction';

/** A PC (x86) has a floppy controller; the Arm, RISC-V, … boards QEMU gives a VM have none. */
const hasFloppies = (vm: VmDetail) => !/^(aarch64|arm|riscv|ppc|s390|mips|sparc|loongarch)/i.test(vm.arch);

export function DrivesCard({ vm, onChanged }: { vm: VmDetail; onChanged: () => void }) {
  const floppy = (d: 'A' | 'B') => vm.floppies.find((f) => f.drive === d)?.file ?? '';
  const drives = [
    ...vm.cds.map((d) => ({ drive: `cd${d.index}`, cd: d.index, what: `CD/DVD ${d.index} (${d.interface})`, file: d.file })),
    // A floppy the config sets is listed on any board, to be ejected.
    ...(['A', 'B'] as const).filter((d) => hasFloppies(vm) || floppy(d) !== '')
      .map((d) => ({ drive: `fd${d.toLowerCase()}`, cd: 0, what: `Floppy ${d}`, file: floppy(d) })),
  ];
  const { data: library } = useMediaLibrary();
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
  const remove = (n: number) => act(async () => {
    const r = await api.removeCd(vm.label, n);
    return `Removed CD/DVD drive ${n}${r.pending ? ' (pending until the next start)' : ''}: ${r.lines.join(' ')}`;
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
                <input aria-label={`Image in ${d.drive}`} className="input font-mono" list={d.cd ? 'drive-media-iso' : 'drive-media-floppy'} placeholder="empty" value={draft[d.drive] ?? d.file} disabled={busy}
                  onChange={(e) => { setDraft((x) => ({ ...x, [d.drive]: e.target.value })); clearError(); }} />
              </td>
              <td className="whitespace-nowrap px-2">
                <button type="button" className="btn btn-sm" disabled={busy || !(draft[d.drive] ?? '')} onClick={() => void change(d.drive, draft[d.drive])}>Change</button>{' '}
                <button type="button" className="btn btn-sm" disabled={busy || d.file === ''} onClick={() => void change(d.drive, '')}>Eject</button>
                {d.cd > 0 && <>{' '}<button type="button" className="btn btn-sm" aria-label={`Remove ${d.drive}`} disabled={busy} onClick={() => void remove(d.cd)}>Remove</button></>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="flex items-center gap-2 border-t border-line px-3 py-1.5">
        <button type="button" className="btn btn-sm" disabled={busy} onClick={() => void add()}>Add CD/DVD drive</button>
        <span className="text-xs text-muted">
          {vm.state === 'running' || vm.state === 'paused'
            ? 'Drive 0: the CD/DVD menu of the bar above.'
            : <>Drive 0 holds the Boot card&apos;s CD/DVD image (<span className="font-mono">INSTSRCCDROM</span>) when the VM boots from CD/DVD; while it runs, the CD/DVD menu changes it.</>}
        </span>
      </div>
      {(['iso', 'floppy'] as const).map((kind) => (
        <datalist key={kind} id={`drive-media-${kind}`}>
          {(library?.media ?? []).filter((m) => m.kind === kind).map((m) => <option key={m.path} value={m.path} label={m.label ? `${m.name} “${m.label}”` : m.name} />)}
        </datalist>
      ))}
      {error && <p role="alert" className="field-error px-3 pb-2">{error}</p>}
      {done && <p role="status" className="px-3 pb-2 text-xs text-muted">{done}</p>}
    </section>
  );
}
