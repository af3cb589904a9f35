// The generator (create-conf), its wrapper's --print/--check, reading back and
// ENUMERATE: real files, real bash and qemu-img, no QEMU boot.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { vmdeck } from '../helpers/cli';
import { REPO, sandbox, type Sandbox } from '../helpers/guest';

let sb: Sandbox;
let kernelDir: string;
const base = () => join(sb.home, 'vms');

before(() => {
  sb = sandbox('generator');
  kernelDir = join(sb.home, 'boot');
  mkdirSync(kernelDir, { recursive: true });
  writeFileSync(join(kernelDir, 'vmlinuz'), 'not really a kernel');
});
after(() => sb.cleanup());

// TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
const kernelEnv = () => ({ ...sb.env, ACCELERATOR: 'QEMU', INST_KERNEL: join(kernelDir, 'vmlinuz') });

function wrapper(label: string, args: string[], env = sb.env, cwd?: string) {
  try {
    const stdout = execFileSync('bash', [join(base(), label, `${label}.sh`), ...args], { env, cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status, stdout: err.stdout, stderr: err.stderr };
  }
}

test('create-conf --auto-all writes config, wrapper and a qcow2 disk from ctys environment options', async () => {
  const r = await vmdeck(['create-conf', '--label', 'alpha', '--template', 'kernel-initrd', '--auto-all', '--json'],
    { ...kernelEnv(), MEMSIZE: '192', SMP: '2', DIST: 'Debian', DISTREL: '12' });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.vm.label, 'alpha');
  assert.equal(out.vm.memsize, 192);
  assert.equal(out.vm.smp, 2);
  assert.equal(out.vm.dist, 'Debian');
  assert.match(out.vm.mac, /^52:54:00(:[0-9a-f]{2}){3}$/);
  const dir = join(base(), 'alpha');
  assert.deepEqual(readdirSync(dir).sort(), ['alpha.ctys', 'alpha.qcow2', 'alpha.sh']);
  assert.ok(statSync(join(dir, 'alpha.sh')).mode & 0o100, 'the wrapper is executable');
  const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', join(dir, 'alpha.qcow2')], { encoding: 'utf8' }));
  assert.equal(info.format, 'qcow2');
  assert.equal(info['virtual-size'], 64 * 1024 * 1024);
  const conf = readFileSync(join(dir, 'alpha.ctys'), 'utf8');
  assert.match(conf, /^#@#MAGICID-QEMU$/m);
  assert.match(conf, /^MEMSIZE=192$/m);
});

test('a bad value is refused in one line naming the field, and nothing is written', async () => {
  const r = await vmdeck(['create-conf', '--label', 'bad label', '--template', 'kernel-initrd', '--auto-all'], kernelEnv());
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /label: 'bad label' is not a valid label/);
  const r2 = await vmdeck(['create-conf', '--label', 'beta', '--template', 'kernel-initrd', '--auto-all'], { ...kernelEnv(), MEMSIZE: 'lots' });
  assert.equal(r2.code, 1);
  // The CLI names the option the user set, and the value.
  assert.match(r2.stderr, /^vmdeck create-conf: MEMSIZE: 'lots' is not a size in MiB$/m);
  // A MAC or UUID another VM has is refused, naming that VM.
  const alpha = JSON.parse((await vmdeck(['enumerate', '--json'], sb.env)).stdout).find((v: { label: string }) => v.label === 'alpha');
  const sameMac = await vmdeck(['create-conf', '--label', 'beta', '--template', 'kernel-initrd', '--auto-all'], { ...kernelEnv(), MAC: alpha.mac });
  assert.equal(sameMac.stderr, `vmdeck create-conf: MAC: ${alpha.mac} is the MAC of VM 'alpha' already\n`);
  const sameUuid = await vmdeck(['create-conf', '--label', 'beta', '--template', 'kernel-initrd', '--auto-all'], { ...kernelEnv(), UUID: alpha.uuid });
  assert.equal(sameUuid.stderr, `vmdeck create-conf: UUID: ${alpha.uuid} is the UUID of VM 'alpha' already\n`);
  // Memory is checked against the host's.
  const hostMiB = Math.floor(totalmem() / 1048576);
  const r3 = await vmdeck(['create-conf', '--label', 'beta', '--template', 'kernel-initrd', '--auto-all'], { ...kernelEnv(), MEMSIZE: String(hostMiB + 1) });
  assert.equal(r3.code, 1);
  assert.equal(r3.stderr, `vmdeck create-conf: MEMSIZE: ${hostMiB + 1} MiB is more than this host's memory (${hostMiB} MiB)\n`);
  assert.ok(!existsSync(join(base(), 'beta')));
  assert.deepEqual(readdirSync(base()).filter((n) => n.startsWith('.')), [], 'no temporary directory is left behind');
});

