// The wrapper's per-disk options against what QEMU does with them: an IDE
// hard disk cannot be read-only (QEMU stops with "Block node is read-only"),
// so the wrapper and the API refuse it, naming the option, instead of a VM
// that does not start; a disk's bootindex would come before a boot mode's
// device (which has none), so it orders a boot from disk only. Runs the
// generated wrapper's --print with bash; no QEMU is started.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { renderCtys } from '../../lib/ctys';
import { diskOptionAssignments } from '../../lib/hardware';
import { assertSpec } from '../../lib/spec';
import { renderWrapper } from '../../lib/wrapper';

const ctx = { generator: 'test', date: '2026-12-01' };

function print(extra: string, args: string[] = []): { code: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vmdeck-wrapper-'));
  try {
    const spec = assertSpec({
      label: 'ro', uuid: '123e4567-e89b-12d3-a456-426614174000', mac: '52:54:00:12:34:56', arch: 'x86_64',
      accelerator: 'QEMU', qemu: 'qemu-system-x86_64', smp: 1, memsize: 128, nic: 'e1000', bootmode: 'VHDD',
      disk: 'ro.qcow2', console: 'NONE',
    });
    writeFileSync(join(dir, 'ro.ctys'), `${renderCtys(spec, ctx)}\n${extra}\n`);
    writeFileSync(join(dir, 'ro.sh'), renderWrapper('ro', ctx), { mode: 0o755 });
    for (const f of ['ro.qcow2', 'd1.raw', 'inst.iso', 'stick.img']) writeFileSync(join(dir, f), '');
    const r = spawnSync('bash', [join(dir, 'ro.sh'), '--print', ...args], { env: { ...process.env, VMDECK_RUN: join(dir, 'run') }, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a read-only virtio or scsi disk is built with readonly=on', () => {
  const r = print('HDDBOOTIMAGE1=d1.raw\nHDDBOOTIMAGE1_IF=scsi\nHDDBOOTIMAGE1_READONLY=on\nHDDBOOTIMAGE_READONLY=on');
  assert.equal(r.code, 0, r.stderr);
  const argv = r.stdout.split('\n');
  assert.ok(argv.some((a) => /,id=hd0,readonly=on$/.test(a)), r.stdout);
  assert.ok(argv.some((a) => /d1\.raw,format=raw,if=none,id=hd1,readonly=on$/.test(a)), r.stdout);
});

test('a read-only IDE disk is refused by the wrapper, naming the variable', () => {
  const extra = print('HDDBOOTIMAGE1=d1.raw\nHDDBOOTIMAGE1_IF=ide\nHDDBOOTIMAGE1_READONLY=on');
  assert.notEqual(extra.code, 0);
  assert.match(extra.stderr, /HDDBOOTIMAGE1_READONLY: an IDE disk cannot be read-only in QEMU \(HDDBOOTIMAGE1_IF=ide\)/);
  const first = print('HDDBOOTIMAGE_IF=ide\nHDDBOOTIMAGE_READONLY=on');
  assert.notEqual(first.code, 0);
  assert.match(first.stderr, /HDDBOOTIMAGE_READONLY: an IDE disk cannot be read-only in QEMU \(HDDBOOTIMAGE_IF=ide\)/);
  // Off stays fine on IDE.
  assert.equal(print('HDDBOOTIMAGE1=d1.raw\nHDDBOOTIMAGE1_IF=ide\nHDDBOOTIMAGE1_READONLY=off').code, 0);
});

test('a read-only IDE disk is refused by the API and the CLI, naming readOnly', () => {
  assert.deepEqual(diskOptionAssignments(1, { readOnly: true }, 'ide'),
    { field: 'readOnly', error: 'readOnly: an IDE disk cannot be read-only in QEMU (disk 1 is ide): use virtio or scsi' });
  assert.deepEqual(diskOptionAssignments(1, { readOnly: false }, 'ide'), { pairs: [['HDDBOOTIMAGE1_READONLY', 'off']] });
  assert.deepEqual(diskOptionAssignments(1, { readOnly: true }, 'scsi'), { pairs: [['HDDBOOTIMAGE1_READONLY', 'on']] });
});

/** The wrapper's --print with args, which must pass, a line per word. */
function printWith(extra: string, args: string[]): string[] {
  const r = print(extra, args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n');
}

test('disks\' boot indexes order a boot from disk only: a boot from CD, the network or a USB stick comes first', () => {
  const extra = 'HDDBOOTIMAGE_BOOTINDEX=0\nHDDBOOTIMAGE1=d1.raw\nHDDBOOTIMAGE1_BOOTINDEX=1';
  const fromDisk = printWith(extra, []);
  assert.ok(fromDisk.includes('virtio-blk-pci,drive=hd0,id=disk0,serial=disk0,bootindex=0'), fromDisk.join('\n'));
  assert.ok(fromDisk.includes('virtio-blk-pci,drive=hd1,id=disk1,serial=disk1,bootindex=1'));
  for (const mode of ['CD%inst.iso', 'USB%stick.img']) {
    const argv = printWith(extra, [`--bootmode=${mode}`]);
    // The USB stick keeps its own bootindex=0; no disk has one to put before it (or to clash with it).
    assert.deepEqual(argv.filter((a) => a.includes('bootindex=')), mode.startsWith('USB') ? ['usb-storage,bus=xhci.0,drive=usbstick,bootindex=0'] : [], argv.join('\n'));
    assert.ok(argv.some((a) => a.includes(',id=hd1')), 'the disks are still there');
  }
});
