// Changing a VM after it is made (issue 12, point 2): `vmdeck set` and PATCH
// are one editVm with one check; the user's own bash in the config (an if, a
// $((…)), comments) stays byte for byte; a value that logic computes is
// refused naming its line; a change to a running VM is pending until its next
// start, said by the CLI and the API, shown in the list, and gone once the VM
// started again with the new value (the guest sees the new memory size).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sandbox, type Sandbox } from '../helpers/guest';
import { createGuestVm, vmdeck } from '../helpers/lifecycle';
import { api, spawnServer, type ChildServer } from '../helpers/server';
import { guestShell, quitVm } from '../helpers/vms';

let sb: Sandbox;
let server: ChildServer;
let config: string;
before(async () => {
  sb = sandbox('edit');
  sb.enter();
  await createGuestVm(sb.env, 'ed');
  config = join(sb.home, 'vms/ed/ed.ctys');
  server = await spawnServer(sb);
});
after(async () => {
  await server?.kill();
  sb.cleanup();
});

/** The user's own bash: a computed SMP with a comment, an if block, a comment of theirs. */
const USER_LOGIC = `
# --- mine: more CPUs on a big host ---
if [[ $(nproc) -gt 64 ]]; then
\tAPPEND="$APPEND mitigations=off"
fi
`;

test('vmdeck set rewrites only its assignments: the user\'s if, $((…)) and comments stay byte for byte, the old config is kept', async () => {
  const made = readFileSync(config, 'utf8');
  assert.match(made, /^SMP=1$/m);
  const mine = `${made.replace(/^SMP=1$/m, 'SMP=$((0 + 1))   # one, for now')}${USER_LOGIC}`;
  writeFileSync(config, mine);
  const r = await vmdeck(['set', 'ed', 'MEMSIZE=320', 'VGA=virtio', 'KBD_LAYOUT=de'], sb.env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^wrote line \d+: MEMSIZE='320'$/m);
  assert.match(r.stdout, /^kept the previous config as .*ed\.ctys\.\d{14}$/m);
  const expected = mine.replace(/^MEMSIZE=256$/m, "MEMSIZE='320'").replace(/^VGA='std'$/m, "VGA='virtio'").replace(/^KBD_LAYOUT=''$/m, "KBD_LAYOUT='de'");
  assert.notEqual(expected, mine);
  assert.equal(readFileSync(config, 'utf8'), expected);
  const kept = /kept the previous config as (\S+)/.exec(r.stdout)![1];
  assert.equal(readFileSync(kept, 'utf8'), mine);
});

test('a value computed by logic is refused naming its line, in the CLI and the API alike; nothing is written', async () => {
  const text = readFileSync(config, 'utf8');
  const line = text.split('\n').findIndex((l) => l.startsWith('SMP=')) + 1;
  const cli = await vmdeck(['set', 'ed', 'SMP=2'], sb.env);
  assert.equal(cli.code, 1);
  assert.equal(cli.stderr, `vmdeck set: SMP: computed by logic on line ${line} of the config (SMP=$((0 + 1))   # one, for now); change it there by hand\n`);
  const patch = await api(server.base, 'PATCH', '/api/vms/ed', { smp: 2 });
  assert.equal(patch.status, 400);
  assert.deepEqual(patch.json, { error: cli.stderr.slice('vmdeck set: '.length, -1), field: 'smp' });
  // APPEND is also set inside the user's if: refused, naming both lines.
  const append = await vmdeck(['set', 'ed', 'APPEND=quiet'], sb.env);
  assert.match(append.stderr, /^vmdeck set: APPEND: assigned more than once \(line \d+, line \d+\); change it by hand\n$/);
  // A bad value: create's own message, named as typed (the API names its field).
  const bad = await vmdeck(['set', 'ed', 'MEMSIZE=lots'], sb.env);
  assert.equal(bad.stderr, "vmdeck set: MEMSIZE: 'lots' is not a size in MiB\n");
  const badApi = await api(server.base, 'PATCH', '/api/vms/ed', { memsize: 'lots' });
  assert.deepEqual([badApi.status, badApi.json], [400, { error: "memsize: 'lots' is not a size in MiB", field: 'memsize' }]);
  // Two changes, one bad: neither is written.
  const half = await api(server.base, 'PATCH', '/api/vms/ed', { memsize: 400, bootmode: 'CD' });
  assert.deepEqual([half.status, half.json.field], [400, 'instSrcCdrom']);
  assert.equal(readFileSync(config, 'utf8'), text);
  // The VM page knows which settings its logic sets.
  const page = await api(server.base, 'GET', '/api/vms/ed');
  assert.equal(page.json.settings.values.memsize, 320);
  assert.match(page.json.settings.locked.smp, /^SMP: computed by logic on line/);
  assert.equal(page.json.settings.locked.memsize, undefined);
});

