// The hub's frames (server/ws/frames.ts), built once for every client: what
// ws's own receiver, as a client runs it, reads from them, at each of the
// three lengths' encodings and their edges.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { binaryFrame } from '../../server/ws/frames';

/** ws's frame parser (its types do not declare it). */
type Receiver = NodeJS.WritableStream & { on(event: string, f: (...a: unknown[]) => void): void };
const { Receiver } = createRequire(import.meta.url)('ws') as { Receiver: new (options: object) => Receiver };

/** The messages a client's ws receiver reads from these bytes. */
function received(bytes: Buffer): Promise<{ data: Buffer; binary: boolean }[]> {
  const out: { data: Buffer; binary: boolean }[] = [];
  const r = new Receiver({ isServer: false, binaryType: 'nodebuffer' });
  r.on('message', (data, binary) => out.push({ data: data as Buffer, binary: binary as boolean }));
  return new Promise((resolve, reject) => {
    r.on('error', reject);
    // In two pieces, as a socket may deliver them.
    const cut = Math.min(3, bytes.length);
    r.write(bytes.subarray(0, cut));
    r.write(bytes.subarray(cut), () => resolve(out));
  });
}

test('a frame of each length is one binary message of exactly its payload, unmasked', async () => {
  for (const n of [0, 1, 125, 126, 65535, 65536, 300_000]) {
    const payload = Buffer.alloc(n);
    for (let i = 0; i < n; i++) payload[i] = (i * 7) & 0xff;
    const frame = binaryFrame(payload);
    assert.equal(frame.length, n + (n < 126 ? 2 : n < 65536 ? 4 : 10), `${n}: header length`);
    assert.equal(frame[1] & 0x80, 0, `${n}: a server's frame is not masked`);
    const got = await received(Buffer.concat([frame, binaryFrame(Buffer.from('next'))]));
    assert.equal(got.length, 2, `${n}: two messages`);
    assert.ok(got[0].binary, `${n}: binary`);
    assert.ok(got[0].data.equals(payload), `${n}: the payload`);
    assert.equal(got[1].data.toString(), 'next', `${n}: the frame ends where it says`);
  }
});
