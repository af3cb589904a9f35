// What a new user runs, with nothing pinned: this host's own KVM verdict (a
// probe guest under -accel kvm), the defaults that follow from it, and a VM
// made with those defaults booting to the guest's shell. On a host whose
// /dev/kvm opens but cannot run guests (kvm_pvm here) the defaults are QEMU
// and a VM set to KVM is refused before it starts, with the fix one call away;
// on a host with working KVM the same tests take the KVM path.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { runProbe } from '../../server/kvm-probe';
import { guestImages, sandbox, type Sandbox } from '../helpers/guest';
import { vmdeck } from '../helpers/lifecycle';
import { api, spawnServer, type ChildServer } from '../helpers/server';
import { guestShell, quitVm } from '../helpers/vms';

let sb: Sandbox;
let server: ChildServer | undefined;
const pvm = existsSync('/sys/module/kvm_pvm');

before(() => {
  sb = sandbox('default');
  sb.enter();
});
after(async () => {
  await server?.kill();
  sb.cleanup();
});

/** The guest with only what the template cannot know: its kernel, initrd and command line. */
const guestEnv = () => {
  const g = guestImages();
  return { ...sb.env, INST_KERNEL: g.kernel, INST_INITRD: g.initrd, INST_APPEND: g.append };
};

test('the probe guest itself is right: under TCG it reaches long mode, takes its trap and page fault, and answers', async () => {
  const r = await runProbe({ accel: 'tcg', timeoutMs: 30000 });
  assert.equal(r.kind, 'ok', JSON.stringify(r));
});

test('a probe whose QEMU hangs and leaves a process holding its output ends as stuck, within its timeout and the graces', async () => {
  // The wait for QEMU's 'close' also waited for its pipes: a child it left behind (here a sleep) held them for good.
  const fake = join(dirname(sb.home), 'hanging-qemu');
  const leftPid = join(dirname(sb.home), 'hanging-qemu.left');
  writeFileSync(fake, `#!/bin/bash\nsleep 600 &\necho $! > '${leftPid}'\nexec sleep 600\n`, { mode: 0o700 });
  const t0 = Date.now();
  try {
    const r = await runProbe({ qemu: fake, timeoutMs: 500 });
    assert.equal(r.kind, 'stuck', JSON.stringify(r));
    assert.ok(Date.now() - t0 < 500 + 1000 + 3000, `ended after ${Date.now() - t0} ms`);
  } finally {
    process.kill(Number(readFileSync(leftPid, 'utf8')), 'SIGKILL');
  }
});

test('vmdeck check decides KVM from the probe, and says it in one line', async () => {
  const r = await vmdeck(['check', '--json'], sb.env);
  const report = JSON.parse(r.stdout);
  const item = report.items.find((i: { name: string }) => i.name === '/dev/kvm');
  assert.ok(item, r.stdout);
  assert.doesNotMatch(item.detail, /\n/);
  assert.equal(report.kvm, item.ok);
  assert.equal(item.needed, false, 'KVM is not needed: emulation runs every VM');
  if (pvm) {
    assert.equal(report.kvm, false);
    assert.match(item.detail, /^\/dev\/kvm: opens, but a test guest does not run under it \(kvm_pvm: runs only PVM guest kernels; .*\): VMs run emulated \(ACCELERATOR=QEMU\)$/);
  }
  // Cached for this boot and these modules, where the wrappers read it too.
  const cache = readFileSync(join(sb.run, 'kvm-probe'), 'utf8');
  assert.match(cache, new RegExp(`^usable=${report.kvm ? 'yes' : 'no'}$`, 'm'));
  const text = await vmdeck(['check'], sb.env);
  assert.match(text.stdout, /\/dev\/kvm +\/dev\/kvm: /);
  // UEFI and the TPM (scripts/setup.sh installs ovmf, qemu-efi-aarch64 and swtpm): there, and not needed to run a VM.
  const firmware = (name: string) => report.items.find((i: { name: string }) => i.name === name);
  assert.deepEqual([firmware('ovmf')?.ok, firmware('ovmf')?.needed, firmware('ovmf')?.detail], [true, false, 'UEFI for x86_64 guests: /usr/share/OVMF/OVMF_CODE_4M.fd']);
  assert.equal(firmware('ovmf secure boot')?.ok, true);
  assert.equal(firmware('aavmf')?.ok, true);
  assert.match(firmware('swtpm')?.detail ?? '', /^TPM 2\.0 \(TPM=2\.0\): \d+\.\d+/);
  assert.match(text.stdout, /^ok +swtpm +TPM 2\.0/m);
});