test('an existing VM is not overwritten without --force; with it, the old files are kept and the disk untouched', async () => {
  const dir = join(base(), 'alpha');
  const before = readFileSync(join(dir, 'alpha.ctys'), 'utf8');
  const r = await vmdeck(['create-conf', '--label', 'alpha', '--template', 'kernel-initrd', '--auto-all'], kernelEnv());
  assert.equal(r.code, 1);
  assert.match(r.stderr, /label: VM 'alpha' already exists/);
  assert.equal(readFileSync(join(dir, 'alpha.ctys'), 'utf8'), before);

  // A byte written into the disk must survive --force.
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 0 4k', join(dir, 'alpha.qcow2')]);
  const f = await vmdeck(['create-conf', '--label', 'alpha', '--template', 'kernel-initrd', '--auto-all', '--force'], { ...kernelEnv(), MEMSIZE: '320' });
  assert.equal(f.code, 0, f.stderr);
  const names = readdirSync(dir).sort();
  assert.equal(names.filter((n) => /^alpha\.ctys\.\d{14}$/.test(n)).length, 1, names.join(' '));
  assert.equal(names.filter((n) => /^alpha\.sh\.\d{14}$/.test(n)).length, 1, names.join(' '));
  const kept = names.find((n) => /^alpha\.ctys\.\d{14}$/.test(n))!;
  assert.equal(readFileSync(join(dir, kept), 'utf8'), before);
  assert.match(readFileSync(join(dir, 'alpha.ctys'), 'utf8'), /^MEMSIZE=320$/m);
  const read = execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'read -P 0x5a 0 4k', join(dir, 'alpha.qcow2')], { encoding: 'utf8' });
  assert.match(read, /read 4096\/4096 bytes/);
});

test('kill -9 at any moment during create leaves the whole VM or nothing', async () => {
  for (let i = 0; i < 12; i++) {
    const label = `k${i}`;
    const child = spawn(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'create-conf', '--label', label, '--template', 'kernel-initrd', '--auto-all'],
      { env: kernelEnv(), stdio: 'ignore' });
    const closed = new Promise((r) => child.once('close', r));
    await new Promise((r) => setTimeout(r, 300 + i * 60));
    child.kill('SIGKILL');
    await closed;
    const dir = join(base(), label);
    if (existsSync(dir)) {
      assert.deepEqual(readdirSync(dir).sort(), [`${label}.ctys`, `${label}.qcow2`, `${label}.sh`], `VM ${label} is whole`);
    }
  }
  // A later create of a killed label cleans its leftovers and succeeds.
  const r = await vmdeck(['create-conf', '--label', 'k0', '--template', 'kernel-initrd', '--auto-all', '--force'], kernelEnv());
  assert.equal(r.code, 0, r.stderr);
  const leftovers = readdirSync(base()).filter((n) => n.startsWith('.k0.'));
  assert.deepEqual(leftovers, []);
});

test('no value from the config is ever run by the shell: hostile kernel path, command line and disk name', async () => {
  const marker = join(sb.home, 'pwned');
  const evil = `$(touch ${marker})\`touch ${marker}\`'; touch ${marker}; '"`;
  const kernel = join(kernelDir, `odd ${evil.replace(/\//g, '_')}`);
  writeFileSync(kernel, 'x');
  const r = await vmdeck(['create-conf', '--label', 'gamma', '--template', 'kernel-initrd', '--auto-all', `INST_APPEND=quiet ${evil}`,
    'HDDBOOTIMAGE=disk $(touch x), a.qcow2'], { ...kernelEnv(), INST_KERNEL: kernel });
  assert.equal(r.code, 0, r.stderr);
  const p = wrapper('gamma', ['--print', '--check']);
  assert.equal(p.code, 0, p.stderr);
  const argv = p.stdout.trimEnd().split('\n');
  assert.equal(argv[argv.indexOf('-append') + 1], `quiet ${evil}`);
  assert.equal(argv[argv.indexOf('-kernel') + 1], kernel);
  // QEMU's own option syntax: a comma in a file name is doubled.
  assert.ok(argv.includes(`file=${join(base(), 'gamma', 'disk $(touch x),, a.qcow2')},format=qcow2,if=virtio,index=0,media=disk,id=hd0`), argv.join('\n'));
  assert.ok(!existsSync(marker), 'nothing ran');
  assert.ok(existsSync(join(base(), 'gamma', 'disk $(touch x), a.qcow2')));
});

