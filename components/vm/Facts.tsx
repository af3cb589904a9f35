'use client';
// The VM's facts beside its consoles: identity, where its files are, and,
// while it runs, its process and sockets.
import { useEffect, useState } from 'react';
import type { VmDetail } from '../api';
import { CopyText } from '../CopyText';
import { AutostartSwitch } from './AutostartSwitch';
import { formatDuration, formatMemory } from '../format';
import { nowAndNext } from '@/lib/vm';

/** The runtime directory's sockets (SPEC "The runtime directory"), as the server found them. */
const SOCKETS = [['QMP', 'qmp'], ['Monitor', 'monitor'], ['Serial', 'serial'], ['VNC', 'vnc']] as const;

/** A path under dir as its name there (the directory is the row above); others whole. */
const inDir = (dir: string, path: string) => (path.startsWith(`${dir}/`) ? path.slice(dir.length + 1) : path);

function Uptime({ since }: { since: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return <span className="tabular-nums">{formatDuration((now - since) / 1000)}</span>;
}

/** inline: above the files tab on narrow screens, where the side column is not shown. */
export function Facts({ vm, inline = false }: { vm: VmDetail; inline?: boolean }) {
  const up = vm.state === 'running' || vm.state === 'paused';
  const rt = up ? vm.runtime : undefined;
  const since = rt?.startedAt ?? null;
  const row = (k: string, v: React.ReactNode) => (
    <div key={k} className="contents">
      <dt className="text-muted">{k}</dt>
      <dd className="min-w-0">{v}</dd>
    </div>
  );
  return (
    <aside
      aria-label="Facts"
      className={inline
        ? 'shrink-0 border-b border-line bg-panel px-3 py-2 text-xs lg:hidden'
        : 'hidden w-72 shrink-0 overflow-auto border-l border-line bg-panel px-3 py-2 text-xs lg:block'}
    >
      <h2 className="mb-1.5 font-semibold uppercase tracking-wide text-muted">Facts</h2>
      <dl className="grid grid-cols-[4.75rem_minmax(0,1fr)] gap-x-2 gap-y-1">
        {row('MAC', <CopyText text={vm.mac} />)}
        {row('IP', vm.ip ? <CopyText text={vm.ip} /> : <span className="text-muted">DHCP</span>)}
        {(vm.interfaces ?? []).slice(1).map((i, n) => row(`IF ${i.index}${i.ifname !== String(i.index) ? ` ${i.ifname}` : ''}`,
          <span key={n} className="font-mono">{i.mac}{i.ip ? ` ${i.ip}` : ''}</span>))}
        {vm.vmstate && row('VM state', vm.vmstate)}
        {(vm.warnings ?? []).map((w, n) => row(n ? `Warning ${n + 1}` : 'Warning', <span className="text-amber-600 dark:text-amber-400">{w}</span>))}
        {row('UUID', <CopyText wrap text={vm.uuid} />)}
        {row('Memory', withNext(nowAndNext(vm, 'memsize'), formatMemory))}
        {row('CPUs', withNext(nowAndNext(vm, 'smp'), String))}
        {row('Console', vm.console)}
        {row('Template', vm.template || '—')}
        {row('PID', up && vm.pid ? <CopyText text={String(vm.pid)} /> : <span className="text-muted">—</span>)}
        {row('Uptime', since ? <Uptime since={since} /> : <span className="text-muted">—</span>)}
      </dl>
      <h2 className="mt-3 mb-1.5 font-semibold uppercase tracking-wide text-muted">Files</h2>
      <dl className="grid grid-cols-[4.75rem_minmax(0,1fr)] gap-x-2 gap-y-1">
        {row('Directory', <CopyText wrap text={vm.dir} />)}
        {row('Config', <CopyText wrap text={vm.config} />)}
        {row('Wrapper', <CopyText wrap text={vm.wrapper} />)}
        {row('Disk', <CopyText wrap text={vm.disk} />)}
        {vm.source === 'ctys' && row('Made by', 'ctys')}
        {vm.dynamic && row('Logic', <span title="vmdeck lets bash evaluate the config to read it">the config has bash logic</span>)}
      </dl>
      {vm.autostart && <AutostartSwitch vm={vm} />}
      {rt && (
        <>
          <h2 className="mt-3 mb-1.5 font-semibold uppercase tracking-wide text-muted">Runtime</h2>
          <dl aria-label="Runtime" className="grid grid-cols-[4.75rem_minmax(0,1fr)] gap-x-2 gap-y-1">
            {row('Directory', <CopyText wrap text={rt.runDir} />)}
            {SOCKETS.map(([k, key]) => rt.sockets[key] && row(k, <CopyText wrap text={rt.sockets[key]} shown={inDir(rt.runDir, rt.sockets[key])} />))}
            {rt.serialLog && row('Serial log', <CopyText wrap text={rt.serialLog} shown={inDir(rt.runDir, rt.serialLog)} />)}
          </dl>
        </>
      )}
    </aside>
  );
}

/** What QEMU runs with, and what the next start takes where a change waits. */
function withNext({ now, next }: { now: number; next?: number }, format: (n: number) => string) {
  return next === undefined ? format(now) : <span>{format(now)} <span className="text-muted">({format(next)} from the next start)</span></span>;
}
