// debootstrap installs (npm run bench): building a Debian 12 disk (the
// mmdebstrap tree from .cache/debootstrap when a run before built it, else
// built now; then mkfs.ext4 -d), its first boot to the serial login prompt
// (cloud-init's first run: network, hostname, the user's key) and a second
// boot (cloud-init has done its work). The peer of the boots is the test
// guest's busybox initramfs booting to its shell in the same run, the floor
// of any emulated Linux boot here.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, verdict } from './report';
import { benchWorld } from './world';

const { run } = benchWorld('vd-bench-deb-');
const REPO = fileURLToPath(new URL('..', import.meta.url));
process.env.VMDECK_DEBOOTSTRAP_CACHE ??= join(REPO, '.cache', 'debootstrap');
const { createVm } = await import('../server/store');
const { guestImages, demoVmEnv } = await import('../test/helpers/guest');
const { SocketTerminal } = await import('../test/helpers/serial');
const { quitVm } = await import('../test/helpers/vms');

const wrapper = (path: string) => new Promise<void>((resolve, reject) => {
  execFile('bash', [path], { env: process.env }, (err, _o, stderr) => (err ? reject(new Error(String(stderr))) : resolve()));
});

/** Seconds from the wrapper's start to re on serial0. */
async function bootTo(label: string, path: string, re: RegExp, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  await wrapper(path);
  const serial = await SocketTerminal.open(join(run, label, 'serial.sock'));
  try {
    serial.write('\r');
    await serial.waitFor(re, timeoutMs);
  } finally {
    serial.close();
  }
  const s = (Date.now() - t0) / 1000;
  await quitVm(run, label);
  return s;
}

console.log('vmdeck debootstrap benchmarks (emulated, TCG)');
const lines: string[] = [];
let t0 = Date.now();
// This host's /dev/kvm (kvm_pvm) cannot run ordinary guests: emulation, as everywhere in the bench.
const { vm } = await createVm({
  label: 'deb', install: 'debootstrap', progress: (l) => lines.push(l),
  env: { ACCELERATOR: 'QEMU', MEMSIZE: '1024', DISTREL: '12', HDDBOOTIMAGE_INST_SIZE: '3G' },
});
const build = (Date.now() - t0) / 1000;
const cachedTree = lines.some((l) => l.includes('from the cache'));
t0 = Date.now();
const first = await bootTo('deb', vm.wrapper, /deb login: /, 600_000);
const second = await bootTo('deb', vm.wrapper, /deb login: /, 600_000);
const { vm: guest } = await createVm({ label: 'busybox', template: 'kernel-initrd', env: demoVmEnv(guestImages()) });
const floor = await bootTo('busybox', guest.wrapper, /guest:[^\r\n]*# /, 120_000);

console.log(`  build: ${fmt(build, 0)} s (${cachedTree ? 'tree from the cache: mkfs.ext4 -d and the seed' : 'mmdebstrap from this host\'s apt sources, then mkfs.ext4 -d'})`);
console.log(`    ${verdict(cachedTree ? build <= 30 : build <= 300)} ${cachedTree ? '≤ 30 s with the tree cached' : '≤ 300 s uncached'}`);
console.log(`  first boot to the serial login prompt: ${fmt(first, 0)} s; second boot ${fmt(second, 0)} s; the busybox test guest to its shell ${fmt(floor, 0)} s`);
console.log(`    ${verdict(second <= first * 1.1)} the second boot no slower than the first (cloud-init's first run done)`);
console.log(`    ${verdict(first <= 240)} first boot ≤ 240 s emulated`);
