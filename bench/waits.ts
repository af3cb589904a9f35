// What a user waits for between clicks (npm run bench), each against its
// floor in the same run: `vmdeck serve` on a world of its own, Debian's
// chromium (headless) on the dashboard, the test guest (a Debian kernel and a
// busybox initramfs, scripts/build-guest.sh) under the host's default
// accelerator (TCG here: this host's /dev/kvm cannot run ordinary guests);
//   1. Start → the first VNC frame with something on it (more than one
//      colour) in the browser's canvas, against QEMU's own start: the VM's
//      wrapper run directly and a bare RFB client on vnc.sock until the same;
//   2. Create in the wizard → the guest's prompt on the serial console,
//      against `vmdeck create-conf` + the wrapper run directly + reading
//      serial.sock until the prompt;
//   3. the VM page's first paint (first-contentful-paint) and its console
//      live, with the VM running, against the same page on a tab without a
//      console (hardware).
// Prints numbers, ratios and PASS/MISS; asserts nothing. Every QEMU it starts
// is killed by its pidfile at the end.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { guestImages } from '../test/helpers/guest';
import { startDashboard, within } from './children';
import { fmt, median, verdict } from './report';
import { benchWorld } from './world';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'bin/vmdeck.js');
const TOKEN = 'bench-waits-token';
const ROUNDS = Number(process.env.BENCH_WAITS_ROUNDS ?? 3);
const PROMPT = /guest:[^\r\n]*# /;
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

/** The dashboard (startDashboard keeps it here, for the cleanup). */
const servers: ChildProcess[] = [];
const { home, run } = benchWorld('vd-bench-waits-', () => {
  for (const s of servers) s.kill('SIGKILL');
  killGuests();
});
// The guest's kernel and initrd are media: the API takes files from the bases and the media directories only.
const env = { ...process.env, VMDECK_TOKEN: TOKEN, VMDECK_MEDIA: join(REPO, '.cache', 'guest') };
const guest = guestImages();

/** Every QEMU of this world, by its pidfile (never by name: other runs' QEMUs are not ours). */
function killGuests(): void {
  for (const label of readdirSync(run)) {
    try {
      process.kill(Number(readFileSync(join(run, label, 'qemu.pid'), 'utf8').trim()), 'SIGKILL');
    } catch { /* not running */ }
  }
}

// The test guest's kernel, initrd and command line, as ctys's environment options.
const vmdeck = (...args: string[]) => execFileSync(process.execPath, [CLI, ...args], {
  env: { ...env, INST_KERNEL: guest.kernel, INST_INITRD: guest.initrd, INST_APPEND: guest.append }, stdio: 'pipe', encoding: 'utf8',
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

function createVm(label: string): void {
  vmdeck('create-conf', '--label', label, '--template', 'kernel-initrd', '--auto-all');
}

/** QEMU's own start, as the floor: the VM's wrapper run directly (what `vmdeck start` runs), detached. */
function startWrapper(label: string, ...args: string[]): void {
  const vmDir = join(home, 'vms', label);
  spawn('bash', [join(vmDir, `${label}.sh`), ...args], { cwd: vmDir, env, detached: true, stdio: 'ignore' }).unref();
}

async function stopVm(label: string): Promise<void> {
  vmdeck('cancel', label, '--force');
  for (let i = 0; i < 100 && vmdeck('list').includes(label); i++) await sleep(100);
}


// --- a bare RFB client: the floor of the VNC path ----------------------------

/** Reads exactly n bytes at a time from a socket. */
function reader(sock: Socket): (n: number) => Promise<Buffer> {
  let buf = Buffer.alloc(0);
  let want: { n: number; resolve: (b: Buffer) => void } | null = null;
  const feed = () => {
    if (want && buf.length >= want.n) {
      const out = buf.subarray(0, want.n);
      buf = buf.subarray(want.n);
      const w = want;
      want = null;
      w.resolve(out);
    }
  };
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    feed();
  });
  return (n) => new Promise((resolve) => {
    want = { n, resolve };
    feed();
  });
}

/** A UNIX socket connected as soon as QEMU listens on path (tried every 10 ms until then). */
async function connectWhenListening(path: string): Promise<Socket> {
  for (;;) {
    const sock = connect(path);
    const ok = await new Promise<boolean>((r) => { sock.once('connect', () => r(true)); sock.once('error', () => r(false)); });
    if (ok) return sock;
    await sleep(10);
  }
}

/**
 * Connects to vnc.sock (retrying until QEMU listens), shakes hands (RFB 3.8,
 * no security), asks for raw pixels and reads framebuffer updates until one
 * has more than one colour in it.
 */
