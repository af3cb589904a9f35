// This terminal on a VM's character socket (serial console or HMP monitor):
// raw mode, everything typed goes to the VM, Ctrl-] detaches. Without a
// terminal it is a plain pipe, for scripts.
import { connect } from 'node:net';
import type { Io } from './args';

const DETACH = 0x1d; // Ctrl-]

export function attach(socketPath: string, what: string, io: Io): Promise<number> {
  return new Promise((resolve) => {
    const sock = connect(socketPath);
    const stdin = process.stdin;
    const tty = Boolean(stdin.isTTY);
    let finished = false;
    const finish = (code: number, message?: string) => {
      if (finished) return;
      finished = true;
      stdin.off('data', onInput);
      stdin.off('end', onEnd);
      if (tty) stdin.setRawMode(false);
      stdin.pause();
      sock.destroy();
      if (message) io.err(`${tty ? '\r\n' : ''}${message}\n`);
      resolve(code);
    };
    const onInput = (d: Buffer) => {
      const i = tty ? d.indexOf(DETACH) : -1;
      if (i >= 0) {
        if (i > 0) sock.write(d.subarray(0, i));
        finish(0, `[detached from ${what}]`);
        return;
      }
      sock.write(d);
    };
    // A script's input ends: give the VM a moment to answer, then go.
    const onEnd = () => setTimeout(() => finish(0), 500);
    sock.once('connect', () => {
      // QEMU serves one client per socket and queues the rest: if the
      // dashboard holds this one, nothing arrives until it lets go.
      if (tty) io.err(`[${what}: Ctrl-] detaches; QEMU serves one client per socket]\r\n`);
      if (tty) stdin.setRawMode(true);
      stdin.on('data', onInput);
      stdin.on('end', onEnd);
      stdin.resume();
    });
    sock.on('data', (d: Buffer) => process.stdout.write(d));
    sock.once('error', (e) => finish(1, `${what}: ${e.message}`));
    sock.once('close', () => finish(0, `[${what} closed: the VM stopped]`));
  });
}