test('a VM made with the defaults gets the verdict\'s accelerator and boots to the shell', async () => {
  const { kvm } = JSON.parse((await vmdeck(['check', '--json'], sb.env)).stdout);
  const made = await vmdeck(['create-conf', '--label', 'plain', '--template', 'kernel-initrd', '--auto-all'], guestEnv());
  assert.equal(made.code, 0, made.stderr);
  const config = readFileSync(join(sb.home, 'vms/plain/plain.ctys'), 'utf8');
  assert.match(config, new RegExp(`^ACCELERATOR='${kvm ? 'KVM' : 'QEMU'}'$`, 'm'));
  const started = await vmdeck(['start', 'plain'], sb.env);
  assert.equal(started.code, 0, started.stderr);
  const shell = await guestShell(sb.run, 'plain', 120000);
  try {
    assert.match(await shell.run('echo up $((40+2))', /up 42/), /up 42/);
  } finally {
    shell.close();
  }
  await quitVm(sb.run, 'plain');
});

test('a VM set to KVM where KVM runs no guests: --check and start refuse with the probe\'s line, the VM page says so, one PATCH fixes it', { skip: pvm ? false : 'KVM runs guests on this host' }, async () => {
  const made = await vmdeck(['create-conf', '--label', 'kvmvm', '--template', 'kernel-initrd', '--auto-all'], { ...guestEnv(), ACCELERATOR: 'KVM' });
  assert.equal(made.code, 0, made.stderr);
  const wrapper = join(sb.home, 'vms/kvmvm/kvmvm.sh');
  const check = await vmdeck(['start', 'kvmvm'], sb.env);
  assert.notEqual(check.code, 0);
  assert.match(check.stderr, /ACCELERATOR: KVM does not run guests on this host: \/dev\/kvm: opens, but a test guest does not run under it \(kvm_pvm/);
  assert.match(check.stderr, /set ACCELERATOR=QEMU/);
  assert.equal(check.stderr.trim().split('\n').length, 1, check.stderr);
  // The wrapper alone says the same (it reads the probe's cache).
  const { execFileSync } = await import('node:child_process');
  assert.throws(() => execFileSync('bash', [wrapper, '--check'], { env: sb.env, stdio: 'pipe' }), (e: { stderr: Buffer }) => /ACCELERATOR: KVM does not run guests/.test(String(e.stderr)));

  server = await spawnServer(sb);
  const page = await api(server.base, 'GET', '/api/vms/kvmvm');
  assert.equal(page.status, 200);
  assert.match(page.json.problem, /^ACCELERATOR: KVM does not run guests on this host/);

  const config = join(sb.home, 'vms/kvmvm/kvmvm.ctys');
  // The user's own lines survive the fix byte for byte.
  writeFileSync(config, `${readFileSync(config, 'utf8')}# my note\nif [[ -n \${BIG:-} ]]; then MEMSIZE=2048; fi\n`);
  const before = readFileSync(config, 'utf8');
  const fixed = await api(server.base, 'PATCH', '/api/vms/kvmvm', { accelerator: 'QEMU' });
  assert.equal(fixed.status, 200, fixed.text);
  assert.deepEqual(fixed.json.lines, ["ACCELERATOR='QEMU'"]);
  assert.equal(readFileSync(config, 'utf8'), before.replace("ACCELERATOR='KVM'", "ACCELERATOR='QEMU'"));
  assert.equal(readFileSync(fixed.json.kept, 'utf8'), before, 'the previous config is kept');
  const bad = await api(server.base, 'PATCH', '/api/vms/kvmvm', { accelerator: 'TURBO' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.field, 'accelerator');
  assert.equal((await api(server.base, 'GET', '/api/vms/kvmvm')).json.problem, undefined);
  const started = await api(server.base, 'POST', '/api/vms/kvmvm/start', {});
  assert.equal(started.status, 200, started.text);
  const shell = await guestShell(sb.run, 'kvmvm', 120000);
  shell.close();
  await quitVm(sb.run, 'kvmvm');
});