test("a value the config's logic sets again later (a file it sources) is refused, not said as written; nothing is written", async () => {
  const before = readFileSync(config, 'utf8');
  writeFileSync(join(sb.home, 'vms/ed/ed-extra.conf'), '# the site\'s sizes\nMEMSIZE=2048\n');
  const logic = `${before}\nsource "\${BASH_SOURCE%/*}/ed-extra.conf"\n`;
  writeFileSync(config, logic);
  const kept = () => readdirSync(join(sb.home, 'vms/ed')).filter((n) => /^ed\.ctys\./.test(n)).sort();
  const copies = kept();
  const cli = await vmdeck(['set', 'ed', 'MEMSIZE=300'], sb.env);
  assert.equal(cli.code, 1, cli.stdout);
  assert.equal(cli.stderr, `vmdeck set: MEMSIZE: the config's own logic sets it again after the line vmdeck would write (it would be "2048", not "300"); change it where the config sets it (${config}); nothing was changed\n`);
  const patch = await api(server.base, 'PATCH', '/api/vms/ed', { memsize: 300, vga: 'cirrus' });
  assert.deepEqual([patch.status, patch.json.field], [400, 'memsize'], patch.text);
  assert.equal(readFileSync(config, 'utf8'), logic);
  assert.deepEqual(kept(), copies, 'no copy kept of a change not made');
  // What the sourced file leaves alone is written as before, read back through bash.
  const vga = await vmdeck(['set', 'ed', 'VGA=cirrus'], sb.env);
  assert.equal(vga.code, 0, vga.stderr);
  assert.match(readFileSync(config, 'utf8'), /^VGA='cirrus'$/m);
  assert.deepEqual(readdirSync(join(sb.home, 'vms/ed')).filter((n) => n.includes('.edit-')), []);
  writeFileSync(config, before);
});

