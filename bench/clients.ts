// Many console clients in their own process (so that their work is not the
// measuring client's): `clients.ts URL COUNT TOKEN` opens COUNT WebSockets,
// reads and drops what comes, prints "ready", and holds them until killed.
import WebSocket from 'ws';

const [url, countText, token] = process.argv.slice(2);
const count = Number(countText);
const open: WebSocket[] = [];

for (let i = 0; i < count; i++) {
  const ws = new WebSocket(url, { perMessageDeflate: false, headers: { Authorization: `Bearer ${token}` } });
  ws.on('message', () => {});
  ws.on('error', (e) => {
    process.stderr.write(`clients: ${e.message}\n`);
    process.exit(1);
  });
  await new Promise((resolve) => ws.once('open', resolve));
  open.push(ws);
}
process.stdout.write(`ready ${open.length}\n`);
process.on('SIGTERM', () => process.exit(0));
