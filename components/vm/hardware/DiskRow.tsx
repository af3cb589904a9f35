'use client';
// One disk of the Hardware tab's list, with what can be done to it: grow it
// (live on a running VM, by QEMU's block_resize), set its options (read-only,
// cache, discard, boot index: pending until the next start on a running VM)
// and, for a disk after the first, take it out of the config (the image stays).
import { useState } from 'react';
import { DISK_CACHES, type Disk } from '@/lib/hardware';

import { api, type VmDetail } from '../../api';
import type { ConfirmRequest } from '../../Confirm';
import { useAction } from './useAction';

type Open = null | 'resize' | 'options';

const mib = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;

/** cardAct: the card's own action, for what takes the row away (its outcome outlives the row); ask: the card's confirmation. */
export function DiskRow({ vm, disk, onChanged, cardAct, ask }: {
  vm: VmDetail; disk: Disk; onChanged: () => void;
  cardAct: (what: () => Promise<string>) => Promise<void>;
  ask: (r: ConfirmRequest) => Promise<boolean>;
}) {
  const [open, setOpen] = useState<Open>(null);
  const [size, setSize] = useState('');
  const [shrink, setShrink] = useState('');
  const [readOnly, setReadOnly] = useState(disk.readOnly);
  const [cache, setCache] = useState(disk.cache);
  const [discard, setDiscard] = useState(disk.discard);
  const [bootIndex, setBootIndex] = useState(disk.bootIndex === null ? '' : String(disk.bootIndex));
  const { busy, error, done, act, clearError } = useAction(onChanged);
  const n = disk.index;
  const name = `disk ${n}`;

  const toggle = (which: Open) => {
    clearError();
    setOpen(open === which ? null : which);
  };
  const resize = () => act(async () => {
    const r = await api.resizeDisk(vm.label, n, size, shrink || undefined);
    setOpen(null);
    return `Disk ${n}: ${mib(r.from)} → ${mib(r.to)}${r.live ? ', live' : ''}`;
  });
  const saveOptions = () => act(async () => {
    // Only what changed: the config gets no lines for options left as they were.
    const wanted: { readOnly?: boolean; cache?: string; discard?: boolean; bootIndex?: number | null } = {};
    if (readOnly !== disk.readOnly) wanted.readOnly = readOnly;
    if (cache !== disk.cache) wanted.cache = cache;
    if (discard !== disk.discard) wanted.discard = discard;
    const boot = bootIndex.trim() === '' ? null : /^\d+$/.test(bootIndex.trim()) ? Number(bootIndex.trim()) : bootIndex;
    // A boot index that is not a number goes as typed: the server refuses it naming the field.
    if (boot !== disk.bootIndex) wanted.bootIndex = boot as number | null;
    if (Object.keys(wanted).length === 0) return `Disk ${n}: nothing to change`;
    const r = await api.setDiskOptions(vm.label, n, wanted);
    setOpen(null);
    return `Disk ${n}: ${r.lines.join(' ') || 'nothing to change'}${r.pending ? ' (pending until the next start)' : ''}`;
  });
  const running = vm.state === 'running' || vm.state === 'paused';
  const last = Math.max(0, ...vm.disks.map((d) => d.index));
  const remove = async () => {
    const ok = await ask({
      title: `Remove disk ${n} of ${vm.label}?`,
      body: (
        <p>
          {running ? 'The running guest loses this disk at once (unmount it in the guest first), and the config no longer has it. ' : 'The config no longer has it. '}
          Its image <span className="font-mono break-all text-fg">{disk.file}</span> stays{n < last ? '; the disks after it move down a number' : ''}.
        </p>
      ),
      confirm: `Remove disk ${n}`,
    });
    if (ok) await removeNow();
  };
  const removeNow = () => cardAct(async () => {
    const r = await api.removeDisk(vm.label, n);
    return `Disk ${n} removed${r.live ? ' from the running VM' : ''}; its image ${disk.file} stays`;
  });

  const flags = [disk.readOnly && 'read-only', disk.cache && `cache ${disk.cache}`, disk.discard && 'discard', disk.bootIndex !== null && `boot ${disk.bootIndex}`].filter(Boolean).join(', ');
  return (
    <>
      <tr className="border-b border-line last:border-0" data-disk={n}>
        <td className="px-3 py-1 tabular-nums">{n}</td><td className="px-2">{disk.interface}</td><td className="px-2">{disk.format}</td>
        <td className="w-full px-2"><span className="font-mono break-all">{disk.file}</span>{flags && <span className="block text-muted">{flags}</span>}</td>
        <td className="whitespace-nowrap px-2 text-right">
          <button type="button" className="btn btn-sm" aria-expanded={open === 'resize'} aria-label={`Resize ${name}`} disabled={busy} onClick={() => toggle('resize')}>Resize</button>{' '}
          <button type="button" className="btn btn-sm" aria-expanded={open === 'options'} aria-label={`Options of ${name}`} disabled={busy} onClick={() => toggle('options')}>Options</button>
          {n > 0 && <>{' '}<button type="button" className="btn btn-sm" aria-label={`Remove ${name}`} disabled={busy || (running && n !== last)}
            title={running && n !== last ? `Only the last disk (${last}) can be removed while the VM runs` : undefined} onClick={() => void remove()}>Remove</button></>}
        </td>
      </tr>
      {open === 'resize' && (
        <tr className="border-b border-line"><td colSpan={5} className="px-3 py-1.5">
          <div className="flex items-end gap-2">
            <div className="w-32">
              <label htmlFor={`disk-size-${n}`} className="label">New size of {name}</label>
              <input id={`disk-size-${n}`} className="input font-mono" placeholder="8G" value={size} disabled={busy} onChange={(e) => { setSize(e.target.value); clearError(); }} />
            </div>
            <div className="w-48">
              <label htmlFor={`disk-shrink-${n}`} className="label">To shrink, the VM&apos;s label</label>
              <input id={`disk-shrink-${n}`} className="input font-mono" placeholder={vm.label} value={shrink} disabled={busy} onChange={(e) => setShrink(e.target.value)} />
            </div>
            <button type="button" className="btn btn-sm" disabled={busy || size === ''} onClick={() => void resize()}>Resize{vm.state === 'running' || vm.state === 'paused' ? ' (live)' : ''}</button>
          </div>
        </td></tr>
      )}
      {open === 'options' && (
        <tr className="border-b border-line"><td colSpan={5} className="px-3 py-1.5">
          <div className="flex flex-wrap items-end gap-3">
            <label className="flex items-center gap-1 text-xs"><input type="checkbox" checked={readOnly} disabled={busy} onChange={(e) => setReadOnly(e.target.checked)} />Read-only</label>
            <label className="flex items-center gap-1 text-xs"><input type="checkbox" checked={discard} disabled={busy} onChange={(e) => setDiscard(e.target.checked)} />Discard (TRIM frees space)</label>
            <div className="w-36">
              <label htmlFor={`disk-cache-${n}`} className="label">Cache</label>
              <select id={`disk-cache-${n}`} className="input" value={cache} disabled={busy} onChange={(e) => setCache(e.target.value)}>
                <option value="">QEMU&apos;s default</option>
                {DISK_CACHES.map((c) => <option key={c} value={c}>{c}</option>)}
              </select>
            </div>
            <div className="w-24">
              <label htmlFor={`disk-boot-${n}`} className="label">Boot index</label>
              <input id={`disk-boot-${n}`} className="input font-mono" placeholder="none" value={bootIndex} disabled={busy} onChange={(e) => { setBootIndex(e.target.value); clearError(); }} />
            </div>
            <button type="button" className="btn btn-sm" disabled={busy} onClick={() => void saveOptions()}>Save options</button>
          </div>
        </td></tr>
      )}
      {(error || done) && (
        <tr><td colSpan={5} className="px-3 pb-1.5">
          {error && <p role="alert" className="field-error">{error}</p>}
          {done && <p role="status" className="text-xs text-muted">{done}</p>}
        </td></tr>
      )}
    </>
  );
}
