// A setting changed after create is checked by the spec's own schema of its
// field, named by ctys's variable or by the spec field, with create's text.
import assert from 'node:assert/strict';
import test from 'node:test';
import { cdsOf, diskOptionAssignments, disksOf, floppiesOf } from '../../lib/hardware';
import { checkChange, checkTogether, EDITABLE_FIELDS, fieldOf, type Change } from '../../lib/settings';

test('a config variable and a spec field name the same setting', () => {
  assert.equal(fieldOf('MEMSIZE'), 'memsize');
  assert.equal(fieldOf('memsize'), 'memsize');
  assert.equal(fieldOf('DEFAULTBOOTMODE'), 'bootmode');
  assert.equal(fieldOf('toString'), undefined);
});

test('text from the command line takes the field\'s type', () => {
  assert.deepEqual(checkChange('MEMSIZE', '1024'), { ok: true, change: { field: 'memsize', variable: 'MEMSIZE', value: 1024, text: '1024' } });
  const boot = checkChange('DEFAULTBOOTMODE', 'cd');
  assert.ok(boot.ok && boot.change.value === 'CD');
  const fwd = checkChange('HOSTFWD', 'tcp::2222-:22 udp::5353-:53');
  assert.ok(fwd.ok);
  if (fwd.ok) assert.deepEqual([fwd.change.value, fwd.change.text], [['tcp::2222-:22', 'udp::5353-:53'], 'tcp::2222-:22 udp::5353-:53']);
  const vnc = checkChange('vncDisplay', null);
  assert.ok(vnc.ok && vnc.change.text === '');
});

test('a bad value is refused with the field and create\'s own message', () => {
  assert.deepEqual(checkChange('MEMSIZE', 'lots'), { ok: false, field: 'memsize', error: "memsize: 'lots' is not a size in MiB" });
  assert.deepEqual(checkChange('smp', 0), { ok: false, field: 'smp', error: 'smp: must be at least 1 CPU' });
  const vga = checkChange('VGA', 'hercules');
  assert.ok(!vga.ok && vga.error.startsWith("vga: 'hercules' is not one of"));
  const nl = checkChange('APPEND', 'console=ttyS0\nrm -rf /');
  assert.ok(!nl.ok && nl.field === 'append');
});