test('--print gives one argument per line; --check refuses a missing image, ISO or binary with one line and exit 1', async () => {
  const ok = wrapper('alpha', ['--print', '--check']);
  assert.equal(ok.code, 0, ok.stderr);
  const argv = ok.stdout.trimEnd().split('\n');
  assert.equal(argv[0], 'qemu-system-x86_64');
  assert.deepEqual(argv.slice(argv.indexOf('-m'), argv.indexOf('-m') + 2), ['-m', '320']);
  assert.ok(argv.includes('-daemonize'));
  assert.ok(argv.some((a) => a.startsWith('socket,id=serial0,path=') && a.includes(`${sb.run}/alpha/serial.sock`)));

  const shell = wrapper('alpha', ['--print=shell']);
  assert.match(shell.stdout, /^-m 320 \\$/m, 'shell form: one option per line');

  const one = (r: { code: number; stderr: string }, re: RegExp) => {
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, re);
  };
  one(wrapper('alpha', ['--check', '--bootmode=VHDD%/nonexistent.qcow2']), /HDDBOOTIMAGE: disk image '\/nonexistent.qcow2' does not exist/);
  one(wrapper('alpha', ['--check', '--bootmode=CD%/nonexistent/x.iso']), /INSTSRCCDROM: ISO image '\/nonexistent\/x.iso' does not exist/);
  one(wrapper('alpha', ['--check', '--kernelmode=/nonexistent/k%%quiet']), /KERNELIMAGE: kernel '\/nonexistent\/k' does not exist/);

  const conf = join(base(), 'alpha', 'alpha.ctys');
  const original = readFileSync(conf, 'utf8');
  writeFileSync(conf, original.replace(/^HDDBOOTIMAGE=.*$/m, "HDDBOOTIMAGE='gone.qcow2'"));
  one(wrapper('alpha', ['--check']), /HDDBOOTIMAGE: disk image '.*gone\.qcow2' does not exist/);
  writeFileSync(conf, original.replace(/^STARTERCALL=.*$/m, "STARTERCALL='qemu-system-nonesuch'"));
  one(wrapper('alpha', ['--check']), /STARTERCALL: QEMU binary 'qemu-system-nonesuch' not found/);
  writeFileSync(conf, original);
  one(wrapper('alpha', ['--console=TELNET', '--print']), /--console: 'TELNET' is not one of/);
});

test('the wrapper finds its own directory however it is called: a relative path, its own name, CDPATH exported', () => {
  // CDPATH names a decoy tree with the same relative path: a cd that searched it would take the decoy's config.
  const decoy = join(sb.home, 'decoy');
  mkdirSync(join(decoy, 'vms', 'alpha'), { recursive: true });
  writeFileSync(join(decoy, 'vms', 'alpha', 'alpha.ctys'), "LABEL='decoy'\n");
  const env = { ...sb.env, CDPATH: decoy };
  const runDir = `${sb.run}/alpha/serial.sock`;
  for (const [path, cwd] of [['vms/alpha/alpha.sh', sb.home], ['alpha.sh', join(base(), 'alpha')], ['./alpha.sh', join(base(), 'alpha')]]) {
    const r = execFileSync('bash', [path, '--print'], { env, cwd, encoding: 'utf8' });
    assert.ok(r.includes(runDir), `${path} from ${cwd}: ${r}`);
    assert.match(r, new RegExp(`^file=${join(base(), 'alpha')}/`, 'm'), `${path}: its disk is the VM's own`);
  }
  // A relative --runtime-dir is the caller's directory's, made absolute: QEMU's sockets and pidfile name it for vmdeck.
  const rel = execFileSync('bash', ['vms/alpha/alpha.sh', '--print', '--runtime-dir=rt'], { env, cwd: sb.home, encoding: 'utf8' });
  assert.ok(rel.includes(`path=${join(sb.home, 'rt')}/serial.sock`), rel);
  // Read by sh, not bash: one line saying so, before any bash word is met.
  const bySh = spawnSync('sh', ['alpha.sh', '--print'], { env, cwd: join(base(), 'alpha'), encoding: 'utf8' });
  assert.deepEqual([bySh.status, bySh.stdout, bySh.stderr], [2, '', 'alpha.sh: needs bash (run it as bash alpha.sh, or as ./alpha.sh)\n']);
});

