// create-conf on a terminal asks for what is missing, with defaults, and asks
// again after a refusal: driven through a real pty.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pty from 'node-pty';
import { REPO, sandbox, type Sandbox } from '../helpers/guest';

let sb: Sandbox;
before(() => { sb = sandbox('tty'); });
after(() => sb.cleanup());

test('prompts show defaults, refuse a bad answer with the field\'s message and ask again', async () => {
  const term = pty.spawn(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'create-conf', '--template', 'kernel-initrd'], {
    cols: 120, rows: 40, cwd: REPO,
    // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
    env: { ...sb.env, ACCELERATOR: 'QEMU', INST_KERNEL: '/boot/vmlinuz-test' } as Record<string, string>,
  });
  let screen = '';
  // Readline positions the cursor with escape sequences: match on the text.
  term.onData((d) => { screen += d.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''); });
  const exited = new Promise<number>((r) => term.onExit(({ exitCode }) => r(exitCode)));
  const answer = async (prompt: RegExp, text: string) => {
    const from = screen.length;
    for (let i = 0; i < 300 && !prompt.test(screen.slice(Math.max(0, from - 200))); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(screen, prompt);
    term.write(`${text}\r`);
  };
  try {
  await answer(/Label of the new VM: $/, 'bad label');
  // Refused at once, not after every other question.
  await answer(/label: 'bad label' is not a valid label[^\n]*\n[\s\S]*Label of the new VM: $/, 'tty1');
  await answer(/Template \[kernel-initrd\]: $/, '');
  await answer(/Operating system \(OS\) \[Linux\]: $/, '');
  await answer(/Distribution \(DIST\) \[\]: $/, 'Debian');
  await answer(/Distribution release \(DISTREL\) \[\]: $/, '12');
  await answer(/Memory in MiB \(MEMSIZE\) \[256\]: $/, 'lots');
  await answer(/memsize: 'lots' is not a size in MiB[\s\S]*Memory in MiB \(MEMSIZE\) \[256\]: $/, '300');
  await answer(/CPUs \(SMP\) \[1\]: $/, '');
  await answer(/Accelerator, KVM or QEMU \(ACCELERATOR\) \[QEMU\]: $/, '');
  await answer(/Disk size \(HDDBOOTIMAGE_INST_SIZE\) \[64M\]: $/, '32M');
  await answer(/Boot mode \(DEFAULTBOOTMODE\) \[KERNEL\]: $/, '');
  await answer(/Kernel \(INST_KERNEL\) \[\/boot\/vmlinuz-test\]: $/, '');
  await answer(/Initrd \(INST_INITRD\) \[\]: $/, '');
  await answer(/Kernel command line \(INST_APPEND\) \[[^\]]*\]: $/, '');
  await answer(/Network: user, vde, tap or none \(NETMODE\) \[user\]: $/, '');
  await answer(/Console: VNC, SDL, CLI, CLI0 or NONE \(DEFAULTCONSOLE\) \[VNC\]: $/, '');
  assert.equal(await exited, 0, screen);
  } finally {
    term.kill();
  }
  assert.match(screen, /created VM 'tty1'/);
  const conf = readFileSync(join(sb.home, 'vms/tty1/tty1.ctys'), 'utf8');
  assert.match(conf, /^MEMSIZE=300$/m);
  assert.match(conf, /^DIST='Debian'$/m);
  assert.match(conf, /^HDDBOOTIMAGE_INST_SIZE='32M'$/m);

  // Its label is taken now: said right after it is typed.
  const again = pty.spawn(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'create-conf', '--template', 'kernel-initrd'], {
    // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
    cols: 120, rows: 40, cwd: REPO, env: { ...sb.env, ACCELERATOR: 'QEMU' } as Record<string, string>,
  });
  let out = '';
  again.onData((d) => { out += d; });
  try {
    for (let i = 0; i < 300 && !/Label of the new VM: $/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    again.write('tty1\r');
    for (let i = 0; i < 300 && !/exists already[\s\S]*Label of the new VM: $/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /label: a VM 'tty1' exists already \(--force replaces it\)/);
  } finally {
    again.kill();
  }
});
