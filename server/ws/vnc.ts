// The VNC bridge: one connection to QEMU's vnc.sock per browser client, the
// RFB byte stream copied both ways in binary frames, with backpressure in
// both directions so that neither side can grow the server's memory.
import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { closeReason } from './close-codes';
import { binaryFrame, FRAME_HEADROOM, frameInPlace, sendFrame } from './frames';

/** Unsent bytes towards the browser above which QEMU's socket is paused until they have left. */
export const VNC_HIGH_WATER = 1024 * 1024;

const SMALL_READ = 64 * 1024;
const SLAB_BYTES = 1024 * 1024;
/** Reads in a row that do not fill SMALL_READ: the update is over (one alone is the reader catching up). */
const QUIET_READS = 4;
/** One buffer for the small reads of every bridge: each is copied out before the next read. */
const sharedSmall = Buffer.allocUnsafeSlow(SMALL_READ);

/** A slab that reads fill one after another; reusable when every chunk cut from it has been sent. */
interface Slab {
  buf: Buffer;
  used: number;
  unsent: number;
}

/**
 * Reads QEMU's socket through net's `onread`, sized to the traffic. While
 * the screen is quiet, reads go to one small buffer shared by all bridges
 * and are copied out, into their WebSocket frame (an idle console holds no
 * read buffer of its own). When a read fills it, a screen update is
 * streaming: reads then fill 1 MiB slabs one after another, each read
 * FRAME_HEADROOM bytes after the last so that its frame's header goes
 * right before it: header and payload one buffer, sent without copying,
 * one write() per read; a slab is reused once all of its frames have left.
 */
export class SlabReader {
  private slab: Slab | null = null;
  private readonly spare: Slab[] = [];
  private shortReads = 0;
  /**
   * Set by the bridge: gets each read as a binary frame (and its payload)
   * and, for a slab's, the function to call once it is sent; false pauses
   * the socket.
   */
  onChunk: (frame: Buffer, payload: Buffer, sent: (() => void) | null) => boolean = () => true;

  readonly onread = {
    buffer: (): Buffer => (this.slab ? this.slab.buf.subarray(this.slab.used + FRAME_HEADROOM) : sharedSmall),
    callback: (n: number): boolean => this.read(n),
  };

  private read(n: number): boolean {
    const slab = this.slab;
    if (!slab) {
      const frame = binaryFrame(sharedSmall.subarray(0, n));
      if (n === SMALL_READ) this.slab = this.nextSlab();
      return this.onChunk(frame, frame.subarray(frame.length - n), null);
    }
    const at = slab.used + FRAME_HEADROOM;
    const frame = frameInPlace(slab.buf, at, n);
    slab.used = at + n;
    slab.unsent++;
    this.shortReads = n < SMALL_READ ? this.shortReads + 1 : 0;
    if (this.shortReads >= QUIET_READS) {
      // Quiet again: back to the shared buffer; the slabs go.
      this.slab = null;
      this.spare.length = 0;
    } else if (slab.buf.length - slab.used < SMALL_READ + FRAME_HEADROOM) {
      this.slab = this.nextSlab();
    }
    return this.onChunk(frame, slab.buf.subarray(at, at + n), () => {
      if (--slab.unsent === 0 && slab !== this.slab && this.slab !== null && this.spare.length < 2) {
        slab.used = 0;
        this.spare.push(slab);
      }
    });
  }

  private nextSlab(): Slab {
    return this.spare.pop() ?? { buf: Buffer.allocUnsafeSlow(SLAB_BYTES), used: 0, unsent: 0 };
  }
}

export class VncBridge implements Disposable {
  private unixPaused = false;
  private disposed = false;

  /**
   * @param reader the `onread` reader that `unix` was connected with
   * @param onLost called when QEMU's side ends (not when the browser leaves):
   *   the owner decides whether the VM stopped.
   */
  constructor(
    private readonly ws: WebSocket,
    private readonly unix: Socket,
    reader: SlabReader,
    private readonly onLost: (bridge: VncBridge) => void,
    private readonly highWater = VNC_HIGH_WATER,
  ) {
    reader.onChunk = this.fromQemu;
    unix.on('drain', this.qemuDrained);
    unix.on('close', this.qemuClosed);
    unix.on('error', () => { /* reported through close */ });
    ws.on('message', this.fromBrowser);
    ws.on('close', this.browserClosed);
  }

  /** Returns false when QEMU's socket is to pause. */
  private readonly fromQemu = (frame: Buffer, payload: Buffer, release: (() => void) | null): boolean => {
    if (this.disposed) return false;
    const pause = this.ws.bufferedAmount + frame.length > this.highWater;
    // ws has no drain event: a send's callback runs when its bytes (and all
    // before them) have left; the last send before pausing resumes.
    if (pause) this.unixPaused = true;
    const sent = pause ? (release ? () => { release(); this.drained(); } : this.drained) : release ?? undefined;
    // The frame as it is, where ws would write the same bytes (header, payload) with cork and writev.
    sendFrame(this.ws, frame, payload, sent);
    return !pause;
  };

  private readonly drained = (): void => {
    if (this.unixPaused && !this.disposed) {
      this.unixPaused = false;
      this.unix.resume();
    }
  };

  private readonly fromBrowser = (data: RawData): void => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
    if (!this.unix.write(buf)) this.ws.pause();
  };

  private readonly qemuDrained = (): void => {
    if (!this.disposed) this.ws.resume();
  };

  private readonly qemuClosed = (): void => {
    if (this.disposed) return;
    this.onLost(this);
  };

  private readonly browserClosed = (): void => {
    this.dispose();
  };

  /** Closes the browser side with this code and releases everything. */
  end(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) {
      this.ws.close(code, closeReason(reason));
      setTimeout(() => this.ws.terminate(), 2000).unref();
    }
    this.dispose();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.unix.off('drain', this.qemuDrained);
    this.unix.off('close', this.qemuClosed);
    this.ws.off('message', this.fromBrowser);
    this.ws.off('close', this.browserClosed);
    this.unix.destroy();
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000, 'VNC: closed');
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
