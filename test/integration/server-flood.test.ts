// The short form of `npm run soak`'s flood (soak/flood.ts): 6,000 half-open
// requests and 500 wrong guesses a second. Asserted here: every request with
// the right token is answered, and the server's descriptors stay under its
// caps; the latency figures are printed (the soak holds them to 100 ms: a
// shared CI machine's scheduler is no base for a hard bound in npm test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONNECTION_LIMITS } from '../../server/http/connections';
import { flood, printFlood } from '../../soak/flood';

test('the right token is answered through a flood of half-open connections and wrong guesses', { timeout: 180_000 }, async () => {
  const o = { halfOpen: 6000, guessesPerS: 500, reopenPerS: 100, settleMs: 5000, measureMs: 6000 };
  const f = await flood(o);
  printFlood(f, o);
  assert.ok(f.opened >= o.halfOpen, `the flood was not made: ${f.opened} opened`);
  assert.deepEqual(f.unanswered, [], 'every request with the right token was answered');
  assert.ok(f.maxFds < CONNECTION_LIMITS.total + 256, `the server held ${f.maxFds} descriptors`);
});