test('a dry run answers with the lines it would write and writes nothing', async () => {
  const text = readFileSync(config, 'utf8');
  // A usage error is one line as every error is, the usage's first line in it; exit 2.
  const usage = await vmdeck(['set', 'ed', 'MEMSIZE'], sb.env);
  assert.deepEqual([usage.code, usage.stderr], [2, "vmdeck set: 'MEMSIZE' is not KEY=VALUE (usage: vmdeck set L KEY=VALUE… [--dry-run] [--json])\n"]);
  const mtime = statSync(config).mtimeMs;
  const r = await api(server.base, 'PATCH', '/api/vms/ed', { memsize: 384, dryRun: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.dryRun, true);
  assert.equal(r.json.kept, undefined);
  assert.deepEqual(r.json.changes.map((c: { variable: string; text: string; before: string }) => [c.variable, c.text, c.before]), [['MEMSIZE', "MEMSIZE='384'", "MEMSIZE='320'"]]);
  assert.equal(text.split('\n')[r.json.changes[0].line - 1], "MEMSIZE='320'");
  assert.equal(readFileSync(config, 'utf8'), text);
  assert.equal(statSync(config).mtimeMs, mtime);
});

test("a MAC another VM has is refused as create refuses it, in the CLI and the API alike; nothing is written", async () => {
  await createGuestVm(sb.env, 'ed2');
  const other = (await api(server.base, 'GET', '/api/vms/ed2')).json.vm;
  const text = readFileSync(config, 'utf8');
  const said = `mac: ${other.mac} is the MAC of VM 'ed2' already`;
  const cli = await vmdeck(['set', 'ed', `MAC0=${other.mac}`], sb.env);
  assert.deepEqual([cli.code, cli.stderr], [1, `vmdeck set: MAC0: ${other.mac} is the MAC of VM 'ed2' already\n`]);
  const r = await api(server.base, 'PATCH', '/api/vms/ed', { mac: other.mac, dryRun: true });
  assert.deepEqual([r.status, r.json], [400, { error: said, field: 'mac' }]);
  assert.equal(readFileSync(config, 'utf8'), text);
  // Its own MAC again is no clash.
  const own = await api(server.base, 'PATCH', '/api/vms/ed', { mac: (await api(server.base, 'GET', '/api/vms/ed')).json.vm.mac, dryRun: true });
  assert.equal(own.status, 200, own.text);
});

test('a machine type or CPU model this QEMU lacks is refused when written (create-conf, vmdeck set, PATCH), not at the next start; nothing is written', async () => {
  const said = "'q99' is not a machine type of qemu-system-x86_64 (such as pc, q35, microvm; qemu-system-x86_64 -machine help lists them all)";
  // TCG, pinned: nothing starts here, and the host's KVM probe would only add its seconds.
  const made = await vmdeck(['create-conf', '--label', 'ed3', '--auto-all', '--no-create-image', 'ACCELERATOR=QEMU', 'MACHINE=q99'], sb.env);
  assert.deepEqual([made.code, made.stderr], [1, `vmdeck create-conf: MACHINE: ${said}\n`]);
  assert.equal((await api(server.base, 'GET', '/api/vms/ed3')).status, 404);
  const text = readFileSync(config, 'utf8');
  const cli = await vmdeck(['set', 'ed', 'MACHINE=q99'], sb.env);
  assert.deepEqual([cli.code, cli.stderr], [1, `vmdeck set: MACHINE: ${said}\n`]);
  const r = await api(server.base, 'PATCH', '/api/vms/ed', { machine: 'q99,smm=on' });
  assert.deepEqual([r.status, r.json], [400, { error: `machine: ${said}`, field: 'machine' }]);
  assert.equal(readFileSync(config, 'utf8'), text);
  // A type it has, with its properties, or named as type=: written.
  for (const machine of ['q35,smm=on', 'type=pc,accel=tcg']) {
    const ok = await api(server.base, 'PATCH', '/api/vms/ed', { machine, dryRun: true });
    assert.equal(ok.status, 200, ok.text);
  }
  // A CPU model the same way; 'host' only under KVM (TCG refuses it at start); a model with features is QEMU's to judge.
  const cpuSaid = "cpu: 'nonsense-cpu' is not a CPU model of qemu-system-x86_64 (such as max, qemu64, host; qemu-system-x86_64 -cpu help lists them all)";
  const madeCpu = await vmdeck(['create-conf', '--label', 'ed4', '--auto-all', '--no-create-image', 'ACCELERATOR=QEMU', 'CPU=nonsense-cpu'], sb.env);
  assert.deepEqual([madeCpu.code, madeCpu.stderr], [1, `vmdeck create-conf: CPU: ${cpuSaid.slice('cpu: '.length)}\n`]);
  const patchCpu = await api(server.base, 'PATCH', '/api/vms/ed', { cpu: 'nonsense-cpu' });
  assert.deepEqual([patchCpu.status, patchCpu.json], [400, { error: cpuSaid, field: 'cpu' }]);
  const host = await vmdeck(['set', 'ed', 'CPU=host', 'ACCELERATOR=QEMU'], sb.env);
  assert.deepEqual([host.code, host.stderr], [1, "vmdeck set: CPU: 'host' needs KVM (ACCELERATOR=KVM); under TCG take 'max', or a model QEMU lists\n"]);
  assert.equal(readFileSync(config, 'utf8'), text);
  for (const cpu of ['max,-pdpe1gb', 'Broadwell-v1']) {
    const ok = await api(server.base, 'PATCH', '/api/vms/ed', { cpu, dryRun: true });
    assert.equal(ok.status, 200, ok.text);
  }
  // A config with no STARTERCALL (ctys's often have none) runs the wrapper's default QEMU: checked against that one.
  writeFileSync(config, text.replace(/^STARTERCALL=.*\n/m, ''));
  const bare = await vmdeck(['set', 'ed', 'MACHINE=q99'], sb.env);
  assert.deepEqual([bare.code, bare.stderr], [1, `vmdeck set: MACHINE: ${said}\n`]);
  writeFileSync(config, text);
});

test("a set on a config that bash cannot load writes and warns with the wrapper's --check, in the CLI and the API", async () => {
  await createGuestVm(sb.env, 'ed3');
  const file = join(sb.home, 'vms/ed3/ed3.ctys');
  writeFileSync(file, `${readFileSync(file, 'utf8')}if then\n`);
  const cli = await vmdeck(['set', 'ed3', 'SMP=2'], sb.env);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /^wrote line \d+: SMP='2'$/m);
  assert.match(cli.stderr, /^vmdeck set: warning: .*ed3\.ctys: line \d+: syntax error near unexpected token `then'\n$/);
  const r = await api(server.base, 'PATCH', '/api/vms/ed3', { smp: 1 });
  assert.equal(r.status, 200, r.text);
  assert.match(r.json.problem, /^.*ed3\.ctys: line \d+: syntax error near unexpected token `then'$/);
  writeFileSync(file, readFileSync(file, 'utf8').replace('if then\n', ''));
  const fine = await api(server.base, 'PATCH', '/api/vms/ed3', { smp: 2 });
  assert.equal(fine.json.problem, null, fine.text);
});

test('the password hash is no setting: refused by PATCH and vmdeck set, and one written by hand is not returned', async () => {
  const HASH = '$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/';
  const before = readFileSync(config, 'utf8');
  const r = await api(server.base, 'PATCH', '/api/vms/ed', { passwordHash: HASH });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.field, 'passwordHash');
  assert.match(r.json.error, /^passwordHash: is written to the VM's install seeds at create, never to its config/);
  const cli = await vmdeck(['set', 'ed', `PASSWORD_HASH=${HASH}`], sb.env);
  assert.equal(cli.code, 1, cli.stdout);
  assert.match(cli.stderr, /^vmdeck set: PASSWORD_HASH: is written to the VM's install seeds at create/);
  assert.equal(readFileSync(config, 'utf8'), before, 'nothing written');
  // A config that holds one anyway (by hand, or from an older vmdeck): the API shows neither the line's value nor the setting.
  writeFileSync(config, `${before}PASSWORD_HASH='${HASH}'\n`);
  try {
    const got = await api(server.base, 'GET', '/api/vms/ed');
    assert.equal(got.status, 200, got.text);
    assert.ok(!got.text.includes(HASH), 'the hash is nowhere in the answer');
    assert.match(got.json.files['ed.ctys'], /^PASSWORD_HASH='\(not shown\)'$/m);
    assert.equal('passwordHash' in got.json.settings.values, false);
  } finally {
    writeFileSync(config, before);
  }
});

test('a change while the VM runs is pending until its next start, said by the API, the CLI and the list', async () => {
  const started = await api(server.base, 'POST', '/api/vms/ed/start', {});
  assert.equal(started.status, 200, started.text);
  const memTotal = async () => {
    const shell = await guestShell(sb.run, 'ed', 120000);
    try {
      const out = await shell.run('grep MemTotal /proc/meminfo', /MemTotal:\s+\d+ kB/);
      return Number(/MemTotal:\s+(\d+) kB/.exec(out)![1]);
    } finally {
      shell.close();
    }
  };
  const at320 = await memTotal();
  assert.equal((await api(server.base, 'GET', '/api/vms/ed')).json.vm.pending, undefined, 'nothing pending right after a start');

  const patch = await api(server.base, 'PATCH', '/api/vms/ed', { memsize: 384 });
  assert.equal(patch.status, 200, patch.text);
  assert.equal(patch.json.pending, true);
  assert.deepEqual(patch.json.lines, ["MEMSIZE='384'"]);
  const cli = await vmdeck(['set', 'ed', 'KBD_LAYOUT=fr'], sb.env);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /^VM 'ed' is running: this is pending until its next start$/m);
  const list = await api(server.base, 'GET', '/api/vms');
  const listed = list.json.find((v: { label: string }) => v.label === 'ed');
  assert.equal(listed.state, 'running');
  assert.deepEqual(listed.pending.variables, ['MEMSIZE', 'KBD_LAYOUT']);
  // What QEMU runs with, from its command line, where the config now differs: the list and the page show it.
  assert.deepEqual(listed.pending.running, { memsize: 320 });
  assert.equal(listed.memsize, 384);
  // vmdeck list: the memory it runs with, marked, and the next start's beneath the table.
  const text = await vmdeck(['list'], sb.env);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^LABEL +STATE +PID +UP +MEMORY +CPUS +CONSOLE/m);
  assert.match(text.stdout, /^ed +running +\d+ +\S+ +320 MiB\* +1 +/m);
  assert.match(text.stdout, /^ed: runs with 320 MiB; 384 MiB from the next start \(changed: MEMSIZE, KBD_LAYOUT\)$/m);
  // Its state saved now would not load into the 384 MiB VM the next start makes: refused, naming what waits (KBD_LAYOUT would not matter).
  const suspend = await vmdeck(['cancel', 'ed', '--suspend'], sb.env);
  assert.equal(suspend.code, 1, suspend.stdout);
  assert.match(suspend.stderr, /^vmdeck cancel: suspend: VM 'ed' has changes waiting for its next start \(MEMSIZE\): its saved state would not load/);
  assert.equal(await memTotal(), at320, 'QEMU keeps what it started with');

  await quitVm(sb.run, 'ed');
  assert.equal((await api(server.base, 'POST', '/api/vms/ed/start', {})).status, 200);
  const at384 = await memTotal();
  assert.ok(at384 - at320 > 60 * 1024 && at384 - at320 <= 64 * 1024, `MemTotal ${at320} kB at 320 MiB, ${at384} kB at 384 MiB`);
  const page = await api(server.base, 'GET', '/api/vms/ed');
  assert.equal(page.json.vm.pending, undefined, 'the next start took the change');
  assert.ok(page.json.argv.includes('fr'), page.json.argv.join(' '));
  // A change after that start is pending alone: the start took the ones before it.
  const after = await vmdeck(['set', 'ed', 'VGA=std'], sb.env);
  assert.equal(after.code, 0, after.stderr);
  const relisted = (await api(server.base, 'GET', '/api/vms')).json.find((v: { label: string }) => v.label === 'ed');
  assert.deepEqual(relisted.pending.variables, ['VGA']);
  await quitVm(sb.run, 'ed');
});

