// serial.log stays under its cap while the VM runs: a guest printing as fast
// as it can on serial0 never makes serial.log larger than the cap
// (VMDECK_SERIAL_LOG_CAP, 4 MiB by default; 256 KiB here so that the guest's
// UART under TCG fills it a few times quickly), the output before moves to
// serial.log.1, and the newest output is kept.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createVm } from '../../server/store';
import { demoVmEnv, guestImages, sandbox, type Sandbox } from '../helpers/guest';
import { guestShell, quitVm, startWrapper } from '../helpers/vms';

const CAP = 256 * 1024;
let sb: Sandbox;
const images = guestImages();

before(() => {
  sb = sandbox('serialcap');
  sb.enter();
});
after(() => sb.cleanup());

const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);

test('a guest flooding serial0 keeps serial.log under its cap, rotated, with the newest output in it', { timeout: 240_000 }, async () => {
  const { vm } = await createVm({ label: 'flood', template: 'kernel-initrd', env: demoVmEnv(images) });
  await startWrapper(vm, { ...sb.env, VMDECK_SERIAL_LOG_CAP: String(CAP) });
  const log = join(sb.run, 'flood', 'serial.log');
  const shell = await guestShell(sb.run, 'flood');
  try {
    const from = shell.mark;
    const t0 = Date.now();
    shell.write('yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuv | head -c 1500000; echo FLOOD-DONE-$((6*7))\r');
    let largest = 0;
    let rotations = 0;
    let previous = 0;
    while (!/FLOOD-DONE-42/.test(shell.output.slice(from))) {
      const now = size(log);
      if (now < previous) rotations++;
      previous = now;
      largest = Math.max(largest, now);
      assert.ok(Date.now() - t0 < 200_000, `the flood did not end within 200 s (serial.log ${size(log)} bytes, ${rotations} rotations)`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (Date.now() - t0) / 1000;
    for (let i = 0; i < 50 && !readFileSync(log, 'latin1').includes('FLOOD-DONE-42'); i++) await new Promise((r) => setTimeout(r, 100));
    largest = Math.max(largest, size(log));
    console.log(`serial flood: 1.5 MB in ${seconds.toFixed(1)} s (${(1.5 / seconds).toFixed(2)} MB/s through the guest's UART); serial.log at most ${largest} bytes (cap ${CAP}), ${rotations} rotations seen`);
    assert.ok(largest <= CAP, `serial.log grew to ${largest} bytes`);
    assert.ok(rotations >= 1 && size(`${log}.1`) === CAP, 'serial.log.1 holds the output before, a full cap of it');
    const tail = readFileSync(log, 'latin1');
    assert.match(tail, /FLOOD-DONE-42/, `the newest output is in serial.log: ${JSON.stringify(tail.slice(-200))}`);
  } finally {
    shell.close();
  }
  await quitVm(sb.run, 'flood');
});
