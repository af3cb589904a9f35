// The guest check's table look-up (server/peers.ts): one line of
// /proc/net/tcp by its two ends, however long the table.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inodeOf, procAddresses } from '../../server/peers';

const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const line = (sl: number, local: string, rem: string, inode: number) =>
  `${String(sl).padStart(4)}: ${local} ${rem} 01 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 20 4 30 10 -1\n`;

test('the inode of the line whose ends match, not of a line that only shares a port or an address', () => {
  const [us] = procAddresses('127.0.0.1');
  const flood = Array.from({ length: 20000 }, (_, i) => line(i, `${us}:${(40000 + i).toString(16).toUpperCase()}`, `${us}:0BB8`, 1000 + i)).join('');
  const table = header + flood + line(20000, `${us}:0BB8`, `${us}:9C41`, 7);
  assert.equal(inodeOf(table, `${us}:9C41 ${us}:0BB8`), 1001);
  assert.equal(inodeOf(table, `${us}:0BB8 ${us}:9C41`), 7);
  assert.equal(inodeOf(table, `${us}:FFFF ${us}:0BB8`), undefined);
});

test('addresses as the tables spell them: IPv4, IPv4 mapped into tcp6, IPv6', () => {
  assert.deepEqual(procAddresses('127.0.0.1'), ['0100007F', '0000000000000000FFFF00000100007F']);
  assert.deepEqual(procAddresses('::1'), ['00000000000000000000000001000000']);
});

test('an IPv4 client of a dual-stack listener (::ffff:a.b.c.d) is looked for in tcp first, where its IPv4 socket (QEMU\'s slirp) is listed', async () => {
  const { peerLookups } = await import('../../server/peers');
  const looks = peerLookups('::ffff:127.0.0.1', 40001, '::ffff:127.0.0.1', 3000);
  assert.deepEqual(looks.map((l) => l.table), ['tcp', 'tcp6']);
  assert.deepEqual(looks[0].keys, ['0100007F:9C41 0100007F:0BB8']);
  assert.deepEqual(looks[1].keys, ['0000000000000000FFFF00000100007F:9C41 0000000000000000FFFF00000100007F:0BB8']);
  // An IPv4 listener's client: tcp, then tcp6 for an IPv6 socket that reached the IPv4 address.
  assert.deepEqual(peerLookups('127.0.0.1', 40001, '127.0.0.1', 3000).map((l) => l.table), ['tcp', 'tcp6']);
  // IPv6 proper: tcp6 only.
  assert.deepEqual(peerLookups('::1', 40001, '::1', 3000), [{ table: 'tcp6', keys: ['00000000000000000000000001000000:9C41 00000000000000000000000001000000:0BB8'] }]);
});
