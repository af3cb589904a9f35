// Plain Node relays of the VNC stand-in's UNIX socket to loopback TCP, no
// WebSocket: the floor of a Node process copying a socket, next to socat's.
// `node-copy.ts MODE PATH` listens on a free loopback port, prints
// "ready PORT", and for each connection connects to PATH and copies it:
//   pipe: unix.pipe(tcp), Node's own reads (libuv's 64 KiB buffer);
//   slab: the bridge's reads (server/ws/vnc.ts SlabReader: 1 MiB slabs,
//         chunks written without copying), the bridge's back-pressure, and
//         one write per read: the bridge without ws;
//   frames: the same, each read written as the bridge writes it, a binary
//         WebSocket frame (no handshake: the reader parses the frames with
//         ws's receiver): the bridge without ws's WebSocket object.
import { connect, createServer, type Socket } from 'node:net';
import { SlabReader, VNC_HIGH_WATER } from '../server/ws/vnc';

const [mode, path] = process.argv.slice(2);
/** The reads seen (slab mode), printed on stderr as the process ends: how large QEMU's socket's reads are. */
let reads = 0;
let readBytes = 0;

function slabCopy(tcp: Socket, framed: boolean): void {
  const reader = new SlabReader();
  const unix = connect({ path, onread: reader.onread });
  let paused = false;
  const drained = () => {
    if (paused) {
      paused = false;
      unix.resume();
    }
  };
  reader.onChunk = (frame, chunk, release) => {
    reads++;
    readBytes += chunk.length;
    const out = framed ? frame : chunk;
    const pause = tcp.writableLength + out.length > VNC_HIGH_WATER;
    if (pause) paused = true;
    tcp.write(out, pause ? () => { release?.(); drained(); } : release ?? undefined);
    return !pause;
  };
  unix.on('error', () => tcp.destroy());
  tcp.on('close', () => unix.destroy());
}

const server = createServer((tcp) => {
  tcp.setNoDelay(true);
  tcp.on('error', () => {});
  if (mode === 'slab' || mode === 'frames') {
    slabCopy(tcp, mode === 'frames');
  } else {
    const unix = connect(path);
    unix.on('error', () => tcp.destroy());
    tcp.on('close', () => unix.destroy());
    unix.pipe(tcp);
  }
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`ready ${typeof a === 'object' && a ? a.port : 0}\n`);
});
process.on('SIGTERM', () => {
  if (reads > 0) process.stderr.write(`node-copy: ${reads} reads, ${(readBytes / reads / 1024).toFixed(0)} KiB on average\n`);
  process.exit(0);
});
