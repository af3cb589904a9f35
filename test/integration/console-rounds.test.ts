// The serial hub's rounds (server/ws/hub.ts): the typist's echo at once, the
// others a slice per turn of the event loop, a round at most every ROUND_MS.
// Over real WebSockets on loopback, with more clients than one slice: every
// client ends with exactly the console's output, in order and once, while
// the typist changes and a client joins with output under way.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { ConsoleHub, FANOUT_SLICE } from '../../server/ws/hub';

const CLIENTS = FANOUT_SLICE * 2 + 3;
let http: Server;
let wss: WebSocketServer;
let url: string;
const typed: string[] = [];
const hub = new ConsoleHub({ name: 'serial', persistent: true });
hub.setLink({ write: (d) => { typed.push(d.toString()); return true; }, pause: () => {}, resume: () => {}, close: () => {} });

before(async () => {
  wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  http = createServer();
  http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => hub.attach(ws)));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/`;
});

after(async () => {
  hub.dispose();
  wss.close();
  await new Promise<void>((resolve) => http.close(() => resolve()));
});

interface Client { ws: WebSocket; text: () => string }

/** A client that keeps what it is sent (its first frame, the recent output, included). */
async function client(): Promise<Client> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const parts: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (d: Buffer) => {
      parts.push(d);
      resolve();
    });
  });
  return { ws, text: () => Buffer.concat(parts).toString() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean): Promise<void> {
  for (const t0 = Date.now(); !ok(); await sleep(5)) if (Date.now() - t0 > 10_000) throw new Error(`timed out: ${what}`);
}

test('every client gets the output once and in order, across typist changes and a join during a round', async () => {
  const clients: Client[] = [];
  for (let i = 0; i < CLIENTS; i++) clients.push(await client());
  let expected = '';
  const out = (s: string) => {
    hub.output(Buffer.from(s));
    expected += s;
  };
  /** Client i types c; resolves once the link has it (i is the typist then). */
  const type = async (i: number, c: string) => {
    clients[i].ws.send(c);
    await until(`'${c}' typed`, () => typed.includes(c));
  };

  out('boot;');
  await type(0, 'a');
  for (let k = 0; k < 20; k++) out(`a${k};`);
  // Another typist while output comes every millisecond: the others' rounds hold some of it.
  clients[CLIENTS - 1].ws.send('b');
  for (let k = 0; k < 30; k++) {
    out(`b${k};`);
    await sleep(1);
  }
  await until("'b' typed", () => typed.includes('b'));
  // A client joins while output comes every millisecond.
  const joining = client();
  for (let k = 0; k < 30; k++) {
    out(`j${k};`);
    await sleep(1);
  }
  clients.push(await joining);
  await type(3, 'c');
  for (let k = 0; k < 5; k++) out(`c${k};`);
  out('end.');

  await until('every client has all the output', () => clients.every((c) => c.text().length >= expected.length));
  await sleep(50); // nothing more (no duplicate) comes after
  for (const [i, c] of clients.entries()) assert.equal(c.text(), expected, `client ${i}`);
  assert.equal(hub.stats().clients, CLIENTS + 1);
  for (const c of clients) c.ws.close();
});
