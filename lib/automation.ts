// Console automation without an agent: Packer-style boot commands (text with
// <enter>, <wait5>, <f2> … tokens) and scripts of expect/send/type steps.
// Pure: parsing, and what each token means on a screen or a serial line.
import { qcodeOf, type QCode } from './keys';

/** Part of a boot command: text to type, a key to press, or a pause. */
export type Item = { text: string } | { key: QCode; seq?: string } | { wait: number };

/** Packer's special keys and their QKeyCode, and what a serial line gets for them. */
const SPECIAL: Record<string, { key: QCode; seq?: string }> = {
  enter: { key: 'ret', seq: '\r' }, return: { key: 'ret', seq: '\r' }, esc: { key: 'esc', seq: '\x1b' },
  tab: { key: 'tab', seq: '\t' }, bs: { key: 'backspace', seq: '\x7f' }, del: { key: 'delete', seq: '\x1b[3~' },
  spacebar: { key: 'spc', seq: ' ' }, insert: { key: 'insert', seq: '\x1b[2~' }, home: { key: 'home', seq: '\x1b[H' },
  end: { key: 'end', seq: '\x1b[F' }, pageup: { key: 'pgup', seq: '\x1b[5~' }, pagedown: { key: 'pgdn', seq: '\x1b[6~' },
  up: { key: 'up', seq: '\x1b[A' }, down: { key: 'down', seq: '\x1b[B' }, right: { key: 'right', seq: '\x1b[C' }, left: { key: 'left', seq: '\x1b[D' },
};

const DURATION = /^wait(\d+(?:\.\d+)?)?(ms|s|m)?$/;

/** A boot command's items, or the one-line error naming the token that is not one. */
export function parseBootCommand(text: string): { ok: true; items: Item[] } | { ok: false; error: string } {
  const items: Item[] = [];
  let plain = '';
  const flush = () => { if (plain) items.push({ text: plain }); plain = ''; };
  const re = /<([A-Za-z0-9_.]+)>/g;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    plain += text.slice(at, m.index);
    at = m.index + m[0].length;
    const name = m[1].toLowerCase();
    const wait = DURATION.exec(name);
    const f = /^f([1-9]|1[0-2])$/.exec(name);
    if (wait) {
      flush();
      const n = wait[1] === undefined ? 1 : Number(wait[1]);
      items.push({ wait: wait[2] === 'ms' ? n / 1000 : wait[2] === 'm' ? n * 60 : n });
    } else if (SPECIAL[name]) {
      flush();
      items.push(SPECIAL[name]);
    } else if (f) {
      flush();
      items.push({ key: name as QCode, seq: ['\x1bOP', '\x1bOQ', '\x1bOR', '\x1bOS', '\x1b[15~', '\x1b[17~', '\x1b[18~', '\x1b[19~', '\x1b[20~', '\x1b[21~', '\x1b[23~', '\x1b[24~'][Number(f[1]) - 1] });
    } else if (qcodeOf(name)) {
      flush();
      items.push({ key: qcodeOf(name)! });
    } else {
      return { ok: false, error: `text: '<${m[1]}>' is not a key token (<enter>, <esc>, <tab>, <f1>…<f12>, <up>, <wait5>, …)` };
    }
  }
  plain += text.slice(at);
  flush();
  return { ok: true, items };
}

/** A step of a script file. */
export type Step =
  | { kind: 'expect'; pattern: string; timeout?: number }
  | { kind: 'send'; text: string }
  | { kind: 'type'; text: string }
  | { kind: 'wait'; seconds: number };

/**
 * A script: one step a line, `expect REGEX` (serial output), `send TEXT`
 * (bytes to the serial console, tokens allowed), `type TEXT` (key presses on
 * the screen, tokens allowed), `wait SECONDS`, `timeout SECONDS` (for the
 * expects after it); blank lines and `#` comments are skipped.
 */
export function parseScript(text: string): { ok: true; steps: Step[] } | { ok: false; error: string } {
  const steps: Step[] = [];
  let timeout: number | undefined;
  for (const [n, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\r$/, '');
    if (/^\s*(#|$)/.test(line)) continue;
    const m = /^\s*(expect|send|type|wait|timeout)(?:\s(.*))?$/.exec(line);
    const where = `script: line ${n + 1}`;
    if (!m) return { ok: false, error: `${where}: '${line.trim().slice(0, 40)}' is not a step (expect, send, type, wait, timeout)` };
    const arg = m[2] ?? '';
    if (m[1] === 'wait' || m[1] === 'timeout') {
      if (!/^\s*\d+(\.\d+)?\s*$/.test(arg)) return { ok: false, error: `${where}: ${m[1]} needs a number of seconds` };
      if (m[1] === 'wait') steps.push({ kind: 'wait', seconds: Number(arg) });
      else timeout = Number(arg);
      continue;
    }
    if (arg === '') return { ok: false, error: `${where}: ${m[1]} needs ${m[1] === 'expect' ? 'a pattern' : 'text'}` };
    if (m[1] === 'expect') {
      try {
        new RegExp(arg);
      } catch (e) {
        return { ok: false, error: `${where}: '${arg}' is not a regular expression (${(e as Error).message})` };
      }
      steps.push({ kind: 'expect', pattern: arg, ...(timeout !== undefined ? { timeout } : {}) });
    } else {
      const parsed = parseBootCommand(arg);
      if (!parsed.ok) return { ok: false, error: `${where}: ${parsed.error}` };
      steps.push({ kind: m[1] as 'send' | 'type', text: arg });
    }
  }
  return { ok: true, steps };
}

/** The bytes a serial line gets for a boot command's items (a key without a sequence is refused by the caller). */
export function serialBytes(items: Item[]): (string | { wait: number })[] {
  return items.map((i) => ('text' in i ? i.text.replace(/\n/g, '\r') : 'wait' in i ? { wait: i.wait } : i.seq ?? ''));
}
