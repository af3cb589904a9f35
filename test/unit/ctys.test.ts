import assert from 'node:assert/strict';
import test from 'node:test';
import { parseCtysPlain, readMarkers, renderCtys, scanPlainLine } from '../../lib/ctys';
import { composeSpec, specFromVars } from '../../lib/options';
import { assertSpec } from '../../lib/spec';
import { BUILTIN_TEMPLATES, mergeCatalog } from '../../lib/templates';

const ctx = { generator: 'test', date: '2026-11-25' };
const base = assertSpec({
  label: 'demo', uuid: '123e4567-e89b-12d3-a456-426614174000', mac: '52:54:00:12:34:56', arch: 'x86_64',
  accelerator: 'QEMU', qemu: 'qemu-system-x86_64', smp: 2, memsize: 384, nic: 'virtio-net-pci',
  bootmode: 'KERNEL', kernel: 'it\'s "a" $(kernel) `x`', append: 'console=ttyS0 init=/bin/sh; rm -rf / $HOME',
  console: 'VNC', hostfwd: ['tcp:127.0.0.1:2222-:22', 'udp::5353-:53'], argsAdd: ['-rtc', 'base=utc, clock=host'],
  dist: 'Debian', distrel: '12',
});

test('a rendered config reads back to the same values without bash', () => {
  const vars = parseCtysPlain(renderCtys(base, ctx));
  assert.ok(vars, 'a generated config is plain');
  const back = specFromVars(vars!);
  for (const [k, v] of Object.entries(base)) {
    // The password hash goes to the seed files only, never to the config.
    if (k === 'passwordHash') continue;
    assert.deepEqual(back[k as keyof typeof back], v, k);
  }
});

test('a password hash is never written to the config', () => {
  const hash = '$6$salt$abcdefghijklmnopqrstuvwxyz';
  const text = renderCtys({ ...base, unattended: 'cloud-init', passwordHash: hash }, ctx);
  assert.ok(!text.includes(hash));
  assert.equal(parseCtysPlain(text)!.PASSWORD_HASH, undefined);
});

test('the config carries ctys ENUMERATE markers', () => {
  const m = readMarkers(renderCtys(base, ctx));
  assert.equal(m.magic, 'QEMU');
  assert.equal(m.values.LABEL, 'demo');
  assert.equal(m.values.SESSIONTYPE, 'QEMU');
  assert.equal(m.values.MAC0, '52:54:00:12:34:56');
  assert.equal(m.values.DEFAULTCONSOLE, 'VNC');
});

test('IGNORE and NOENUM hide a config from ENUMERATE', () => {
  assert.equal(readMarkers('#@#MAGICID-QEMU\n#@#MAGICID-IGNORE\n').magic, 'IGNORE');
  assert.equal(readMarkers('#@#MAGICID-NOENUM\n#@#MAGICID-QEMU\n').magic, 'NOENUM');
  assert.equal(readMarkers('#@#MAGICID-VMW\n').magic, null);
});

test('a config with bash logic is left to bash', () => {
  for (const line of ['MEMSIZE=$((64*3))', 'if true; then MEMSIZE=1; fi', 'MEMSIZE=`echo 1`', 'A=b c', 'X="$HOME"', 'source other.ctys']) {
    assert.equal(parseCtysPlain(`LABEL='x'\n${line}\n`), null, line);
  }
});

test('plain ctys-style assignments are read literally', () => {
  const vars = parseCtysPlain(`# c\nexport LABEL="old"\nMEMSIZE=512\nAPPEND='a '\\''b'\\'''\nARGSADD=( '-a' "b c" d )\nEMPTY=\n`);
  assert.deepEqual(vars, { LABEL: 'old', MEMSIZE: '512', APPEND: "a 'b'", ARGSADD: ['-a', 'b c', 'd'], EMPTY: '' });
});

test('every built-in template composes into a valid spec', () => {
  for (const t of BUILTIN_TEMPLATES) {
    const { input } = composeSpec('t1', t, { kvm: false, arch: 'x86_64' }, { uuid: '123e4567-e89b-12d3-a456-426614174000', mac: '52:54:00:00:00:01' }, {},
      { kernel: 'vmlinuz', instSrcCdrom: 'x.iso', instSrcFdd: 'f.img', instSrcUsb: 'u.img' });
    assert.doesNotThrow(() => assertSpec(input), t.id);
    assert.ok(t.bootModes.includes(input.bootmode as never), `${t.id}: its default boot mode is allowed`);
  }
});

