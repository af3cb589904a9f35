import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseKeys, qcodeOf, QCODES, textToPresses } from '../../lib/keys';

test('key names map to QEMU qcodes, with the usual aliases', () => {
  assert.equal(qcodeOf('ctrl'), 'ctrl');
  assert.equal(qcodeOf('Control'), 'ctrl');
  assert.equal(qcodeOf('DEL'), 'delete');
  assert.equal(qcodeOf('Enter'), 'ret');
  assert.equal(qcodeOf('page-up'), 'pgup');
  assert.equal(qcodeOf('F12'), 'f12');
  assert.equal(qcodeOf('kp-1'), 'kp_1');
  assert.equal(qcodeOf('f13'), null, 'QEMU 7.2 has no F13');
  assert.ok(QCODES.includes('ac_bookmarks'));
});

test('parseKeys refuses an unknown key, naming it and the field', () => {
  assert.deepEqual(parseKeys(['ctrl', 'alt', 'delete']), { ok: true, keys: ['ctrl', 'alt', 'delete'] });
  const r = parseKeys(['ctrl', 'hyper']);
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.error : '', /^keys: 'hyper' is not a key name/);
  assert.match((parseKeys([]) as { error: string }).error, /^keys: at least one key/);
});

test('text becomes US-keyboard presses, shift for capitals and symbols', () => {
  const r = textToPresses('aZ1!$( \n|~"');
  assert.ok(r.ok);
  assert.deepEqual(r.ok && r.presses, [
    ['a'], ['shift', 'z'], ['1'], ['shift', '1'], ['shift', '4'], ['shift', '9'], ['spc'], ['ret'],
    ['shift', 'backslash'], ['shift', 'grave_accent'], ['shift', 'apostrophe'],
  ]);
});

test('text with a character no US key makes is refused with its position', () => {
  const r = textToPresses('ok é');
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.error, "text: character 'é' at position 4 cannot be typed on a US keyboard");
  const ctl = textToPresses('a\x07');
  assert.match(!ctl.ok ? ctl.error : '', /character 'U\+0007' at position 2/);
});
