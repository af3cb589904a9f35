// The reader of the VNC throughput runs (bench/run.ts), in a process of its
// own: the same code reads every contender's stream, the bridges' WebSockets
// and the UNIX socket directly. Started with fork(); each message asks for
// one read, { url, protocols, token, bytes }, { path, bytes } (a UNIX socket)
// or { port, bytes } (plain TCP on loopback), and is
// answered with { rate, firstByteMs } or { error }: rate is bytes per second
// from the first byte to the last (what comes before, the WebSocket
// handshake and the bridge's own connection to the stream, differs between
// contenders in where it falls, so it is timed on its own: firstByteMs, from
// the connect call to the first byte).
//
// Not in bench/run.ts because a reader there shares that process's heap (the
// server's modules it loaded to make the fake VMs): its 64 KiB read buffers
// and frame copies then drove V8 into a mark-compact every 15-25 ms, and every
// contender, the bare socket included, ran at that reader's speed. Alone, the
// same reader does only scavenges and is no longer the slowest part.
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import WebSocket from 'ws';

// `{ port, bytes, frames: true }`: plain TCP carrying WebSocket frames (bench/node-copy.ts frames), parsed by ws's own
// receiver as a WebSocket's would be, without a handshake: what the reader's side of the WebSocket costs.
type Request =
  | { url: string; protocols: string[]; token: string; bytes: number }
  | { path: string; bytes: number }
  | { port: number; bytes: number; frames?: boolean };

/** ws's frame parser (its types do not declare it). */
type Receiver = NodeJS.WritableStream & { on(event: 'message', f: (data: Buffer) => void): void; on(event: 'error', f: (e: Error) => void): void };
const { Receiver } = createRequire(import.meta.url)('ws') as { Receiver: new (options: object) => Receiver };

interface Result {
  rate: number;
  firstByteMs: number;
}

/** Returns a counter of the bytes read: true once `total` are in, when `done` has had the result. */
function timer(total: number, done: (r: Result) => void): (bytes: number) => boolean {
  const t0 = process.hrtime.bigint();
  let first = 0n;
  let firstBytes = 0;
  let n = 0;
  return (bytes) => {
    if (n === 0) {
      first = process.hrtime.bigint();
      firstBytes = bytes;
    }
    n += bytes;
    if (n < total) return false;
    // The first chunk arrived at `first`: the rate counts what came after it.
    const seconds = Number(process.hrtime.bigint() - first) / 1e9;
    done({ rate: (n - firstBytes) / seconds, firstByteMs: Number(first - t0) / 1e6 });
    return true;
  };
}

function readWs(url: string, protocols: string[], token: string, total: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const count = timer(total, resolve);
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false, headers: { Authorization: `Bearer ${token}` } });
    let n = 0;
    ws.once('error', reject);
    ws.on('message', (d: Buffer) => {
      n += d.length;
      if (count(d.length)) ws.terminate();
    });
    ws.once('close', () => reject(new Error(`${url}: closed after ${n} of ${total} bytes`)));
  });
}

/** Reads plain bytes from a UNIX socket (path) or a loopback TCP port. */
function readPlain(target: string | number, total: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const count = timer(total, resolve);
    const sock = typeof target === 'string' ? connect(target) : connect(target, '127.0.0.1');
    let n = 0;
    sock.once('error', reject);
    sock.on('data', (d: Buffer) => {
      n += d.length;
      if (count(d.length)) sock.destroy();
    });
    sock.once('close', () => reject(new Error(`${target}: closed after ${n} of ${total} bytes`)));
  });
}

/** Reads WebSocket frames from a loopback TCP port through ws's receiver: bytes are the messages' payloads. */
function readFrames(port: number, total: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const count = timer(total, resolve);
    const sock = connect(port, '127.0.0.1');
    const receiver = new Receiver({ isServer: false, binaryType: 'nodebuffer' });
    let n = 0;
    sock.once('error', reject);
    receiver.on('error', reject);
    receiver.on('message', (d: Buffer) => {
      n += d.length;
      if (count(d.length)) sock.destroy();
    });
    sock.pipe(receiver);
    sock.once('close', () => reject(new Error(`${port}: closed after ${n} of ${total} bytes`)));
  });
}

process.on('message', (m: Request) => {
  const read = 'url' in m ? readWs(m.url, m.protocols, m.token, m.bytes) : 'port' in m && m.frames ? readFrames(m.port, m.bytes) : readPlain('path' in m ? m.path : m.port, m.bytes);
  read.then((r) => process.send!(r), (e: Error) => process.send!({ error: e.message }));
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
