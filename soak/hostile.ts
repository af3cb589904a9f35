// Hostile API bodies for `npm run soak` (and a short form in npm test):
// generated from a seed, to the routes that take a body, against a vmdeck
// serve of its own. Every answer must be a refusal or a success, never a
// 500; the server must live on; no shell may have run a value
// (`$(touch …)`, `;touch …`); nothing half-written may be left in the base.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { verdict } from '../bench/report';
import { guestImages, sandbox } from '../test/helpers/guest';
import { api, spawnServer, TEST_TOKEN } from '../test/helpers/server';

export interface HostileFigures {
  seed: number;
  sent: number;
  byStatus: Record<string, number>;
  /** Answers of 500 or more (or none): route, status, body excerpt. */
  failures: string[];
  alive: boolean;
  ran: boolean;
  halfWritten: string[];
  ms: number;
}

/** A small seeded generator (mulberry32): the same seed gives the same bodies. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROUTES: [string, string, string[]][] = [
  ['POST', '/api/vms/preview', ['label', 'template', 'memsize', 'smp', 'disk', 'argsAdd', 'instSrcCdrom', 'kernel', 'append', 'env', 'base', 'hostfwd', 'qemuMonSock', 'machine', 'nics', 'disks']],
  ['POST', '/api/vms', ['label', 'template', 'memsize', 'disk', 'argsAdd', 'kernel', 'env', 'base', 'force', 'createImage', 'start']],
  ['PATCH', '/api/vms/target', ['memsize', 'smp', 'argsAdd', 'disk', 'append', 'vga', 'qemu', 'dryRun', 'hostfwd']],
  ['POST', '/api/vms/target/start', ['console', 'bootmode', 'instmode', 'kernelmode']],
  ['POST', '/api/vms/target/stop', ['mode', 'timeout', 'force']],
  ['POST', '/api/vms/target/snapshots', ['name']],
  ['POST', '/api/vms/target/media', ['action', 'path']],
  ['POST', '/api/vms/target/keys', ['keys', 'text']],
  ['POST', '/api/vms/target/disks', ['size', 'file', 'if', 'format']],
  ['POST', '/api/vms/target/nics', ['model', 'net', 'mac']],
  ['POST', '/api/vms/target/clone', ['label', 'linked']],
  ['POST', '/api/vms/target/type', ['text', 'serial']],
  ['POST', '/api/vms/target/expect', ['serial', 'send', 'timeout']],
  ['POST', '/api/networks', ['name', 'pxe', 'dhcp']],
  ['POST', '/api/vms/%2e%2e%2ftarget/start', ['console']],
  // Issue 12: firmware and TPM, disk options, CD/DVD drives and floppies.
  ['PATCH', '/api/vms/target', ['firmware', 'secureBoot', 'tpm', 'machine', 'dryRun']],
  ['PATCH', '/api/vms/target/disks/0', ['readOnly', 'cache', 'discard', 'bootIndex']],
  ['POST', '/api/vms/target/cds', ['iso', 'interface']],
  ['PATCH', '/api/vms/target/drives/cd1', ['path']],
  ['PATCH', '/api/vms/target/drives/fda', ['path']],
];

export async function hostile(count: number, seed = Date.now() % 1_000_000): Promise<HostileFigures> {
  const sb = sandbox('hostile');
  const marker = join(sb.home, 'ran');
  const values: unknown[] = [
    '', ' ', '../../../etc/shadow', '/etc/shadow', `$(touch ${marker})`, `\`touch ${marker}\``, `x; touch ${marker} #`, `x' ; touch '${marker}`,
    'a'.repeat(70_000), '\u0000', 'line\nbreak', '\r\n', '-rf', '--help', 'exec:id', 'file=/etc/shadow', '${IFS}', '*', '?', '[a-z]', '~root',
    '%2e%2e%2f', '\u202e', '😀', 'CON', 'target', 'ok-label', 'QEMU', 'KVM', 'user', 'tap:-x', 'vde:../../x', 'CD%/etc/shadow', 'KERNEL%/etc/passwd%%',
    -1, 0, 1, 1e308, -1e308, 2 ** 53 + 1, 0.5, true, false, null, [], {}, [1, 2], ['-incoming', `exec:touch ${marker}`], ['-chardev', 'pipe,id=p,path=/tmp/p'],
    { __proto__: { polluted: true } }, { constructor: { prototype: { polluted: true } } }, { toString: 'x' }, { NAME: '$(id)' },
  ];
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  /** JSON nested `depth` deep, written out (JSON.stringify itself would run out of stack). */
  const nested = (depth: number) => (rand() < 0.5 ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"label":'.repeat(depth)}1${'}'.repeat(depth)}`);

  /** One body: text, as sent. */
  function body(fields: string[]): { text: string; type: string } {
    const r = rand();
    if (r < 0.05) return { text: pick(['{', '{"a":', '[1,', 'nul', '"\\ud800"', '{"a":1}{', '\u0000']), type: 'application/json' };
    if (r < 0.1) return { text: JSON.stringify(pick([[], 'text', 42, null, true])), type: 'application/json' };
    if (r < 0.13) return { text: nested(2000 + Math.floor(rand() * 20000)), type: 'application/json' };
    if (r < 0.15) return { text: '{"label":"x"}', type: pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '']) };
    if (r < 0.17) return { text: JSON.stringify({ label: 'big', append: 'x'.repeat(1100 * 1024) }), type: 'application/json' };
    const out: Record<string, unknown> = {};
    for (const f of fields) if (rand() < 0.6) out[f] = pick(values);
    if (rand() < 0.3) out[pick(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', '', ' ', '\u0000'])] = pick(values);
    // JSON.stringify drops a __proto__ key given by an object literal; written out, it reaches JSON.parse.
    return { text: JSON.stringify(out).replace(/^\{/, rand() < 0.2 ? '{"__proto__":{"polluted":1},' : '{').replace(/,\}$/, '}'), type: 'application/json' };
  }

  const server = await spawnServer(sb);
  const t0 = Date.now();
  const byStatus: Record<string, number> = {};
  const failures: string[] = [];
  try {
    const images = guestImages();
    // A VM whose start is refused (no disk for its boot mode): a body that would start it starts nothing.
    const made = await api(server.base, 'POST', '/api/vms', { label: 'target', template: 'kernel-initrd', kernel: images.kernel, initrd: images.initrd, bootmode: 'VHDD', createImage: false, memsize: 64 });
    if (made.status !== 201) throw new Error(`hostile: the target VM was not made: ${made.text}`);
    for (let i = 0; i < count; i++) {
      const [method, path, fields] = pick(ROUTES);
      const { text, type } = body(fields);
      const status = await fetch(`${server.base}${path}`, {
        method, body: text,
        headers: { Authorization: `Bearer ${TEST_TOKEN}`, ...(type ? { 'Content-Type': type } : {}) },
        signal: AbortSignal.timeout(30_000),
      }).then(async (res) => { await res.arrayBuffer(); return res.status; }, (e: Error) => `no answer (${e.name})`);
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      if (typeof status !== 'number' || status >= 500) failures.push(`${method} ${path} ${status}: ${text.slice(0, 160)}`);
      if (server.proc.exitCode !== null || server.proc.signalCode !== null) {
        failures.push(`the server ended after ${method} ${path}: ${text.slice(0, 160)}`);
        break;
      }
    }
    const alive = server.proc.exitCode === null && (await api(server.base, 'GET', '/api/health')).status === 200;
    // Whatever a valid body started is stopped; a switch made is ended.
    for (const vm of (await api(server.base, 'GET', '/api/vms')).json ?? []) {
      if (vm.state !== 'stopped') await api(server.base, 'POST', `/api/vms/${vm.label}/stop`, { mode: 'force' });
    }
    for (const sw of (await api(server.base, 'GET', '/api/networks')).json ?? []) await api(server.base, 'DELETE', `/api/networks/${sw.name}`);
    const base = join(sb.home, 'vms');
    const halfWritten = readdirSync(base).filter((d) => d.includes('.tmp-')
      || (!d.startsWith('.') && !existsSync(join(base, d, `${d}.ctys`)) && readdirSync(join(base, d)).length > 0 && !readdirSync(join(base, d)).some((f) => f.endsWith('.ctys'))));
    return { seed, sent: Object.values(byStatus).reduce((a, b) => a + b, 0), byStatus, failures, alive, ran: existsSync(marker), halfWritten, ms: Date.now() - t0 };
  } finally {
    await server.kill();
    sb.cleanup();
  }
}

export function printHostile(f: HostileFigures): boolean {
  const ok = f.failures.length === 0 && f.alive && !f.ran && f.halfWritten.length === 0;
  const statuses = Object.entries(f.byStatus).map(([s, n]) => `${s}: ${n}`).join(', ');
  console.log(`hostile: ${f.sent} generated API bodies (seed ${f.seed}) in ${(f.ms / 1000).toFixed(1)} s; answers ${statuses}`);
  for (const x of f.failures.slice(0, 10)) console.log(`hostile:   ${x}`);
  console.log(`hostile: no 500, the server lives on, no value ran in a shell, nothing half-written: ${f.failures.length} failures, alive ${f.alive}, ran ${f.ran}, half-written [${f.halfWritten.join(', ')}] ${verdict(ok)}`);
  return ok;
}

