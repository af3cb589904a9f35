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