async function firstFrameOverRfb(path: string): Promise<void> {
  const sock = await connectWhenListening(path);
  try {
    const read = reader(sock);
    await read(12);
    sock.write('RFB 003.008\n');
    const types = await read((await read(1))[0]);
    if (!types.includes(1)) throw new Error('bench: QEMU offers no VNC without security');
    sock.write(Buffer.from([1]));
    await read(4);
    sock.write(Buffer.from([1])); // ClientInit, shared
    const init = await read(24);
    const [w, h] = [init.readUInt16BE(0), init.readUInt16BE(2)];
    await read(init.readUInt32BE(20));
    const bpp = init[4] / 8;
    // SetEncodings: raw only, and DesktopSize (-223) so that a resize comes as a rectangle.
    const enc = Buffer.alloc(12);
    enc.writeUInt8(2, 0);
    enc.writeUInt16BE(2, 2);
    enc.writeInt32BE(0, 4);
    enc.writeInt32BE(-223, 8);
    sock.write(enc);
    let width = w;
    let height = h;
    for (let incremental = 0; ; incremental = 1) {
      const req = Buffer.alloc(10);
      req.writeUInt8(3, 0);
      req.writeUInt8(incremental, 1);
      req.writeUInt16BE(width, 6);
      req.writeUInt16BE(height, 8);
      sock.write(req);
      const type = (await read(1))[0];
      if (type !== 0) throw new Error(`bench: RFB message ${type} before a framebuffer update`);
      const rects = (await read(3)).readUInt16BE(1);
      const colours = new Set<number>();
      for (let i = 0; i < rects; i++) {
        const r = await read(12);
        const [rw, rh, encoding] = [r.readUInt16BE(4), r.readUInt16BE(6), r.readInt32BE(8)];
        if (encoding === -223) {
          width = rw;
          height = rh;
          continue;
        }
        const px = await read(rw * rh * bpp);
        for (let k = 0; k < px.length; k += bpp * 7) colours.add(px.readUIntLE(k, Math.min(bpp, 4)));
      }
      if (colours.size > 1) return;
    }
  } finally {
    sock.destroy();
  }
}

/** Reads serial.sock until the guest's prompt. */
async function promptOverSocket(path: string): Promise<void> {
  const sock = await connectWhenListening(path);
  let text = '';
  // A prompt printed before this connected is asked for again by a return.
  const poke = setInterval(() => sock.write('\r'), 1000);
  await new Promise<void>((resolve) => {
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (PROMPT.test(text)) resolve();
    });
  });
  clearInterval(poke);
  sock.destroy();
}

// --- the browser ---------------------------------------------------------------

/** Milliseconds until the VNC canvas shows more than one colour. */
async function canvasLive(page: Page, timeout = 120_000): Promise<void> {
  await page.waitForFunction(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-console="vnc"] canvas');
    if (!canvas || canvas.width === 0) return false;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    const first = (data[0] << 16) | (data[1] << 8) | data[2];
    for (let i = 0; i < data.length; i += 4 * 7) if (((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]) !== first) return true;
    return false;
  }, undefined, { polling: 'raf', timeout });
}

async function serialPrompt(page: Page, timeout = 120_000): Promise<void> {
  await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('[data-console="serial"]')?.textContent ?? ''), PROMPT.source, { polling: 100, timeout });
}

const fcp = (page: Page) => page.evaluate(() => new Promise<number>((resolve) => {
  const seen = performance.getEntriesByName('first-contentful-paint')[0];
  if (seen) return resolve(seen.startTime);
  new PerformanceObserver((l) => resolve(l.getEntries()[0].startTime)).observe({ type: 'paint', buffered: true });
}));

