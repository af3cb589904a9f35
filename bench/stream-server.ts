// A stand-in for QEMU's console sockets, in its own process so that its CPU
// time is not the bridge's: `stream PATH BYTES` writes BYTES as fast as the
// reader takes them to every connection and then idles (the reader hangs up:
// websockify drops what it still holds when its target closes first),
// `echo PATH` echoes, `banner PATH` writes an RFB banner and then idles.
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';

const [mode, path, bytesText] = process.argv.slice(2);
const CHUNK = Buffer.alloc(256 * 1024, 0x5a);

function stream(sock: Socket, total: number): void {
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!sock.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        sock.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

rmSync(path, { force: true });
const server = createServer((sock) => {
  sock.on('error', () => {});
  if (mode === 'stream') stream(sock, Number(bytesText));
  else if (mode === 'echo') sock.pipe(sock);
  else sock.write('RFB 003.008\n');
});
server.listen(path, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
