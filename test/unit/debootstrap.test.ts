import assert from 'node:assert/strict';
import { test } from 'node:test';
import { debianSuite } from '../../lib/debootstrap';

test('debootstrap releases: Debian by number or name; Ubuntu refused saying so; anything else refused naming distrel', () => {
  assert.deepEqual(debianSuite(''), { suite: 'bookworm' });
  assert.deepEqual(debianSuite('12'), { suite: 'bookworm' });
  assert.deepEqual(debianSuite('Trixie'), { suite: 'trixie' });
  assert.deepEqual(debianSuite('11'), { suite: 'bullseye' });
  assert.deepEqual(debianSuite('jammy'), { error: "distrel: 'jammy' is Ubuntu jammy: vmdeck builds Debian releases only, from this host's apt sources (12 or bookworm, 13 or trixie, 11 or bullseye)" });
  assert.deepEqual(debianSuite('24.04'), { error: "distrel: '24.04' is Ubuntu noble: vmdeck builds Debian releases only, from this host's apt sources (12 or bookworm, 13 or trixie, 11 or bullseye)" });
  assert.deepEqual(debianSuite('sid'), { error: "distrel: 'sid' is not a Debian release vmdeck can build (12 or bookworm, 13 or trixie, 11 or bullseye)" });
});