async function main(): Promise<void> {
  const t0 = Date.now();
  const { base } = await startDashboard(servers, CLI, env);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  const rows: Record<string, number[]> = {};
  const add = (k: string, v: number) => (rows[k] ??= []).push(v);
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(`${base}/login?token=${TOKEN}`);
    await page.waitForURL(/\/$/);
    createVm('w1');
    await page.goto(`${base}/vms/w1?tab=vnc`); // compiled and cached before anything is timed
    for (let r = 0; r < ROUNDS; r++) {
      // 1. The floor: QEMU started by the wrapper, a bare RFB client.
      let t = now();
      startWrapper('w1');
      await within(firstFrameOverRfb(join(run, 'w1', 'vnc.sock')), 120_000, 'the first VNC frame over RFB');
      add('startFloor', now() - t);
      await stopVm('w1');
      // ...and through the dashboard: the VM page on its VNC tab, Start clicked.
      await page.goto(`${base}/vms/w1?tab=vnc`);
      const start = page.getByRole('toolbar').getByRole('button', { name: 'Start', exact: true });
      await start.waitFor();
      t = now();
      await start.click();
      await canvasLive(page);
      add('startBrowser', now() - t);

      // 3. The page's first paint with its console running, and without a console.
      await page.goto('about:blank');
      t = now();
      await page.goto(`${base}/vms/w1?tab=vnc`);
      add('pageFcpVnc', await fcp(page));
      await canvasLive(page);
      add('pageLiveVnc', now() - t);
      await page.goto('about:blank');
      await page.goto(`${base}/vms/w1?tab=hardware`);
      add('pageFcpBare', await fcp(page));
      await page.goto('about:blank');
      await stopVm('w1');

      // 2. Create → prompt: the CLI's floor, then the wizard.
      const cliLabel = `wc${r}`;
      t = now();
      createVm(cliLabel);
      startWrapper(cliLabel, '--console=NONE');
      await within(promptOverSocket(join(run, cliLabel, 'serial.sock')), 120_000, 'the prompt over serial.sock');
      add('createFloor', now() - t);
      await stopVm(cliLabel);
      const label = `ww${r}`;
      // The wizard as e2e/default-path.spec.ts walks it: the host's default accelerator, then straight to the review.
      await page.goto(`${base}/vms/new?template=kernel-initrd`);
      await page.getByRole('button', { name: 'Next' }).click();
      await page.locator('#f-label').fill(label);
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByRole('radio', { name: /^QEMU \(TCG\)|^KVM/ }).first().waitFor();
      await page.getByRole('button', { name: 'Next' }).click();
      await page.locator('#f-kernel').fill(guest.kernel);
      await page.locator('#f-initrd').fill(guest.initrd);
      await page.locator('#f-append').fill(guest.append);
      await page.getByRole('button', { name: /Review/ }).click();
      const create = page.getByRole('button', { name: 'Create', exact: true });
      await create.waitFor();
      t = now();
      await create.click();
      await page.waitForURL(new RegExp(`/vms/${label}`));
      await page.getByRole('toolbar').getByRole('button', { name: 'Start', exact: true }).click();
      await page.getByRole('tab', { name: 'Serial' }).click();
      await serialPrompt(page);
      add('createBrowser', now() - t);
      await stopVm(label);
    }
  } finally {
    await browser.close();
    killGuests();
  }

  const m = (k: string) => median(rows[k]);
  const line = (name: string, k: string) => console.log(`  ${name.padEnd(58)} ${fmt(m(k), 0).padStart(6)} ms   (${rows[k].map((x) => fmt(x, 0)).join(', ')})`);
  console.log(`What a user waits for, ${ROUNDS} rounds (medians; each round's figure in brackets):`);
  line('Start → first VNC frame in the browser', 'startBrowser');
  line('  floor: the wrapper run directly + a bare RFB client', 'startFloor');
  line('Create in the wizard → prompt on the serial console', 'createBrowser');
  line('  floor: create-conf + the wrapper + serial.sock read', 'createFloor');
  line('VM page (VNC tab, VM running): first paint', 'pageFcpVnc');
  line('VM page (VNC tab, VM running): the console live', 'pageLiveVnc');
  line('  floor: VM page on a tab without a console: first paint', 'pageFcpBare');
  const startOver = m('startBrowser') - m('startFloor');
  const createOver = m('createBrowser') - m('createFloor');
  const paintRatio = m('pageFcpVnc') / m('pageFcpBare');
  console.log('\nTargets (this bench\'s own; the issue sets none for these):');
  console.log(`  ${verdict(startOver < 1000)}  Start → first VNC frame within 1 s of QEMU's own: +${fmt(startOver, 0)} ms (${fmt(m('startBrowser') / m('startFloor'), 2)}×)`);
  console.log(`  ${verdict(createOver < 2000)}  Create → prompt within 2 s of the CLI's: +${fmt(createOver, 0)} ms (${fmt(m('createBrowser') / m('createFloor'), 2)}×)`);
  console.log(`  ${verdict(paintRatio <= 1.25)}  first paint with a running console ≤ 1.25× the page without: ${fmt(paintRatio, 2)}×`);
  console.log(`\n(${fmt((Date.now() - t0) / 1000)} s)\n`);
}

main().then(() => process.exit(0), (e: Error) => {
  console.error(e.message);
  process.exit(1);
});
