import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkSnapshotName, parseImgSnapshots, parseInfoSnapshots } from '../../lib/snapshots';

test('HMP info snapshots: the loadable list, sizes in bytes', () => {
  const text = 'List of snapshots present on all disks:\r\n'
    + 'ID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT\r\n'
    + '--        s1               91.5 MiB 2026-11-25 15:29:56 00:00:08.023           \r\n'
    + '--        before-upgrade      0 B 2026-11-25 16:00:00 00:01:02.500\r\n'
    + '\r\nList of partial (non-loadable) snapshots on \'hd1\':\r\n'
    + 'ID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT\r\n'
    + '1         other            1 MiB 2026-11-25 15:00:00 00:00:01.000\r\n';
  const list = parseInfoSnapshots(text);
  assert.deepEqual(list.map((s) => s.name), ['s1', 'before-upgrade']);
  assert.equal(list[0].vmStateSize, Math.round(91.5 * 1024 * 1024));
  assert.equal(list[0].vmClock, '00:00:08.023');
  assert.equal(list[1].vmStateSize, 0);
  assert.deepEqual(parseInfoSnapshots('There is no snapshot available.\r\n'), []);
});

test('qemu-img info snapshots', () => {
  const list = parseImgSnapshots({ snapshots: [{ name: 'a', 'vm-state-size': 0, 'date-sec': 1700000000, 'date-nsec': 0, 'vm-clock-sec': 3725, 'vm-clock-nsec': 5000000 }] });
  assert.deepEqual(list, [{ name: 'a', vmStateSize: 0, date: '2023-11-14T22:13:20.000Z', vmClock: '01:02:05.005' }]);
  assert.deepEqual(parseImgSnapshots({}), []);
});

test('snapshot names: one word, not only digits, errors name the field', () => {
  assert.equal(checkSnapshotName('before-upgrade_2.1'), null);
  assert.match(checkSnapshotName('')!, /^name: /);
  assert.match(checkSnapshotName('two words')!, /^name: 'two words' is not a snapshot name/);
  assert.match(checkSnapshotName('42')!, /^name: '42' is only digits/);
  assert.match(checkSnapshotName('-x')!, /^name: /);
  assert.match(checkSnapshotName('a'.repeat(65))!, /^name: /);
});

test('QEMU refusing to save a running VM (a UEFI VM\'s raw variables, the vdagent clipboard) is said naming the cause and the way out', async () => {
  const { stateSaveRefusal } = await import('../../lib/snapshots');
  // QEMU 7.2's words, as hmpStrict and QMP pass them on.
  assert.equal(stateSaveRefusal('uv', "snapshot: savevm failed: Device 'pflash1' is writable but does not support snapshots", 'snapshot'),
    "snapshot: VM 'uv' cannot take a snapshot while it runs: QEMU cannot snapshot its UEFI variables (pflash1, a raw file: FIRMWARE=UEFI); stop it to snapshot its disk, or suspend it (vmdeck cancel uv --suspend)");
  assert.match(stateSaveRefusal('x', "Device 'hd1' is writable but does not support snapshots", 'snapshot') ?? '', /its drive 'hd1' \(not qcow2\)/);
  assert.equal(stateSaveRefusal('cb', "The vdagent chardev doesn't yet support migration", 'suspend'),
    "suspend: VM 'cb' cannot be suspended: QEMU cannot save its shared clipboard (CLIPBOARD=vdagent); set CLIPBOARD= for the next start");
  assert.match(stateSaveRefusal('cb', "snapshot: savevm failed: The vdagent chardev doesn't yet support migration", 'snapshot') ?? '', /^snapshot: VM 'cb' cannot take a snapshot while it runs: .*CLIPBOARD=vdagent/);
  assert.equal(stateSaveRefusal('x', 'snapshot: savevm failed: No space left on device', 'snapshot'), null);
});
