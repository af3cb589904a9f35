import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { cpioNewc } from '../../lib/cpio';
import { anacondaCdInstaller, debianCdInstaller, kickstartError, pxelinuxConfig, pxePreseedAppend, redactSeed, reidentifyAppend, reidentifySeed, seedPlan, targetDisk, xkbLayout } from '../../lib/seeds';
import { assertSpec, parseSpec, type VmSpecInput } from '../../lib/spec';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMZIxQoxP+xUYOvHvzx7/tMZ6tUjmEqXcVUa+4bvkaHT me@host';
const HASH = '$6$H5l.HtLUotxXodK1$pw6g7.a7sDJoiIpIZ6U0wEw8vid3zUt1z6PULR2bKXUIUEYdb0D3bH1ee56xU4dIFCkGz6Otv0.j/a7NUMUDJ/';
const base: VmSpecInput = {
  label: 'web', uuid: '123e4567-e89b-42d3-a456-426614174000', mac: '52:54:00:12:34:56', arch: 'x86_64', accelerator: 'QEMU',
  qemu: 'qemu-system-x86_64', smp: 1, memsize: 512, nic: 'virtio-net-pci', bootmode: 'VHDD', console: 'VNC', disk: 'web.qcow2',
};
const plan = (extra: Partial<VmSpecInput>) => seedPlan({ spec: assertSpec({ ...base, ...extra }), passwordHash: (extra.passwordHash as string) ?? '' })!;

test('cloud-init: hostname = label, the user with key and hash, the MAC-matched static network, a cidata volume', () => {
  const p = plan({ unattended: 'cloud-init', vmUser: 'alice', sshKey: KEY, passwordHash: HASH, ip: '10.0.2.15', netmask: '255.255.255.0', gateway: '10.0.2.2', kbdLayout: 'de' });
  assert.equal(p.spec.seedImage, 'web.seed.iso');
  assert.deepEqual(p.plan.volume, { file: 'web.seed.iso', label: 'cidata' });
  const [user, meta, net] = p.plan.files;
  assert.deepEqual(p.plan.files.map((f) => f.as), ['user-data', 'meta-data', 'network-config']);
  assert.ok(user.text.startsWith('#cloud-config\n'));
  const ud = JSON.parse(user.text.slice('#cloud-config\n'.length));
  assert.equal(ud.hostname, 'web');
  assert.deepEqual(ud.users[0].ssh_authorized_keys, [KEY]);
  assert.equal(ud.users[0].passwd, HASH);
  assert.deepEqual(ud.keyboard, { layout: 'de' });
  assert.deepEqual(JSON.parse(meta.text), { 'instance-id': 'vmdeck-123e4567-e89b-42d3-a456-426614174000', 'local-hostname': 'web' });
  assert.deepEqual(JSON.parse(net.text).ethernets.eth0, {
    match: { macaddress: '52:54:00:12:34:56' }, 'set-name': 'eth0', addresses: ['10.0.2.15/24'],
    routes: [{ to: '0.0.0.0/0', via: '10.0.2.2' }], nameservers: { addresses: ['10.0.2.2'] },
  });
  assert.equal(redactSeed(user.text, HASH).includes(HASH), false);
});

test('preseed: a KERNEL install boots a copy of the initrd with the preseed and auto=true priority=critical', () => {
  const p = plan({ unattended: 'preseed', bootmode: 'KERNEL', kernel: '/k/linux', initrd: '/k/initrd.gz', append: 'console=ttyS0', sshKey: KEY, timezone: 'Europe/Berlin' });
  assert.equal(p.spec.initrd, 'web.seed.initrd');
  assert.equal(p.spec.append, 'console=ttyS0 auto=true priority=critical');
  assert.deepEqual(p.plan.initrd, { base: '/k/initrd.gz', file: 'web.seed.initrd' });
  const text = p.plan.files[0].text;
  assert.match(text, /^d-i netcfg\/get_hostname string web$/m);
  assert.match(text, /^d-i time\/zone string Europe\/Berlin$/m);
  assert.match(text, /^d-i partman-auto\/disk string \/dev\/vda$/m);
  assert.match(text, /^d-i passwd\/user-password-crypted password !$/m);
  assert.ok(text.includes(KEY));
  // Written again (create-conf --force), the options are not doubled.
  const again = seedPlan({ spec: p.spec, passwordHash: '' })!;
  assert.equal(again.spec.append, 'console=ttyS0 auto=true priority=critical');
  assert.equal(parseSpec({ ...base, unattended: 'preseed', bootmode: 'KERNEL', kernel: '/k/linux' }).ok, false);
});