test('identity and unknown names are refused, saying why', () => {
  assert.deepEqual(checkChange('LABEL', 'other'), { ok: false, field: 'label', error: "label: names the VM's directory and files and cannot be changed" });
  const unknown = checkChange('MEMORY', '1');
  assert.ok(!unknown.ok && /^MEMORY: is not a setting \(settings: .*MEMSIZE/.test(unknown.error));
  assert.ok(!EDITABLE_FIELDS.includes('uuid'));
});

test('the changed spec is checked as a whole, as create checks it', () => {
  const before = {
    label: 'a', uuid: '123e4567-e89b-12d3-a456-426614174000', mac: '52:54:00:12:34:56', arch: 'x86_64', accelerator: 'QEMU',
    qemu: 'qemu-system-x86_64', smp: 1, memsize: 256, nic: 'e1000', bootmode: 'VHDD', console: 'VNC', disk: 'a.qcow2',
  };
  const change = (name: string, v: unknown) => (checkChange(name, v) as { change: Change }).change;
  assert.deepEqual(checkTogether(before, [change('DEFAULTBOOTMODE', 'KERNEL')]), { field: 'kernel', error: 'kernel: is needed for boot mode KERNEL' });
  assert.equal(checkTogether(before, [change('DEFAULTBOOTMODE', 'KERNEL'), change('KERNELIMAGE', '/boot/vmlinuz')]), null);
  // A config that was no valid spec before (ctys's, without NIC) is held to each field's check only.
  const { nic: _n, ...ctys } = before;
  assert.equal(checkTogether(ctys, [change('DEFAULTBOOTMODE', 'KERNEL')]), null);
});

test('firmware and TPM: taken in any case, and held together as create holds them', () => {
  const change = (name: string, v: unknown) => (checkChange(name, v) as { change: Change }).change;
  assert.deepEqual(change('FIRMWARE', 'uefi'), { field: 'firmware', variable: 'FIRMWARE', value: 'UEFI', text: 'UEFI' });
  assert.deepEqual(change('SECUREBOOT', 'ON'), { field: 'secureBoot', variable: 'SECUREBOOT', value: 'on', text: 'on' });
  assert.deepEqual(change('TPM', '2.0'), { field: 'tpm', variable: 'TPM', value: '2.0', text: '2.0' });
  assert.deepEqual(checkChange('TPM', '1.2'), { ok: false, field: 'tpm', error: "tpm: '1.2' is not one of none, 2.0" });
  const pc = {
    label: 'a', uuid: '123e4567-e89b-12d3-a456-426614174000', mac: '52:54:00:12:34:56', arch: 'x86_64', accelerator: 'QEMU',
    qemu: 'qemu-system-x86_64', machine: 'pc', smp: 1, memsize: 256, nic: 'e1000', bootmode: 'VHDD', console: 'VNC', disk: 'a.qcow2',
  };
  assert.deepEqual(checkTogether(pc, [change('SECUREBOOT', 'on')]), { field: 'secureBoot', error: 'secureBoot: Secure Boot needs UEFI firmware (FIRMWARE=UEFI)' });
  assert.deepEqual(checkTogether(pc, [change('FIRMWARE', 'UEFI'), change('SECUREBOOT', 'on')]),
    { field: 'secureBoot', error: "secureBoot: Secure Boot needs machine q35 (OVMF's Secure Boot needs SMM), not 'pc'" });
  assert.equal(checkTogether(pc, [change('FIRMWARE', 'UEFI'), change('SECUREBOOT', 'on'), change('MACHINE', 'pc-q35-7.2'), change('TPM', '2.0')]), null);
  assert.deepEqual(checkTogether({ ...pc, arch: 'sparc', qemu: 'qemu-system-sparc', machine: 'SS-5' }, [change('FIRMWARE', 'UEFI')]),
    { field: 'firmware', error: 'firmware: UEFI is there for x86_64 and aarch64 guests, not sparc' });
});

test('disk options and drives: the config names each takes, and refusals naming the option', () => {
  assert.deepEqual(diskOptionAssignments(2, { readOnly: true, cache: 'none', discard: 'off', bootIndex: '03' }),
    { pairs: [['HDDBOOTIMAGE2_READONLY', 'on'], ['HDDBOOTIMAGE2_CACHE', 'none'], ['HDDBOOTIMAGE2_DISCARD', 'off'], ['HDDBOOTIMAGE2_BOOTINDEX', '3']] });
  assert.deepEqual(diskOptionAssignments(0, { bootindex: '' }), { pairs: [['HDDBOOTIMAGE_BOOTINDEX', '']] });
  assert.deepEqual(diskOptionAssignments(1, { readOnly: 'yes' }), { field: 'readOnly', error: "readOnly: 'yes' is not on or off" });
  assert.deepEqual(diskOptionAssignments(1, { size: '1G' }), { field: 'size', error: 'size: is not a disk option (readOnly, cache, discard, bootIndex)' });
  const vars = { HDDBOOTIMAGE: 'a.qcow2', HDDBOOTIMAGE_CACHE: 'unsafe', HDDBOOTIMAGE1: 'b.raw', HDDBOOTIMAGE1_READONLY: 'on', HDDBOOTIMAGE1_BOOTINDEX: '2', CDROM1: 'x.iso', CDROM1_IF: 'ide', CDROM2: '', CDROM2_IF: 'scsi', CDROM4_IF: 'ide', FDB: 'b.img' };
  assert.deepEqual(disksOf(vars).map((d) => [d.index, d.readOnly, d.cache, d.discard, d.bootIndex]), [[0, false, 'unsafe', false, null], [1, true, '', false, 2]]);
  // The list ends at the first drive without an interface: CDROM4 is not reached.
  assert.deepEqual(cdsOf(vars), [{ index: 1, file: 'x.iso', interface: 'ide' }, { index: 2, file: '', interface: 'scsi' }]);
  assert.deepEqual(floppiesOf(vars), [{ drive: 'B', file: 'b.img' }]);
});
