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

/**
 * A layout as rows of the physical keys (named by their US QKeyCode) and
 * what each types plain, with shift and with AltGr ('' where nothing, or a
 * dead key): the guest maps the key it is sent through its own keymap, so to
 * type 'y' to a German guest is to press the key where a US keyboard has z.
 */
type LayoutRows = [QCode, string, string, string?][];

function layoutFrom(rows: LayoutRows): Record<string, QCode[]> {
  const map: Record<string, QCode[]> = { ' ': ['spc'], '\n': ['ret'], '\r': ['ret'], '\t': ['tab'] };
  for (const [key, plain, shift, altgr] of rows) {
    if (plain && !map[plain]) map[plain] = [key];
    if (shift && !map[shift]) map[shift] = ['shift', key];
    if (altgr && !map[altgr]) map[altgr] = ['alt_r', key];
  }
  return map;
}

const letters = (except: string): LayoutRows =>
  [...'abcdefghijklmnopqrstuvwxyz'].filter((c) => !except.includes(c)).map((c) => [c as QCode, c, c.toUpperCase()]);

/** German (QWERTZ, Linux "de"): y and z swapped, AltGr for @ { [ ] } \\ | ~ €; ^ ` ´ are dead keys and not typed. */
const DE = layoutFrom([
  ['y', 'z', 'Z'], ['z', 'y', 'Y'], ['q', 'q', 'Q', '@'], ['e', 'e', 'E', '€'], ['m', 'm', 'M', 'µ'],
  ...letters('yzqem'),
  ['1', '1', '!'], ['2', '2', '"', '²'], ['3', '3', '§', '³'], ['4', '4', '$'], ['5', '5', '%'], ['6', '6', '&'],
  ['7', '7', '/', '{'], ['8', '8', '(', '['], ['9', '9', ')', ']'], ['0', '0', '=', '}'], ['minus', 'ß', '?', '\\'],
  ['bracket_left', 'ü', 'Ü'], ['bracket_right', '+', '*', '~'], ['semicolon', 'ö', 'Ö'], ['apostrophe', 'ä', 'Ä'],
  ['backslash', '#', "'"], ['less', '<', '>', '|'], ['comma', ',', ';'], ['dot', '.', ':'], ['slash', '-', '_'],
  ['grave_accent', '', '°'],
]);

/** French (AZERTY, Linux "fr"): a/q, z/w swapped, m beside l, digits with shift; ^ ¨ ~ ` are dead keys and not typed. */
const FR = layoutFrom([
  ['q', 'a', 'A'], ['a', 'q', 'Q'], ['w', 'z', 'Z'], ['z', 'w', 'W'], ['semicolon', 'm', 'M'], ['e', 'e', 'E', '€'],
  ...letters('qawzme'),
  ['1', '&', '1'], ['2', 'é', '2'], ['3', '"', '3', '#'], ['4', "'", '4', '{'], ['5', '(', '5', '['], ['6', '-', '6', '|'],
  ['7', 'è', '7'], ['8', '_', '8', '\\'], ['9', 'ç', '9', '^'], ['0', 'à', '0', '@'], ['minus', ')', '°', ']'], ['equal', '=', '+', '}'],
  ['bracket_right', '$', '£', '¤'], ['apostrophe', 'ù', '%'], ['backslash', '*', 'µ'], ['less', '<', '>'],
  ['m', ',', '?'], ['comma', ';', '.'], ['dot', ':', '/'], ['slash', '!', '§'], ['grave_accent', '²', ''],
]);

const US_CHORDS: Record<string, QCode[]> = Object.fromEntries(Object.entries(US).map(([c, [k, shift]]) => [c, shift ? ['shift', k] : [k]]));

/** The layouts text can be typed in, by KBD_LAYOUT (QEMU's keymap names). */
const LAYOUTS: Record<string, { name: string; chords: Record<string, QCode[]> }> = {
  '': { name: 'US', chords: US_CHORDS },
  'en-us': { name: 'US', chords: US_CHORDS },
  us: { name: 'US', chords: US_CHORDS },
  de: { name: 'German', chords: DE },
  fr: { name: 'French', chords: FR },
};

export const TYPABLE_LAYOUTS = ['en-us', 'de', 'fr'] as const;

/** A character as the user would call it in an error line. */
const shownChar = (ch: string) => (ch.codePointAt(0)! < 0x20 ? `U+${ch.codePointAt(0)!.toString(16).padStart(4, '0')}` : ch);

/** Text as key presses for a guest whose keyboard layout is KBD_LAYOUT (en-us when empty); a character it cannot type is refused by name. */
export function textToLayoutPresses(text: string, layout: string): TextResult {
  const l = LAYOUTS[layout.toLowerCase()];
  if (!l) return { ok: false, error: `KBD_LAYOUT: '${layout}' is not a layout vmdeck can type in (${TYPABLE_LAYOUTS.join(', ')}); use --serial, or type it in the console` };
  const presses: QCode[][] = [];
  let i = 0;
  for (const ch of text.replace(/\r\n/g, '\n')) {
    const chord = l.chords[ch];
    if (!chord) return { ok: false, error: `text: character '${shownChar(ch)}' at position ${i + 1} cannot be typed on a ${l.name} keyboard` };
    presses.push(chord);
    i++;
  }
  return { ok: true, presses };
}

/** Text as key presses on a US keyboard: one chord (shift held where needed) per character. */
export const textToPresses = (text: string): TextResult => textToLayoutPresses(text, '');