test('preseed: a PXE install on user networking gets a tree of its own that serves the preseed, with its pxelinux.cfg', () => {
  const p = plan({ unattended: 'preseed', bootmode: 'PXE', pxeRoot: '/srv/netboot', append: 'console=ttyS0' });
  assert.equal(p.spec.pxeRoot, 'web.seed.pxe');
  assert.equal(p.spec.append, 'console=ttyS0', 'the installer\'s options are in the tree\'s pxelinux.cfg, not in APPEND');
  assert.deepEqual(p.plan.pxe, { label: 'web', root: '/srv/netboot', dir: 'web.seed.pxe', append: 'auto=true priority=critical url=tftp://10.0.2.2/preseed.cfg hostname=web console=ttyS0' });
  assert.deepEqual(p.plan.files.map((f) => f.file), ['web.seed.preseed.cfg']);
  assert.equal(p.plan.initrd, undefined);
  assert.equal(pxelinuxConfig('web', 'debian-installer/amd64/linux', 'debian-installer/amd64/initrd.gz', p.plan.pxe!.append).split('\n').slice(2).join('\n'),
    'default vmdeck-preseed\nprompt 0\ntimeout 0\nlabel vmdeck-preseed\n\tkernel debian-installer/amd64/linux\n'
    + '\tappend initrd=debian-installer/amd64/initrd.gz auto=true priority=critical url=tftp://10.0.2.2/preseed.cfg hostname=web console=ttyS0\n');
  // Install mode PXE too; not on a VDE switch (its boot server's tree is the switch's), and only through pxelinux.0.
  assert.equal(plan({ unattended: 'preseed', instmode: 'PXE', pxeRoot: '/srv/netboot' }).plan.pxe?.dir, 'web.seed.pxe');
  const other = parseSpec({ ...base, unattended: 'preseed', bootmode: 'PXE', pxeRoot: '/srv/netboot', pxeBootFile: 'grubx64.efi' });
  assert.deepEqual(other.ok ? null : [other.field, other.error], ['pxeBootFile', "pxeBootFile: is 'grubx64.efi': a preseed served by the PXE tree boots through pxelinux.0 at the tree's top"]);
});

test('preseed: a CD install boots the CD\'s installer by kernel (taken off the ISO), the preseed in its initrd, the ISO kept in the drive', () => {
  const p = plan({ unattended: 'preseed', bootmode: 'CD', instSrcCdrom: '/media/debian-12-netinst.iso', append: 'console=ttyS0' });
  assert.deepEqual(p.plan.cdrom, { iso: '/media/debian-12-netinst.iso', installer: debianCdInstaller('x86_64'), kernel: 'web.seed.vmlinuz', initrd: 'web.seed.initrd' });
  assert.deepEqual(debianCdInstaller('x86_64').paths, [
    { kernel: '/install.amd/vmlinuz', initrd: '/install.amd/initrd.gz' },
    { kernel: '/install/vmlinuz', initrd: '/install/initrd.gz' },
  ]);
  assert.equal(debianCdInstaller('i386').paths[0].kernel, '/install.386/vmlinuz');
  assert.equal(debianCdInstaller('aarch64').paths[0].kernel, '/install.a64/vmlinuz');
  assert.equal(p.plan.initrd, undefined);
  assert.deepEqual([p.spec.bootmode, p.spec.instmode, p.spec.kernel, p.spec.initrd, p.spec.instSrcCdrom],
    ['KERNEL', 'CD', 'web.seed.vmlinuz', 'web.seed.initrd', '/media/debian-12-netinst.iso']);
  assert.equal(p.spec.append, 'console=ttyS0 auto=true priority=critical hostname=web');
  // Install mode CD: the VM boots its disk, and its install (--instmode) the CD's installer by kernel.
  const inst = plan({ unattended: 'preseed', bootmode: 'VHDD', instmode: 'CD', instSrcCdrom: 'netinst.iso' });
  assert.deepEqual([inst.spec.bootmode, inst.spec.instmode, inst.plan.cdrom?.iso], ['VHDD', 'KERNEL', 'netinst.iso']);
  // No ISO (install mode CD is the default): the preseed file only, as before.
  assert.deepEqual(Object.keys(plan({ unattended: 'preseed' }).plan), ['kind', 'files']);
  // A kernel the user gives is the install: the CD is not read.
  assert.equal(plan({ unattended: 'preseed', bootmode: 'KERNEL', kernel: '/k/linux', initrd: '/k/initrd.gz', instSrcCdrom: '/m/x.iso' }).plan.cdrom, undefined);
});

