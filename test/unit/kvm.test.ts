// The KVM decision for each thing a host can show: no device, a device we may
// not open, a probe guest that answers, hangs, answers wrongly or that QEMU
// refuses to start; and the cache the wrappers read.
import assert from 'node:assert/strict';
import test from 'node:test';
import { composeSpec } from '../../lib/options';
import { decideKvm, parseProbeCache, probeKey, probeOutcome, renderProbeCache } from '../../lib/kvm';
import { BUILTIN_TEMPLATES } from '../../lib/templates';

const oneLine = (s: string) => assert.doesNotMatch(s, /\n/);

test('no /dev/kvm: emulated, with the fix', () => {
  const v = decideKvm({ device: { kind: 'missing' }, modules: [] });
  assert.equal(v.usable, false);
  assert.match(v.detail, /^\/dev\/kvm: not present: VMs run emulated \(ACCELERATOR=QEMU\)/);
  assert.match(v.fix ?? '', /kvm_intel or kvm_amd/);
});

test('a /dev/kvm we may not open: emulated, fix names the group', () => {
  const v = decideKvm({ device: { kind: 'refused', code: 'EACCES' }, modules: ['kvm', 'kvm_intel'] });
  assert.equal(v.usable, false);
  assert.match(v.detail, /cannot be opened \(EACCES\)/);
  assert.match(v.fix ?? '', /group kvm/);
});

test('a probe guest that answers: KVM', () => {
  const v = decideKvm({ device: { kind: 'opens' }, modules: ['kvm', 'kvm_intel'], probe: { kind: 'ok', ms: 80 } });
  assert.equal(v.usable, true);
  assert.match(v.detail, /a test guest runs under it/);
});

test('a probe guest that hangs under kvm_pvm: emulated, saying what was seen', () => {
  const v = decideKvm({ device: { kind: 'opens' }, modules: ['kvm', 'kvm_pvm'], probe: { kind: 'stuck', stage: 'L', ms: 6000 } });
  assert.equal(v.usable, false);
  oneLine(v.detail);
  assert.equal(v.detail, '/dev/kvm: opens, but a test guest does not run under it (kvm_pvm: runs only PVM guest kernels; it reached long mode, then hung at its first exception in 6 s): VMs run emulated (ACCELERATOR=QEMU)');
  assert.equal(v.reason, '/dev/kvm: opens, but a test guest does not run under it (kvm_pvm: runs only PVM guest kernels; it reached long mode, then hung at its first exception in 6 s)');
});

test('a probe guest that hangs under kvm_intel (broken nested virtualization) says so too', () => {
  const v = decideKvm({ device: { kind: 'opens' }, modules: ['kvm', 'kvm_intel'], probe: { kind: 'stuck', stage: '', ms: 6000 } });
  assert.equal(v.usable, false);
  assert.match(v.detail, /kvm_intel loaded; it never reached its first instruction/);
});

test('a probe guest that answers wrongly: emulated', () => {
  const v = decideKvm({ device: { kind: 'opens' }, modules: ['kvm', 'kvm_amd'], probe: { kind: 'wrong', exitCode: 33, output: 'RPLI' } });
  assert.equal(v.usable, false);
  assert.match(v.detail, /runs wrongly under it \(exit 33, printed 'RPLI'; kvm_amd loaded\)/);
});

test('QEMU refusing -accel kvm: emulated, with QEMU\'s words', () => {
  const v = decideKvm({ device: { kind: 'opens' }, modules: ['kvm'], probe: { kind: 'qemu-refused', message: 'failed to initialize kvm: Operation not permitted' } });
  assert.equal(v.usable, false);
  assert.match(v.detail, /QEMU cannot use it \(failed to initialize kvm: Operation not permitted\)/);
});

test('the probe\'s run is read from its exit code, its serial output and the time limit', () => {
  const base = { stderr: '', ms: 100 };
  assert.deepEqual(probeOutcome({ ...base, exitCode: 99, timedOut: false, serial: 'RPLIFvmdeck-kvm-probe: long mode\n' }), { kind: 'ok', ms: 100 });
  assert.deepEqual(probeOutcome({ ...base, exitCode: null, timedOut: true, serial: 'RPL' }), { kind: 'stuck', stage: 'L', ms: 100 });
  assert.deepEqual(probeOutcome({ ...base, exitCode: null, timedOut: true, serial: '' }), { kind: 'stuck', stage: '', ms: 100 });
  // The right exit code without the probe's line is not the probe's answer.
  assert.equal(probeOutcome({ ...base, exitCode: 99, timedOut: false, serial: 'RP' }).kind, 'wrong');
  assert.deepEqual(probeOutcome({ ...base, exitCode: 33, timedOut: false, serial: 'RPLI' }), { kind: 'wrong', exitCode: 33, output: 'RPLI' });
  assert.deepEqual(
    probeOutcome({ ...base, exitCode: 1, timedOut: false, serial: '', stderr: 'qemu-system-x86_64: warning: host doesn\'t support requested feature\nqemu-system-x86_64: -accel kvm: Could not access KVM kernel module: Permission denied\n' }),
    { kind: 'qemu-refused', message: '-accel kvm: Could not access KVM kernel module: Permission denied' },
  );
});

test('the cache round-trips, and its key changes with the boot and the modules', () => {
  const v = decideKvm({ device: { kind: 'opens' }, modules: ['kvm', 'kvm_pvm'], probe: { kind: 'stuck', stage: 'R', ms: 6000 } });
  const key = probeKey('c564adb1-41b9-4d73-8d2f-4a82059c3857\n', ['kvm_pvm', 'kvm']);
  assert.equal(key, 'c564adb1-41b9-4d73-8d2f-4a82059c3857 kvm,kvm_pvm');
  assert.notEqual(probeKey('other-boot', ['kvm', 'kvm_pvm']), key);
  assert.notEqual(probeKey('c564adb1-41b9-4d73-8d2f-4a82059c3857', ['kvm', 'kvm_intel']), key);
  const back = parseProbeCache(renderProbeCache(key, v));
  assert.deepEqual(back, { key, verdict: { usable: false, detail: v.detail, reason: v.reason, fix: v.fix } });
  assert.equal(parseProbeCache('key=x\nusable=maybe\ndetail=y\n'), null);
});

test('the create defaults follow the verdict: QEMU where the probe failed, KVM where it ran', () => {
  const template = BUILTIN_TEMPLATES.find((t) => t.id === 'linux-x86_64')!;
  const ids = { uuid: '123e4567-e89b-12d3-a456-426614174000', mac: '52:54:00:12:34:56' };
  const stuck = decideKvm({ device: { kind: 'opens' }, modules: ['kvm', 'kvm_pvm'], probe: { kind: 'stuck', stage: 'R', ms: 6000 } });
  const ran = decideKvm({ device: { kind: 'opens' }, modules: ['kvm', 'kvm_intel'], probe: { kind: 'ok', ms: 50 } });
  assert.equal(composeSpec('a', template, { kvm: stuck.usable, arch: 'x86_64' }, ids, {}, {}).input.accelerator, 'QEMU');
  assert.equal(composeSpec('a', template, { kvm: ran.usable, arch: 'x86_64' }, ids, {}, {}).input.accelerator, 'KVM');
});
