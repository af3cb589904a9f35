// The preseeded Debian installer as a test sees it: a package mirror on the
// host's loopback that answers nothing but 404 (the installer's first question
// is then "Bad archive mirror", and the mirror has seen the preseed's URL),
// and the installer's serial console, read from serial.log. installToMirror
// is what the preseed tests (KERNEL, PXE, CD) share: the VM made with the
// mirror, started, watched to the mirror question, quit.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { VmInfo } from '../../lib/vm';
import type { Sandbox } from './guest';
import { SocketTerminal } from './serial';
import { quitVm, startWrapper } from './vms';

/** A mirror that has nothing: every request is recorded and answered 404. */
export interface EmptyMirror {
  port: number;
  /** The paths asked for, in order. */
  requests: string[];
  close(): Promise<void>;
}

export function emptyMirror(): Promise<EmptyMirror> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not here\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ port, requests, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

/** The installer's text frontend as plain text: no escapes, no carriage returns. */
export const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z=>]|\x1b[()][A-Z0-9]|\x1b[=>]/g, '').replace(/\r/g, '');

/**
 * serial.log once it holds marker. QEMU logs serial0 through a FIFO that a
 * copier appends to serial.log, so the file can lag the serial socket: in one
 * run of the suite it ended at "Choose a ", the socket having seen more.
 */
export async function serialLogWith(file: string, marker: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = plain(readFileSync(file, 'latin1'));
    if (text.includes(marker)) return text;
    if (Date.now() > deadline) throw new Error(`${file} never showed '${marker}' in ${timeoutMs} ms; it ends: ${JSON.stringify(text.slice(-300))}`);
    await sleep(200);
  }
}

const MIRROR_QUESTION = 'Choose a mirror of the Debian archive';
/** The installer's steps on the way, as its serial console shows them. */
const MILESTONES = ['Linux version', 'Run /init', 'Detecting network hardware', 'Configuring the network with DHCP', 'Checking the Debian archive mirror', 'Bad archive mirror'];

/**
 * Waits on the VM's serial console until the installer says the mirror is
 * bad, then checks all that serial0 printed before, from the firmware on:
 * the network came up by DHCP, the mirror's question is the first and only
 * one the text frontend showed, and nothing waited for a key. The mirror
 * itself was asked for the suite's Release file: the URL is the preseed's.
 */
export async function expectNoQuestionUntilMirror(run: string, label: string, mirror: EmptyMirror, timeoutMs: number): Promise<string> {
  const serial = await SocketTerminal.open(join(run, label, 'serial.sock'));
  // When the installer got where: printed with the result, the first thing to read when it is slow.
  const t0 = Date.now();
  const seen: string[] = [];
  const steps = MILESTONES.map((m) => serial.waitFor(new RegExp(m), timeoutMs).then(() => seen.push(`${m} ${Math.round((Date.now() - t0) / 1000)} s`), () => undefined));
  try {
    await serial.waitFor(/Bad archive mirror/, timeoutMs);
  } catch (e) {
    const log = plain(readFileSync(join(run, label, 'serial.log'), 'latin1'));
    throw new Error(`${(e as Error).message.slice(0, 200)}…; reached: ${seen.join(', ')}; serial.log ends: ${JSON.stringify(log.slice(-1500))}`);
  } finally {
    serial.stopWaiting();
    serial.close();
    await Promise.all(steps);
    console.log(`${label}: ${seen.join(', ')}`);
  }
  const text = await serialLogWith(join(run, label, 'serial.log'), 'Bad archive mirror', 30_000);
  const before = text.slice(0, text.indexOf('Bad archive mirror'));
  assert.match(before, /Configuring the network with DHCP/);
  assert.match(before, new RegExp(`${MIRROR_QUESTION}\\n-+\\n`));
  // Each question of the text frontend is a title underlined with dashes: the mirror's is the first.
  assert.deepEqual([...before.matchAll(/^(.+)\n-{5,}$/gm)].map((m) => m[1].trim()), [MIRROR_QUESTION]);
  assert.doesNotMatch(before, /\[Press enter to continue\]|Prompt: /);
  assert.ok(mirror.requests.some((r) => /^\/debian\/dists\/[a-z]+\/(In)?Release$/.test(r)), `the mirror was asked for: ${JSON.stringify(mirror.requests)}`);
  return before;
}

/**
 * create-conf's options of a preseeded install the tests boot: a small VM,
 * the installer on the serial console in its text frontend. The accelerator
 * is the host's default (the KVM probe makes it QEMU where /dev/kvm cannot
 * run a guest).
 */
export const PRESEED_ENV: Record<string, string> = {
  MEMSIZE: '1024', SMP: '1', UNATTENDED: 'preseed', HDDBOOTIMAGE_INST_SIZE: '1G',
  INST_APPEND: 'console=ttyS0,115200 quiet DEBIAN_FRONTEND=text',
};

// Emulated, the installer needs about 3 minutes on an idle 2-core machine and
// nearly 6 on a shared one; the suite gives a test file 10 minutes.
const INSTALLER_MS = 560_000;

/**
 * Makes the VM with a mirror that has nothing (create gets its URL, as the
 * guest sees it through user networking), starts it, runs whileRunning,
 * and expects no question until the mirror's; the VM is quit and the mirror
 * closed whatever happens.
 */
export async function installToMirror(sb: Sandbox, create: (mirror: string) => Promise<VmInfo>, whileRunning?: (vm: VmInfo) => Promise<void>): Promise<VmInfo> {
  const mirror = await emptyMirror();
  try {
    const vm = await create(`http://10.0.2.2:${mirror.port}/debian`);
    await startWrapper(vm, sb.env);
    try {
      await whileRunning?.(vm);
      await expectNoQuestionUntilMirror(sb.run, vm.label, mirror, INSTALLER_MS);
    } finally {
      await quitVm(sb.run, vm.label);
    }
    return vm;
  } finally {
    await mirror.close();
  }
}