test('kickstart: an OEMDRV volume; the file passes the check of the commands it uses, and a bad one does not', () => {
  const p = plan({ unattended: 'kickstart', sshKey: KEY, passwordHash: HASH, diskIf: 'ide' });
  assert.deepEqual(p.plan.volume, { file: 'web.seed.iso', label: 'OEMDRV' });
  const ks = p.plan.files[0].text;
  assert.equal(kickstartError(ks), null);
  assert.match(ks, /^network --bootproto=dhcp --device=52:54:00:12:34:56 --hostname=web --activate$/m);
  assert.match(ks, /^ignoredisk --only-use=sda$/m);
  assert.equal(kickstartError(ks.replace('autopart', 'autopart --frobnicate')), "line 13: 'autopart' has no option --frobnicate");
  assert.equal(kickstartError(ks.replace('zerombr', 'zeroMBR')), "line 11: unknown kickstart command 'zeroMBR'");
  assert.equal(kickstartError(ks.replace('%end', '')), '%packages is not closed with %end');
  assert.equal(kickstartError('text\n'), "the 'lang' command is missing (an unattended install needs it)");
});

test('kickstart: a CD install boots Anaconda by kernel off the ISO with /ks.cfg in its initrd (inst.ks=file:/ks.cfg); no OEMDRV volume then', () => {
  const p = plan({ unattended: 'kickstart', bootmode: 'DVD', instSrcCdrom: '/media/Rocky-9-x86_64-dvd.iso', append: 'console=ttyS0', sshKey: KEY });
  assert.deepEqual(p.plan.cdrom, { iso: '/media/Rocky-9-x86_64-dvd.iso', installer: anacondaCdInstaller(), kernel: 'web.seed.vmlinuz', initrd: 'web.seed.initrd' });
  assert.deepEqual(anacondaCdInstaller().paths, [
    { kernel: '/images/pxeboot/vmlinuz', initrd: '/images/pxeboot/initrd.img' },
    { kernel: '/isolinux/vmlinuz', initrd: '/isolinux/initrd.img' },
  ]);
  assert.deepEqual([p.spec.bootmode, p.spec.kernel, p.spec.initrd, p.spec.seedImage, p.plan.volume], ['KERNEL', 'web.seed.vmlinuz', 'web.seed.initrd', '', undefined]);
  assert.equal(p.spec.append, 'console=ttyS0 inst.ks=file:/ks.cfg inst.repo=cdrom');
  assert.deepEqual(p.plan.files.map((f) => [f.file, f.as]), [['web.seed.ks.cfg', 'ks.cfg']]);
  assert.equal(kickstartError(p.plan.files[0].text), null);
  // Booted from the CD as it is (no CD install: VHDD with install mode PXE), the OEMDRV volume as before.
  assert.equal(plan({ unattended: 'kickstart', instmode: 'PXE', instSrcCdrom: '/m/x.iso' }).plan.volume?.label, 'OEMDRV');
});

test('seed values refused in one line naming the field', () => {
  const bad = (extra: Partial<VmSpecInput>) => { const r = parseSpec({ ...base, ...extra }); return r.ok ? 'ok' : r.error; };
  assert.equal(bad({ sshKey: 'ssh-rsa not base64!' }), "sshKey: 'ssh-rsa not base64!' is not an OpenSSH public key (one line like ssh-ed25519 AAAA… comment, no quotes)");
  assert.match(bad({ sshKey: `${KEY}'; rm -rf /` }), /^sshKey: /);
  assert.match(bad({ passwordHash: 'secret' }), /^passwordHash: is not a crypt\(3\) password hash/);
  assert.match(bad({ vmUser: 'Root User' }), /^vmUser: /);
  assert.match(bad({ timezone: 'Europe/../etc' }), /^timezone: /);
  // Shaped like a zone, but none of the IANA database: the guest would fall back to UTC unasked.
  assert.equal(bad({ timezone: 'Mars/Base' }), "timezone: 'Mars/Base' is no time zone of the IANA database (like Europe/Berlin or Etc/UTC)");
  // The engine takes any case, the guest's tzdata (cloud-init, d-i, anaconda) only its own.
  assert.equal(bad({ timezone: 'europe/berlin' }), "timezone: 'europe/berlin' is spelled Europe/Berlin (the guest's zone names are case-sensitive)");
  assert.equal(bad({ timezone: 'Europe/berlin' }), "timezone: 'Europe/berlin' is spelled Europe/Berlin (the guest's zone names are case-sensitive)");
  assert.match(bad({ timezone: 'etc/utc' }), /^timezone: 'etc\/utc' is no time zone of the IANA database: each part of a zone name starts with a capital/);
  assert.equal(bad({ timezone: 'US/Pacific' }), 'ok', 'an alias of the database is a zone');
  assert.equal(bad({ timezone: 'Etc/UTC' }), 'ok');
  for (const timezone of ['Etc/UTC', 'America/Argentina/Buenos_Aires', 'US/Pacific', 'Etc/GMT+5']) assert.equal(bad({ timezone }), 'ok', timezone);
  assert.match(bad({ unattended: 'floppy' as never }), /^unattended: 'floppy' is not an unattended install/);
  assert.match(bad({ mirror: 'ftp://x' }), /^mirror: /);
});

