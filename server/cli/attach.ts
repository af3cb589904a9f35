// This terminal on a VM's console (serial console or HMP monitor): raw mode,
// everything typed goes to the VM, Ctrl-] detaches. Without a terminal it is
// a plain pipe, for scripts. Two ways in: QEMU's UNIX socket directly, or,
// while a dashboard runs, its WebSocket console hub (QEMU serves one client
// per socket and queues a second silently, so with a dashboard holding the
// socket a direct attach would be a dead end that leaks keystrokes later).
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { claimConsole } from '../console-claim';
import WebSocket from 'ws';
import type { Io } from './args';
import { rawBytes } from '../ws/open';

const DETACH = 0x1d; // Ctrl-]

/**
 * Terminal queries whose answers a terminal types back: cursor position
 * (DSR `ESC[6n`, `ESC[?6n`), status (`ESC[5n`) and device attributes
 * (`ESC[c`, `ESC[0c`, `ESC[>c`, `ESC[=c`). In replayed history the guest
 * asked them long ago; the answers would reach today's prompt as junk like
 * `^[[7;10R`.
 */
const TERMINAL_QUERY = /\x1b\[(?:\??[56]n|[>=]?0?c)/g;

export function stripTerminalQueries(data: Buffer): Buffer {
  const text = data.toString('latin1');
  const stripped = text.replace(TERMINAL_QUERY, '');
  return stripped.length === text.length ? data : Buffer.from(stripped, 'latin1');
}

/** The part of old output shown on attach: its last `max` bytes from a line start, without terminal queries. */
export function replayTail(history: Buffer, max = 2048): Buffer {
  const tail = history.subarray(Math.max(0, history.length - max));
  const nl = tail.indexOf(0x0a);
  return stripTerminalQueries(nl >= 0 && history.length > max ? tail.subarray(nl + 1) : tail);
}

interface Session {
  /** Raw mode and stdin to `send`, once the console is connected. */
  start(banner: string): void;
  finish(code: number, message?: string): void;
}

/** The terminal side, common to both ways in. */
function session(io: Io, what: string, send: (d: Buffer) => void, close: () => void, resolve: (code: number) => void): Session {
  const stdin = process.stdin;
  const tty = Boolean(stdin.isTTY);
  let started = false;
  let finished = false;
  const onInput = (d: Buffer) => {
    const i = tty ? d.indexOf(DETACH) : -1;
    if (i >= 0) {
      if (i > 0) send(d.subarray(0, i));
      finish(0, `[detached from ${what}]`);
      return;
    }
    send(d);
  };
  // A script's input ends: give the VM a moment to answer, then go.
  const onEnd = () => setTimeout(() => finish(0), 500);
  function finish(code: number, message?: string): void {
    if (finished) return;
    finished = true;
    if (started) {
      stdin.off('data', onInput);
      stdin.off('end', onEnd);
      if (tty) stdin.setRawMode(false);
      stdin.pause();
    }
    close();
    if (message) io.err(`${tty ? '\r\n' : ''}${message}\n`);
    resolve(code);
  }
  return {
    start(banner) {
      if (finished || started) return;
      started = true;
      if (tty) io.err(`${banner}\r\n`);
      if (tty) stdin.setRawMode(true);
      stdin.on('data', onInput);
      stdin.on('end', onEnd);
      stdin.resume();
    },
    finish,
  };
}

/**
 * Attaches to QEMU's socket itself (no dashboard runs), once it has claimed
 * it (console-claim.ts): a second direct client would be queued by QEMU and
 * its keystrokes delivered later, so it is refused in one line instead.
 */
export function attach(socketPath: string, kind: 'serial' | 'monitor', what: string, command: string, io: Io): Promise<number> {
  const claim = claimConsole(dirname(socketPath), kind, command);
  if ('holder' in claim) {
    io.err(`${command}: the ${what} is in use by ${claim.holder}: QEMU serves one client per socket (start the dashboard, vmdeck serve, to share it)\n`);
    return Promise.resolve(1);
  }
  return new Promise<number>((resolve) => {
    const sock = connect(socketPath);
    const s = session(io, what, (d) => sock.write(d), () => sock.destroy(), resolve);
    // QEMU serves one client per socket and queues the rest: if another
    // program holds this one, nothing arrives until it lets go.
    sock.once('connect', () => s.start(`[${what}: Ctrl-] detaches; QEMU serves one client per socket]`));
    sock.on('data', (d: Buffer) => process.stdout.write(d));
    sock.once('error', (e) => s.finish(1, `${what}: ${e.message}`));
    sock.once('close', () => s.finish(0, `[${what} closed: the VM stopped]`));
  }).finally(() => claim.release());
}

export interface HubTarget {
  /** ws://host:port/ws/vms/L/serial|monitor */
  url: string;
  token: string | undefined;
  /** How the dashboard is named in messages, e.g. "the dashboard (pid 123, port 3000)". */
  server: string;
  label: string;
  /** The command, for error lines: "vmdeck console". */
  command: string;
}

/**
 * Attaches through the dashboard's console hub, shared with its browsers:
 * the same output, and every client may type. Resolves with the exit code,
 * or null when the dashboard could not be reached (the caller then attaches
 * directly).
 */
export function attachHub(target: HubTarget, what: string, io: Io): Promise<number | null> {
  return new Promise((resolve) => {
    // No Origin header: the server takes a missing one (a present one must match Host).
    const ws = new WebSocket(target.url, {
      headers: target.token ? { Authorization: `Bearer ${target.token}` } : {},
      perMessageDeflate: false,
      handshakeTimeout: 5000,
    });
    let opened = false;
    let replayed = false;
    let unreachable = false;
    const s = session(io, what, (d) => ws.send(d, { binary: true }), () => {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
      setTimeout(() => ws.terminate(), 1000).unref();
    }, resolve);
    const notReached = () => {
      if (opened || unreachable) return;
      unreachable = true;
      ws.terminate();
      resolve(null);
    };
    ws.once('open', () => {
      opened = true;
      s.start(`[${what} through ${target.server}, shared with its browsers: Ctrl-] detaches]`);
    });
    ws.once('unexpected-response', (req) => {
      req.destroy();
      notReached();
    });
    ws.on('error', (e) => {
      if (!opened) notReached();
      else s.finish(1, `${what}: ${e.message}`);
    });
    ws.on('message', (data: WebSocket.RawData) => {
      const buf = rawBytes(data);
      if (!replayed) {
        // The hub's first frame is its recent output (empty when there is none): old, shown as the direct attach shows serial.log.
        replayed = true;
        if (io.isTTY && buf.length) process.stdout.write(replayTail(buf));
        return;
      }
      process.stdout.write(buf);
    });
    ws.on('close', (code: number, reasonBuf: Buffer) => {
      if (!opened) return notReached();
      const reason = reasonBuf.toString();
      switch (code) {
        case 1000:
        case 1005:
          return s.finish(0, `[${what} closed${reason ? `: ${reason}` : ''}]`);
        case 4410:
          return s.finish(0, `[${what} closed: the VM stopped]`);
        case 4409:
          return s.finish(1, `${target.command}: label: VM '${target.label}' is not running`);
        case 4404:
          return s.finish(1, `${target.command}: ${reason || `label: no VM '${target.label}'`}`);
        case 4401:
          return s.finish(1, `${target.command}: ${target.server} refused the token: set VMDECK_TOKEN to its token (it keeps a generated one in $VMDECK_HOME/token)`);
        case 1006:
          return s.finish(1, `[${what}: the connection to ${target.server} was lost]`);
        default:
          return s.finish(1, `[${what} closed by ${target.server}: ${reason || `close code ${code}`}]`);
      }
    });
  });
}
