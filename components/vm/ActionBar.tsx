'use client';
// The VM page's action bar. Each action calls the API; a refusal shows the
// server's one-line message right beside the button that was pressed, in a
// note that floats below it, so that a message never reflows the bar.
import { useRouter } from 'next/navigation';
import { useEffect, useEffectEvent, useRef, useState } from 'react';
import type { VmInfo } from '@/lib/vm';
import { api, type MediaState, type Snapshot, type StopResult, type Task, type VmDetail } from '../api';
import { useTaskEvents } from '../events';
import { MediaList, useMediaLibrary } from '../media/MediaLibrary';
import { useConfirm, type ConfirmRequest } from '../Confirm';
import { formatBytes, formatDate } from '../format';
import { MenuItem, Popover } from '../Menu';

type Ask = (r: ConfirmRequest) => Promise<boolean>;

const forceOffConfirm = (label: string): ConfirmRequest => ({
  title: `Force off ${label}?`,
  body: <>QEMU is ended at once, like pulling the plug. Whatever <b>{label}</b> has not written to its disk is lost.</>,
  confirm: 'Force off',
});

/** A button with its own busy state and error, the error shown beside it. */
function Action({ label, busyLabel, onClick, disabled, danger, confirm, ask, title, align }: {
  label: string;
  busyLabel?: string;
  onClick: () => Promise<unknown>;
  disabled?: boolean;
  danger?: boolean;
  confirm?: ConfirmRequest;
  ask: Ask;
  title?: string;
  align?: 'left' | 'right';
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <span className="relative inline-flex">
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
      {error && <Note text={error} align={align} onDismiss={() => setError(null)} />}
    </span>
  );
}

/** A message below its button, over the console rather than in the bar. */
function Note({ text, onDismiss, align = 'left', children }: {
  text: string;
  onDismiss: () => void;
  align?: 'left' | 'right';
  /** What the user can do about it, right there. */
  children?: React.ReactNode;
}) {
  return (
    <span
      role="alert"
      className={`absolute top-full z-30 mt-1 flex w-max max-w-md items-start gap-2 rounded border border-danger/40 bg-surface px-2 py-1.5 text-xs shadow-lg ${align === 'right' ? 'right-0' : 'left-0'}`}
    >
      <span className="min-w-0 text-danger">{text}</span>
      {children}
      <button type="button" aria-label="Dismiss" className="-my-0.5 shrink-0 rounded px-1 text-muted hover:bg-panel hover:text-fg" onClick={onDismiss}>×</button>
    </span>
  );
}

/**
 * Shut down: the ACPI power button. A guest that ignores it is still running
 * when the server gives up waiting; its reason shows here, with Force off.
 */
function ShutDown({ vm, ask, onChanged }: { vm: VmInfo; ask: Ask; onChanged: () => void }) {
  const [busy, setBusy] = useState<'poweroff' | 'force' | null>(null);
  const [note, setNote] = useState<{ text: string; offerForce: boolean } | null>(null);
  // A shutdown that this page did not ask for, or asked before a reload: the task log's, under way.
  const [elsewhere, setElsewhere] = useState(false);
  const { label, state } = vm;
  const up = state === 'running' || state === 'paused';
  // While this page's own request is out, and the tasks it began: their answer says how they ended (run, below).
  const mine = useRef(false);
  const own = useRef(new Set<string>());

  const onTask = (t: Task) => {
    if (t.label !== label || t.action !== 'stop:poweroff') return;
    if (t.result === 'running') {
      if (mine.current) own.current.add(t.id);
      setElsewhere(true);
      return;
    }
    setElsewhere(false);
    if (own.current.delete(t.id)) return;
    if (t.result === 'error' && t.error && up) setNote({ text: t.error, offerForce: true });
    onChanged();
  };
  // The task log's newest shutdown: at load, and whenever the event stream (re)connects (its end may have
  // come while the stream was down).
  const seen = useEffectEvent((tasks: Task[]) => {
    setElsewhere(tasks.find((t) => t.action === 'stop:poweroff')?.result === 'running');
  });
  const look = useEffectEvent(() => { api.tasks(label).then(seen, () => undefined); });
  useTaskEvents(onTask, look);
  useEffect(() => look(), [label]);

  // Gone by other means (the guest after all, Force off in the bar): nothing left to offer, nothing under way.
  useEffect(() => {
    if (!up) {
      setNote(null);
      setElsewhere(false);
    }
  }, [up]);

  const run = async (mode: 'poweroff' | 'force') => {
    setBusy(mode);
    setNote(null);
    mine.current = mode === 'poweroff';
    try {
      const r: StopResult | undefined = await api.stop(label, mode);
      const after = r?.state ?? r?.vm?.state;
      if (mode === 'poweroff' && (after === 'running' || after === 'paused')) {
        setNote({
          text: `${r?.reason ?? r?.vm?.reason ?? 'the guest did not power off (it may ignore the ACPI power button)'}; Force off quits QEMU`,
          offerForce: true,
        });
      }
      onChanged();
    } catch (e) {
      setNote({ text: (e as Error).message, offerForce: mode === 'force' });
    } finally {
      mine.current = false;
      setBusy(null);
    }
  };

  return (
    <span className="relative inline-flex">
      <button
        type="button"
        className="btn"
        disabled={state !== 'running' || busy !== null || elsewhere}
        title="ACPI power button: the guest shuts itself down (vmdeck waits up to 20 s)"
        onClick={() => void run('poweroff')}
      >
        {busy === 'poweroff' || elsewhere ? 'Shutting down…' : 'Shut down'}
      </button>
      {note && (
        <Note text={note.text} onDismiss={() => setNote(null)}>
          {note.offerForce && up && (
            <button
              type="button"
              className="btn btn-sm btn-danger -my-0.5 shrink-0"
              disabled={busy !== null}
              onClick={async () => {
                if (await ask(forceOffConfirm(label))) void run('force');
              }}
            >
              {busy === 'force' ? 'Forcing off…' : 'Force off'}
            </button>
          )}
        </Note>
      )}
    </span>
  );
}

