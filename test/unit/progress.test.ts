import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addSample, kvmErrorLines, pagingOn, parseProgress, progressWarning, renderProgress, type ProgressInput } from '../../lib/progress';

const T0 = 1_700_000_000_000;
const S = 1000;

/** Samples every 5 s from T0 + 1 s: the screens given, one per sample. */
function sampled(screens: string[], startedAt = T0) {
  let r;
  for (const [i, h] of screens.entries()) r = addSample(r, startedAt, T0 + S + i * 5 * S, h);
  return r!;
}

const judge = (over: Partial<ProgressInput>) => progressWarning({
  running: true, startedAt: T0, now: T0 + 120 * S, serialGrowth: 0, qemuLines: [], thresholdMs: 60 * S, ...over,
});

test('a screen seen before (a blinking cursor) is no change; a new one is', () => {
  const blink = sampled(['boot', 'a', 'b', 'a', 'b', 'a']);
  assert.equal(blink.firstAt, T0 + S);
  assert.equal(blink.changedAt, T0 + 11 * S, 'the cursor\'s second look, b, was the last new screen');
  assert.deepEqual(blink.screens, ['boot', 'a', 'b']);
  assert.equal(blink.lastAt, T0 + 26 * S);
  const moved = addSample(blink, T0, T0 + 30 * S, 'c');
  assert.equal(moved.changedAt, T0 + 30 * S);
  assert.deepEqual(moved.screens, ['boot', 'a', 'b', 'c']);
  // Only the last 8 are remembered.
  let many = moved;
  for (let i = 0; i < 10; i++) many = addSample(many, T0, T0 + (31 + i) * S, `s${i}`);
  assert.deepEqual(many.screens, ['s2', 's3', 's4', 's5', 's6', 's7', 's8', 's9']);
  // Another run of QEMU starts a new record.
  const next = addSample(moved, T0 + 40 * S, T0 + 41 * S, 'c');
  assert.deepEqual(next, { startedAt: T0 + 40 * S, firstAt: T0 + 41 * S, lastAt: T0 + 41 * S, changedAt: T0 + 41 * S, screens: ['c'] });
});

test('the progress file reads back what was written; anything else is no record', () => {
  const r = sampled(['x', 'y']);
  assert.deepEqual(parseProgress(renderProgress(r)), r);
  for (const bad of [undefined, '', 'garbage', '{}', '{"startedAt":1,"firstAt":1,"lastAt":1,"changedAt":"x","screens":[]}', '{"startedAt":1,"firstAt":1,"lastAt":1,"changedAt":1,"screens":[3]}']) {
    assert.equal(parseProgress(bad), undefined, String(bad));
  }
});

test('no progress: nothing on serial and the same screen for the threshold, watched all along', () => {
  // Stuck since the first sample: one screen for 115 s.
  const stuck = sampled(Array(24).fill('No bootable device'));
  assert.equal(judge({ progress: stuck }), 'no progress: nothing on serial since the start and the screen unchanged for 115 s');
  // A blinking cursor is still the same screen.
  assert.match(judge({ progress: sampled(['a', 'b', ...Array(22).fill(0).map((_, i) => (i % 2 ? 'a' : 'b'))]) }) ?? '', /^no progress: /);
});

test('a VM that printed on serial, changed its screen lately, was not watched long enough, or is not running is not judged stuck', () => {
  const stuck = sampled(Array(24).fill('same'));
  assert.equal(judge({ progress: stuck, serialGrowth: 17 }), undefined, 'serial output');
  assert.equal(judge({ progress: stuck, serialGrowth: undefined }), undefined, 'a run started without serial.start: unknown');
  assert.equal(judge({ progress: addSample(stuck, T0, T0 + 119 * S, 'new') }), undefined, 'the screen changed');
  assert.equal(judge({ progress: sampled(Array(10).fill('same')) }), undefined, 'watched for 45 s only');
  assert.equal(judge({ progress: undefined }), undefined, 'never sampled (no screen: VGA=none)');
  assert.equal(judge({ progress: sampled(Array(24).fill('same'), T0 - 5 * S) }), undefined, 'samples of an earlier run');
  assert.equal(judge({ progress: stuck, running: false }), undefined, 'paused');
  assert.equal(judge({ progress: stuck, startedAt: undefined }), undefined);
});

test('QEMU\'s KVM errors are the reason, and a warning even before the threshold', () => {
  const lines = [
    '2026-12-01 09:00:00 starting web',
    'KVM internal error. Suberror: 1',
    'emulation failure',
    'RAX=0000000000000000 RBX=0000000000000000',
    'error: kvm run failed Bad address',
    'qemu-system-x86_64: terminating on signal 15',
  ];
  assert.deepEqual(kvmErrorLines(lines), ['KVM internal error. Suberror: 1', 'error: kvm run failed Bad address']);
  assert.deepEqual(kvmErrorLines(['KVM: entry failed, hardware error 0x80000021']), ['KVM: entry failed, hardware error 0x80000021']);
  const stuck = sampled(Array(24).fill('same'));
  assert.equal(judge({ progress: stuck, qemuLines: lines }),
    'no progress: nothing on serial since the start and the screen unchanged for 115 s; QEMU: KVM internal error. Suberror: 1 | error: kvm run failed Bad address');
  assert.equal(judge({ progress: undefined, serialGrowth: 400, qemuLines: lines }), 'QEMU: KVM internal error. Suberror: 1 | error: kvm run failed Bad address');
  assert.equal(judge({ qemuLines: ['2026-12-01 09:00:00 starting web', 'qemu-system-x86_64: -accel kvm: warning: host doesn\'t support requested feature'] }), undefined,
    'a KVM warning about a CPU feature is no error');
});

test('an x86 CPU with paging on runs an OS kernel: an idle guest with a still screen and a silent serial is not stuck', () => {
  assert.equal(pagingOn('RIP=000000000000fff0 RFL=00000002\nCR0=00000010 CR2=00000000 CR3=00000000 CR4=00000000'), false);
  assert.equal(pagingOn('ES =0000\r\nCR0=80050033 CR2=0000000033fa2288 CR3=000000000293e000'), true);
  assert.equal(pagingOn(' PC=0000000040000000 X00=0000000000000000'), undefined, 'aarch64: not known');
  const screens = Array(24).fill('login:');
  let idle;
  let halted;
  for (const [i, h] of screens.entries()) {
    idle = addSample(idle, T0, T0 + S + i * 5 * S, h, i === 0 ? false : i === 1 ? true : undefined);
    halted = addSample(halted, T0, T0 + S + i * 5 * S, h, false);
  }
  assert.equal(idle!.paging, true, 'once on, it stays on for the run');
  assert.equal(judge({ progress: idle }), undefined);
  assert.equal(judge({ progress: halted }),
    'no progress: nothing on serial since the start and the screen unchanged for 115 s, and the CPU has not turned paging on: no OS kernel runs yet (stuck, or a boot menu waiting for a key)');
  assert.equal(parseProgress(renderProgress(idle!))?.paging, true);
});