test('vmdeck set says a value the config already has as nothing changed, not as written; a bad display number in words', async () => {
  const first = await vmdeck(['set', 'ed', 'DIST=Same'], sb.env);
  assert.equal(first.code, 0, first.stderr);
  const again = await vmdeck(['set', 'ed', 'DIST=Same'], sb.env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^VM 'ed': nothing changed, the config already says so \(line \d+: DIST='Same'\)\n/);
  assert.doesNotMatch(again.stdout, /wrote/);
  const bad = await vmdeck(['set', 'ed', 'VNCACCESSDISPLAY=abc'], sb.env);
  assert.deepEqual([bad.code, bad.stderr], [1, "vmdeck set: VNCACCESSDISPLAY: 'abc' is not a display number 0-99\n"]);
  // The label is label, as every command names it: not LABEL, the variable.
  const nosuch = await vmdeck(['set', 'nosuch', 'MEMSIZE=320'], sb.env);
  assert.equal(nosuch.code, 1);
  assert.match(nosuch.stderr, /^vmdeck set: label: no VM 'nosuch'/);
});

test('a VM keeps its newest 20 earlier configs, and a dead writer\'s temporary config is removed by the next change', async () => {
  const dir = join(sb.home, 'vms/ed');
  // Oldest first, as pruneKept orders them: by stamp, then -n as a number (none is 1).
  const order = (n: string) => { const m = /\.(\d{14})(?:-(\d+))?$/.exec(n)!; return [m[1], Number(m[2] ?? 1)] as const; };
  const keptConfigs = () => readdirSync(dir).filter((n) => /^ed\.ctys\.\d{14}(-\d+)?$/.test(n))
    .sort((a, b) => order(a)[0].localeCompare(order(b)[0]) || order(a)[1] - order(b)[1]);
  // 25 changes through the server, as the dashboard makes them (some within one second: <stamp>-2, -3, …).
  for (let i = 0; i < 25; i++) assert.equal((await api(server.base, 'PATCH', '/api/vms/ed', { memsize: 300 + i })).status, 200);
  const kept = keptConfigs();
  assert.equal(kept.length, 20, kept.join(' '));
  // The newest stay, the oldest went: each copy holds the value before its change, so 304 … 323 are kept, 300 … 303 gone.
  const values = kept.map((n) => /^MEMSIZE='?(\d+)'?$/m.exec(readFileSync(join(dir, n), 'utf8'))?.[1]);
  assert.deepEqual(values, Array.from({ length: 20 }, (_, i) => String(304 + i)));
  // A writer killed between its write and its rename leaves ed.ctys.edit-<pid>; its pid is dead.
  const dead = join(dir, 'ed.ctys.edit-999999');
  writeFileSync(dead, '');
  const mine = join(dir, 'ed.ctys.stays');
  writeFileSync(mine, 'the user\'s own copy');
  assert.equal((await vmdeck(['set', 'ed', 'MEMSIZE=256'], sb.env)).code, 0);
  assert.equal(existsSync(dead), false);
  assert.equal(readFileSync(mine, 'utf8'), 'the user\'s own copy');
  assert.equal(keptConfigs().length, 20);
});

test("a set of a variable with an ENUMERATE marker (MAC0, DIST, …) writes its marker too, as ctys reads it (no quotes in it)", async () => {
  const r = await vmdeck(['set', 'ed', 'MAC0=52:54:00:aa:bb:cc', "DIST=it's \"q\""], sb.env);
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(config, "utf8");
  assert.match(text, /^#@#MAC0\s+= "52:54:00:aa:bb:cc"$/m);
  assert.match(text, /^#@#DIST\s+= "its q"$/m);
  assert.match(text, /^MAC0='52:54:00:aa:bb:cc'$/m);
  // ENUMERATE and ctys's machine records say the new values.
  const vm = (await api(server.base, 'GET', '/api/vms/ed')).json.vm;
  assert.deepEqual([vm.mac, vm.dist], ['52:54:00:aa:bb:cc', "it's \"q\""]);
  const records = await vmdeck(['enumerate', '--ctys'], sb.env);
  assert.match(records.stdout, /52:54:00:aa:bb:cc/);
});
