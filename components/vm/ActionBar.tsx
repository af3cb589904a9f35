'use client';
// The VM page's action bar. Each action calls the API; a refusal shows the
// server's one-line message right beside the button that was pressed.
import { useRouter } from 'next/navigation';
import { useEffect, useEffectEvent, useRef, useState } from 'react';
import type { VmInfo } from '@/lib/vm';
import { api, type Snapshot } from '../api';
import { useConfirm, type ConfirmRequest } from '../Confirm';
import { formatBytes, formatDate } from '../format';
import { MenuItem, Popover } from '../Menu';

type Run = (what: () => Promise<unknown>) => Promise<void>;

/** A button with its own busy state and error, the error shown beside it. */
function Action({ label, busyLabel, onClick, disabled, danger, confirm, ask, title }: {
  label: string;
  busyLabel?: string;
  onClick: () => Promise<unknown>;
  disabled?: boolean;
  danger?: boolean;
  confirm?: ConfirmRequest;
  ask: (r: ConfirmRequest) => Promise<boolean>;
  title?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <span className="inline-flex items-center gap-1.5">
      <button
        type="button"
        className={`btn ${danger ? 'btn-danger' : ''}`}
        disabled={disabled || busy}
        title={title}
        onClick={async () => {
          if (confirm && !(await ask(confirm))) return;
          setBusy(true);
          setError(null);
          try {
            await onClick();
          } catch (e) {
            setError((e as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        {busy ? busyLabel ?? `${label}…` : label}
      </button>
      {error && <ErrorNote text={error} onDismiss={() => setError(null)} />}
    </span>
  );
}

function ErrorNote({ text, onDismiss }: { text: string; onDismiss: () => void }) {
  return (
    <span role="alert" className="inline-flex max-w-sm items-center gap-1 text-xs text-danger">
      <span className="truncate" title={text}>{text}</span>
      <button type="button" aria-label="Dismiss" className="rounded px-1 hover:bg-panel" onClick={onDismiss}>×</button>
    </span>
  );
}

/** A menu whose actions share one error slot beside the menu's button. */
function useMenuError(): [string | null, Run, () => void] {
  const [error, setError] = useState<string | null>(null);
  const run: Run = async (what) => {
    setError(null);
    try {
      await what();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return [error, run, () => setError(null)];
}

const F_KEYS = Array.from({ length: 12 }, (_, i) => `f${i + 1}`);

export function ActionBar({ vm, onChanged }: { vm: VmInfo; onChanged: () => void }) {
  const router = useRouter();
  const [dialog, ask] = useConfirm();
  const [keysError, runKeys, clearKeys] = useMenuError();
  const [mediaError, runMedia, clearMedia] = useMenuError();
  const { label, state } = vm;
  const up = state === 'running' || state === 'paused';
  const after = (p: Promise<unknown>) => p.then(onChanged);
  const deleteDisk = useRef(false);

  return (
    <div className="flex shrink-0 flex-wrap items-center gap-1.5 border-b border-line px-3 py-1.5" role="toolbar" aria-label={`Actions for ${label}`}>
      <Action ask={ask} label={state === 'suspended' ? 'Resume' : 'Start'} busyLabel="Starting…" disabled={up}
        title={state === 'suspended' ? 'Start from the saved state' : undefined}
        onClick={() => after(api.start(label))} />
      <Action ask={ask} label="Install boot" busyLabel="Starting…" disabled={state !== 'stopped'}
        title="Start once from the install source (the install mode of the config)"
        onClick={() => after(api.start(label, { instmode: true }))} />
      <span className="mx-1 h-5 w-px bg-line" aria-hidden />
      <Action ask={ask} label="Shut down" busyLabel="Shutting down…" disabled={state !== 'running'}
        title="ACPI power button: the guest shuts itself down"
        onClick={() => after(api.stop(label, 'poweroff'))} />
      <Action ask={ask} label="Force off" danger disabled={!up}
        confirm={{
          title: `Force off ${label}?`,
          body: <>QEMU is ended at once, like pulling the plug. Whatever <b>{label}</b> has not written to its disk is lost.</>,
          confirm: 'Force off',
        }}
        onClick={() => after(api.stop(label, 'force'))} />
      <Action ask={ask} label="Reset" disabled={!up}
        confirm={{
          title: `Reset ${label}?`,
          body: <>The VM restarts at once, like the reset button. Whatever <b>{label}</b> has not written to its disk is lost.</>,
          confirm: 'Reset',
        }}
        onClick={() => after(api.stop(label, 'reset'))} />
      {state === 'paused'
        ? <Action ask={ask} label="Resume" onClick={() => after(api.stop(label, 'resume'))} />
        : <Action ask={ask} label="Pause" disabled={state !== 'running'} onClick={() => after(api.stop(label, 'pause'))} />}
      <Action ask={ask} label="Suspend" busyLabel="Suspending…" disabled={!up}
        title="Save the VM's state to disk and stop; the next start resumes it"
        onClick={() => after(api.stop(label, 'suspend'))} />
      <span className="mx-1 h-5 w-px bg-line" aria-hidden />
      <Snapshots vm={vm} ask={ask} />
      <span className="inline-flex items-center gap-1.5">
        <Popover label="CD/DVD" role="dialog" disabled={!up}>
          {(close) => <MediaForm label={label} run={runMedia} close={close} />}
        </Popover>
        {mediaError && <ErrorNote text={mediaError} onDismiss={clearMedia} />}
      </span>
      <span className="inline-flex items-center gap-1.5">
        <Popover label="Send keys" disabled={state !== 'running'}>
          {(close) => (
            <>
              <MenuItem onSelect={() => { close(); void runKeys(() => api.keys(label, ['ctrl', 'alt', 'delete'])); }}>Ctrl-Alt-Del</MenuItem>
              {F_KEYS.map((f) => (
                <MenuItem key={f} onSelect={() => { close(); void runKeys(() => api.keys(label, ['ctrl', 'alt', f])); }}>
                  Ctrl-Alt-{f.toUpperCase()}
                </MenuItem>
              ))}
            </>
          )}
        </Popover>
        {keysError && <ErrorNote text={keysError} onDismiss={clearKeys} />}
      </span>
      <span className="ml-auto" />
      <Action ask={ask} label="Delete" danger disabled={state !== 'stopped'}
        title={state === 'stopped' ? undefined : 'Only a stopped VM can be deleted'}
        confirm={{
          title: `Delete ${label}?`,
          body: <DeleteBody vm={vm} deleteDisk={deleteDisk} />,
          confirm: 'Delete',
        }}
        onClick={async () => {
          await api.remove(label, deleteDisk.current);
          router.push('/');
        }} />
      {dialog}
    </div>
  );
}

function MediaForm({ label, run, close }: { label: string; run: Run; close: () => void }) {
  const [path, setPath] = useState('');
  return (
    <form
      className="w-96 space-y-2 px-3 py-2"
      onSubmit={(e) => {
        e.preventDefault();
        close();
        void run(() => api.changeMedia(label, path));
      }}
    >
      <label htmlFor="media-path" className="label">ISO image to insert</label>
      <input id="media-path" className="input font-mono text-xs" value={path} onChange={(e) => setPath(e.target.value)} placeholder="/srv/iso/debian-12.iso" spellCheck={false} />
      <div className="flex justify-between gap-2">
        <button type="button" className="btn btn-sm" onClick={() => { close(); void run(() => api.ejectMedia(label)); }}>Eject</button>
        <button type="submit" className="btn btn-sm btn-primary" disabled={!path}>Change CD</button>
      </div>
    </form>
  );
}

function Snapshots({ vm, ask }: { vm: VmInfo; ask: (r: ConfirmRequest) => Promise<boolean> }) {
  const [list, setList] = useState<Snapshot[] | null>(null);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const { label } = vm;

  const refresh = async () => {
    try {
      setList(await api.snapshots(label));
    } catch (e) {
      setError((e as Error).message);
      setList([]);
    }
  };
  const run = async (what: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await what();
      await refresh();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Popover label="Snapshots" role="dialog">
      {() => (
        <SnapshotPanel onOpen={refresh}>
          <div className="w-[28rem] px-3 py-2">
            <form
              className="mb-2 flex gap-1.5"
              onSubmit={(e) => {
                e.preventDefault();
                void run(async () => {
                  await api.saveSnapshot(label, name);
                  setName('');
                });
              }}
            >
              <label htmlFor="snapshot-name" className="sr-only">Snapshot name</label>
              <input id="snapshot-name" className="input font-mono text-xs" placeholder="name, e.g. before-upgrade" value={name} onChange={(e) => setName(e.target.value)} spellCheck={false} />
              <button type="submit" className="btn btn-primary" disabled={busy || !name}>Save</button>
            </form>
            {error && <p role="alert" className="field-error mb-2">{error}</p>}
            {list === null ? (
              <p className="text-xs text-muted">Loading…</p>
            ) : list.length === 0 ? (
              <p className="text-xs text-muted">No snapshots in {vm.disk || 'the disk image'}.</p>
            ) : (
              <table className="w-full text-xs">
                <thead>
                  <tr className="text-left text-muted">
                    <th className="py-1 font-medium">Name</th>
                    <th className="py-1 font-medium">Taken</th>
                    <th className="py-1 font-medium" title="The saved RAM and device state">State</th>
                    <th><span className="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((s) => (
                    <tr key={s.name} className="border-t border-line">
                      <td className="py-1 font-mono">{s.name}</td>
                      <td className="py-1 text-muted" title={`guest clock ${s.vmClock}`}>{formatDate(s.date)}</td>
                      <td className="py-1 text-muted">{s.vmStateSize ? formatBytes(s.vmStateSize) : 'disk only'}</td>
                      <td className="py-1 text-right whitespace-nowrap">
                        <button type="button" className="btn btn-sm" disabled={busy} onClick={async () => {
                          if (await ask({
                            title: `Load snapshot ${s.name}?`,
                            body: <>{label} goes back to the state of <b>{s.name}</b> ({formatDate(s.date)}). Everything that happened in the VM since then is lost, unless you save a snapshot of it first.</>,
                            confirm: 'Load snapshot',
                          })) void run(() => api.loadSnapshot(label, s.name));
                        }}>Load</button>{' '}
                        <button type="button" className="btn btn-sm btn-danger" disabled={busy} onClick={async () => {
                          if (await ask({
                            title: `Delete snapshot ${s.name}?`,
                            body: <>The snapshot <b>{s.name}</b> of {label} is removed from its disk image; the VM&apos;s current state is not touched.</>,
                            confirm: 'Delete snapshot',
                          })) void run(() => api.deleteSnapshot(label, s.name));
                        }}>Delete</button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        </SnapshotPanel>
      )}
    </Popover>
  );
}

/** Loads the list when the panel opens. */
function SnapshotPanel({ onOpen, children }: { onOpen: () => void; children: React.ReactNode }) {
  const open = useEffectEvent(onOpen);
  useEffect(() => {
    open();
  }, []);
  return <>{children}</>;
}

/** What a delete removes; whether the disk goes too is asked here, unticked each time. */
function DeleteBody({ vm, deleteDisk }: { vm: VmInfo; deleteDisk: React.RefObject<boolean> }) {
  useEffect(() => {
    deleteDisk.current = false;
  }, [deleteDisk]);
  return (
    <>
      <p>The directory <span className="font-mono text-fg">{vm.dir}</span> with the config, the wrapper and the logs is removed.</p>
      {vm.disk && (
        <label className="mt-2 flex items-start gap-2 text-fg">
          <input type="checkbox" className="mt-0.5" onChange={(e) => { deleteDisk.current = e.target.checked; }} />
          <span>Also delete the disk image <span className="font-mono">{vm.disk}</span> (otherwise it is kept beside the directory)</span>
        </label>
      )}
    </>
  );
}
