// Changing a VM after it is made (npm run bench): a PATCH round trip in
// process (HTTP request to the config rewritten, checked and kept), against
// a GET of the same VM in the same run; and adding a disk to a running VM
// (qemu-img create, QMP blockdev-add + device_add, the config written),
// against the same add to the VM stopped (no QMP).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { guestImages } from '../test/helpers/guest';
import { fmt, median, verdict } from './report';
import { benchWorld } from './world';

const { home } = benchWorld('vd-bench-edit-');
const token = 'bench-token-0123456789';
process.env.VMDECK_TOKEN = token;
const { createVm } = await import('../server/store');
const { startVm, stopVm } = await import('../server/runner');
const { startServer } = await import('../server/index');

const g = guestImages();
// QEMU (TCG): this is about vmdeck's side, the same on every host.
const values = { accelerator: 'QEMU', kernel: g.kernel, initrd: g.initrd, append: g.append } as const;
await createVm({ label: 'ed', template: 'kernel-initrd', values, createImage: true });
await createVm({ label: 'cold', template: 'kernel-initrd', values, createImage: true });
const server = await startServer({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${server.port}`;
const call = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(`${base}${path}`, {
    method, headers: { Authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
};
const time = async (f: () => Promise<unknown>) => {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
};

console.log('vmdeck edit benchmarks');
const patch: number[] = [];
const get: number[] = [];
for (let i = 0; i < 40; i++) {
  const memsize = 256 + 64 * (i % 2);
  patch.push(await time(() => call('PATCH', '/api/vms/ed', { memsize })));
  get.push(await time(() => call('GET', '/api/vms/ed')));
  const written = readFileSync(join(home, 'vms/ed/ed.ctys'), 'utf8');
  if (!written.includes(`MEMSIZE='${memsize}'`)) throw new Error(`PATCH ${i} did not write MEMSIZE='${memsize}'`);
}
console.log(`  PATCH memsize (checked, config rewritten, previous kept): median ${fmt(median(patch))} ms; GET of the same VM (it runs the wrapper's --print and --check) ${fmt(median(get))} ms (${fmt(median(patch) / median(get), 2)}x)`);
console.log(`    ${verdict(median(patch) < 100)} < 100 ms`);

await startVm('ed');
const live: number[] = [];
const cold: number[] = [];
for (let i = 0; i < 3; i++) {
  live.push(await time(() => call('POST', '/api/vms/ed/disks', { size: '16M' })));
  cold.push(await time(() => call('POST', '/api/vms/cold/disks', { size: '16M' })));
}
const disks = (await call('GET', '/api/vms/ed')).vm.disks.length;
if (disks !== 4) throw new Error(`the running VM has ${disks} disks, not 4`);
console.log(`  add a disk to a running VM (qemu-img, blockdev-add + device_add, config): median ${fmt(median(live), 0)} ms; to a stopped one ${fmt(median(cold), 0)} ms (${fmt(median(live) / median(cold))}x)`);
console.log(`    ${verdict(median(live) < 2000)} < 2 s`);
await stopVm('ed', { mode: 'force' });
await server.close();
process.exit(0);
