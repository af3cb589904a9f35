// Console automation: typing into a VM's screen (key events in its
// KBD_LAYOUT) or its serial console (bytes), waiting for the serial output
// to show a pattern or the screen to show a text (OCR, server/ocr.ts), and
// scripts of such steps (lib/automation.ts). The
// serial console is reached as `vmdeck console` reaches it: through a running
// dashboard's hub (QEMU serves one client per socket), else directly.
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { createContext, Script } from 'node:vm';
import type { RawData } from 'ws';
import { parseBootCommand, parseScript, screenLine, screenTextError, serialBytes, type Item } from '../lib/automation';
import { textToLayoutPresses, type QCode } from '../lib/keys';
import { claimConsole } from './console-claim';
import { readText } from './ocr';
import { screenImage } from './screen';
import { readConfig } from './config';
import { badInput, VmdeckError } from './errors';
import { sleep } from './proc';
import type { QmpClient } from './qmp';
import { noSerialSocket, notRunning, qmpCall, qmpMessage, resolveVm, runtimePaths, withQmp } from './runtime';
import { clientToken, consoleWsUrl, liveServer } from './serverfile';
import { task } from './tasks';
import { openWs, rawBytes } from './ws/open';

const MAX_TEXT = 16384;
/** How long a typed key is held, ms: long enough for a slow (TCG) guest, short of auto-repeat. */
const HOLD_MS = 30;
/** And a pause after it, so that chords never overlap. */
const GAP_MS = 20;

interface SerialLink {
  write(s: string): void;
  /** What the guest printed since the link opened, its oldest part dropped past 1 MiB. */
  readonly output: () => string;
  /** How many characters of the output were dropped from its start: a position in it is output's index + dropped. */
  readonly dropped: () => number;
  onOutput(fn: () => void): void;
  /** Why the link ended (the VM is not running, or stopped), or null while it is up. */
  readonly ended: () => VmdeckError | null;
  /** Ends the link once what was written has reached the guest (at most CLOSE_WAIT_MS). */
  close(): Promise<void>;
}

/**
 * How long a close waits for QEMU to take what was written: it reads the
 * serial socket only as fast as the guest's UART takes bytes, and drops
 * what it holds unread when the client goes (a typed line cut short).
 */
const CLOSE_WAIT_MS = 10_000;

/** The serial console: the dashboard's hub while one runs, else QEMU's socket (claimed, as vmdeck console does). */
async function openSerial(label: string): Promise<SerialLink> {
  let text = '';
  let dropped = 0;
  const waiters = new Set<() => void>();
  const got = (d: Buffer) => {
    text += d.toString('utf8');
    if (text.length > 1 << 20) {
      const cut = text.length - (1 << 19);
      text = text.slice(cut);
      dropped += cut;
    }
    for (const w of [...waiters]) w();
  };
  let ended: VmdeckError | null = null;
  const end = (why: VmdeckError) => {
    ended ??= why;
    for (const w of [...waiters]) w();
  };
  const base = { output: () => text, dropped: () => dropped, onOutput: (fn: () => void) => { waiters.add(fn); }, ended: () => ended };
  const server = await liveServer().catch(() => null);
  if (server) {
    let first = true;
    // The hub's first frame is its recent output: old, not what is waited for.
    const onMessage = (d: RawData) => {
      if (first) first = false;
      else got(rawBytes(d));
    };
    const ws = await openWs(consoleWsUrl(server, label, 'serial'), onMessage, {
      headers: { Authorization: `Bearer ${clientToken() ?? ''}` }, perMessageDeflate: false, handshakeTimeout: 5000,
      refused: (status) => new VmdeckError(500, `serial: the dashboard answered ${status}`, 'serial'),
    }).catch((e: NodeJS.ErrnoException) => {
      // Nobody listening (it died and left server.json): QEMU's socket, as vmdeck console does. Refused, or
      // not answering in time: the dashboard is there, and holds the console.
      if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') return null;
      throw e instanceof VmdeckError ? e : new VmdeckError(500, `serial: the dashboard (pid ${server.pid}, ${server.socket ? `socket ${server.socket}` : `port ${server.port}`}) did not take the console: ${e.message}`, 'serial');
    });
    if (ws) {
      ws.on('close', (code: number) => {
        if (code === 4409) void noSerialSocket(label).then(end);
        else if (code === 4410) end(new VmdeckError(409, `serial: VM '${label}' stopped`, 'label'));
      });
      // The hub holds QEMU's socket and writes what it was sent before it reads the close.
      return { ...base, write: (s) => ws.send(Buffer.from(s), { binary: true }), close: async () => ws.close(1000) };
    }
  }
  const p = runtimePaths(label);
  const claim = claimConsole(p.dir, 'serial', 'vmdeck expect');
  if ('holder' in claim) throw new VmdeckError(409, `serial: the serial console of VM '${label}' is in use by ${claim.holder} (start the dashboard, vmdeck serve, to share it)`, 'serial');
  const sock = connect(p.serial);
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', () => void noSerialSocket(label).then(reject));
    });
  } catch (e) {
    claim.release();
    throw e;
  }
  sock.on('data', got);
  sock.on('error', () => undefined);
  sock.on('close', () => end(new VmdeckError(409, `serial: VM '${label}' stopped`, 'label')));
  return {
    ...base,
    write: (s) => sock.write(s),
    // A half-close: QEMU reads the rest at the guest's pace, then sees the end and closes its side.
    // A close at once was a hang-up, on which QEMU drops what it had not read yet.
    close: () => new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sock.destroy();
        claim.release();
        resolve();
      };
      const timer = setTimeout(done, CLOSE_WAIT_MS);
      if (sock.destroyed) done();
      else {
        sock.once('close', done);
        sock.end();
      }
    }),
  };
}

