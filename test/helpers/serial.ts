// A client for a QEMU character-device UNIX socket (serial or HMP monitor)
// that collects everything it reads and waits for patterns in it.
import { connect, type Socket } from 'node:net';

export class SocketTerminal {
  private buf = '';
  private waiters: { re: RegExp; from: number; resolve: (m: string) => void }[] = [];

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      this.waiters = this.waiters.filter((w) => {
        const m = w.re.exec(this.buf.slice(w.from));
        if (m) w.resolve(m[0]);
        return !m;
      });
    });
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

  get output(): string { return this.buf; }
  /** Where the output ends now: pass to waitFor to see only what comes later. */
  get mark(): number { return this.buf.length; }

  write(s: string): void { this.sock.write(s); }

  waitFor(re: RegExp, timeoutMs = 30000, from = 0): Promise<string> {
    const m = re.exec(this.buf.slice(from));
    if (m) return Promise.resolve(m[0]);
    return new Promise((resolve, reject) => {
      const w = { re, from, resolve: (x: string) => { clearTimeout(t); resolve(x); } };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re} in: ${JSON.stringify(this.buf.slice(-400))}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Types a command and waits for a line matching re after it. */
  async run(command: string, re: RegExp, timeoutMs = 20000): Promise<string> {
    const from = this.mark;
    this.write(`${command}\r`);
    return this.waitFor(re, timeoutMs, from);
  }

  close(): void { this.sock.destroy(); }
}
