// The short forms of `npm run soak`'s fault and load parts (soak/*.ts), in
// seconds: each asserts what the soak's PASS says.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { consoleLoop, HEAP_GROWTH_MIB, printConsoleLoop } from '../../soak/consoles';
import { diskFull, printDiskFull } from '../../soak/diskfull';
import { printFaults, serverKills, snapshotKills } from '../../soak/faults';
import { hostile, printHostile } from '../../soak/hostile';

test('200 generated hostile API bodies: no 500, the server lives on, no value ran in a shell, nothing half-written', { timeout: 180_000 }, async () => {
  // A fixed seed here (the soak takes a new one each run and prints it): these bodies once found a 500 and a 39 s start.
  const f = await hostile(200, 213285);
  printHostile(f);
  assert.deepEqual(f.failures, []);
  assert.ok(f.alive, 'the server ended');
  assert.ok(!f.ran, 'a value ran in a shell');
  assert.deepEqual(f.halfWritten, []);
});

test('3 rounds of 100 consoles opened and closed: every one opens, no descriptor or heap kept', { timeout: 240_000 }, async () => {
  const f = await consoleLoop(3);
  printConsoleLoop(f);
  // VNC's socket listens with a backlog of 1: 30 clients at once once failed with EAGAIN.
  assert.deepEqual(f.failed, []);
  assert.ok(f.fdsAfter <= f.fdsBefore + 2, `descriptors ${f.fdsBefore} -> ${f.fdsAfter}`);
  assert.ok(f.heapAfter - f.heapBefore < HEAP_GROWTH_MIB, `heap ${f.heapBefore} -> ${f.heapAfter} MiB`);
});

test('the server killed during a create, a start, a suspend and console traffic: no half-written VM, VMs run on, consoles come back', { timeout: 300_000 }, async () => {
  // A suspend cut short once left its VM paused with a .suspend.part: the next server now finishes it.
  const f = await serverKills(4);
  printFaults('server-kills', f);
  assert.deepEqual(f.problems, []);
});

test('QEMU killed during a snapshot: a one-line answer, a sound disk, and the VM boots again', { timeout: 240_000 }, async () => {
  const f = await snapshotKills(1);
  printFaults('snapshot-kills', f);
  assert.deepEqual(f.problems, []);
});

test('a full disk: create, snapshot and suspend fail in one line and leave nothing half-written', { timeout: 240_000 }, async () => {
  // Once: the create's line was a bare ENOSPC, the snapshot's said only that it was not found, the suspend left its .cd file.
  const f = diskFull();
  printDiskFull(f);
  assert.deepEqual(f.problems, []);
  assert.match(f.results.create_err, /base: no space left in /);
  assert.match(f.results.snapshot_err, /'s1' was not saved: no space left in '[^']+' \(\d+ KiB free\)/);
  // It said only "Broken pipe" (QEMU's writer, from inside) before.
  assert.match(f.results.suspend_err, /saving the state of VM 'full2' failed: no space left in '[^']+' \(\d+ KiB free\); QEMU said: .*; it keeps running/);
});
