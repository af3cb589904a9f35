// vmdeck start --reuse on a VM whose console is CLI (QEMU on the terminal
// that started it): already running is success, as for the other consoles.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { VmInfo } from '../../lib/vm';
import { stopVm, vmStatus } from '../../server/runner';
import { createVm } from '../../server/store';
import { demoVmEnv, REPO, sandbox } from '../helpers/guest';
import { vmdeck, waitFor } from '../helpers/lifecycle';

const sb = sandbox('reuse');
let vm: VmInfo;
let foreground: ChildProcess | undefined;

before(async () => {
  sb.enter();
  ({ vm } = await createVm({ label: 'term', template: 'kernel-initrd', env: demoVmEnv(undefined, { DEFAULTCONSOLE: 'CLI' }), base: join(sb.home, 'vms') }));
});

after(async () => {
  await stopVm('term', { mode: 'force' }).catch(() => undefined);
  foreground?.kill('SIGKILL');
  sb.cleanup();
});

test('start --reuse of a running CLI-console VM says it runs and exits 0; without --reuse it is refused', async () => {
  // QEMU stays in the foreground, on a terminal: script(1) gives the start one (a pty).
  foreground = spawn('script', ['-qfec', `${process.execPath} ${join(REPO, 'bin/vmdeck.js')} start term`, '/dev/null'], { env: sb.env, stdio: 'pipe' });
  await waitFor('the CLI-console VM to run', async () => (await vmStatus(vm)).state === 'running', 30000);
  const { pid } = await vmStatus(vm);

  const reuse = await vmdeck(['start', 'term', '--reuse'], sb.env);
  assert.equal(reuse.code, 0, reuse.stderr);
  assert.equal(reuse.stdout, `VM 'term' is already running (pid ${pid})\n`);
  assert.equal(reuse.stderr, '');

  const json = await vmdeck(['start', 'term', '--reuse', '--json'], sb.env);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual([JSON.parse(json.stdout).state, JSON.parse(json.stdout).pid], ['running', pid]);

  const again = await vmdeck(['start', 'term'], sb.env);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /VM 'term' is already running/);
  assert.equal((await vmStatus(vm)).pid, pid, 'the running QEMU is left as it was');

  // Its serial console is that terminal: type and expect say so, not that it is not running.
  const said = "serial: VM 'term' runs with its serial console on the terminal it was started from (console CLI): there is no serial socket to type into or read; start it with another console (VNC, NONE) for that\n";
  const typed = await vmdeck(['type', 'term', '--serial', 'echo hi'], sb.env);
  assert.deepEqual([typed.code, typed.stderr], [1, `vmdeck type: ${said}`]);
  const expected = await vmdeck(['expect', 'term', '--serial', 'hi', '--timeout', '1'], sb.env);
  assert.deepEqual([expected.code, expected.stderr], [1, `vmdeck expect: ${said}`]);
});

test('started with no terminal (a script, --json), a CLI-console VM runs detached, its serial console on its socket, and the start says so', async () => {
  await stopVm('term', { mode: 'force' });
  foreground?.kill('SIGKILL');
  const r = await vmdeck(['start', 'term', '--json'], sb.env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).state, 'running');
  assert.equal(r.stderr, "vmdeck start: console CLI runs QEMU on this terminal, and --json answers at once: VM 'term' started detached (console NONE); its serial console: vmdeck console term\n");
  const typed = await vmdeck(['type', 'term', '--serial', 'echo detached-$((2+2))<enter>'], sb.env);
  assert.equal(typed.code, 0, typed.stderr);
  await stopVm('term', { mode: 'force' });
});
