// The graphs' history format: rates from counters, rows in place in fixed
// archives, an older lap's rows not read as new, the finest archive per range.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  archiveFor, archivesFor, averagePoints, decodeArchive, decodeHeader, encodeHeader, encodeSlot, pointBetween, slotOf, SLOT_BYTES, timeTicks, type StatPoint,
} from '../../lib/stats';

const point = (t: number, cpu: number | null): StatPoint => ({ t, cpu, vcpu: null, rss: 1000, rd: 0, wr: 10, rx: null, tx: null });

test('rates from two readings: CPU in % of a core, bytes per second, null where a counter is missing or went back', () => {
  const a = { at: 10_000, cpuTicks: 100, vcpuTicks: 50, rss: 5, rdBytes: 0, wrBytes: 1000, rxBytes: null, txBytes: 10 };
  const b = { at: 12_000, cpuTicks: 250, vcpuTicks: 150, rss: 7, rdBytes: 4096, wrBytes: 500, rxBytes: 3, txBytes: 30 };
  assert.deepEqual(pointBetween(a, b), { t: 12, cpu: 75, vcpu: 50, rss: 7, rd: 2048, wr: null, rx: null, tx: 10 });
});

test('an archive keeps a row per step in place; rows of an earlier lap are not read as this one\'s', () => {
  const [a] = archivesFor(5);
  assert.deepEqual(a, { step: 5, rows: 720 });
  const buf = new Uint8Array(a.rows * SLOT_BYTES);
  const put = (p: StatPoint) => buf.set(encodeSlot(p), slotOf(a, p.t).row * SLOT_BYTES);
  const base = 1_700_000_000;
  put(point(base, 10));
  put(point(base + 5, 20));
  // A lap later the same row again: the first is gone.
  put(point(base + 5 * 720, 30));
  const got = decodeArchive(a, buf, 0, base + 10_000);
  assert.deepEqual(got.map((p) => [p.t, p.cpu]), [[base + 5, 20], [base + 3600, 30]]);
  assert.equal(got[0].rx, null, 'null survives the file (as NaN)');
  assert.deepEqual(decodeArchive(a, buf, base + 100, base + 10_000).map((p) => p.t), [base + 3600], 'from bounds the range');
});

test('headers round-trip; the finest archive that covers a range answers it; averages skip nulls', () => {
  const archives = archivesFor(5);
  assert.deepEqual(decodeHeader(encodeHeader(archives)), archives);
  assert.equal(decodeHeader(new Uint8Array(64)), null);
  assert.deepEqual([600, 3600, 86400, 30 * 86400].map((r) => archiveFor(archives, r)), [0, 0, 1, 2]);
  assert.deepEqual(averagePoints([point(1, 10), point(2, null), point(3, 30)], 60).cpu, 20);
});

test('timeTicks marks round local times: every 10 minutes of an hour, 4 hours of a day, local midnights of a week', () => {
  const hhmm = (t: number) => new Date(t * 1000).toISOString().slice(11, 16);
  const day = (t: number) => new Date(t * 1000).toISOString().slice(5, 10);
  const at = Date.UTC(2026, 11, 3, 13, 17, 42) / 1000;
  // An hour to 13:17:42 UTC, in UTC: 12:20 … 13:10.
  assert.deepEqual(timeTicks(at - 3600, at, 0, hhmm, day).map((k) => k.text), ['12:20', '12:30', '12:40', '12:50', '13:00', '13:10']);
  // A day in UTC+1 (offset -60): local 16:00, 20:00, … are UTC 15:00, 19:00, …
  const inParis = timeTicks(at - 86400, at, -60, hhmm, day);
  assert.deepEqual(inParis.map((k) => k.text), ['15:00', '19:00', '23:00', '03:00', '07:00', '11:00']);
  // A week in UTC-5 (offset 300): each local midnight is 05:00 UTC, one a day.
  const week = timeTicks(at - 7 * 86400, at, 300, hhmm, day);
  assert.equal(week.length, 7);
  for (const k of week) assert.equal(hhmm(k.t), '05:00');
  assert.deepEqual(week.map((k) => k.text), ['11-27', '11-28', '11-29', '11-30', '12-01', '12-02', '12-03']);
  // 30 days: every fifth day, 6 of them; 10 minutes: every 2 minutes, 5.
  assert.equal(timeTicks(at - 30 * 86400, at, 0, hhmm, day).length, 6);
  assert.deepEqual(timeTicks(at - 600, at, 0, hhmm, day).map((k) => k.text), ['13:08', '13:10', '13:12', '13:14', '13:16']);
});