test('config values are never glob-expanded or word-split by the wrapper: HOSTFWD with ? and *, ARGSADD with *, the label in QEMUMONSOCK', async () => {
  const conf = join(base(), 'alpha', 'alpha.ctys');
  const original = readFileSync(conf, 'utf8');
  // A directory whose file names a glob in HOSTFWD would match.
  const cwd = join(sb.home, 'globby');
  mkdirSync(cwd, { recursive: true });
  writeFileSync(join(cwd, 'tcp::18080-:81'), '');
  writeFileSync(join(cwd, 'web1.ctys'), '');
  const nic = (hostfwd: string) => {
    writeFileSync(conf, original.replace(/^NETMODE=.*$/m, "NETMODE='user'") + `HOSTFWD='${hostfwd}'\n`);
    const r = wrapper('alpha', ['--print'], sb.env, cwd);
    const argv = r.stdout.trimEnd().split('\n');
    return { ...r, nic: argv[argv.indexOf('-nic') + 1] };
  };
  try {
    const q = nic('tcp::18080-:8?');
    assert.equal(q.code, 1, 'the pattern is refused as it is, not matched against the directory');
    assert.equal(q.stderr.trim(), "alpha.sh: HOSTFWD: 'tcp::18080-:8?' is not a rule like tcp:127.0.0.1:2222-:22");
    const star = nic('*');
    assert.equal(star.code, 1);
    assert.match(star.stderr, /^alpha\.sh: HOSTFWD: '\*' is not a rule/);
    // Blanks and newlines both separate rules.
    const two = nic('tcp::2222-:22\n  udp::5353-:53');
    assert.equal(two.code, 0, two.stderr);
    assert.match(two.nic, /,hostfwd=tcp:127\.0\.0\.1:2222-:22,hostfwd=udp:127\.0\.0\.1:5353-:53$/);

    // The label is the #@#LABEL marker's (docs/CTYS.md); one that is not a plain label (a&b) is refused.
    const labelled = (label: string) => original.replace(/^LABEL=.*$/m, `LABEL='${label}'`).replace(/^#@#LABEL\b.*$/m, `#@#LABEL = "${label}"`) + `QEMUMONSOCK='${sb.run}/mon-ACTUALLABEL.sock'\nunset ARGSADD; ARGSADD='-name *'\n`;
    writeFileSync(conf, labelled('a&b'));
    const amp = wrapper('alpha', ['--print'], sb.env, cwd);
    assert.equal(amp.code, 1);
    assert.match(amp.stderr, /LABEL: 'a&b' is not a plain label/);
    writeFileSync(conf, labelled('a.b'));
    const dot = wrapper('alpha', ['--print'], sb.env, cwd);
    assert.equal(dot.code, 0, dot.stderr);
    const argv = dot.stdout.trimEnd().split('\n');
    assert.ok(argv.some((a) => a.startsWith(`socket,id=serial0,path=${sb.run}/mon-a.b.sock,`)), argv.join('\n'));
    assert.deepEqual(argv.slice(-2), ['-name', '*'], 'ARGSADD words are not globbed either');
  } finally {
    writeFileSync(conf, original);
  }
});

test('every boot mode takes its source: PXE%DIR is the TFTP tree user networking serves; PXE without one is refused naming PXEROOT', () => {
  for (const args of [['--bootmode=PXE%/some/dir'], ['--bootmode=pxe%/some/dir'], ['--instmode=PXE%/some/dir']]) {
    const r = wrapper('alpha', ['--print', ...args]);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^user,.*,tftp=\/some\/dir,bootfile=pxelinux\.0$/m);
    assert.ok(r.stdout.includes('\norder=n\n'));
  }
  const pxe = wrapper('alpha', ['--print', '--bootmode=PXE']);
  assert.equal(pxe.code, 1);
  assert.equal(pxe.stderr, 'alpha.sh: PXEROOT: boot mode PXE with user networking needs a TFTP tree (PXEROOT or --bootmode=PXE%DIR)\n');
  const cd = wrapper('alpha', ['--print', '--bootmode=CD%/srv/x.iso']);
  assert.equal(cd.code, 0, cd.stderr);
  assert.ok(cd.stdout.includes('file=/srv/x.iso,format=raw,if=ide,index=2,media=cdrom,readonly=on,id=cd0'));
});

