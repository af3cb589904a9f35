'use client';
// A text console in xterm.js: the serial console, the QEMU monitor, or the
// CLI0 pty. Loaded only by the VM page (next/dynamic), never by the list.
//
// One owner for everything that holds a resource: the effect below creates
// the terminal, the socket, the observers and the timers, and its cleanup
// releases all of them.
import '@xterm/xterm/css/xterm.css';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { useEffect, useRef, useState } from 'react';
import { api, consoleUrl } from '../api';
import { copyToClipboard } from '../CopyText';
import { closeReason, ConsoleStatus, StoppedBanner, type ConnState } from './status';
import { toLogin } from '../session';

export type TerminalKind = 'serial' | 'monitor' | 'cli';

const TITLE: Record<TerminalKind, string> = { serial: 'serial console', monitor: 'QEMU monitor', cli: 'CLI0 console' };

// Dark in both themes, like a terminal; the dashboard's --console colour.
const THEME = {
  background: '#111418',
  foreground: '#d7dbe0',
  cursor: '#d7dbe0',
  selectionBackground: '#3a4a63',
};

/** A terminal's own answer to a query: cursor position, device attributes, status. */
const TERMINAL_REPORT = /^\x1b\[[?>]?[\d;]*[Rcn]$/;

export default function TerminalConsole({ label, kind, running, suspended = false, logUrl }: {
  label: string;
  kind: TerminalKind;
  /** The VM's state as the page knows it: a stopped console reconnects when it runs again. */
  running: boolean;
  /** Its state is saved on disk: the banner offers Resume. */
  suspended?: boolean;
  logUrl?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [conn, setConn] = useState<ConnState>({ phase: 'connecting' });
  const control = useRef<{ connect: () => void; clear: () => void; focus: () => void } | null>(null);

  useEffect(() => {
    const el = box.current!;
    const term = new Terminal({
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: 13,
      scrollback: 20000,
      cursorBlink: true,
      theme: THEME,
      allowProposedApi: false,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);

    let ws: WebSocket | null = null;
    let disposed = false;
    let attempts = 0;
    // While old output is replayed, the terminal's answers to the queries in it
    // (cursor position, device attributes) are not sent: the guest asked those
    // long ago, and they would arrive at today's shell as typed junk.
    let replaying = 0;
    let retry: ReturnType<typeof setTimeout> | null = null;
    const encoder = new TextEncoder();

    const send = (data: string | Uint8Array) => {
      if (ws?.readyState === WebSocket.OPEN) ws.send(typeof data === 'string' ? encoder.encode(data) : data);
    };
    const sendSize = () => {
      if (kind === 'cli' && ws?.readyState === WebSocket.OPEN) {
        ws.send(JSON.stringify({ type: 'resize', cols: term.cols, rows: term.rows }));
      }
    };

    const connect = () => {
      if (disposed) return;
      if (retry) clearTimeout(retry);
      retry = null;
      ws?.close();
      setConn({ phase: 'connecting' });
      const sock = new WebSocket(consoleUrl(label, kind));
      sock.binaryType = 'arraybuffer';
      ws = sock;
      // The server replays the recent output first: the screen is cleared when
      // that replay arrives, so that a reconnect does not show it twice, and a
      // refused connection (the VM stopped) leaves the old output readable.
      let replayed = false;
      sock.onopen = () => {
        attempts = 0;
        setConn({ phase: 'connected' });
        sendSize();
      };
      sock.onmessage = (m) => {
        const data = typeof m.data === 'string' ? m.data : new Uint8Array(m.data as ArrayBuffer);
        if (replayed) {
          term.write(data);
          return;
        }
        replayed = true;
        term.reset();
        replaying++;
        term.write(data, () => replaying--);
      };
      sock.onclose = (ev) => {
        if (disposed || ws !== sock) return;
        ws = null;
        const why = closeReason(ev.code);
        if (why === 'unauthorized') {
          toLogin();
        } else if (why === 'stopped' || why === 'unknown') {
          setConn({ phase: why, code: ev.code, reason: ev.reason });
        } else {
          const delay = Math.min(10000, 500 * 2 ** attempts++);
          setConn({ phase: 'retrying', at: Date.now() + delay, reason: ev.reason });
          retry = setTimeout(connect, delay);
        }
      };
    };

    term.onData((d) => {
      if (replaying > 0 && TERMINAL_REPORT.test(d)) return;
      send(d);
    });
    term.onBinary((d) => send(Uint8Array.from(d, (c) => c.charCodeAt(0))));
    term.onResize(sendSize);

    // Ctrl+Shift+C copies; Ctrl+Shift+V and Shift+Insert paste (the browser's
    // own paste event, which xterm turns into input). Plain Ctrl+C stays ^C.
    term.attachCustomKeyEventHandler((e) => {
      if (e.type !== 'keydown') return true;
      if (e.ctrlKey && e.shiftKey && (e.code === 'KeyC' || e.key === 'C')) {
        e.preventDefault();
        const sel = term.getSelection();
        if (sel) void copyToClipboard(sel);
        return false;
      }
      if ((e.ctrlKey && e.shiftKey && (e.code === 'KeyV' || e.key === 'V')) || (e.shiftKey && e.key === 'Insert')) {
        return false;
      }
      return true;
    });

    let frame = 0;
    const ro = new ResizeObserver(() => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        // A hidden tab has no size; fitting it would shrink the terminal to nothing.
        if (el.clientWidth > 0 && el.clientHeight > 0) fit.fit();
      });
    });
    ro.observe(el);

    control.current = { connect, clear: () => term.clear(), focus: () => term.focus() };
    connect();
    term.focus();

    return () => {
      disposed = true;
      control.current = null;
      if (retry) clearTimeout(retry);
      if (frame) cancelAnimationFrame(frame);
      ro.disconnect();
      ws?.close();
      term.dispose();
    };
  }, [label, kind]);

  // A console that found the VM stopped comes back by itself when it runs again.
  useEffect(() => {
    if (running && conn.phase === 'stopped') control.current?.connect();
  }, [running, conn.phase]);

  const start = async () => {
    await api.start(label);
    control.current?.connect();
  };

  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <div className="relative min-h-0 flex-1 bg-console p-1.5">
        <div ref={box} data-console={kind} className={`h-full w-full ${conn.phase === 'stopped' ? 'opacity-40' : ''}`} />
        {conn.phase === 'stopped' && <StoppedBanner label={label} code={conn.code} suspended={suspended} onStart={start} />}
        {conn.phase === 'unknown' && (
          <div role="alert" className="absolute inset-x-0 top-6 mx-auto w-fit rounded bg-surface px-4 py-2 shadow">no VM {label}</div>
        )}
      </div>
      <ConsoleStatus conn={conn} what={`${TITLE[kind]} of ${label}`} suspended={suspended}>
        <span className="hidden text-muted xl:inline">Ctrl+Shift+C copy · Ctrl+Shift+V paste</span>
        <button type="button" className="btn btn-sm" onClick={() => control.current?.clear()}>Clear</button>
        {conn.phase !== 'connected' && conn.phase !== 'connecting' && (
          <button type="button" className="btn btn-sm" onClick={() => control.current?.connect()}>Reconnect</button>
        )}
        {logUrl && <a className="btn btn-sm" href={logUrl} download={`${label}-serial.log`}>Download log</a>}
      </ConsoleStatus>
    </div>
  );
}