const F_KEYS = Array.from({ length: 12 }, (_, i) => `f${i + 1}`);

export function ActionBar({ vm, onChanged }: { vm: VmDetail; onChanged: () => void }) {
  const router = useRouter();
  const [dialog, ask] = useConfirm();
  const [keysError, setKeysError] = useState<string | null>(null);
  const { label, state } = vm;
  const up = state === 'running' || state === 'paused';
  // Halted by QEMU itself (a KVM internal error, a panic): not a pause that Resume undoes.
  const failed = state === 'paused' && Boolean(vm.reason);
  const after = (p: Promise<unknown>) => p.then(onChanged);
  const deleteDisk = useRef(false);

  const sendKeys = async (keys: string[]) => {
    setKeysError(null);
    try {
      await api.keys(label, keys);
    } catch (e) {
      setKeysError((e as Error).message);
    }
  };

  return (
    <div className="flex shrink-0 flex-wrap items-center gap-1.5 border-b border-line px-3 py-1.5" role="toolbar" aria-label={`Actions for ${label}`}>
      <Action ask={ask} label={state === 'suspended' ? 'Resume' : 'Start'} busyLabel={state === 'suspended' ? 'Resuming…' : 'Starting…'} disabled={up}
        title={state === 'suspended' ? 'Start from the saved state' : undefined}
        onClick={() => after(api.start(label))} />
      <Action ask={ask} label="Install boot" busyLabel="Starting…" disabled={state !== 'stopped'}
        title="Start once from the install source (the install mode of the config)"
        onClick={() => after(api.start(label, { instmode: true }))} />
      <span className="mx-1 h-5 w-px bg-line" aria-hidden />
      <ShutDown vm={vm} ask={ask} onChanged={onChanged} />
      <Action ask={ask} label="Force off" danger disabled={!up}
        confirm={forceOffConfirm(label)}
        onClick={() => after(api.stop(label, 'force'))} />
      <Action ask={ask} label="Reset" disabled={!up}
        confirm={{
          title: `Reset ${label}?`,
          body: <>The VM restarts at once, like the reset button. Whatever <b>{label}</b> has not written to its disk is lost.</>,
          confirm: 'Reset',
        }}
        onClick={() => after(api.stop(label, 'reset'))} />
      {state === 'paused' && !failed
        ? <Action ask={ask} label="Resume" onClick={() => after(api.stop(label, 'resume'))} />
        : <Action ask={ask} label="Pause" disabled={state !== 'running'} onClick={() => after(api.stop(label, 'pause'))} />}
      <Action ask={ask} label="Suspend" busyLabel="Suspending…" disabled={!up || failed}
        title="Save the VM's state to disk and stop; the next start resumes it"
        onClick={() => after(api.stop(label, 'suspend'))} />
      <span className="mx-1 h-5 w-px bg-line" aria-hidden />
      <Snapshots vm={vm} ask={ask} />
      <MediaMenu label={label} up={up} />
      <span className="relative inline-flex">
        <Popover label="Send keys" disabled={state !== 'running'}>
          {(close) => (
            <>
              <MenuItem onSelect={() => { close(); void sendKeys(['ctrl', 'alt', 'delete']); }}>Ctrl-Alt-Del</MenuItem>
              {F_KEYS.map((f) => (
                <MenuItem key={f} onSelect={() => { close(); void sendKeys(['ctrl', 'alt', f]); }}>
                  Ctrl-Alt-{f.toUpperCase()}
                </MenuItem>
              ))}
            </>
          )}
        </Popover>
        {keysError && <Note text={keysError} onDismiss={() => setKeysError(null)} />}
      </span>
      <span className="ml-auto" />
      <Action ask={ask} label="Delete" danger disabled={state !== 'stopped' && state !== 'suspended'} align="right"
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

/**
 * The CD/DVD drive. The typed path, the last answer and its error outlive the
 * panel, which stays open on a refusal so that the path can be corrected.
 */
function MediaMenu({ label, up }: { label: string; up: boolean }) {
  const [path, setPath] = useState('');
  const [busy, setBusy] = useState<'change' | 'eject' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  // What the drive holds: read when the panel opens, then as each change or eject answers.
  const [drive, setDrive] = useState<MediaState | null>(null);

  useEffect(() => {
    if (!up) setDrive(null);
  }, [up]);

  const run = async (action: 'change' | 'eject') => {
    setBusy(action);
    setError(null);
    setDone(null);
    try {
      const now = action === 'change' ? await api.changeMedia(label, path) : await api.ejectMedia(label);
      setDrive(now);
      setDone(action === 'change' ? 'Inserted.' : 'Ejected.');
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(null);
    }
  };

  return (
    <Popover label="CD/DVD" role="dialog" disabled={!up}>
      {() => (
        <MediaForm
          path={path}
          setPath={(p) => { setPath(p); setError(null); setDone(null); }}
          busy={busy}
          error={error}
          done={done}
          drive={drive}
          onOpen={() => {
            setDone(null);
            api.media(label).then(setDrive, () => undefined);
          }}
          run={run}
        />
      )}
    </Popover>
  );
}

function MediaForm({ path, setPath, busy, error, done, drive, onOpen, run }: {
  path: string;
  setPath: (p: string) => void;
  busy: 'change' | 'eject' | null;
  error: string | null;
  done: string | null;
  drive: MediaState | null;
  onOpen: () => void;
  run: (action: 'change' | 'eject') => Promise<void>;
}) {
  const open = useEffectEvent(onOpen);
  useEffect(() => {
    open();
  }, []);
  const library = useMediaLibrary();
  return (
    <form
      className="w-[26rem] space-y-2 px-3 py-2"
      onSubmit={(e) => {
        e.preventDefault();
        void run('change');
      }}
    >
      <label htmlFor="media-path" className="label">ISO image to insert</label>
      <input
        id="media-path"
        className="input font-mono text-xs"
        value={path}
        onChange={(e) => setPath(e.target.value)}
        placeholder="/srv/iso/debian-12.iso"
        spellCheck={false}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? 'media-error' : undefined}
      />
      {error && <p id="media-error" role="alert" className="field-error break-words">{error}</p>}
      <MediaList library={library.data} kinds={['iso']} selected={path} onPick={setPath} error={library.error} />
      {drive && (
        <p className="text-xs" role="status">
          {done && <span className="mr-1 font-medium text-green-700 dark:text-green-400">{done}</span>}
          <span className="text-muted">In the drive: </span>
          {drive.file ? <span className="font-mono break-all">{drive.file}</span> : <span className="text-muted">nothing{drive.trayOpen ? ' (tray open)' : ''}</span>}
        </p>
      )}
      <div className="flex justify-between gap-2">
        <button type="button" className="btn btn-sm" disabled={busy !== null || (drive !== null && !drive.file)} onClick={() => void run('eject')}>
          {busy === 'eject' ? 'Ejecting…' : 'Eject'}
        </button>
        <button type="submit" className="btn btn-sm btn-primary" disabled={!path || busy !== null}>
          {busy === 'change' ? 'Changing…' : 'Change CD'}
        </button>
      </div>
    </form>
  );
}

function Snapshots({ vm, ask }: { vm: VmInfo; ask: Ask }) {
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
  const library = useMediaLibrary();
  return <>{children}</>;
}

/** What a delete removes; whether the disk goes too is asked here, unticked each time. */
function DeleteBody({ vm, deleteDisk }: { vm: VmDetail; deleteDisk: React.RefObject<boolean> }) {
  useEffect(() => {
    deleteDisk.current = false;
  }, [deleteDisk]);
  // Every disk in the VM's directory goes (or is kept aside) with it, not the first alone; one outside it stays where it is.
  const images = (vm.disks ?? []).map((d) => (d.file.startsWith('/') ? d.file : `${vm.dir}/${d.file}`)).filter((f) => f.startsWith(`${vm.dir}/`));
  return (
    <>
      <p>The directory <span className="font-mono text-fg">{vm.dir}</span> with the config and the wrapper is removed.</p>
      {vm.runtime?.runDir && (
        <p className="mt-2">
          Its logs (serial.log, qemu.log) in its runtime directory <span className="font-mono text-fg">{vm.runtime.runDir}</span> go with it.
        </p>
      )}
      {vm.state === 'suspended' && <p className="mt-2">Its saved state (suspended) is removed with it.</p>}
      {images.length > 0 && (
        <label className="mt-2 flex items-start gap-2 text-fg">
          <input type="checkbox" className="mt-0.5" onChange={(e) => { deleteDisk.current = e.target.checked; }} />
          <span>
            Also delete {images.length === 1 ? 'the disk image' : `its ${images.length} disk images`}{' '}
            {images.map((f, i) => <span key={f}>{i > 0 && ', '}<span className="font-mono">{f}</span></span>)}{' '}
            (otherwise {images.length === 1 ? 'it is' : 'they are'} kept beside the directory; an image another VM uses stays)
          </span>
        </label>
      )}
    </>
  );
}