test('ENUMERATE finds vmdeck VMs and ctys-made ones across bases, and skips IGNORE/NOENUM', async () => {
  const other = join(sb.home, 'ctys-base');
  const made = (sub: string, label: string, magic: string) => {
    mkdirSync(join(other, sub), { recursive: true });
    writeFileSync(join(other, sub, `${label}.ctys`), `${magic}\n#@#LABEL = "${label}"\n#@#SESSIONTYPE = "QEMU"\nLABEL="${label}"\nMEMSIZE=512\nSTARTERCALL=qemu-system-i386\nMAC0="00:50:56:13:11:30"\n`);
  };
  made('tst/old1', 'old1', '#@#MAGICID-QEMU');
  made('tst/hidden', 'hidden', '#@#MAGICID-QEMU\n#@#MAGICID-IGNORE');
  made('tst/noenum', 'noenum', '#@#MAGICID-NOENUM');
  const r = await vmdeck(['enumerate', '--json', '--base', `${base()}%${other}`], sb.env);
  assert.equal(r.code, 0, r.stderr);
  const labels = JSON.parse(r.stdout).map((v: { label: string }) => v.label).sort();
  assert.ok(labels.includes('alpha') && labels.includes('gamma'), labels.join(' '));
  assert.ok(labels.includes('old1'));
  assert.ok(!labels.includes('hidden') && !labels.includes('noenum'));
  const old1 = JSON.parse(r.stdout).find((v: { label: string }) => v.label === 'old1');
  assert.equal(old1.source, 'ctys');
  assert.equal(old1.memsize, 512);
  const env = await vmdeck(['enumerate', '--json'], { ...sb.env, VMDECK_BASES: other });
  assert.ok(JSON.parse(env.stdout).some((v: { label: string }) => v.label === 'old1'), 'VMDECK_BASES is searched too');
  // The command's bundle (when setup built it and it is fresh) and the sources agree.
  const fromSources = await vmdeck(['enumerate', '--json', '--base', `${base()}%${other}`], { ...sb.env, VMDECK_CLI_SOURCES: '1' });
  assert.equal(fromSources.code, 0, fromSources.stderr);
  assert.deepEqual(JSON.parse(fromSources.stdout), JSON.parse(r.stdout));
});

test('a hand edit with bash logic is read back through bash', async () => {
  const conf = join(base(), 'alpha', 'alpha.ctys');
  const original = readFileSync(conf, 'utf8');
  writeFileSync(conf, `${original}\n# dynamic scripting\nMEMSIZE=$((64*3))\nif [[ -n \${VMDIR:-} ]]; then SMP=3; fi\n`);
  const r = await vmdeck(['enumerate', '--json'], sb.env);
  const alpha = JSON.parse(r.stdout).find((v: { label: string }) => v.label === 'alpha');
  assert.equal(alpha.memsize, 192);
  assert.equal(alpha.smp, 3);
  assert.equal(alpha.dynamic, true);
  const p = wrapper('alpha', ['--print']);
  const argv = p.stdout.split('\n');
  assert.equal(argv[argv.indexOf('-m') + 1], '192');
  assert.equal(argv[argv.indexOf('-smp') + 1], '3');
  // ARGSADD as ctys wrote it (a string of words; vmdeck's config declares an array) and as a bash array set by index.
  writeFileSync(conf, `${original}\nunset ARGSADD\nARGSADD='-no-hpet -snapshot'\n`);
  assert.deepEqual(wrapper('alpha', ['--print']).stdout.trim().split('\n').slice(-2), ['-no-hpet', '-snapshot']);
  writeFileSync(conf, `${original}\nARGSADD=()\nARGSADD[1]='-snapshot'\n`);
  assert.deepEqual(wrapper('alpha', ['--print']).stdout.trim().split('\n').slice(-1), ['-snapshot']);
  writeFileSync(conf, original);
});

