import assert from 'node:assert/strict';
import test from 'node:test';
import { parseSpec, quoted } from '../../lib/spec';

const good = {
  label: 'demo', uuid: '123e4567-e89b-12d3-a456-426614174000', mac: '52:54:00:12:34:56', arch: 'x86_64',
  accelerator: 'QEMU', qemu: 'qemu-system-x86_64', smp: 1, memsize: 256, nic: 'virtio-net-pci',
  bootmode: 'KERNEL', kernel: '/boot/vmlinuz', console: 'VNC',
};

function refusal(patch: Record<string, unknown>) {
  const r = parseSpec({ ...good, ...patch });
  assert.equal(r.ok, false, `expected a refusal for ${JSON.stringify(patch)}`);
  if (r.ok) throw new Error('unreachable');
  assert.doesNotMatch(r.error, /\n/, 'the error is one line');
  return r;
}

test('a complete spec passes and gets its defaults', () => {
  const r = parseSpec(good);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.spec.netmode, 'user');
  assert.equal(r.spec.diskFormat, 'qcow2');
  assert.deepEqual(r.spec.hostfwd, []);
});

test('a label with a blank is refused, naming the field and the value', () => {
  const r = refusal({ label: 'bad label' });
  assert.equal(r.field, 'label');
  assert.match(r.error, /^label: 'bad label' is not a valid label/);
});

test('labels that could escape a path or a command are refused', () => {
  for (const label of ['../x', 'a;b', '$(id)', '-rf', '', 'a/b', 'x'.repeat(64)]) {
    assert.equal(refusal({ label }).field, 'label', label);
  }
});

test('each bad value names its own field', () => {
  assert.equal(refusal({ mac: '01:00:5e:00:00:01' }).field, 'mac');
  assert.match(refusal({ mac: '01:00:5e:00:00:01' }).error, /multicast/);
  assert.equal(refusal({ memsize: 0 }).field, 'memsize');
  assert.equal(refusal({ smp: 1.5 }).field, 'smp');
  assert.equal(refusal({ ip: '10.0.0.256' }).field, 'ip');
  assert.equal(refusal({ netmask: '255.0.255.0' }).error, "netmask: '255.0.255.0' is not a netmask: its one bits must come first, like 255.255.255.0");
  for (const netmask of ['255.255.255.0', '255.255.254.0', '0.0.0.0', '255.255.255.255']) assert.ok(parseSpec({ ...good, netmask }).ok, netmask);
  assert.equal(refusal({ console: 'TELNET' }).field, 'console');
  assert.equal(refusal({ hostfwd: ['tcp:127.0.0.1:22-:22,guestfwd=x'] }).field, 'hostfwd');
  // Ports QEMU would refuse only at the start ("Bad host port"), addresses that are not IPv4.
  assert.equal(refusal({ hostfwd: ['tcp:127.0.0.1:99999-:22'] }).error, "hostfwd: [0] 'tcp:127.0.0.1:99999-:22' has a host port out of 1-65535 (99999)");
  assert.equal(refusal({ hostfwd: ['tcp::2222-:70000'] }).error, "hostfwd: [0] 'tcp::2222-:70000' has a guest port out of 1-65535 (70000)");
  assert.equal(refusal({ hostfwd: ['udp::0-:53'] }).field, 'hostfwd');
  assert.equal(refusal({ hostfwd: ['tcp:999.1.1.1:2222-:22'] }).error, "hostfwd: [0] 'tcp:999.1.1.1:2222-:22' has a host address that is not IPv4 (999.1.1.1)");
  assert.equal(refusal({ hostfwd: ['tcp::2222-10.0.2.300:22'] }).field, 'hostfwd');
  for (const rule of ['tcp::2222-:22', 'tcp:127.0.0.1:65535-10.0.2.15:1', 'udp:0.0.0.0:5353-:53']) assert.ok(parseSpec({ ...good, hostfwd: [rule] }).ok, rule);
  assert.equal(refusal({ append: 'quiet\nrm -rf /' }).field, 'append');
  assert.equal(refusal({ qemu: 'qemu; rm -rf /' }).field, 'qemu');
  assert.equal(refusal({ diskSize: '8 GB' }).field, 'diskSize');
});

test('a boot mode without its source names the missing field', () => {
  assert.equal(refusal({ kernel: '' }).field, 'kernel');
  assert.equal(refusal({ bootmode: 'CD' }).field, 'instSrcCdrom');
  assert.equal(refusal({ bootmode: 'VHDD' }).field, 'disk');
  assert.equal(refusal({ netmode: 'vde' }).field, 'vdeSwitch');
});

test('an unknown field is refused by name', () => {
  const r = refusal({ colour: 'blue' });
  assert.equal(r.field, 'colour');
  assert.match(r.error, /unknown field 'colour'/);
});

test('a missing required field says so', () => {
  const { nic: _nic, ...rest } = good;
  const r = parseSpec(rest);
  assert.ok(!r.ok);
  if (!r.ok) assert.equal(r.error, 'nic: is required');
});

test('the label net is reserved: the runtime root keeps the VDE switches there', () => {
  const r = refusal({ label: 'net' });
  assert.equal(r.error, "label: 'net' is reserved for vmdeck's network switches");
});

test('a refusal quotes a value on one line, as given: line breaks, control characters and reordering marks escaped', () => {
  assert.equal(quoted('a\nb\tc\r'), "'a\\nb\\tc\\r'");
  assert.equal(quoted('x\u202ey\u001b[31m'), "'x\\u202ey\\u001b[31m'");
  assert.equal(quoted('c1\u009b2J\u200f'), "'c1\\u009b2J\\u200f'");
  assert.equal(quoted("plain it's"), "'plain it's'");
  const r = parseSpec({ label: 'a\nb' });
  assert.ok(!r.ok && !r.error.includes('\n'), JSON.stringify(r));
});