test('helpers: target disk by interface, X layouts, newc cpio', () => {
  assert.equal(targetDisk({ diskIf: 'virtio', targetDisk: '' }), '/dev/vda');
  assert.equal(targetDisk({ diskIf: 'scsi', targetDisk: '' }), '/dev/sda');
  assert.equal(targetDisk({ diskIf: 'virtio', targetDisk: '/dev/sdb' }), '/dev/sdb');
  assert.deepEqual(['en-us', 'en-gb', 'de', 'de-ch', ''].map(xkbLayout), ['us', 'gb', 'de', 'ch', 'us']);
  const a = cpioNewc([{ name: 'preseed.cfg', data: Buffer.from('hello\n') }]);
  assert.equal(a.length % 4, 0);
  assert.equal(a.subarray(0, 6).toString(), '070701');
  assert.ok(a.includes(Buffer.from('preseed.cfg\0')) && a.includes(Buffer.from('TRAILER!!!\0')));
  assert.equal(gunzipSync(gzipSync(a)).length, a.length);
});

test('a clone\'s seeds: what names the source becomes the clone\'s, nothing else; a seed out of its form is left as it is', () => {
  const from = { label: 'web', uuid: base.uuid as string, macs: ['52:54:00:12:34:56'] };
  const to = { label: 'web2', uuid: '00000000-0000-4000-8000-000000000002', macs: ['52:54:00:ab:cd:ef'] };
  const same = (kind: 'cloud-init' | 'preseed' | 'kickstart', extra: Partial<VmSpecInput> = {}) => {
    const mine = plan({ unattended: kind, sshKey: KEY, passwordHash: HASH, ip: '10.0.2.15', gateway: '10.0.2.2', ...extra }).plan.files;
    const theirs = seedPlan({ spec: assertSpec({ ...base, label: 'web2', uuid: to.uuid, mac: to.macs[0], disk: 'web.qcow2', unattended: kind, sshKey: KEY, ip: '10.0.2.15', gateway: '10.0.2.2', ...extra }), passwordHash: HASH })!.plan.files;
    for (const [i, f] of mine.entries()) assert.equal(reidentifySeed(f.as, f.text, from, to), theirs[i].text, `${kind} ${f.as}: as create writes it for the clone`);
  };
  same('cloud-init');
  same('preseed');
  same('kickstart');
  // A label that is a prefix of another word, a MAC of no NIC of the source: untouched.
  assert.equal(reidentifySeed('preseed.cfg', 'd-i netcfg/hostname string webserver\n', from, to), 'd-i netcfg/hostname string webserver\n');
  assert.equal(reidentifySeed('network-config', '{"ethernets":{"e":{"match":{"macaddress":"52:54:00:00:00:01"}}}}', from, to),
    '{\n  "ethernets": {\n    "e": {\n      "match": {\n        "macaddress": "52:54:00:00:00:01"\n      }\n    }\n  }\n}\n');
  assert.equal(reidentifySeed('meta-data', 'instance-id: web\n', from, to), 'instance-id: web\n', 'YAML a user wrote: as it is');
  assert.equal(reidentifyAppend('console=ttyS0 hostname=web hostname=webx', 'web', 'web2'), 'console=ttyS0 hostname=web2 hostname=webx');
});

test("a preseeded installer talks on the serial line when the VM's console has no screen (NONE, CLI, CLI0), unless APPEND names a console", () => {
  assert.equal(pxePreseedAppend({ label: 'p', append: '', console: 'NONE' }), 'auto=true priority=critical url=tftp://10.0.2.2/preseed.cfg hostname=p console=ttyS0,115200');
  assert.equal(pxePreseedAppend({ label: 'p', append: '', console: 'VNC' }), 'auto=true priority=critical url=tftp://10.0.2.2/preseed.cfg hostname=p');
  assert.equal(pxePreseedAppend({ label: 'p', append: 'console=tty0', console: 'CLI' }), 'auto=true priority=critical url=tftp://10.0.2.2/preseed.cfg hostname=p console=tty0');
  // The Arm virt board's serial line is a PL011 (ttyAMA0); another board's is left to its device tree.
  assert.equal(pxePreseedAppend({ label: 'p', append: '', console: 'NONE', arch: 'aarch64' }), 'auto=true priority=critical url=tftp://10.0.2.2/preseed.cfg hostname=p console=ttyAMA0,115200');
  assert.equal(pxePreseedAppend({ label: 'p', append: '', console: 'NONE', arch: 'riscv64' }), 'auto=true priority=critical url=tftp://10.0.2.2/preseed.cfg hostname=p');
});