test('user templates and defaults under $VMDECK_HOME/templates are offered and used', async () => {
  const tdir = join(sb.home, 'templates');
  mkdirSync(tdir, { recursive: true });
  writeFileSync(join(tdir, 'tiny.json'), JSON.stringify({ id: 'tiny', name: 'Tiny', extends: 'kernel-initrd', defaults: { memsize: 100 } }));
  writeFileSync(join(tdir, 'defaults.ctys'), "# like ctys's defaults-QEMU.ctys\nSMP=2\nKBD_LAYOUT='de'\n");
  const r = await vmdeck(['create-conf', '--label', 'delta', '--template', 'tiny', '--auto-all', '--json'], kernelEnv());
  assert.equal(r.code, 0, r.stderr);
  const vm = JSON.parse(r.stdout).vm;
  assert.equal(vm.memsize, 100);
  assert.equal(vm.smp, 2);
  assert.equal(vm.template, 'tiny');
  const levo = await vmdeck(['create-conf', '--levo', '--template', 'tiny'], kernelEnv());
  assert.match(levo.stdout, /^MEMSIZE\s+100\s+template\s/m);
  assert.match(levo.stdout, /^ACCELERATOR\s+QEMU\s+environment\s/m);
  assert.match(levo.stdout, /^MAC\s+\(generated, unique\)\s+generated\s/m);
  // What nothing gives is the default the config is written with.
  assert.match(levo.stdout, /^PXEBOOTFILE\s+pxelinux\.0\s+vmdeck\s/m);
});

test('vmdeck check reports the host and exits 0 where QEMU is installed', async () => {
  const r = await vmdeck(['check', '--json'], sb.env);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  const x86 = report.items.find((i: { name: string }) => i.name === 'qemu-system-x86_64');
  assert.equal(x86.ok, true);
  assert.match(x86.detail, /\d+\.\d+/);
  const img = report.items.find((i: { name: string }) => i.name === 'qemu-img');
  assert.equal(img.ok, true);
});

test('--no-create-image says a missing disk was not created, and an existing one kept', async () => {
  const r = await vmdeck(['create-conf', '--label', 'nodisk', '--template', 'kernel-initrd', '--auto-all', '--no-create-image'], kernelEnv());
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {2}disk: +\S+\/nodisk\.qcow2 \(not created: --no-create-image\)$/m);
  assert.ok(!existsSync(join(base(), 'nodisk', 'nodisk.qcow2')));
  const kept = await vmdeck(['create-conf', '--label', 'alpha', '--template', 'kernel-initrd', '--auto-all', '--force', '--no-create-image'], kernelEnv());
  assert.equal(kept.code, 0, kept.stderr);
  assert.match(kept.stdout, /^ {2}disk: +\S+\/alpha\.qcow2 \(existing, kept\)$/m);
});

test('--force keeps the VM\'s UUID and MAC; a config that cannot start is written with a warning naming why', async () => {
  const before = JSON.parse((await vmdeck(['enumerate', '--json'], sb.env)).stdout).find((v: { label: string }) => v.label === 'alpha');
  const r = await vmdeck(['create-conf', '--label', 'alpha', '--template', 'kernel-initrd', '--auto-all', '--force', '--json'],
    { ...kernelEnv(), INST_KERNEL: '/nonexistent/vmlinuz' });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.vm.uuid, before.uuid);
  assert.equal(out.vm.mac, before.mac);
  assert.equal(out.problem, "KERNELIMAGE: kernel '/nonexistent/vmlinuz' does not exist");
  const human = await vmdeck(['create-conf', '--label', 'alpha', '--template', 'kernel-initrd', '--auto-all', '--force'],
    { ...kernelEnv(), KBD_LAYOUT: 'zz' });
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stderr, /^vmdeck create-conf: warning: KBD_LAYOUT: 'zz' is not a QEMU keymap/m);
  const fixed = await vmdeck(['create-conf', '--label', 'alpha', '--template', 'kernel-initrd', '--auto-all', '--force'], kernelEnv());
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.doesNotMatch(fixed.stderr, /warning/);
});

test('an architecture given without a binary takes that architecture\'s QEMU', async () => {
  const r = await vmdeck(['create-conf', '--label', 'arm1', '--template', 'kernel-initrd', '--auto-all', '--json', 'ARCH=aarch64', 'MACHINE=virt', 'CPU=cortex-a57'], kernelEnv());
  assert.equal(r.code, 0, r.stderr);
  const conf = readFileSync(join(base(), 'arm1', 'arm1.ctys'), 'utf8');
  assert.match(conf, /^STARTERCALL='qemu-system-aarch64'$/m);
});

