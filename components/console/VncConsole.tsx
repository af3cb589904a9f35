'use client';
// The VM's screen through noVNC, over /ws/vms/:label/vnc. Loaded only by the
// VM page (next/dynamic). The socket is made here and handed to RFB, so that
// its close code tells a stopped VM (4409/4410) from a broken connection,
// which is retried with backoff (a guest reboot, a dashboard restart).
import RFB from '@novnc/novnc';
import { useEffect, useRef, useState } from 'react';
import { api, consoleUrl } from '../api';
import { closeReason, ConsoleStatus, StoppedBanner, type ConnState } from './status';
import { toLogin } from '../session';

export type VncView = 'scale' | 'actual' | 'remote';

const VIEWS: { value: VncView; label: string; title: string }[] = [
  { value: 'scale', label: 'Fit', title: 'Scale the screen to fit' },
  { value: 'actual', label: '1:1', title: 'Actual size, with scrollbars' },
  { value: 'remote', label: 'Resize guest', title: 'Ask the guest to take the size of this box' },
];

function applyView(rfb: RFB, view: VncView) {
  rfb.scaleViewport = view === 'scale';
  rfb.resizeSession = view === 'remote';
  rfb.clipViewport = false;
}

/**
 * resizable: the guest's display adapter takes a size from the viewer (virtio,
 * qxl); QEMU answers std or cirrus with "Invalid screen layout", so the button
 * is off there and says why.
 */
export default function VncConsole({ label, running, suspended = false, resizable = true, vga, sharedClipboard = false }: {
  label: string;
  running: boolean;
  suspended?: boolean;
  resizable?: boolean;
  vga?: string;
  /** The VM runs QEMU's qemu-vdagent (CLIPBOARD=vdagent): the guest's clipboard comes and goes over VNC. */
  sharedClipboard?: boolean;
}) {
  const frame = useRef<HTMLDivElement>(null);
  const screen = useRef<HTMLDivElement>(null);
  const [conn, setConn] = useState<ConnState>({ phase: 'connecting' });
  const [view, setView] = useState<VncView>('scale');
  /** What the guest last put on its clipboard (noVNC's clipboard event). */
  const [guestClipboard, setGuestClipboard] = useState('');
  const viewRef = useRef(view);
  const control = useRef<{ connect: () => void; rfb: () => RFB | null } | null>(null);

  useEffect(() => {
    const target = screen.current!;
    let rfb: RFB | null = null;
    let disposed = false;
    let attempts = 0;
    let retry: ReturnType<typeof setTimeout> | null = null;

    const connect = () => {
      if (disposed) return;
      if (retry) clearTimeout(retry);
      retry = null;
      rfb?.disconnect();
      setConn({ phase: 'connecting' });
      const ws = new WebSocket(consoleUrl(label, 'vnc'), ['binary']);
      let code = 0;
      let reason = '';
      ws.addEventListener('close', (ev) => {
        code = ev.code;
        reason = ev.reason;
      });
      const r = new RFB(target, ws, { shared: true });
      rfb = r;
      r.background = 'var(--console)';
      applyView(r, viewRef.current);
      r.addEventListener('connect', () => {
        attempts = 0;
        setConn({ phase: 'connected' });
      });
      r.addEventListener('clipboard', (e) => setGuestClipboard((e as CustomEvent<{ text: string }>).detail.text));
      r.addEventListener('desktopname', (e) => {
        const name = (e as CustomEvent<{ name: string }>).detail.name;
        setConn((c) => (c.phase === 'connected' ? { ...c, detail: name } : c));
      });
      r.addEventListener('disconnect', () => {
        if (disposed || rfb !== r) return;
        rfb = null;
        // The close event has been seen by now (RFB reacts to the same one).
        const why = closeReason(code);
        if (why === 'unauthorized') {
          toLogin();
        } else if (why === 'stopped' || why === 'unknown') {
          setConn({ phase: why, code, reason });
        } else {
          const delay = Math.min(10000, 500 * 2 ** attempts++);
          setConn({ phase: 'retrying', at: Date.now() + delay, reason });
          retry = setTimeout(connect, delay);
        }
      });
    };

    control.current = { connect, rfb: () => rfb };
    connect();
    return () => {
      disposed = true;
      control.current = null;
      if (retry) clearTimeout(retry);
      rfb?.disconnect();
    };
  }, [label]);

  useEffect(() => {
    viewRef.current = view;
    const r = control.current?.rfb();
    if (r) applyView(r, view);
  }, [view]);

  useEffect(() => {
    if (running && conn.phase === 'stopped') control.current?.connect();
  }, [running, conn.phase]);

  return (
    <div ref={frame} className="flex min-h-0 flex-1 flex-col bg-console">
      <div className="relative min-h-0 flex-1">
        <div ref={screen} data-console="vnc" className={`absolute inset-0 ${conn.phase === 'stopped' ? 'opacity-40' : ''}`} />
        {conn.phase === 'stopped' && (
          <StoppedBanner
            label={label}
            code={conn.code}
            suspended={suspended}
            onStart={async () => {
              await api.start(label);
              control.current?.connect();
            }}
          />
        )}
      </div>
      <ConsoleStatus conn={conn} what={`screen of ${label}`} suspended={suspended}>
        <div role="radiogroup" aria-label="Screen size" className="flex">
          {VIEWS.map((v) => (
            <button
              key={v.value}
              type="button"
              role="radio"
              aria-checked={view === v.value}
              title={v.value === 'remote' && !resizable ? `The ${vga ?? 'guest\'s'} display adapter cannot be resized from the viewer (virtio or qxl can)` : v.title}
              disabled={v.value === 'remote' && !resizable}
              onClick={() => setView(v.value)}
              className={`btn btn-sm -ml-px first:ml-0 rounded-none first:rounded-l last:rounded-r ${view === v.value ? 'bg-sunken font-medium' : ''}`}
            >
              {v.label}
            </button>
          ))}
        </div>
        <ClipboardPanel label={label} shared={sharedClipboard} guestText={guestClipboard} send={(text) => control.current?.rfb()?.clipboardPasteFrom(text)} />
        <button type="button" className="btn btn-sm" onClick={() => void frame.current?.requestFullscreen()}>Fullscreen</button>
        {conn.phase !== 'connected' && conn.phase !== 'connecting' && (
          <button type="button" className="btn btn-sm" onClick={() => control.current?.connect()}>Reconnect</button>
        )}
      </ConsoleStatus>
    </div>
  );
}