async function withSerial<T>(label: string, fn: (link: SerialLink) => Promise<T>): Promise<T> {
  const vm = await resolveVm(label);
  const link = await openSerial(vm.label);
  try {
    return await fn(link);
  } finally {
    await link.close();
  }
}

function boot(text: string, tokens = true): Item[] {
  if (typeof text !== 'string' || text === '') throw badInput('text', 'text: some text to type is needed');
  if (text.length > MAX_TEXT) throw badInput('text', `text: ${text.length} characters is more than ${MAX_TEXT} at once`);
  if (!tokens) return [{ text }];
  const parsed = parseBootCommand(text);
  if (!parsed.ok) throw badInput('text', parsed.error);
  return parsed.items;
}

/** Bytes (and pauses) to the serial console. */
async function sendSerial(link: SerialLink, items: Item[]): Promise<void> {
  for (const part of serialBytes(items)) {
    if (typeof part === 'string') link.write(part);
    else await sleep(part.wait * 1000);
  }
}

/** The VM's keyboard layout, as its config says (KBD_LAYOUT; en-us when empty). */
async function layoutOf(config: string): Promise<string> {
  const { vars } = await readConfig(config);
  const v = vars.KBD_LAYOUT;
  return typeof v === 'string' ? v : '';
}

/** What is typed into a guest (a password, often) as the task log keeps it: its length, never the text. */
function unlogged(text: string | undefined): string | undefined {
  return text === undefined ? undefined : `(${[...text].length} characters, not logged)`;
}

function press(c: QmpClient, keys: readonly QCode[]): Promise<unknown> {
  return qmpCall(c, 'send-key', { keys: keys.map((k) => ({ type: 'qcode', data: k })), 'hold-time': HOLD_MS });
}

/** Key presses on the screen for a boot command, every text in the VM's layout; refused whole before anything is typed. */
async function typeScreen(label: string, items: Item[]): Promise<void> {
  const vm = await resolveVm(label);
  const layout = await layoutOf(vm.config);
  const plan: (QCode[] | number)[] = [];
  for (const item of items) {
    if ('text' in item) {
      const r = textToLayoutPresses(item.text, layout);
      if (!r.ok) throw badInput(r.error.startsWith('KBD_LAYOUT') ? 'KBD_LAYOUT' : 'text', r.error);
      plan.push(...r.presses);
    } else if ('key' in item) plan.push([item.key]);
    else plan.push(item.wait);
  }
  await withQmp(vm, async (c) => {
    for (const step of plan) {
      if (typeof step === 'number') {
        await sleep(step * 1000);
        continue;
      }
      await press(c, step).catch((e) => { throw new VmdeckError(500, `text: send-key failed for VM '${vm.label}': ${qmpMessage(e)}`, 'text'); });
      // One key at a time, released before the next.
      await sleep(GAP_MS);
    }
  });
}

