// ARGSADD from the API: the allowlist takes harmless options and refuses
// every way to run a program, open a host file or touch QEMU's sockets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { argsAddError, machineError } from '../../lib/argsadd';

test('harmless options pass', () => {
  for (const args of [
    ['-no-reboot'], ['-rtc', 'base=utc,clock=host'], ['-device', 'usb-tablet'], ['-usb', '-device', 'qemu-xhci,id=xhci'],
    ['-boot', 'menu=on,splash-time=5000'], ['-smbios', 'type=1,serial=abc123'], ['-watchdog-action', 'poweroff'], ['-k', 'de'],
  ]) assert.equal(argsAddError(args), null, args.join(' '));
});

test('programs, host files, listeners and QEMU\'s own sockets are refused, naming argsAdd', () => {
  for (const args of [
    ['-incoming', 'exec:id -un > /tmp/x'], ['-chardev', 'pipe,id=p,path=/tmp/p'], ['-chardev', 'file,id=f,path=/etc/shadow'],
    ['-drive', 'file=/etc/shadow'], ['-device', 'loader,file=/etc/shadow'], ['-device', 'e1000,romfile=/etc/shadow'],
    ['-device', 'usb-tablet,romfile=x'], ['-global', 'e1000.romfile=/etc/shadow'], ['-qmp', 'unix:/tmp/q,server'],
    ['-monitor', 'stdio'], ['-serial', 'tcp::4444,server'], ['-vnc', '0.0.0.0:0'], ['-display', 'vnc=:1'], ['-D', '/tmp/log'],
    ['-netdev', 'user,id=n,guestfwd=tcp:10.0.2.9:80-cmd:sh'], ['-machine', 'virt,dumpdtb=/tmp/x'], ['-boot', 'splash=/etc/shadow'],
    ['-smbios', 'file=/etc/shadow'], ['-rtc', 'base=utc,,file=x'], ['-nographic'], ['-rtc'], ['-object', 'memory-backend-file,mem-path=/dev/shm/x'],
    ['-smbios', 'type=1,serial=../etc'],
  ]) {
    const e = argsAddError(args);
    assert.ok(e?.startsWith('argsAdd: '), `${args.join(' ')}: ${e}`);
  }
});

test('the machine field takes a type and known keys only', () => {
  assert.equal(machineError('q35,accel=tcg'), null);
  assert.match(machineError('virt,dumpdtb=out.dtb') ?? '', /^machine: .*dumpdtb/);
});

test('TAP and bridge names may not start with - (ip and QEMU would take them as options)', async () => {
  const { ifaceNameError } = await import('../../lib/net');
  const { parseSpec } = await import('../../lib/spec');
  assert.match(ifaceNameError('tap', '-evil') ?? '', /^tap: /);
  assert.match(ifaceNameError('bridge', '--help') ?? '', /^bridge: /);
  assert.equal(ifaceNameError('tap', 'tap0'), null);
  const r = parseSpec({ label: 'x', arch: 'x86_64', accelerator: 'QEMU', qemu: 'qemu-system-x86_64', smp: 1, memsize: 64, nic: 'e1000', bootmode: 'KERNEL', kernel: '/k', console: 'NONE', mac: '52:54:00:12:34:56', uuid: '123e4567-e89b-12d3-a456-426614174000', netmode: 'tap', tapDevice: '-x' });
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.field, 'tapDevice');
});
