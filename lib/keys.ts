// Keys for QMP send-key: QEMU's QKeyCode names (QEMU 7.2), the friendlier
// names people type, and text turned into key presses on a US keyboard.

/** QEMU 7.2's QKeyCode enum, as query-qmp-schema lists it ('unmapped' left out). */
export const QCODES = [
  'shift', 'shift_r', 'alt', 'alt_r', 'ctrl', 'ctrl_r', 'menu', 'esc',
  '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', 'minus', 'equal', 'backspace', 'tab',
  'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p', 'bracket_left', 'bracket_right', 'ret',
  'a', 's', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'semicolon', 'apostrophe', 'grave_accent', 'backslash',
  'z', 'x', 'c', 'v', 'b', 'n', 'm', 'comma', 'dot', 'slash', 'asterisk', 'spc', 'caps_lock',
  'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9', 'f10', 'num_lock', 'scroll_lock',
  'kp_divide', 'kp_multiply', 'kp_subtract', 'kp_add', 'kp_enter', 'kp_decimal', 'sysrq',
  'kp_0', 'kp_1', 'kp_2', 'kp_3', 'kp_4', 'kp_5', 'kp_6', 'kp_7', 'kp_8', 'kp_9',
  'less', 'f11', 'f12', 'print', 'home', 'pgup', 'pgdn', 'end', 'left', 'up', 'down', 'right',
  'insert', 'delete', 'stop', 'again', 'props', 'undo', 'front', 'copy', 'open', 'paste', 'find',
  'cut', 'lf', 'help', 'meta_l', 'meta_r', 'compose', 'pause', 'ro', 'hiragana', 'henkan', 'yen',
  'muhenkan', 'katakanahiragana', 'kp_comma', 'kp_equals', 'power', 'sleep', 'wake',
  'audionext', 'audioprev', 'audiostop', 'audioplay', 'audiomute', 'volumeup', 'volumedown',
  'mediaselect', 'mail', 'calculator', 'computer', 'ac_home', 'ac_back', 'ac_forward',
  'ac_refresh', 'ac_bookmarks', 'lang1', 'lang2',
] as const;

export type QCode = (typeof QCODES)[number];

const KNOWN = new Set<string>(QCODES);

/** Names people use for keys whose QKeyCode is spelled differently. */
const ALIASES: Record<string, QCode> = {
  control: 'ctrl', ctl: 'ctrl', escape: 'esc', enter: 'ret', return: 'ret', space: 'spc',
  del: 'delete', ins: 'insert', pageup: 'pgup', pagedown: 'pgdn', bksp: 'backspace',
  win: 'meta_l', super: 'meta_l', meta: 'meta_l', cmd: 'meta_l', altgr: 'alt_r',
  capslock: 'caps_lock', numlock: 'num_lock', scrolllock: 'scroll_lock', printscreen: 'print',
  prtsc: 'print', period: 'dot', grave: 'grave_accent', backtick: 'grave_accent',
  quote: 'apostrophe', lbracket: 'bracket_left', rbracket: 'bracket_right',
};

/** The QKeyCode for a key name (case-insensitive, '-' same as '_'), or null. */
export function qcodeOf(name: string): QCode | null {
  const k = name.trim().toLowerCase().replace(/-/g, '_');
  if (KNOWN.has(k)) return k as QCode;
  return ALIASES[k.replace(/_/g, '')] ?? null;
}

/** The key of each printable character on a US keyboard, and whether shift is held. */
const US: Record<string, [QCode, boolean]> = (() => {
  const map: Record<string, [QCode, boolean]> = {};
  for (const c of 'abcdefghijklmnopqrstuvwxyz') {
    map[c] = [c as QCode, false];
    map[c.toUpperCase()] = [c as QCode, true];
  }
  const digits = '1234567890';
  const shifted = '!@#$%^&*()';
  for (let i = 0; i < 10; i++) {
    map[digits[i]] = [digits[i] as QCode, false];
    map[shifted[i]] = [digits[i] as QCode, true];
  }
  const pairs: [string, string, QCode][] = [
    ['-', '_', 'minus'], ['=', '+', 'equal'], ['[', '{', 'bracket_left'], [']', '}', 'bracket_right'],
    ['\\', '|', 'backslash'], [';', ':', 'semicolon'], ["'", '"', 'apostrophe'], ['`', '~', 'grave_accent'],
    [',', '<', 'comma'], ['.', '>', 'dot'], ['/', '?', 'slash'],
  ];
  for (const [plain, shift, code] of pairs) {
    map[plain] = [code, false];
    map[shift] = [code, true];
  }
  map[' '] = ['spc', false];
  map['\n'] = ['ret', false];
  map['\r'] = ['ret', false];
  map['\t'] = ['tab', false];
  return map;
})();

export type KeysResult = { ok: true; keys: QCode[] } | { ok: false; error: string };

/** Key names to QKeyCodes, refusing the first unknown one. */
export function parseKeys(names: readonly string[]): KeysResult {
  if (names.length === 0) return { ok: false, error: 'keys: at least one key is needed, e.g. ["ctrl", "alt", "delete"]' };
  const keys: QCode[] = [];
  for (const n of names) {
    const q = qcodeOf(n);
    if (!q) return { ok: false, error: `keys: '${n}' is not a key name (e.g. ctrl, alt, delete, f1, ret, a, 1)` };
    keys.push(q);
  }
  return { ok: true, keys };
}

export type TextResult = { ok: true; presses: QCode[][] } | { ok: false; error: string };

/** Text as key presses on a US keyboard: one chord (shift held where needed) per character. */
export function textToPresses(text: string): TextResult {
  const presses: QCode[][] = [];
  let i = 0;
  for (const ch of text.replace(/\r\n/g, '\n')) {
    const k = US[ch];
    if (!k) {
      const shown = ch.codePointAt(0)! < 0x20 ? `U+${ch.codePointAt(0)!.toString(16).padStart(4, '0')}` : ch;
      return { ok: false, error: `text: character '${shown}' at position ${i + 1} cannot be typed on a US keyboard` };
    }
    presses.push(k[1] ? ['shift', k[0]] : [k[0]]);
    i++;
  }
  return { ok: true, presses };
}
