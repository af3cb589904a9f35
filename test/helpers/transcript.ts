// What a console client has read, and waiting for patterns in it: shared by
// the UNIX-socket terminal and the WebSocket client of the tests.
export abstract class Transcript {
  private buf = '';
  private waiters: { re: RegExp; from: number; resolve: (m: string) => void; cancel: () => void }[] = [];

  /** maxChars: past it the oldest output is dropped (a flood must not fill memory). */
  protected constructor(private readonly maxChars = Infinity) {}

  protected append(text: string): void {
    this.buf += text;
    if (this.buf.length > this.maxChars) this.buf = this.buf.slice(-Math.floor(this.maxChars / 4));
    this.waiters = this.waiters.filter((w) => {
      const m = w.re.exec(this.buf.slice(w.from));
      if (m) w.resolve(m[0]);
      return !m;
    });
  }

  /** Sends what a person types. */
  protected abstract type(s: string): void;

  get output(): string { return this.buf; }
  /** Where the output ends now: pass to waitFor to see only what comes later. */
  get mark(): number { return this.buf.length; }

  waitFor(re: RegExp, timeoutMs = 30000, from = 0): Promise<string> {
    const m = re.exec(this.buf.slice(from));
    if (m) return Promise.resolve(m[0]);
    return new Promise((resolve, reject) => {
      const w = {
        re, from,
        resolve: (x: string) => { clearTimeout(t); resolve(x); },
        cancel: () => { clearTimeout(t); reject(new Error(`stopped waiting for ${re}`)); },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re} in: ${JSON.stringify(this.buf.slice(-400))}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /**
   * Rejects every wait still pending and ends its timer: a wait for what may
   * never come (a line a quiet kernel does not print) must not keep the test
   * process alive until its timeout. Every such wait needs a catch.
   */
  stopWaiting(): void {
    const pending = this.waiters;
    this.waiters = [];
    for (const w of pending) w.cancel();
  }

  /** Types a command line and waits for a match after it. */
  async run(command: string, re: RegExp, timeoutMs = 20000): Promise<string> {
    const from = this.mark;
    this.type(`${command}\r`);
    return this.waitFor(re, timeoutMs, from);
  }
}
