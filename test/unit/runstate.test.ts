import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stateOfRunstate } from '../../server/runtime';

test('QEMU run states: passing ones read as paused, failures carry the reason', () => {
  assert.deepEqual(stateOfRunstate('running'), { state: 'running' });
  assert.deepEqual(stateOfRunstate('paused'), { state: 'paused' });
  // A suspended VM resuming, a snapshot being taken: no failure badge for a moment's state.
  for (const s of ['inmigrate', 'postmigrate', 'save-vm', 'restore-vm', 'prelaunch', 'finish-migrate']) {
    assert.deepEqual(stateOfRunstate(s), { state: 'paused' }, s);
  }
  for (const s of ['guest-panicked', 'internal-error', 'io-error', 'shutdown']) {
    assert.deepEqual(stateOfRunstate(s), { state: 'paused', reason: `QEMU run state: ${s}` }, s);
  }
});
