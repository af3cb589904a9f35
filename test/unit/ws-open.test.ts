// openWs: a client's WebSocket with its messages listened for from the start.
// A server that sends the moment it accepts (a console hub's recent output)
// puts that frame in the same read as the handshake's answer: ws emits it on
// the tick after 'open', before an await of the open resumes. Each of many
// openings gets its first frame, then the next in order; a refused upgrade
// rejects with the error made from its status.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { openWs } from '../../server/ws/open';

let wss: WebSocketServer;
let url: string;

before(async () => {
  wss = new WebSocketServer({
    host: '127.0.0.1', port: 0,
    verifyClient: (info, done) => (info.req.url === '/refused' ? done(false, 401) : done(true)),
  });
  wss.on('connection', (ws) => { ws.send('recent output'); ws.send('live'); });
  await new Promise((r) => wss.once('listening', r));
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
});

after(() => new Promise((r) => wss.close(r)));

test('the frame sent at once comes first, then the next, on every one of 50 openings', async () => {
  for (let i = 0; i < 50; i++) {
    const got: string[] = [];
    let both!: () => void;
    const arrived = new Promise<void>((resolve) => { both = resolve; });
    const ws = await openWs(`${url}/`, (d) => { if (got.push(String(d)) === 2) both(); });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`opening ${i}: only ${JSON.stringify(got)} in 2 s`)), 2000); });
    try {
      await Promise.race([arrived, late]);
    } finally {
      clearTimeout(timer);
      ws.close();
    }
    assert.deepEqual(got, ['recent output', 'live'], `opening ${i}`);
  }
});

test('a refused upgrade rejects with the error made from its status', async () => {
  await assert.rejects(openWs(`${url}/refused`, () => undefined, { refused: (status) => new Error(`answered ${status}`) }), /^Error: answered 401$/);
  await assert.rejects(openWs(`${url}/refused`, () => undefined), /the server answered 401/);
});
