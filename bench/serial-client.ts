// The typing client of the serial round-trip runs (bench/run.ts), in a
// process of its own like the viewers (bench/clients.ts) and like a browser:
// the bench's process holds the server's modules and the other measurements,
// whose garbage collections would land in its round trips. Started with
// fork(); each message asks for one run, { url, token, trips } (a console
// through the bridge) or { path, trips } (the UNIX socket directly), and is
// answered with { ms, at, cpuUs } (each round trip's milliseconds, when
// each began: CLOCK_MONOTONIC milliseconds, the clock of V8's profiles; this
// process's CPU microseconds over the run) or { error }.
import { connect } from 'node:net';
import WebSocket from 'ws';

type Request = { url: string; token: string; trips: number } | { path: string; trips: number };

/** Discarded before timing: JIT, socket buffers. */
const WARMUP = 20;

interface Link {
  send(b: Buffer): void;
  onData(cb: () => void): void;
  close(): void;
}

function open(m: Request): Promise<Link> {
  return new Promise((resolve, reject) => {
    if ('url' in m) {
      const ws = new WebSocket(m.url, { perMessageDeflate: false, headers: { Authorization: `Bearer ${m.token}` } });
      ws.once('error', reject);
      // The hub's first frame is the recent output: the link is ready after it.
      ws.once('message', () => resolve({ send: (b) => ws.send(b), onData: (cb) => ws.on('message', cb), close: () => ws.terminate() }));
    } else {
      const sock = connect(m.path);
      sock.once('error', reject);
      sock.once('connect', () => resolve({ send: (b) => sock.write(b), onData: (cb) => sock.on('data', cb), close: () => sock.destroy() }));
    }
  });
}

async function run(m: Request): Promise<{ ms: number[]; at: number[]; cpuUs: number }> {
  const link = await open(m);
  let waiting: (() => void) | null = null;
  link.onData(() => {
    const w = waiting;
    waiting = null;
    w?.();
  });
  const ms: number[] = [];
  const at: number[] = [];
  let cpu0 = process.cpuUsage();
  for (let i = 0; i < m.trips + WARMUP; i++) {
    if (i === WARMUP) cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      waiting = resolve;
      link.send(Buffer.from([0x61 + (i % 26)]));
    });
    if (i >= WARMUP) {
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      at.push(Number(t0) / 1e6);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  link.close();
  return { ms, at, cpuUs: cpu.user + cpu.system };
}

process.on('message', (m: Request) => {
  run(m).then((r) => process.send!(r), (e: Error) => process.send!({ error: e.message }));
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
