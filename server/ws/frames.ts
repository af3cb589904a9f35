// One binary WebSocket frame built once for every client of a hub, instead
// of ws framing the same chunk again for each (ws.send: a header allocated,
// then cork, two writes, uncork: a writev and a write request per socket).
// A server's frames are not masked (RFC 6455 5.1), so the same bytes serve
// every client: header and payload in one buffer, one write() per socket.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** FIN and opcode 2 (binary), the payload length (RFC 6455 5.2), then the payload. */
export function binaryFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = 0x82;
  if (n < 126) {
    frame[1] = n;
  } else if (n < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(n), 2);
  }
  payload.copy(frame, head);
  return frame;
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
