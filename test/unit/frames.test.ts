// The hub's frames (server/ws/frames.ts), built once for every client: what
// ws's own receiver, as a client runs it, reads from them, at each of the
// three lengths' encodings and their edges; and the VNC reader's frames, their
// headers written into the room it leaves before each read.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { binaryFrame, FRAME_HEADROOM, frameInPlace } from '../../server/ws/frames';
import { SlabReader } from '../../server/ws/vnc';

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

test('a frame made in place is the same bytes as one made by copying, and touches nothing outside its room', () => {
  for (const n of [0, 1, 125, 126, 65535, 65536, 300_000]) {
    const buf = Buffer.alloc(FRAME_HEADROOM + n + 1, 0xee);
    for (let i = 0; i < n; i++) buf[FRAME_HEADROOM + i] = (i * 13) & 0xff;
    const payload = Buffer.from(buf.subarray(FRAME_HEADROOM, FRAME_HEADROOM + n));
    const frame = frameInPlace(buf, FRAME_HEADROOM, n);
    assert.ok(frame.equals(binaryFrame(payload)), `${n}: the same frame`);
    assert.equal(frame.buffer, buf.buffer, `${n}: no copy`);
    assert.equal(buf[buf.length - 1], 0xee, `${n}: nothing after the payload written`);
  }
});

/** Feeds the reader as net's onread would: each read into the buffer it offers. */
function feed(reader: SlabReader, reads: Buffer[]): { frame: Buffer; payload: Buffer }[] {
  const out: { frame: Buffer; payload: Buffer }[] = [];
  reader.onChunk = (frame, payload) => {
    out.push({ frame, payload });
    return true;
  };
  for (const r of reads) {
    const into = reader.onread.buffer();
    assert.ok(into.length >= r.length, 'the offered buffer holds the read');
    r.copy(into);
    reader.onread.callback(r.length);
  }
  return out;
}

test('the VNC reader hands on every read as one binary frame of exactly its bytes, quiet and streaming', async () => {
  const reads = [3, 64 * 1024, 64 * 1024, 200_000, 64 * 1024, 1000, 10, 10, 10, 10, 5].map((n, k) => Buffer.alloc(n, k + 1));
  const got = feed(new SlabReader(), reads);
  assert.equal(got.length, reads.length);
  const frames = await received(Buffer.concat(got.map((g) => g.frame)));
  assert.equal(frames.length, reads.length, 'one message per read');
  for (const [k, r] of reads.entries()) {
    assert.ok(frames[k].binary && frames[k].data.equals(r), `read ${k} (${r.length} bytes): its message`);
    assert.ok(got[k].payload.equals(r), `read ${k}: the payload beside the frame`);
  }
});
