// The history a CLI console shows on attach has the terminal queries taken
// out, so the local terminal does not answer them into the guest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replayTail, stripTerminalQueries } from '../../server/cli/attach';

test('cursor position and device attribute queries are removed, the rest is kept', () => {
  const input = Buffer.from('a\x1b[6nb\x1b[cc\x1b[>cd\x1b[0ce\x1b[?6nf\x1b[5ng\x1b[1;32mgreen\x1b[0m\x1b[2J\xff', 'latin1');
  assert.equal(stripTerminalQueries(input).toString('latin1'), 'abcdefg\x1b[1;32mgreen\x1b[0m\x1b[2J\xff');
  const plain = Buffer.from('nothing to take out\x1b[K');
  assert.equal(stripTerminalQueries(plain), plain);
});

test('the replay is the last 2 KiB from a line start, without queries', () => {
  const old = Buffer.from(`${'x'.repeat(3000)}\nline one\x1b[6n\nguest:~# \x1b[6n`);
  assert.equal(replayTail(old).toString(), 'line one\nguest:~# ');
  assert.equal(replayTail(Buffer.from('short\x1b[>c')).toString(), 'short');
});
