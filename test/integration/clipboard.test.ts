// CLIPBOARD=vdagent against a real QEMU: the wrapper adds QEMU's qemu-vdagent
// chardev with clipboard=on on a virtio-serial port com.redhat.spice.0 (QMP
// shows both), and through the dashboard's VNC socket QEMU's VNC server
// offers the extended clipboard and takes a viewer's clipboard messages
// without a complaint, the connection going on. What is not tested: the
// text reaching a guest's clipboard and back, which needs spice-vdagent in
// the guest (the busybox test guest has none).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startVm, stopVm, vmStatus } from '../../server/runner';
import { qmpCall, resolveVm, withQmp } from '../../server/runtime';
import { editVm } from '../../server/edit';
import { createVm, wrapperCheck, wrapperPrint } from '../../server/store';
import { demoVmEnv, sandbox } from '../helpers/guest';
import { ByteReader } from '../helpers/rfb';
import { bearer, inProcessServer, WsClient } from '../helpers/server';

const sb = sandbox('clip');
const LABEL = 'clip1';
/** RFB's extended clipboard pseudo-encoding (0xc0a1e5ce) and its flags. */
const EXT_CLIPBOARD = 0xc0a1e5ce | 0;
const CAPS = 1 << 24;
const NOTIFY = 1 << 27;
const TEXT = 1;

before(async () => {
  sb.enter();
  const base = join(sb.home, 'vms');
  await createVm({ label: LABEL, template: 'kernel-initrd', env: demoVmEnv(undefined, { CLIPBOARD: 'vdagent' }), base });
  await createVm({ label: 'plain1', template: 'kernel-initrd', env: demoVmEnv(), base });
  await startVm(LABEL);
});

after(async () => {
  await stopVm(LABEL, { mode: 'force' }).catch(() => undefined);
  sb.cleanup();
});

test('CLIPBOARD=vdagent: the qemu-vdagent chardev on com.redhat.spice.0 in QEMU, the VNC extended clipboard offered and a viewer\'s clipboard taken through the dashboard', async () => {
  const vm = await resolveVm(LABEL);
  const argv = await wrapperPrint(vm);
  assert.ok(argv.includes('qemu-vdagent,id=vdagent,name=vdagent,clipboard=on,mouse=off'), argv.join(' '));
  assert.ok(argv.includes('virtserialport,bus=vdagentserial.0,chardev=vdagent,name=com.redhat.spice.0,id=vdagentport'));
  const plain = await resolveVm('plain1');
  assert.ok(!(await wrapperPrint(plain)).some((a) => a.startsWith('qemu-vdagent')), 'no CLIPBOARD, no agent');
  // Any other value: refused by vmdeck set, and by the wrapper when written by hand.
  await assert.rejects(editVm('plain1', { CLIPBOARD: 'spice' }), /^VmdeckError: clipboard: 'spice' is not one of '' \(the machine's default\), vdagent$/);
  writeFileSync(plain.config, readFileSync(plain.config, 'utf8').replace("CLIPBOARD=''", "CLIPBOARD='spice'"));
  assert.match(await wrapperCheck(plain) ?? '', /CLIPBOARD: 'spice' is not one of: vdagent/);

  const [chardevs, port] = await withQmp(vm, async (c) => [
    await qmpCall<{ label: string; filename: string }[]>(c, 'query-chardev'),
    await qmpCall<string>(c, 'qom-get', { path: '/machine/peripheral/vdagentport', property: 'name' }),
  ] as const);
  assert.ok(chardevs.some((d) => d.label === 'vdagent'), JSON.stringify(chardevs));
  assert.equal(port, 'com.redhat.spice.0');

  const srv = await inProcessServer(sb);
  try {
    const v = await WsClient.open(`${srv.base.replace('http', 'ws')}/ws/vms/${LABEL}/vnc`, { headers: bearer, protocols: ['binary'] });
    const rfb = new ByteReader(v.ws);
    assert.equal((await rfb.read(12)).toString('latin1'), 'RFB 003.008\n');
    v.send(Buffer.from('RFB 003.008\n'));
    await rfb.read((await rfb.read(1))[0]);
    v.send(Buffer.from([1])); // security None
    assert.equal((await rfb.read(4)).readUInt32BE(0), 0);
    v.send(Buffer.from([1])); // ClientInit: shared
    const init = await rfb.read(24);
    await rfb.read(init.readUInt32BE(20));
    // SetEncodings: raw and the extended clipboard, as noVNC asks.
    const encodings = Buffer.alloc(4 + 8);
    encodings.writeUInt8(2, 0);
    encodings.writeUInt16BE(2, 2);
    encodings.writeInt32BE(0, 4);
    encodings.writeInt32BE(EXT_CLIPBOARD, 8);
    v.send(encodings);
    // ServerCutText with a negative length: the extended form, its caps first.
    const cut = await rfb.read(8);
    assert.equal(cut[0], 3, 'ServerCutText');
    const length = cut.readInt32BE(4);
    assert.ok(length < 0, `extended (negative length): ${length}`);
    const body = await rfb.read(-length);
    const flags = body.readUInt32BE(0);
    assert.ok(flags & CAPS && flags & TEXT, `caps with text: ${flags.toString(16)}`);
    // The viewer's clipboard: an extended notify (text is there), then the plain ClientCutText of older viewers.
    const notify = Buffer.alloc(12);
    notify.writeUInt8(6, 0);
    notify.writeInt32BE(-4, 4);
    notify.writeUInt32BE(NOTIFY | TEXT, 8);
    v.send(notify);
    const text = Buffer.from('copied in the browser', 'latin1');
    const plain = Buffer.alloc(8 + text.length);
    plain.writeUInt8(6, 0);
    plain.writeUInt32BE(text.length, 4);
    text.copy(plain, 8);
    v.send(plain);
    // The connection goes on: a FramebufferUpdateRequest is answered.
    const request = Buffer.alloc(10);
    request.writeUInt8(3, 0);
    request.writeUInt16BE(init.readUInt16BE(0), 6);
    request.writeUInt16BE(init.readUInt16BE(2), 8);
    v.send(request);
    let header = await rfb.read(1);
    // QEMU may ask the viewer for its clipboard (another ServerCutText) before the update.
    while (header[0] === 3) {
      const more = await rfb.read(7);
      await rfb.read(Math.abs(more.readInt32BE(3)));
      header = await rfb.read(1);
    }
    assert.equal(header[0], 0, 'FramebufferUpdate');
    v.close();
    assert.equal((await vmStatus(vm)).state, 'running');
    assert.equal(readFileSync(join(sb.run, LABEL, 'qemu-stderr.log'), 'utf8').trim(), '', 'QEMU complained of nothing');
  } finally {
    await stopVm(LABEL, { mode: 'force' }).catch(() => undefined);
    await srv.close();
  }
});