/**
 * `vmdeck type` and POST /api/vms/:label/type: text (with <enter>, <wait5>,
 * <f2> … tokens) into the screen, or the serial console. tokens false: the
 * text as it is (pasted text, where '<b>' is three characters).
 */
export function typeInto(label: string, text: string, opts: { serial?: boolean; tokens?: boolean } = {}): Promise<void> {
  const items = boot(text, opts.tokens ?? true);
  return task('type', label, { text: unlogged(text), serial: opts.serial ?? false }, async () => {
    if (!opts.serial) return typeScreen(label, items);
    const bad = items.find((i) => 'key' in i && i.seq === undefined);
    if (bad && 'key' in bad) throw badInput('text', `text: the key '${bad.key}' has no serial sequence (type it on the screen)`);
    await withSerial(label, (link) => sendSerial(link, items));
  });
}

export interface ExpectResult {
  /** What the pattern matched. */
  matched: string;
}

const SERIAL_TAIL = 300;
const noAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

/** How long one match of a pattern over the output may take: a pattern that backtracks without end is stopped. */
const MATCH_LIMIT_MS = 1000;
const matcher = new Script('globalThis.m = globalThis.re.exec(globalThis.s)');
const matchContext = createContext({});

/**
 * pattern.exec(text) bounded in time: the pattern is the client's and the
 * text the guest's, and a pattern such as (a|a)*b over a line of a's would
 * hold the event loop, every console and request with it, for ever.
 */
function execBounded(pattern: RegExp, text: string): RegExpExecArray | null {
  Object.assign(matchContext, { re: pattern, s: text, m: null });
  try {
    matcher.runInContext(matchContext, { timeout: MATCH_LIMIT_MS });
    return matchContext.m as RegExpExecArray | null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw e;
    throw badInput('serial', `serial: /${pattern.source}/ took more than ${MATCH_LIMIT_MS / 1000} s to match ${text.length} characters of output (it backtracks without end): write it without nested repeats such as (a|a)*`);
  } finally {
    Object.assign(matchContext, { re: null, s: '', m: null });
  }
}

/**
 * Waits on a link until pattern shows in the output from position `from` on
 * (counted from the link's start, dropped output included); returns the
 * match and the position of the output's end then.
 */
function waitFor(link: SerialLink, pattern: RegExp, from: number, timeoutS: number, label: string): Promise<{ matched: string; end: number }> {
  const since = () => link.output().slice(Math.max(0, from - link.dropped()));
  return new Promise((resolve, reject) => {
    const look = () => {
      let m: RegExpExecArray | null;
      try {
        m = execBounded(pattern, noAnsi(since()));
      } catch (e) {
        clearTimeout(timer);
        reject(e);
        return true;
      }
      if (!m) {
        // Nothing more will come: say why now, not at the timeout.
        const why = link.ended();
        if (why) {
          clearTimeout(timer);
          reject(why);
          return true;
        }
        return false;
      }
      clearTimeout(timer);
      resolve({ matched: m[0], end: link.dropped() + link.output().length });
      return true;
    };
    const timer = setTimeout(() => {
      const tail = noAnsi(since()).slice(-SERIAL_TAIL);
      reject(new VmdeckError(504, `VM '${label}' printed nothing matching /${pattern.source}/ within ${timeoutS} s (last output: ${JSON.stringify(tail)})`, 'serial'));
    }, timeoutS * 1000);
    if (!look()) link.onOutput(look);
  });
}

function regexOf(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (e) {
    throw badInput('serial', `serial: '${source}' is not a regular expression (${(e as Error).message})`);
  }
}

