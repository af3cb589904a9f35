// Typing in a layout and Packer-style boot commands: the key a German or
// French guest needs for each character, characters refused by name, tokens
// and script steps with their one-line errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBootCommand, parseScript, screenLine, screenTextError, serialBytes } from '../../lib/automation';
import { textToLayoutPresses } from '../../lib/keys';

const keys = (text: string, layout: string) => {
  const r = textToLayoutPresses(text, layout);
  assert.ok(r.ok, !r.ok ? r.error : '');
  return r.ok ? r.presses.map((c) => c.join('+')) : [];
};

test('German: y and z swap, @ | { are AltGr chords, ß and ü have their own keys', () => {
  assert.deepEqual(keys('yz@|{ßüZ', 'de'), ['z', 'y', 'alt_r+q', 'alt_r+less', 'alt_r+7', 'minus', 'bracket_left', 'shift+y']);
});

test('French: a/q and z/w swap, m beside l, digits with shift, @ on AltGr+0', () => {
  assert.deepEqual(keys('aqzwm1@', 'fr'), ['q', 'a', 'w', 'z', 'semicolon', 'shift+1', 'alt_r+0']);
});

test('US is the default; a character a layout has no key for, or a layout vmdeck does not know, is refused by name', () => {
  assert.deepEqual(keys('a@', ''), ['a', 'shift+2']);
  assert.deepEqual(keys('a@', 'en-us'), ['a', 'shift+2']);
  assert.deepEqual(textToLayoutPresses('ça', 'de'), { ok: false, error: "text: character 'ç' at position 1 cannot be typed on a German keyboard" });
  const r = textToLayoutPresses('a', 'ja');
  assert.ok(!r.ok && r.error.startsWith("KBD_LAYOUT: 'ja' is not a layout vmdeck can type in (en-us, de, fr)"));
});

test('boot commands: text, <enter>, <f2>, <wait5>, <wait500ms>; an unknown token is refused naming it', () => {
  const r = parseBootCommand('root<enter><wait5><f2>x<wait500ms><esc>');
  assert.ok(r.ok);
  assert.deepEqual(r.ok && r.items, [
    { text: 'root' }, { key: 'ret', seq: '\r' }, { wait: 5 }, { key: 'f2', seq: '\x1bOQ' }, { text: 'x' }, { wait: 0.5 }, { key: 'esc', seq: '\x1b' },
  ]);
  assert.deepEqual(r.ok && serialBytes(r.items), ['root', '\r', { wait: 5 }, '\x1bOQ', 'x', { wait: 0.5 }, '\x1b']);
  assert.deepEqual(parseBootCommand('a<bogus>'), { ok: false, error: "text: '<bogus>' is not a key token (<enter>, <esc>, <tab>, <f1>…<f12>, <up>, <wait5>, …)" });
});

test('scripts: steps by line, timeout applies to later expects, errors name the line', () => {
  const r = parseScript('# c\ntimeout 9\nexpect login:\nsend root<enter>\n\ntype ls<enter>\nwait 2\n');
  assert.deepEqual(r.ok && r.steps, [
    { kind: 'expect', pattern: 'login:', timeout: 9 }, { kind: 'send', text: 'root<enter>' }, { kind: 'type', text: 'ls<enter>' }, { kind: 'wait', seconds: 2 },
  ]);
  assert.deepEqual(parseScript('send ok\nfrobnicate x'), { ok: false, error: "script: line 2: 'frobnicate x' is not a step (expect, send, type, wait, timeout)" });
  assert.match((parseScript('expect (') as { error: string }).error, /^script: line 1: '\(' is not a regular expression/);
});

test('a screen shows text as OCR reads it: blanks, case and curly quotes aside; the line it is on', () => {
  const read = 'BusyBox v1.35.0 built-in shell (ash)\nEnter ‘help’ for a list\n\nguest :/# uname\nLinux\n';
  assert.equal(screenLine(read, 'guest:/#'), 'guest :/# uname');
  assert.equal(screenLine(read, "enter 'help'"), 'Enter ‘help’ for a list');
  assert.equal(screenLine(read, 'linux'), 'Linux');
  assert.equal(screenLine(read, 'grub>'), null);
  assert.equal(screenTextError(''), 'screen: some text to wait for is needed');
  assert.match(screenTextError('a\nb') ?? '', /^screen: the text may not hold control characters/);
});

test('a script waits for the screen with expect --screen TEXT', () => {
  const r = parseScript('timeout 20\nexpect --screen grub>\ntype ls<enter>\n');
  assert.deepEqual(r, { ok: true, steps: [{ kind: 'screen', text: 'grub>', timeout: 20 }, { kind: 'type', text: 'ls<enter>' }] });
  assert.deepEqual(parseScript('expect --screen \n'), { ok: false, error: 'script: line 1: screen: some text to wait for is needed' });
});
