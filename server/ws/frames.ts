// Binary WebSocket frames made by the server itself, header and payload in
// one buffer, written with one write(): instead of ws framing each send
// (ws.send: a header allocated, then cork, two writes, uncork: a writev and
// a write request per send). A hub builds one frame for all its clients (a
// server's frames are not masked, RFC 6455 5.1, so the same bytes serve
// every client); the VNC bridge reads QEMU's stream with room before each
// read and writes the header there (frameInPlace), so no byte is copied.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** Room a reader leaves before each read for the frame's header (RFC 6455 5.2: 10 bytes at most unmasked). */
export const FRAME_HEADROOM = 10;

const headerLength = (n: number) => (n < 126 ? 2 : n < 65536 ? 4 : 10);

/** FIN and opcode 2 (binary), then the payload length n (RFC 6455 5.2), written at buf[at..]. */
function writeHeader(buf: Buffer, at: number, n: number): void {
  buf[at] = 0x82;
  if (n < 126) {
    buf[at + 1] = n;
  } else if (n < 65536) {
    buf[at + 1] = 126;
    buf.writeUInt16BE(n, at + 2);
  } else {
    buf[at + 1] = 127;
    buf.writeBigUInt64BE(BigInt(n), at + 2);
  }
}

/** The header, then the payload: one copy. */
export function binaryFrame(payload: Buffer): Buffer {
  const head = headerLength(payload.length);
  const frame = Buffer.allocUnsafe(head + payload.length);
  writeHeader(frame, 0, payload.length);
  payload.copy(frame, head);
  return frame;
}

/**
 * The frame of the n bytes at buf[at..], with no copy: its header is
 * written into the FRAME_HEADROOM bytes before them, which the reader left
 * free, so that header and payload are one buffer and one write().
 */
export function frameInPlace(buf: Buffer, at: number, n: number): Buffer {
  const head = headerLength(n);
  writeHeader(buf, at - head, n);
  return buf.subarray(at - head, at + n);
}

/** What of a ws WebSocket the direct write needs: its socket, and whether its sender holds anything back. */
interface WsInternals {
  _socket?: Socket | null;
  _sender?: { _state?: number; _queue?: unknown[] } | null;
}

/**
 * Writes `frame` (binaryFrame(payload)) to the client's socket, where ws
 * would have written the same bytes. When ws has sends of its own waiting
 * (its sender busy, or not the shape this expects), ws.send of the payload
 * instead, queued behind them in order. The socket's buffer is ws's
 * bufferedAmount either way; cb runs when the bytes have left.
 */
export function sendFrame(ws: WebSocket, frame: Buffer, payload: Buffer, cb?: () => void): void {
  const { _socket: socket, _sender: sender } = ws as unknown as WsInternals;
  // Only while OPEN: after ws sent its close frame, no data frame may follow it (RFC 6455 5.5.1); ws.send then says so.
  if (ws.readyState === 1 && socket?.writable && sender?._state === 0 && sender._queue?.length === 0) socket.write(frame, cb);
  else ws.send(payload, { binary: true }, cb);
}