test('values come in order: template < host < environment < user', () => {
  const t = BUILTIN_TEMPLATES.find((x) => x.id === 'kernel-initrd')!;
  const { input, origin } = composeSpec('v', t, { kvm: true, arch: 'x86_64' }, { uuid: 'u', mac: 'm' }, { memsize: 512, smp: 3 }, { memsize: 1024 });
  assert.equal(input.accelerator, 'KVM');
  assert.equal(origin.accelerator, 'host');
  assert.equal(input.memsize, 1024);
  assert.equal(origin.memsize, 'user');
  assert.equal(input.smp, 3);
  assert.equal(origin.smp, 'environment');
  assert.equal(input.disk, 'v.qcow2');
});

test('user templates extend built-ins and user defaults apply to all', () => {
  const cat = mergeCatalog(BUILTIN_TEMPLATES, [{ id: 'mine', extends: 'kernel-initrd', defaults: { memsize: 100 } }], { smp: 2 });
  const mine = cat.find((t) => t.id === 'mine')!;
  assert.equal(mine.defaults.memsize, 100);
  assert.equal(mine.defaults.qemu, 'qemu-system-x86_64');
  assert.ok(cat.every((t) => t.defaults.smp === 2));
});

test('KVM is the default only for guests the host can run under KVM', () => {
  const byId = (id: string) => BUILTIN_TEMPLATES.find((x) => x.id === id)!;
  const acc = (id: string, host: { kvm: boolean; arch: string }) =>
    composeSpec('v', byId(id), host, { uuid: 'u', mac: 'm' }, {}, {}).input.accelerator;
  assert.equal(acc('linux-x86_64', { kvm: true, arch: 'x86_64' }), 'KVM');
  assert.equal(acc('legacy-pc', { kvm: true, arch: 'x86_64' }), 'KVM', 'i386 runs under KVM on x86_64');
  assert.equal(acc('aarch64-virt', { kvm: true, arch: 'x86_64' }), 'QEMU');
  assert.equal(acc('aarch64-virt', { kvm: true, arch: 'aarch64' }), 'KVM');
  assert.equal(acc('linux-x86_64', { kvm: false, arch: 'x86_64' }), 'QEMU');
});

test('the line scanner reads exactly the lines the regex it replaced matched, over random lines', () => {
  // The sticky regex ENUMERATE's parse used before scanPlainLine (session 21), kept here as its oracle.
  const PLAIN_LINE = /[ \t\r]*(?:#[^\n]*|([A-Za-z_][A-Za-z0-9_]*)=(?:'([^'\n]*)'|([A-Za-z0-9_.,:/@%+=-]*))[ \t\r]*)?(?:\n|$)/y;
  const pieces = [' ', '\t', '\r', '\n', '#', "'", '"', '=', '==', 'A', 'b', '_', '9', '.', ',', ':', '/', '@', '%', '+', '-',
    '$', '(', ')', '~', '*', ';', '\\', 'é', '\u00a0', '\f', 'LABEL=', "X='", "'\n", 'MEMSIZE=512', "NAME='a b'", '#@#UUID = "u"'];
  // A fixed seed (a linear congruential generator): a failure is the same on every run.
  let seed = 20261201;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  let plainLines = 0;
  for (let round = 0; round < 20000; round++) {
    let text = '';
    for (let k = 1 + random(12); k > 0; k--) text += pieces[random(pieces.length)];
    const at = random(text.length);
    PLAIN_LINE.lastIndex = at;
    const m = PLAIN_LINE.exec(text);
    const got = scanPlainLine(text, at);
    const want = m && { end: PLAIN_LINE.lastIndex, name: m[1], value: m[1] === undefined ? undefined : m[2] ?? m[3] };
    assert.deepEqual(got && { end: got.end, name: got.name, value: got.value }, want, JSON.stringify({ text, at }));
    if (want?.name !== undefined) plainLines++;
  }
  assert.ok(plainLines > 500, `the random lines held ${plainLines} assignments`);
  // And every line of a config vmdeck writes.
  const text = renderCtys(base, ctx);
  for (let at = 0; at < text.length;) {
    PLAIN_LINE.lastIndex = at;
    const m = PLAIN_LINE.exec(text);
    const got = scanPlainLine(text, at);
    assert.equal(got?.end ?? null, m ? PLAIN_LINE.lastIndex : null, JSON.stringify(text.slice(at, at + 40)));
    at = m ? PLAIN_LINE.lastIndex : text.indexOf('\n', at) + 1 || text.length;
  }
});

test('shellWord: a plain path as it is, anything else quoted so that bash reads it back as written', async () => {
  const { execFileSync } = await import('node:child_process');
  const { shellWord } = await import('../../lib/ctys');
  assert.equal(shellWord('/home/u/vms/web/web.ctys'), '/home/u/vms/web/web.ctys');
  for (const v of ["/tmp/it's $(touch x)/a b.ctys", '/tmp/*', 'a\nb', '']) {
    assert.equal(execFileSync('bash', ['-c', `printf %s ${shellWord(v)}`], { encoding: 'utf8' }), v);
  }
});
