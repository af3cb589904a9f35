// RFB (VNC) from the client's side, for tests that speak it through the
// dashboard's /ws/vms/:label/vnc.
import type WebSocket from 'ws';

/** A byte stream over binary WebSocket messages, read in exact amounts (for RFB). */
export class ByteReader {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;

  constructor(ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
  }

  async read(n: number, timeoutMs = 20000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      if (Date.now() > deadline) throw new Error(`RFB: wanted ${n} bytes, have ${this.buf.length}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 200);
      });
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}
