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
  | { kind: 'screen'; text: string; timeout?: number }
  | { kind: 'send'; text: string }
  | { kind: 'type'; text: string }
  | { kind: 'wait'; seconds: number };

/**
 * A script: one step a line, `expect REGEX` (serial output), `expect
 * --screen TEXT` (text on the screen, read by OCR), `send TEXT`
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
    if (m[1] === 'expect' && /^--screen(\s|$)/.test(arg)) {
      const wanted = arg.slice('--screen'.length).trim();
      const bad = screenTextError(wanted);
      if (bad) return { ok: false, error: `${where}: ${bad}` };
      steps.push({ kind: 'screen', text: wanted, ...(timeout !== undefined ? { timeout } : {}) });
    } else if (m[1] === 'expect') {
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

const SCREEN_TEXT_MAX = 200;

/** Why a text to wait for on the screen is not one, or null. */
export function screenTextError(text: unknown): string | null {
  if (typeof text !== 'string' || text.trim() === '') return 'screen: some text to wait for is needed';
  if (text.length > SCREEN_TEXT_MAX) return `screen: ${text.length} characters is more than ${SCREEN_TEXT_MAX}`;
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'screen: the text may not hold control characters or line breaks (it is looked for on one line)';
  return null;
}

/** OCR's way of writing what is the same on a screen: no blanks (it adds and drops them), one case, straight quotes. */
const ocrForm = (s: string) => s.replace(/[\u2018\u2019\u201a\u2032`]/g, "'").replace(/[\u201c\u201d\u201e\u2033]/g, '"').replace(/\s+/g, '').toLowerCase();

/** The line of a screen's OCR text that shows text (blanks, case and quote shapes aside), or null. */
export function screenLine(ocrText: string, text: string): string | null {
  const wanted = ocrForm(text);
  for (const line of ocrText.split('\n')) if (ocrForm(line).includes(wanted)) return line.trim();
  // Text that wrapped onto the next line.
  return ocrForm(ocrText).includes(wanted) ? text : null;
}
