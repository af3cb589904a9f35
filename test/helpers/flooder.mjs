// One process of a connection flood (a process holds at most its descriptor
// limit of sockets, so a big flood is several of these): COUNT half-open
// requests (a request line and part of the headers, a byte every 2 s),
// reopened at REOPEN a second as the server drops them, and GUESSES wrong
// tokens a second, each on a new connection, answers not awaited. Prints
// "ready" once COUNT are open, and its figures as one JSON line on SIGTERM.
// Usage: node flooder.mjs PORT COUNT GUESSES REOPEN SOURCE...
import { connect } from 'node:net';

const [port, count, guessesPerS, reopenPerS] = process.argv.slice(2, 6).map(Number);
const sources = process.argv.slice(6);
const open = new Set();
const stats = { opened: 0, errors: 0, dropped: 0, guesses: 0, guessAnswers: 0, maxOpen: 0 };
let stopping = false;
const reopen = [];

function openHalf(i) {
  const s = connect({ host: '127.0.0.1', port, localAddress: sources[i % sources.length] });
  open.add(s);
  stats.opened++;
  s.on('connect', () => s.write(`GET /api/vms HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `));
  s.on('error', () => { stats.errors++; });
  s.on('close', () => {
    open.delete(s);
    stats.dropped++;
    if (!stopping) reopen.push(i);
  });
}

for (let i = 0; i < count; i++) {
  openHalf(i);
  if (i % 500 === 499) await new Promise((r) => setImmediate(r));
}
process.stdout.write('ready\n');
setInterval(() => { for (const s of open) if (s.writable) s.write('a'); }, 2000);
setInterval(() => {
  for (const i of reopen.splice(0, Math.ceil(reopenPerS / 20))) openHalf(i);
  stats.maxOpen = Math.max(stats.maxOpen, open.size);
  for (let k = 0; k < guessesPerS / 20; k++) {
    const g = connect({ host: '127.0.0.1', port, localAddress: sources[k % sources.length] });
    stats.guesses++;
    g.on('connect', () => g.write(`GET /api/vms HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer guess-${stats.guesses}\r\nConnection: close\r\n\r\n`));
    g.on('data', () => { stats.guessAnswers++; g.destroy(); });
    g.on('error', () => undefined);
    g.setTimeout(10_000, () => g.destroy());
  }
}, 50);
process.on('SIGTERM', () => {
  stopping = true;
  process.stdout.write(`${JSON.stringify({ ...stats, open: open.size })}\n`);
  process.exit(0);
});