test('a QEMU that refuses to start: the wrapper quotes QEMU\'s reason and leaves no sockets behind', () => {
  // alpha's kernel is a text file: QEMU checks it and gives up.
  const r = wrapper('alpha', []);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /invalid kernel header/);
  assert.match(r.stderr, /QEMU did not start/);
  const left = readdirSync(join(sb.run, 'alpha'));
  assert.deepEqual(left.filter((n) => n.endsWith('.sock') || n === 'qemu.pid'), [], left.join(' '));
});

test('the preview (the wizard\'s validation) refuses a label that exists, on the label field', async () => {
  sb.enter();
  const { previewVm } = await import('../../server/store');
  await assert.rejects(previewVm({ label: 'alpha', template: 'kernel-initrd', env: kernelEnv() }),
    (e: { status: number; field: string; message: string }) =>
      e.status === 409 && e.field === 'label' && /^label: VM 'alpha' already exists in /.test(e.message));
  const ok = await previewVm({ label: 'fresh', template: 'kernel-initrd', env: kernelEnv() });
  assert.equal(ok.argv[0], 'qemu-system-x86_64');
  assert.ok(!existsSync(join(base(), 'fresh')), 'a preview writes nothing');
});

test('the QA round: ARCH alone takes its template, a template of another architecture is refused on its machine, a base that is a file, a relative base, a ctys config without its wrapper', async () => {
  const arm = await vmdeck(['create-conf', '--label', 'armpick', '--auto-all', '--json', 'ARCH=aarch64', `INST_KERNEL=${join(sb.home, 'vmlinuz-arm')}`], kernelEnv());
  assert.equal(arm.code, 0, arm.stderr);
  assert.equal(JSON.parse(arm.stdout).vm.template, 'aarch64-virt');
  const mixed = await vmdeck(['create-conf', '--label', 'armmix', '--template', 'linux-x86_64', '--auto-all', 'ARCH=aarch64'], kernelEnv());
  assert.equal(mixed.code, 1);
  assert.equal(mixed.stderr, "vmdeck create-conf: machine: template linux-x86_64's machine 'q35' is for x86_64; give the machine (and CPU) for aarch64, or take a template for aarch64\n");

  const file = await vmdeck(['create-conf', '--label', 'filebase', '--template', 'kernel-initrd', '--auto-all', '--base', '/etc/hostname'], kernelEnv());
  assert.equal(file.code, 1);
  assert.equal(file.stderr, "vmdeck create-conf: base: cannot make VMs in '/etc/hostname' (not a directory; nothing was made)\n");

  // A config with bash logic, found through a relative base, is still evaluated in its own directory.
  const conf = join(base(), 'alpha', 'alpha.ctys');
  const original = readFileSync(conf, 'utf8');
  writeFileSync(conf, `${original}\nMEMSIZE=$((64*5))\n`);
  try {
    const rel = await new Promise<{ code: number; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [join(REPO, 'bin/vmdeck.js'), 'enumerate', '--json', '--base', 'vms'], { cwd: sb.home, env: sb.env });
      let stdout = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.on('close', (code) => resolve({ code: code ?? -1, stdout }));
    });
    assert.equal(rel.code, 0);
    const alpha = JSON.parse(rel.stdout).find((v: { label: string }) => v.label === 'alpha');
    assert.equal(alpha.memsize, 320);
    assert.equal(alpha.config, conf, 'paths are absolute');
  } finally {
    writeFileSync(conf, original);
  }

  // A ctys config alone (no wrapper) with a CLI console: vmdeck's own wrapper runs it (docs/CTYS.md), and refuses it in one line
  // (started from no terminal, detached: the refusal is the start's).
  const lone = join(sb.home, 'lone');
  mkdirSync(join(lone, 'c1'), { recursive: true });
  writeFileSync(join(lone, 'c1', 'c1.ctys'), '#@#MAGICID-QEMU\n#@#LABEL = "c1"\nLABEL="c1"\nDEFAULTCONSOLE=CLI\n');
  const started = await vmdeck(['start', join(lone, 'c1', 'c1.ctys')], sb.env);
  assert.equal(started.code, 1);
  assert.match(started.stderr, /^vmdeck start: HDDBOOTIMAGE: boot mode VHDD needs a disk image\n$/);
});
