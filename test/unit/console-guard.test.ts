// The consoles' guards (lib/console-guard.ts): the monitor's line as QEMU's
// readline holds it, commands that reach the host refused on Enter, and
// Ctrl-a c refused on the serial line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { monitorCommandError, MonitorLineGuard, MuxGuard, MUX_MONITOR_REFUSED, MUX_ON_MONITOR_NOTICE } from '../../lib/console-guard';

const typed = (g: { input(b: Buffer): { forward: Buffer; refused: string[] } }, ...frames: string[]) => {
  let forward = '';
  const refused: string[] = [];
  for (const f of frames) {
    const r = g.input(Buffer.from(f, 'latin1'));
    forward += r.forward.toString('latin1');
    refused.push(...r.refused);
  }
  return { forward, refused };
};

test('commands that run programs, open host files or sockets are refused by name; the others pass', () => {
  for (const line of ['migrate "exec:id > /tmp/x"', '  migrate exec:sh', 'migrate_incoming exec:x', 'change ide1-cd0 /etc/shadow',
    'drive_add 0 file=/etc/shadow', 'chardev-add pipe,id=p,path=/tmp/p', 'netdev_add tap,id=t,script=/tmp/s', 'screendump /tmp/s.ppm',
    'device_add usb-host,hostbus=1', 'object_add memory-backend-file,id=m,mem-path=/etc', 'dump-guest-memory /tmp/m', 'gdbserver tcp::1234',
    // QEMU's HMP ends a command's name at a '/' too (x/10x): the file follows it with no blank.
    'screendump/tmp/victim', 'logfile/tmp/l.log', '\tdump-guest-memory/tmp/m', 'wavcapture/tmp/w.wav']) {
    assert.match(monitorCommandError(line) ?? '', /^monitor: '[a-z_-]+' reaches the host .*MONITOR_UNSAFE=yes/, line);
  }
  for (const line of ['info status', 'info block', 'system_reset', 'stop', 'cont', 'sendkey ctrl-alt-delete', 'savevm s1', 'eject ide1-cd0', '', 'migrate_cancel', 'x/10x 0', 'xp/4i 0x1000']) {
    assert.equal(monitorCommandError(line), null, line);
  }
});

test('a refused line is not entered: it is erased from QEMU\'s line instead, and the next line starts clean', () => {
  const g = new MonitorLineGuard();
  const r = typed(g, 'migrate "exec:touch /tmp/x"', '\r', 'info status\r');
  assert.equal(r.refused.length, 1);
  const line = 'migrate "exec:touch /tmp/x"';
  assert.equal(r.forward, `${line}${'\x7f'.repeat(line.length)}info status\r`);
});

test('the line is the one QEMU holds: arrows, history, Tab and editing keys never reach it', () => {
  const g = new MonitorLineGuard();
  // Up arrow (history), Tab (completion), Ctrl-A (start of line), Home, Delete: all dropped, in one frame or split.
  const r = typed(g, 'mi\x1b[A', '\tgr\x01ate\x1b', '[1~ \x1bOH"exec:x"\x1b[3~', '\r');
  assert.equal(r.forward, 'migrate "exec:x"' + '\x7f'.repeat('migrate "exec:x"'.length));
  assert.equal(r.refused.length, 1);
  // Backspace edits the tracked line as QEMU's: "migratX" + BS + "e" is migrate.
  const b = typed(new MonitorLineGuard(), 'migratX\x7fe exec:y\r');
  assert.equal(b.refused.length, 1);
  // Bytes past ASCII never reach QEMU (155 is a CSI there).
  assert.equal(typed(new MonitorLineGuard(), 'info\x9bA status\xc3\xa9\r').forward, 'infoA status\r');
});

test('the reset erases what another program left on the line, after ending an escape sequence', () => {
  const reset = MonitorLineGuard.reset();
  assert.deepEqual([...reset.subarray(0, 2)], [5, 5]);
  assert.equal(reset.length, 2 + 4095);
  assert.ok(reset.subarray(2).every((b) => b === 0x7f));
});

test('on the serial line Ctrl-a c is refused, also split across frames; Ctrl-a a and the rest pass', () => {
  const r = typed(new MuxGuard(), 'ls\r\x01', 'c', 'x\x01\x01y\x01xz');
  assert.deepEqual(r.refused, [MUX_MONITOR_REFUSED]);
  assert.equal(r.forward, 'ls\rx\x01\x01y\x01xz');
});

test('a serial line on the monitor (its prompt at the end of the output, split or not) is guarded as the monitor; Ctrl-a c returns', () => {
  const g = new MuxGuard();
  assert.deepEqual(g.output(Buffer.from('login: (qemu)')), {});
  assert.equal(g.onMonitor, false);
  // The prompt is the last thing printed (a connect while the monitor has the line prints its banner, then it).
  const g2 = new MuxGuard();
  assert.deepEqual(g2.output(Buffer.from("QEMU 7.2.22 monitor - type 'help' for more information\r\n(qe")), {});
  const seen = g2.output(Buffer.from('mu) '));
  assert.equal(seen.notice, MUX_ON_MONITOR_NOTICE);
  assert.deepEqual(seen.toQemu, MonitorLineGuard.reset());
  assert.equal(g2.onMonitor, true);
  // Once on the monitor, more prompts change nothing.
  assert.deepEqual(g2.output(Buffer.from('(qemu) ')), {});
  const r = typed(g2, 'migrate "exec:id"\r', 'info status\r\x1b[A');
  assert.equal(r.refused.length, 1);
  assert.match(r.refused[0], /'migrate' reaches the host/);
  assert.equal(r.forward, `migrate "exec:id"${'\x7f'.repeat(17)}info status\r`);
  // Ctrl-a c goes through, and the guest's side is guarded as before.
  assert.deepEqual(typed(g2, '\x01', 'cls\x03'), { forward: '\x01cls\x03', refused: [] });
  assert.equal(g2.onMonitor, false);
  assert.deepEqual(typed(g2, '\x01c').refused, [MUX_MONITOR_REFUSED]);
  // A prompt after the switch (the switch went to the monitor after all) guards it again.
  assert.equal(g2.output(Buffer.from('\r\n(qemu) ')).notice, MUX_ON_MONITOR_NOTICE);
});
