// The serial hub's fan-out alone, for profiles and instruction counts:
// `node --import tsx bench/fanout.ts [CHUNKS] [VIEWERS] [TURNS]` runs one ConsoleHub
// (server/ws/hub.ts) in this process behind a WebSocketServer made as the
// dashboard makes it, with VIEWERS clients (bench/clients.ts) in a child
// process, and sends CHUNKS one-byte chunks of console output through it,
// each once the one before has reached every viewer (the hub begins a round
// at most every ROUND_MS and writes a slice of the viewers per turn of the
// event loop), as keystrokes' echoes come. It prints this
// process's CPU per chunk. Under `valgrind --tool=callgrind` (which counts
// this process, not its children) the difference of two runs' instruction
// counts divided by the difference of their CHUNKS is what one chunk costs
// the server, free of the machine's noise; with `--cpu-prof` the profile
// shows where it goes.
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { ConsoleHub, FANOUT_SLICE, ROUND_MS } from '../server/ws/hub';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const chunks = Number(process.argv[2] ?? 2000);
const viewers = Number(process.argv[3] ?? 100);

const hub = new ConsoleHub({ name: 'serial', persistent: true });
hub.setLink({ write: () => true, pause: () => {}, resume: () => {}, close: () => {} });
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1024 * 1024 });
const http = createHttpServer();
http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => hub.attach(ws)));
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
const { port } = http.address() as AddressInfo;

const child = spawn(process.execPath, ['--import', 'tsx', `${REPO}bench/clients.ts`, `ws://127.0.0.1:${port}/`, String(viewers), 'none'], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise<void>((resolve, reject) => {
  child.stdout!.on('data', (d: Buffer) => { if (/ready/.test(String(d))) resolve(); });
  child.once('exit', (code) => reject(new Error(`clients exited with ${code}`)));
});

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Turns of the event loop a chunk's round takes to reach every viewer (TURNS: as many with 0 viewers, for the loop's own cost). */
const turnsPerChunk = Number(process.argv[4] ?? Math.ceil(viewers / FANOUT_SLICE) + 1);
const byte = Buffer.from('a');
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
for (let i = 0; i < chunks; i++) {
  hub.output(byte);
  await new Promise((resolve) => setTimeout(resolve, ROUND_MS));
  for (let t = 0; t < turnsPerChunk; t++) await turn();
}
const cpu = process.cpuUsage(cpu0);
const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(`fanout: ${chunks} chunks to ${hub.stats().clients} viewers: ${((cpu.user + cpu.system) / Math.max(1, chunks)).toFixed(1)} µs of CPU per chunk, ${(wallMs * 1000 / Math.max(1, chunks)).toFixed(1)} µs wall per chunk`);
child.kill('SIGTERM');
hub.dispose();
wss.close();
http.close();