/**
 * The clipboard: with CLIPBOARD=vdagent, the guest's clipboard (what its
 * spice-vdagent hands QEMU) and text sent to it; always, text typed into the
 * guest as keystrokes in its layout (POST /api/vms/:label/keys {text}).
 */
function ClipboardPanel({ label, shared, guestText, send }: { label: string; shared: boolean; guestText: string; send: (text: string) => void }) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState(false);
  return (
    <div className="relative">
      <button type="button" className="btn btn-sm" aria-expanded={open} onClick={() => setOpen(!open)}>Clipboard</button>
      {open && (
        <form
          aria-label="Clipboard"
          className="absolute right-0 bottom-8 z-20 w-80 rounded border border-line bg-surface p-2 shadow-lg"
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            setError(null);
            try {
              await api.typeText(label, text);
              setText('');
              setOpen(false);
            } catch (err) {
              setError((err as Error).message);
            } finally {
              setBusy(false);
            }
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape') setOpen(false);
          }}
        >
          <p data-testid="clipboard-mode" className="mb-2 text-xs text-muted">
            {shared
              ? 'Shared clipboard (qemu-vdagent): text the guest copies shows below, Send puts text on its clipboard. Needs spice-vdagent running in the guest.'
              : 'No shared clipboard (CLIPBOARD is not vdagent): text is typed into the guest as keystrokes.'}
          </p>
          {shared && (
            <>
              <label htmlFor="guest-clipboard" className="label">The guest&apos;s clipboard</label>
              <textarea id="guest-clipboard" readOnly rows={2} value={guestText} placeholder="nothing copied in the guest yet" className="input mb-2 h-auto py-1 font-mono text-xs" />
            </>
          )}
          <label htmlFor="paste-keys" className="label">{shared ? `Text for ${label}` : `Typed into ${label} as keystrokes`}</label>
          <textarea id="paste-keys" autoFocus rows={4} value={text} onChange={(e) => { setText(e.target.value); setSent(false); }} className="input h-auto py-1 font-mono text-xs" />
          {error && <p className="field-error">{error}</p>}
          {sent && <p role="status" className="text-xs text-muted">Sent to the guest&apos;s clipboard.</p>}
          <div className="mt-2 flex justify-end gap-1.5">
            <button type="button" className="btn btn-sm" onClick={() => setOpen(false)}>Cancel</button>
            {shared && <button type="button" className="btn btn-sm" disabled={!text} onClick={() => { send(text); setSent(true); }}>Send to clipboard</button>}
            <button type="submit" className="btn btn-sm btn-primary" disabled={busy || !text}>{busy ? 'Typing…' : 'Type as keys'}</button>
          </div>
        </form>
      )}
    </div>
  );
}