function timeoutOf(t: number | undefined): number {
  const s = t ?? 60;
  if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0 || s > 86400) throw badInput('timeout', `timeout: '${t}' is not a number of seconds from 0 to 86400`);
  return s;
}

/** `vmdeck expect` and POST /api/vms/:label/expect: waits for the serial output to match, then sends text (tokens allowed) to it. */
export function expectSerial(label: string, pattern: string, opts: { send?: string; timeout?: number } = {}): Promise<ExpectResult> {
  const re = regexOf(pattern);
  const timeout = timeoutOf(opts.timeout);
  const send = opts.send === undefined ? undefined : boot(opts.send);
  return task('expect', label, { serial: pattern, send: unlogged(opts.send), timeout }, () => withSerial(label, async (link) => {
    const { matched } = await waitFor(link, re, 0, timeout, label);
    if (send) await sendSerial(link, send);
    return { matched };
  }));
}

/** How often the screen is looked at, at most; it is read again only when it changed (a blinking cursor does). */
const SCREEN_POLL_MS = 1000;

/** Waits until the screen shows text (OCR); returns the line it is on. */
async function waitForScreen(label: string, text: string, timeoutS: number): Promise<string> {
  const deadline = Date.now() + timeoutS * 1000;
  let seen = '';
  let read = '';
  let reading = 0;
  for (;;) {
    const screen = await screenImage(label);
    const hash = createHash('sha1').update(screen.rgb).digest('hex');
    if (hash !== seen) {
      seen = hash;
      const t0 = Date.now();
      read = await readText(screen);
      reading = Date.now() - t0;
      const line = screenLine(read, text);
      if (line !== null) return line;
    }
    if (Date.now() >= deadline) {
      const last = read.replace(/\s+/g, ' ').trim().slice(-SERIAL_TAIL);
      throw new VmdeckError(504, `VM '${label}' showed no '${text}' on its screen within ${timeoutS} s (it read: ${JSON.stringify(last)})`, 'screen');
    }
    // OCR costs a core for a second or so: on a slow host it is not run back to back.
    await sleep(Math.max(SCREEN_POLL_MS, reading));
  }
}

/** `vmdeck expect --screen` and POST /api/vms/:label/expect {screen}: waits for text on the screen (OCR), then types text (tokens allowed) on it. */
export function expectScreen(label: string, text: string, opts: { send?: string; timeout?: number } = {}): Promise<ExpectResult> {
  const bad = screenTextError(text);
  if (bad) throw badInput('screen', bad);
  const timeout = timeoutOf(opts.timeout);
  const send = opts.send === undefined ? undefined : boot(opts.send);
  return task('expect', label, { screen: text, send: unlogged(opts.send), timeout }, async () => {
    const vm = await resolveVm(label);
    const matched = await waitForScreen(vm.label, text, timeout);
    if (send) await typeScreen(vm.label, send);
    return { matched };
  });
}

/** `vmdeck type L --script FILE` and POST /api/vms/:label/script: the steps in order on one serial link. */
export function runScript(label: string, script: string): Promise<{ steps: number }> {
  const parsed = parseScript(script);
  if (!parsed.ok) throw badInput('script', parsed.error);
  const steps = parsed.steps;
  const needsSerial = steps.some((s) => s.kind === 'expect' || s.kind === 'send');
  return task('script', label, { steps: steps.length }, async () => {
    const vm = await resolveVm(label);
    const link = needsSerial ? await openSerial(vm.label) : null;
    try {
      let from = 0;
      for (const s of steps) {
        if (s.kind === 'wait') await sleep(s.seconds * 1000);
        else if (s.kind === 'type') await typeScreen(vm.label, boot(s.text));
        else if (s.kind === 'send') await sendSerial(link!, boot(s.text));
        else if (s.kind === 'screen') await waitForScreen(vm.label, s.text, timeoutOf(s.timeout));
        // Each expect looks at what came after the previous one matched.
        else from = (await waitFor(link!, regexOf(s.pattern), from, timeoutOf(s.timeout), vm.label)).end;
      }
    } finally {
      await link?.close();
    }
    return { steps: steps.length };
  });
}
