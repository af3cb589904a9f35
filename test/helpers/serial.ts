// A client for a QEMU character-device UNIX socket (serial or HMP monitor)
// that collects everything it reads and waits for patterns in it.
import { connect, type Socket } from 'node:net';
import { Transcript } from './transcript';

export class SocketTerminal extends Transcript {
  private constructor(private readonly sock: Socket) {
    super();
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => this.append(d));
  }

  static open(path: string, timeoutMs = 10000): Promise<SocketTerminal> {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const s = connect(path);
        s.once('connect', () => resolve(new SocketTerminal(s)));
        s.once('error', (e) => (Date.now() < deadline ? setTimeout(attempt, 100) : reject(e)));
      };
      attempt();
    });
  }

  write(s: string): void { this.sock.write(s); }

  protected type(s: string): void { this.write(s); }

  close(): void { this.sock.destroy(); }
}
