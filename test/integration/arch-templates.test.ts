// Every built-in template, for every architecture whose qemu-system binary is
// here: its config passes --print --check, QEMU takes its NIC models, and
// QEMU accepts its command line in each of its boot modes and on a VDE
// switch (started paused with -S through the wrapper, then quit).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BUILTIN_TEMPLATES, type Template } from '../../lib/templates';
import type { BootMode } from '../../lib/spec';
import type { VmInfo } from '../../lib/vm';
import { checkHost } from '../../server/check';
import { createSwitch } from '../../server/net';
import { qmpOnce } from '../../server/qmp';
import { createVm, wrapperCheck, wrapperPrint } from '../../server/store';
import { guestImages, sandbox, type Sandbox } from '../helpers/guest';
import { installed, quitVm, startWrapper } from '../helpers/vms';

let sb: Sandbox;
const files = { empty: '', iso: '', floppy: '', usb: '', mipsElf: '', pxe: '' };

/**
 * The smallest MIPS big-endian ELF kernel QEMU's Malta loader takes: one
 * PT_LOAD segment of one nop at 0x80100000 (it never runs: QEMU stays paused).
 */
function mipsElf(): Buffer {
  const b = Buffer.alloc(52 + 32 + 4);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = 1; // 32-bit
  b[5] = 2; // big-endian
  b[6] = 1; // ELF version
  b.writeUInt16BE(2, 16); // ET_EXEC
  b.writeUInt16BE(8, 18); // EM_MIPS
  b.writeUInt32BE(1, 20);
  b.writeUInt32BE(0x80100000, 24); // entry
  b.writeUInt32BE(52, 28); // program headers
  b.writeUInt16BE(52, 40);
  b.writeUInt16BE(32, 42);
  b.writeUInt16BE(1, 44);
  b.writeUInt32BE(1, 52); // PT_LOAD
  b.writeUInt32BE(84, 56); // offset
  b.writeUInt32BE(0x80100000, 60); // vaddr
  b.writeUInt32BE(0x80100000, 64); // paddr
  b.writeUInt32BE(4, 68); // filesz
  b.writeUInt32BE(4, 72); // memsz
  b.writeUInt32BE(5, 76); // r-x
  b.writeUInt32BE(4, 80); // align
  return b;
}

before(async () => {
  sb = sandbox('arch');
  sb.enter();
  const media = join(sb.home, '..', 'media');
  mkdirSync(media);
  const at = (name: string) => join(media, name);
  files.empty = at('empty-kernel');
  files.iso = at('empty.iso');
  files.floppy = at('floppy.img');
  files.usb = at('usb.img');
  files.mipsElf = at('mips-kernel.elf');
  // PXE on user networking boots from a TFTP tree with its boot file.
  files.pxe = at('tftp');
  mkdirSync(files.pxe);
  writeFileSync(join(files.pxe, 'pxelinux.0'), '');
  writeFileSync(files.empty, '');
  writeFileSync(files.iso, '');
  writeFileSync(files.floppy, Buffer.alloc(1440 * 1024));
  writeFileSync(files.usb, Buffer.alloc(1024 * 1024));
  writeFileSync(files.mipsElf, mipsElf());
  await createSwitch('archlan');
});
after(() => sb.cleanup());

/** A kernel QEMU can load for the template's architecture: x86 and arm64 get the test guest's. */
function kernelFor(t: Template): string {
  switch (t.defaults.arch) {
    case 'x86_64': case 'i386': return guestImages('amd64').kernel;
    case 'aarch64': return guestImages('arm64').kernel;
    case 'mips': return files.mipsElf;
    default: return files.empty;
  }
}

/** The wrapper option that boots MODE from a dummy source. */
function bootOption(mode: BootMode, t: Template): string {
  switch (mode) {
    case 'CD': case 'DVD': return `--bootmode=${mode}%${files.iso}`;
    case 'FDD': return `--bootmode=FDD%${files.floppy}`;
    case 'USB': return `--bootmode=USB%${files.usb}`;
    case 'KERNEL': return `--kernelmode=${kernelFor(t)}`;
    case 'PXE': return `--bootmode=PXE%${files.pxe}`;
    default: return `--bootmode=${mode}`;
  }
}

/** Starts the VM paused (its config has ARGSADD=-S), sees QEMU waiting for cont, quits it. */
async function acceptsPaused(vm: VmInfo, option: string): Promise<void> {
  await startWrapper(vm, sb.env, [option]);
  const status = await qmpOnce<{ status: string }>(join(sb.run, vm.label, 'qmp.sock'), 'query-status');
  assert.equal(status.status, 'prelaunch', `${vm.label} ${option}`);
  await quitVm(sb.run, vm.label);
}

function nicModels(t: Template): string[] {
  const args = t.defaults.machine ? ['-machine', t.defaults.machine] : [];
  const out = execFileSync(t.defaults.qemu!, [...args, '-nic', 'model=help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.replace(/^.*Supported NIC models:/s, '').split(/\s+/).filter(Boolean);
}

for (const t of BUILTIN_TEMPLATES) {
  const qemu = t.defaults.qemu!;
  test(`template ${t.id} (${qemu}): --print --check pass and QEMU accepts it in every boot mode`, {
    skip: installed(qemu) ? false : `${qemu} is not installed`,
  }, async () => {
    const env = {
      // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
      ACCELERATOR: 'QEMU', INST_KERNEL: files.empty, INSTCDROM: files.iso, HDDBOOTIMAGE_INST_SIZE: '64M', ARGSADD: '-S',
    };
    const { vm } = await createVm({ label: t.id, template: t.id, env });
    const argv = await wrapperPrint(vm.wrapper);
    assert.equal(argv[0], qemu);
    assert.equal(await wrapperCheck(vm.wrapper), null);

    const takes = nicModels(t);
    for (const nic of t.nicModels ?? []) assert.ok(takes.includes(nic), `${qemu} -machine ${t.defaults.machine} takes NIC ${nic}`);

    for (const mode of t.bootModes) await acceptsPaused(vm, bootOption(mode, t));

    const { vm: onSwitch } = await createVm({ label: `${t.id}-vde`, template: t.id, env: { ...env, NETMODE: 'vde', QEMUSOCK: 'archlan' } });
    assert.ok((await wrapperPrint(onSwitch.wrapper)).some((a) => a.startsWith(`vde,sock=${join(sb.run, 'net', 'archlan')},model=${t.defaults.nic},`)));
    await acceptsPaused(onSwitch, bootOption(t.defaults.bootmode!, t));
  });
}

test('--check names a NIC model that the machine does not take, and the ones it does', async () => {
  const { vm } = await createVm({
    // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
    label: 'wrongnic', template: 'arm-integratorcp', env: { ACCELERATOR: 'QEMU', INST_KERNEL: files.empty, NIC: 'e1000' },
  });
  assert.equal(await wrapperCheck(vm.wrapper), "NIC: 'e1000' is not a NIC model of machine integratorcp (it takes: smc91c111)");
});

test('vmdeck check lists the qemu-system binary of every template', async () => {
  const report = await checkHost();
  for (const t of BUILTIN_TEMPLATES) {
    const item = report.items.find((i) => i.name === t.defaults.qemu);
    assert.ok(item, `${t.defaults.qemu} is listed`);
    assert.equal(item.ok, installed(t.defaults.qemu!), t.defaults.qemu);
  }
});
