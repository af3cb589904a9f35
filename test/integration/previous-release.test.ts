// Every config written before disks and NICs became lists starts with the
// same hardware as before: a VM's files written by the previous release
// (test/fixtures/previous-release: its config, and its wrapper as it wrote
// it) give the same disks, drives and NICs (every -drive, -device, -nic,
// -netdev, and the memory) under that old wrapper and under today's, whose
// other options may have grown since (debug-threads for stats); so does a
// ctys config whose second interface is only MAC1/IP1 (no NIC1: no NIC).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { renderWrapper } from '../../lib/wrapper';
import { REPO, sandbox, type Sandbox } from '../helpers/guest';

const FIXTURE = join(REPO, 'test/fixtures/previous-release');
let sb: Sandbox;
before(() => {
  sb = sandbox('previous');
  sb.enter();
});
after(() => sb.cleanup());

/** The VM directory with the fixture's config (changed by edit), the old wrapper and today's. */
function vmDir(name: string, edit: (config: string) => string = (c) => c): string {
  const dir = join(sb.home, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'old.ctys'), edit(readFileSync(join(FIXTURE, 'old.ctys'), 'utf8')));
  copyFileSync(join(FIXTURE, 'old.sh'), join(dir, 'previous.sh'));
  writeFileSync(join(dir, 'today.sh'), renderWrapper('old', { generator: 'test', date: '2026-12-01' }));
  return dir;
}

const HARDWARE = new Set(['-drive', '-device', '-nic', '-netdev', '-blockdev', '-m', '-smp']);
/** The hardware options of the wrapper's command, one `OPTION VALUE` a line. */
const print = (wrapper: string) => {
  const argv = execFileSync('bash', [wrapper, '--print'], { env: sb.env, encoding: 'utf8' }).split('\n');
  return argv.flatMap((a, i) => (HARDWARE.has(a) ? [`${a} ${argv[i + 1]}`] : [])).join('\n');
};

test('a config of the previous release: today\'s wrapper gives the disks, drives and NICs its own wrapper gave', () => {
  const dir = vmDir('plain');
  const before = print(join(dir, 'previous.sh'));
  assert.match(before, /^-m 320$/m);
  assert.match(before, /^-drive file=.*\/old\.qcow2,format=qcow2,if=virtio,index=0,media=disk,id=hd0$/m);
  assert.match(before, /^-nic user,model=virtio-net-pci,mac=/m);
  assert.equal(print(join(dir, 'today.sh')), before);
});

test('a ctys config with a second interface\'s MAC1/IP1 and no NIC1 gets no second NIC', () => {
  const dir = vmDir('ctys', (c) => `${c.replace('#@#IP0', '#@#MAC1          = "52:54:00:aa:bb:01"\n#@#IP1           = "10.0.0.2"\n#@#IP0')}MAC1='52:54:00:aa:bb:01'\nIP1='10.0.0.2'\n`);
  const today = print(join(dir, 'today.sh'));
  assert.equal(today, print(join(dir, 'previous.sh')));
  assert.doesNotMatch(today, /52:54:00:aa:bb:01|-netdev/);
});

test('firmware set on a VM of the previous release: its wrapper, which knows no UEFI, is written afresh (the old one kept), and then builds it', async () => {
  const dir = vmDir('firmware');
  copyFileSync(join(FIXTURE, 'old.sh'), join(dir, 'old.sh'));
  const { vmdeck } = await import('../helpers/lifecycle');
  const set = await vmdeck(['set', join(dir, 'old.ctys'), 'FIRMWARE=UEFI', 'TPM=2.0'], sb.env);
  assert.equal(set.code, 0, set.stderr);
  assert.ok(readdirSync(dir).some((f) => /^old\.sh\.\d{14}/.test(f)), 'the old wrapper is kept');
  assert.deepEqual(readFileSync(readdirSync(dir).map((f) => join(dir, f)).find((f) => /old\.sh\.\d{14}/.test(f))!), readFileSync(join(FIXTURE, 'old.sh')));
  const argv = execFileSync('bash', [join(dir, 'old.sh'), '--print'], { env: sb.env, encoding: 'utf8' });
  assert.match(argv, /^if=pflash,format=raw,unit=0,file=\/usr\/share\/OVMF\/OVMF_CODE_4M\.fd,readonly=on$/m);
  assert.match(argv, /^tpm-tis,tpmdev=tpm0$/m);
});
