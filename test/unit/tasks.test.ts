// The task log's records: one line within PIPE_BUF whatever the output, torn
// lines skipped, and a beginning without an end read as running or interrupted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeRecord, foldTasks, parseRecords, RECORD_MAX, type TaskRecord } from '../../lib/tasks';

const begin = (id: string, start: number, pid = 10): TaskRecord => ({ t: 'begin', id, label: 'web', action: 'start', args: {}, who: 'cli:me', start, pid });

test('a record is one line of at most RECORD_MAX bytes; long output keeps its tail', () => {
  const output = `${'é'.repeat(5000)}THE END`;
  const line = encodeRecord({ t: 'end', id: 'a', end: 1, result: 'error', error: 'x'.repeat(3000), output });
  assert.ok(Buffer.byteLength(line) <= RECORD_MAX, `${Buffer.byteLength(line)} bytes`);
  assert.equal(line.indexOf('\n'), line.length - 1);
  const [r] = parseRecords(line);
  assert.equal(r.t, 'end');
  assert.ok(r.t === 'end' && r.output?.endsWith('THE END'));
  const args = encodeRecord({ ...begin('b', 1), args: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`k${i}`, 'v'.repeat(50)])) } as TaskRecord);
  assert.ok(Buffer.byteLength(args) <= RECORD_MAX);
});

test('torn and foreign lines are skipped, the rest reads', () => {
  const text = `${encodeRecord(begin('a', 1))}{"t":"end","id":"a","en\nnot json\n${encodeRecord(begin('b', 2))}`;
  assert.deepEqual(parseRecords(text).map((r) => r.id), ['a', 'b']);
});

test('begun and ended is done; begun alone is running while its process lives, interrupted after; an end alone is dropped', () => {
  const records: TaskRecord[] = [
    begin('a', 1), begin('b', 2, 20), begin('c', 3, 30),
    { t: 'end', id: 'a', end: 5, result: 'error', error: 'label: no VM', label: 'web2' },
    { t: 'end', id: 'gone', end: 6, result: 'ok' },
  ];
  const tasks = foldTasks(records, (pid) => pid === 20);
  assert.deepEqual(tasks.map((t) => [t.id, t.result]), [['a', 'error'], ['b', 'running'], ['c', 'interrupted']]);
  assert.equal(tasks[0].label, 'web2', 'an end may name the VM a path resolved to');
  assert.equal(tasks[0].error, 'label: no VM');
  assert.equal(tasks[0].end, 5);
});

test('a record whose label is huge (a refused name, logged as it came) is cut to fit, and the cut ends', () => {
  const label = 'a'.repeat(70_000);
  const begin = encodeRecord({ t: 'begin', id: 'x', label, action: `net:${'b'.repeat(5000)}`, args: { name: label }, who: 'api@127.0.0.1', start: 1, pid: 2 });
  const end = encodeRecord({ t: 'end', id: 'x', end: 2, result: 'error', error: 'e', label });
  for (const line of [begin, end]) {
    assert.ok(Buffer.byteLength(line) <= RECORD_MAX, `${Buffer.byteLength(line)} bytes`);
    assert.ok(JSON.parse(line).id === 'x');
  }
  // Multi-byte text at every limit still ends in a record that fits.
  const wide = '€'.repeat(2000);
  const w = encodeRecord({ t: 'begin', id: 'y', label: wide, action: wide.slice(0, 100), args: {}, who: wide.slice(0, 100), start: 1, pid: 2 });
  assert.ok(Buffer.byteLength(w) <= RECORD_MAX);
});

test('progress lines fold into the running task as its newest line and share done; a long line is cut, a bad share dropped', () => {
  const records: TaskRecord[] = [
    begin('a', 1, 20),
    { t: 'progress', id: 'a', line: 'debootstrap: building', at: 2, done: 0.02 },
    { t: 'progress', id: 'a', line: 'mmdebstrap: I: extracting', at: 3 },
    { t: 'progress', id: 'a', line: 'debootstrap: making the disk', at: 4, done: 7 },
    { t: 'progress', id: 'nobody', line: 'x', at: 5 },
  ];
  const text = records.map(encodeRecord).join('');
  const [t] = foldTasks(parseRecords(text), () => true);
  assert.equal(t.result, 'running');
  assert.deepEqual(t.progress, { line: 'debootstrap: making the disk', at: 4 });
  const long = encodeRecord({ t: 'progress', id: 'a', line: 'é'.repeat(5000), at: 1 });
  assert.ok(Buffer.byteLength(long) <= RECORD_MAX);
  assert.equal(parseRecords(long).length, 1);
});
