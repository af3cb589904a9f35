// Unattended install seeds through create-conf --unattended (the CLI, as a
// process), checked by their own validators where Debian ships them:
// cloud-init's `cloud-init schema`, debconf's `debconf-set-selections -c`, and
// the kickstart against the commands it uses. Secrets: seed files 0600, the
// password hash in no config and no API answer.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isoVolume } from '../../lib/media';
import { kickstartError } from '../../lib/seeds';
import { previewVm } from '../../server/store';
import { REPO, sandbox, type Sandbox } from '../helpers/guest';
import { netbootTree } from '../helpers/media';

let sb: Sandbox;
let key: string;
// openssl passwd -6 -salt vmdecksalt secret
const HASH = '$6$vmdecksalt$hPxVkxH9cz4uOSsP6Pg0tWy2yGGOzQ44Tct69vRHWbHMwgIKa2dMxxWYQ8AUdhBtOJ8eC54j4R2U7ky0S8MDx0';

before(() => {
  sb = sandbox('seeds');
  sb.enter();
  mkdirSync(sb.home, { recursive: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'seed-test', '-f', join(sb.home, 'key')]);
  key = readFileSync(join(sb.home, 'key.pub'), 'utf8').trim();
});
after(() => sb.cleanup());

function vmdeck(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
    execFile(process.execPath, [join(REPO, 'bin/vmdeck.js'), ...args], { env: { ...sb.env, ACCELERATOR: 'QEMU', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const vmDir = (label: string) => join(sb.home, 'vms', label);
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

test('cloud-init: a cidata volume of user-data, meta-data, network-config that cloud-init schema accepts', async () => {
  const r = await vmdeck(['create-conf', '--label', 'ci1', '--auto-all', '--unattended=cloud-init', `SSHKEY=${join(sb.home, 'key.pub')}`,
    `PASSWORD_HASH=${HASH}`, 'VMUSER=alice', 'TIMEZONE=Europe/Berlin', 'IP=10.0.2.15', 'NETMASK=255.255.255.0', 'GATEWAY=10.0.2.2']);
  assert.equal(r.code, 0, r.stderr);
  const dir = vmDir('ci1');
  for (const f of ['ci1.seed.user-data', 'ci1.seed.meta-data', 'ci1.seed.network-config', 'ci1.seed.iso']) assert.equal(mode(join(dir, f)), '600', f);
  const userData = readFileSync(join(dir, 'ci1.seed.user-data'), 'utf8');
  assert.ok(userData.includes(key), 'the key from the file is in user-data');
  execFileSync('cloud-init', ['schema', '--config-file', join(dir, 'ci1.seed.user-data')], { stdio: 'pipe' });
  const iso = readFileSync(join(dir, 'ci1.seed.iso'));
  assert.equal(isoVolume(iso)?.label, 'cidata');
  assert.deepEqual(execFileSync('isoinfo', ['-J', '-f', '-i', join(dir, 'ci1.seed.iso')], { encoding: 'utf8' }).trim().split('\n').sort(),
    ['/meta-data', '/network-config', '/user-data']);
  const config = readFileSync(join(dir, 'ci1.ctys'), 'utf8');
  assert.match(config, /^SEEDIMAGE='ci1\.seed\.iso'$/m);
  assert.ok(!config.includes(HASH), 'the config has no password hash');
  const argv = execFileSync('bash', [join(dir, 'ci1.sh'), '--print'], { env: sb.env, encoding: 'utf8' }).split('\n');
  assert.ok(argv.includes(`file=${join(dir, 'ci1.seed.iso')},format=raw,if=virtio,readonly=on,media=disk,id=seed0`));
});

test('the preview shows the seed files before anything is written, without the password hash', async () => {
  // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
  const p = await previewVm({ label: 'ci2', env: { ACCELERATOR: 'QEMU', UNATTENDED: 'cloud-init', PASSWORD_HASH: HASH, SSHKEY: key } });
  assert.deepEqual(Object.keys(p.files).sort(), ['ci2.ctys', 'ci2.seed.meta-data', 'ci2.seed.network-config', 'ci2.seed.user-data', 'ci2.sh']);
  assert.ok(!JSON.stringify(p).includes(HASH), 'no hash anywhere in the preview');
  assert.match(p.files['ci2.seed.user-data'], /"passwd": "\(PASSWORD_HASH, not shown\)"/);
  assert.equal(existsSync(vmDir('ci2')), false);
});

test('preseed: debconf-set-selections -c accepts it; a KERNEL install boots the initrd with it added', async () => {
  const tree = join(netbootTree(), 'debian-installer/amd64');
  const r = await vmdeck(['create-conf', '--label', 'pre1', '--auto-all', '--unattended=preseed', 'DEFAULTBOOTMODE=KERNEL',
    `INST_KERNEL=${tree}/linux`, `INST_INITRD=${tree}/initrd.gz`, 'INST_APPEND=console=ttyS0,115200', `SSHKEY=${key}`, 'HDDBOOTIMAGE_INST_SIZE=1G']);
  assert.equal(r.code, 0, r.stderr);
  const dir = vmDir('pre1');
  execFileSync('debconf-set-selections', ['-c', join(dir, 'pre1.seed.preseed.cfg')], { stdio: 'pipe' });
  const config = readFileSync(join(dir, 'pre1.ctys'), 'utf8');
  assert.match(config, /^INITRDIMAGE='pre1\.seed\.initrd'$/m);
  assert.match(config, /^APPEND='console=ttyS0,115200 auto=true priority=critical'$/m);
  const base = readFileSync(`${tree}/initrd.gz`);
  const seeded = readFileSync(join(dir, 'pre1.seed.initrd'));
  assert.equal(mode(join(dir, 'pre1.seed.initrd')), '600');
  assert.ok(seeded.subarray(0, base.length).equals(base), 'the installer\'s initrd comes first, unchanged');
  // The added archive, unpacked by cpio as the kernel would: preseed.cfg at the top.
  const listed = execFileSync('cpio', ['-t', '--quiet'], { input: execFileSync('gunzip', ['-c'], { input: seeded.subarray(base.length) }), encoding: 'utf8' });
  assert.equal(listed.trim(), 'preseed.cfg');
});

test('kickstart: an OEMDRV volume with ks.cfg that passes the check of its commands', async () => {
  const r = await vmdeck(['create-conf', '--label', 'ks1', '--auto-all', '--unattended=kickstart', `SSHKEY=${key}`, `PASSWORD_HASH=${HASH}`]);
  assert.equal(r.code, 0, r.stderr);
  const dir = vmDir('ks1');
  assert.equal(kickstartError(readFileSync(join(dir, 'ks1.seed.ks.cfg'), 'utf8')), null);
  assert.equal(isoVolume(readFileSync(join(dir, 'ks1.seed.iso')))?.label, 'OEMDRV');
});

test('made as asked, said at once (CLI, preview): an account with neither a key nor a password; an install CD that is not there', async () => {
  const r = await vmdeck(['create-conf', '--label', 'nokey1', '--auto-all', '--unattended=cloud-init', 'VMUSER=bob']);
  assert.equal(r.code, 0, r.stderr);
  const warning = "unattended: the account 'bob' gets neither an SSH key (SSHKEY) nor a password (PASSWORD_HASH): nobody can log in to the installed system";
  assert.ok(r.stderr.split('\n').includes(`vmdeck create-conf: warning: ${warning}`), r.stderr);
  assert.ok(existsSync(join(vmDir('nokey1'), 'nokey1.seed.iso')), 'made as asked');
  // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
  assert.deepEqual((await previewVm({ label: 'nokey2', env: { ACCELERATOR: 'QEMU', UNATTENDED: 'kickstart', VMUSER: 'bob' } })).warnings, [warning]);
  // Either one is a way in.
  assert.deepEqual((await previewVm({ label: 'nokey2', env: { ACCELERATOR: 'QEMU', UNATTENDED: 'preseed', SSHKEY: key } })).warnings, []);
  assert.deepEqual((await previewVm({ label: 'nokey2', env: { ACCELERATOR: 'QEMU', UNATTENDED: 'cloud-init', PASSWORD_HASH: HASH } })).warnings, []);
  // The Debian installer's low-memory mode asks a question of its own, which stops an unattended install.
  assert.deepEqual((await previewVm({ label: 'nokey2', env: { ACCELERATOR: 'QEMU', UNATTENDED: 'preseed', SSHKEY: key, MEMSIZE: '512' } })).warnings,
    ['MEMSIZE: 512 MiB: the Debian installer enters its low-memory mode below 768 MiB and asks to go on, which stops the unattended install; give it 1024']);
  assert.deepEqual((await previewVm({ label: 'nokey2', env: { ACCELERATOR: 'QEMU' } })).warnings, [], 'no unattended install, no account');
  // The install CD is looked at when the install starts: a missing one is said now.
  const cd = await vmdeck(['create-conf', '--label', 'nocd1', '--auto-all', '--no-create-image', 'INSTCDROM=/nowhere/debian.iso']);
  assert.equal(cd.code, 0, cd.stderr);
  assert.ok(cd.stderr.split('\n').includes("vmdeck create-conf: warning: INSTSRCCDROM: ISO image '/nowhere/debian.iso' does not exist: the install (vmdeck start nocd1 --instmode) cannot start until it does"), cd.stderr);
  const iso = join(sb.home, 'here.iso');
  writeFileSync(iso, '');
  assert.deepEqual((await previewVm({ label: 'nocd2', env: { ACCELERATOR: 'QEMU', INSTCDROM: iso } })).warnings, []);
});

test('a seed with a malformed key, a plain password or an unknown kind: one line naming the option, nothing written', async () => {
  const before = readdirSync(join(sb.home, 'vms')).sort();
  const cases: [string[], string][] = [
    [['SSHKEY=ssh-ed25519 AAAAnotakey!'], "vmdeck create-conf: SSHKEY: 'ssh-ed25519 AAAAnotakey!' is not an OpenSSH public key (one line like ssh-ed25519 AAAA… comment, no quotes)\n"],
    [[`SSHKEY=${join(sb.home, 'missing.pub')}`], `vmdeck create-conf: SSHKEY: '${join(sb.home, 'missing.pub')}' is neither an OpenSSH public key nor a readable file\n`],
    // A file that is not a key: its content is not shown; a FIFO is not opened.
    [[`SSHKEY=${join(sb.home, 'not-a-key.pub')}`], `vmdeck create-conf: SSHKEY: the first line of '${join(sb.home, 'not-a-key.pub')}' is not an OpenSSH public key (ssh-ed25519 AAAA…): give the .pub file\n`],
    [[`SSHKEY=${join(sb.home, 'key-fifo')}`], `vmdeck create-conf: SSHKEY: '${join(sb.home, 'key-fifo')}' is not a regular file\n`],
    [['PASSWORD_HASH=secret'], 'vmdeck create-conf: PASSWORD_HASH: is not a crypt(3) password hash (make one with: openssl passwd -6); a plain password is not taken\n'],
    [['--unattended=autoyast'], "vmdeck create-conf: UNATTENDED: 'autoyast' is not an unattended install: cloud-init, preseed or kickstart (or empty for none)\n"],
  ];
  writeFileSync(join(sb.home, 'not-a-key.pub'), 'hello secret\n');
  execFileSync('mkfifo', [join(sb.home, 'key-fifo')]);
  for (const [args, message] of cases) {
    const r = await vmdeck(['create-conf', '--label', 'bad1', '--auto-all', '--unattended=cloud-init', ...args]);
    assert.deepEqual([r.code, r.stderr], [1, message]);
  }
  assert.deepEqual(readdirSync(join(sb.home, 'vms')).sort(), before);
  rmSync(join(sb.home, 'key-fifo'));
});

/** The clone's config as `vmdeck clone` made it, its facts as ENUMERATE reads them. */
async function cloneOf(src: string, label: string): Promise<{ dir: string; config: string; uuid: string; mac: string }> {
  const r = await vmdeck(['clone', src, label, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { vm } = JSON.parse(r.stdout) as { vm: { dir: string; config: string; uuid: string; mac: string } };
  return { ...vm, config: readFileSync(vm.config, 'utf8') };
}
const isoFile = (iso: string, path: string) => execFileSync('isoinfo', ['-J', '-i', iso, '-x', path], { encoding: 'utf8' });

test('clone: the seeds of an install not yet run become the clone\'s (hostname, instance-id, MACs), the source\'s stay as they were', async () => {
  const sourceFiles = (label: string) => Object.fromEntries(readdirSync(vmDir(label)).filter((f) => f.includes('.seed.')).map((f) => [f, readFileSync(join(vmDir(label), f), 'latin1')]));
  const ciBefore = sourceFiles('ci1');

  // cloud-init: a new cidata volume; the account, key and hash are the source's.
  const ci = await cloneOf('ci1', 'ci1b');
  assert.match(ci.config, /^SEEDIMAGE='ci1b\.seed\.iso'$/m);
  const iso = join(ci.dir, 'ci1b.seed.iso');
  assert.equal(mode(iso), '600');
  assert.equal(isoVolume(readFileSync(iso))?.label, 'cidata');
  assert.deepEqual(JSON.parse(isoFile(iso, '/meta-data')), { 'instance-id': `vmdeck-${ci.uuid}`, 'local-hostname': 'ci1b' });
  assert.equal(JSON.parse(isoFile(iso, '/network-config')).ethernets.eth0.match.macaddress, ci.mac);
  const userData = isoFile(iso, '/user-data');
  assert.equal(JSON.parse(userData.replace(/^#cloud-config\n/, '')).hostname, 'ci1b');
  assert.ok(userData.includes(key) && userData.includes(HASH), 'the account is the source\'s');
  execFileSync('cloud-init', ['schema', '--config-file', join(ci.dir, 'ci1b.seed.user-data')], { stdio: 'pipe' });
  for (const f of ['ci1b.seed.user-data', 'ci1b.seed.meta-data', 'ci1b.seed.network-config']) assert.equal(mode(join(ci.dir, f)), '600', f);
  assert.deepEqual(sourceFiles('ci1'), ciBefore, 'the source\'s seeds are unchanged');

  // A preseed in the installer's initrd: the same initrd, the clone's preseed appended.
  const pre = await cloneOf('pre1', 'pre1b');
  assert.match(pre.config, /^INITRDIMAGE='pre1b\.seed\.initrd'$/m);
  const preseed = readFileSync(join(pre.dir, 'pre1b.seed.preseed.cfg'), 'utf8');
  execFileSync('debconf-set-selections', ['-c', join(pre.dir, 'pre1b.seed.preseed.cfg')], { stdio: 'pipe' });
  assert.match(preseed, /^d-i netcfg\/get_hostname string pre1b$/m);
  assert.match(preseed, /^d-i netcfg\/hostname string pre1b$/m);
  assert.equal(preseed.replace(/pre1b/g, 'pre1'), readFileSync(join(vmDir('pre1'), 'pre1.seed.preseed.cfg'), 'utf8'), 'nothing else changed');
  const base = readFileSync(join(netbootTree(), 'debian-installer/amd64/initrd.gz'));
  const seeded = readFileSync(join(pre.dir, 'pre1b.seed.initrd'));
  assert.ok(seeded.subarray(0, base.length).equals(base), 'the installer\'s initrd comes first, unchanged');
  const dir = join(sb.home, 'unpacked');
  mkdirSync(dir);
  execFileSync('cpio', ['-id', '--quiet'], { cwd: dir, input: execFileSync('gunzip', ['-c'], { input: seeded.subarray(base.length) }) });
  assert.equal(readFileSync(join(dir, 'preseed.cfg'), 'utf8'), preseed, 'the initrd has the clone\'s preseed');

  // A kickstart on an OEMDRV volume: the clone's hostname and MAC.
  const ks = await cloneOf('ks1', 'ks1b');
  const kickstart = isoFile(join(ks.dir, 'ks1b.seed.iso'), '/ks.cfg');
  assert.equal(kickstartError(kickstart), null);
  assert.ok(kickstart.includes(` --device=${ks.mac} --hostname=ks1b `), kickstart);

  // A preseed by PXE: the clone's own tree, its pxelinux.cfg and preseed the clone's.
  const r = await vmdeck(['create-conf', '--label', 'pxe1', '--auto-all', '--unattended=preseed', 'DEFAULTBOOTMODE=PXE', `PXEROOT=${netbootTree()}`, 'HDDBOOTIMAGE_INST_SIZE=1G']);
  assert.equal(r.code, 0, r.stderr);
  const pxe = await cloneOf('pxe1', 'pxe1b');
  assert.match(pxe.config, /^PXEROOT='pxe1b\.seed\.pxe'$/m);
  const tree = join(pxe.dir, 'pxe1b.seed.pxe');
  assert.match(readFileSync(join(tree, 'preseed.cfg'), 'utf8'), /^d-i netcfg\/hostname string pxe1b$/m, 'its preseed.cfg is the clone\'s');
  const menu = readFileSync(join(tree, 'pxelinux.cfg/default'), 'utf8');
  assert.match(menu, / hostname=pxe1b( |$)/m);
  assert.match(menu, /^# Written by vmdeck for VM pxe1b:/m);
  assert.doesNotMatch(menu, /hostname=pxe1( |$)/m);
  for (const f of ['pxelinux.0', 'ldlinux.c32']) assert.equal(readFileSync(join(tree, f)).equals(readFileSync(join(netbootTree(), f))), true, f);
  const argv = execFileSync('bash', [join(pxe.dir, 'pxe1b.sh'), '--print'], { env: sb.env, encoding: 'utf8' });
  assert.ok(argv.includes(`tftp=${tree}`), argv);
});
