// The dashboard server for integration tests: in-process (to look at its
// hubs) or as a child process (to kill it), and a WebSocket client that
// collects what it reads.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import { REPO, type Sandbox } from './guest';
import type { RunningServer } from '../../server/index';
import { Transcript } from './transcript';

export const TEST_TOKEN = 'test-token-0123456789';

export interface ChildServer {
  proc: ChildProcess;
  base: string;
  port: number;
  output: () => string;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
}

/** `vmdeck serve` as a child on a free loopback port. */
export async function spawnServer(sb: Sandbox, port = 0, extraEnv: Record<string, string> = {}): Promise<ChildServer> {
  const proc = spawn(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'serve', '--host', '127.0.0.1', '--port', String(port)], {
    env: { ...sb.env, VMDECK_TOKEN: TEST_TOKEN, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  const actual = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`vmdeck serve did not start: ${out}`)), 15000);
    const onData = () => {
      const m = /dashboard on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`vmdeck serve exited with ${code}: ${out}`)));
  });
  return {
    proc,
    port: actual,
    base: `http://127.0.0.1:${actual}`,
    output: () => out,
    kill: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    }),
  };
}

export interface Closed {
  code: number;
  reason: string;
}

/** A WebSocket client that keeps everything it reads (as latin1 text) and its close. */
export class WsClient extends Transcript {
  readonly closed: Promise<Closed>;
  bytes = 0;

  private constructor(readonly ws: WebSocket) {
    super(4 * 1024 * 1024);
    ws.on('message', (d: Buffer) => {
      this.bytes += d.length;
      this.append(d.toString('latin1'));
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => { /* seen through close */ });
  }

  static open(url: string, options: WebSocket.ClientOptions & { protocols?: string[] } = {}): Promise<WsClient> {
    const ws = new WebSocket(url, options.protocols ?? [], { perMessageDeflate: false, ...options });
    const client = new WsClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  send(s: string | Buffer): void { this.ws.send(s); }

  protected type(s: string): void { this.send(s); }

  /** Presses Enter until a fresh prompt answers: the guest's shell is up (old output may hold old prompts). */
  async shell(prompt: RegExp, timeoutMs = 60000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // The recent output comes first, with its old prompts: let it arrive.
    await new Promise((r) => setTimeout(r, 300));
    for (;;) {
      const from = this.mark;
      this.send('\r');
      try {
        await this.waitFor(prompt, 2000, from);
        return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
    }
  }

  close(): void { this.ws.close(); }
}

/** Resolves with the close, or rejects after timeoutMs. */
export function closedWithin(c: WsClient, timeoutMs = 15000): Promise<Closed> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    c.closed,
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs); }),
  ]).finally(() => clearTimeout(timer));
}

export const bearer = { Authorization: `Bearer ${TEST_TOKEN}` };

export async function api(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = bearer): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    redirect: 'manual',
  });
  const text = await res.text();
  let json: unknown = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text, headers: res.headers };
}

export interface InProcessServer {
  server: RunningServer;
  /** http://127.0.0.1:PORT */
  base: string;
  /** Closes the server, forgets the token and removes the sandbox. */
  close(): Promise<void>;
}

/**
 * The server in this test's own process (for tests that also call server/
 * functions), on a free loopback port with the test token, in the sandbox;
 * setup runs in the sandbox before the server starts.
 */
export async function inProcessServer(sb: Sandbox, setup?: () => Promise<unknown>): Promise<InProcessServer> {
  sb.enter();
  process.env.VMDECK_TOKEN = TEST_TOKEN;
  await setup?.();
  // Loaded here: tests that spawn the server as a child need none of it.
  const { startServer } = await import('../../server/index');
  const server = await startServer({ host: '127.0.0.1', port: 0 });
  return {
    server,
    base: `http://127.0.0.1:${server.port}`,
    async close() {
      await server.close();
      delete process.env.VMDECK_TOKEN;
      sb.cleanup();
    },
  };
}
