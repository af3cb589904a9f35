// ENUMERATE of ctys-made VMs, field by field against what ctys's own
// ENUMERATE (plugins/VMs/QEMU/enumerate.sh with CORE/CONFIG's getters)
// reports for the same files. The expected values are ctys's: where vmdeck
// differs on purpose, the test says so and docs/CTYS.md explains why.
// Nothing here runs a ctys wrapper: each fixture's stand-in leaves
// WRAPPER-RAN when run, and none may exist at the end.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CTYS_RECORD_FIELDS } from '../../lib/ctys-record';
import type { VmInfo, VmInterface } from '../../lib/vm';
import { enumerate, filterVmstate } from '../../server/store';
import { vmdeck } from '../helpers/cli';
import { writeCtysVm, type CtysVm } from '../helpers/ctys';
import { sandbox, type Sandbox } from '../helpers/guest';

let sb: Sandbox;
let base: string;
const made: CtysVm[] = [];

/** One interface as ctys's getIFlst assembles it: MAC=ip%netmask%relay%ifname%sshport%gateway. */
const iface = (index: number, mac: string, ip: string, netmask = '', relay = '', ifname = String(index), sshport = '', gateway = ''): VmInterface =>
  ({ index, mac, ip, netmask, relay, ifname, sshport, gateway });

/** What ctys's ENUMERATE reports for each fixture (its fields under vmdeck's names). */
const CTYS: Record<string, Partial<VmInfo>> = {
  // A VM as createConfVM writes it, the extended IP syntax filled in.
  web1: {
    uuid: '2c6c7b1e4c1a11df8bd30050561311a1', dist: 'debian', distrel: '5.0', os: 'Linux', osrel: '2.6.26', arch: 'x86_64',
    vmstate: 'ACTIVE', console: 'VNC',
    interfaces: [iface(0, '00:50:56:13:11:a1', '172.20.6.11', '255.255.0.0', '', 'eth0', '22', '172.20.0.1')],
  },
  // Bash logic in the config, and a LABEL variable the user changed: ctys goes by the marker.
  logic1: {
    arch: 'x86_64', vmstate: 'ACTIVE', console: 'SDL', interfaces: [iface(0, '00:50:56:13:11:b1', '172.20.6.12')],
  },
  // A second interface added by hand, single-quoted markers, two addresses on it.
  twonic: {
    vmstate: 'ACTIVE',
    interfaces: [
      iface(0, '00:50:56:13:11:c1', '172.20.6.13', '255.255.0.0', '', '0', '', ''),
      iface(1, '00:50:56:13:11:c2', '10.0.0.5', '255.0.0.0', 'br0', 'eth1', '2222', '10.0.0.1'),
      iface(1, '00:50:56:13:11:c2', '10.0.0.6', '', '', '1', '', ''),
    ],
  },
  // ARM integratorcp booting its kernel and initrd.
  board1: {
    arch: 'arm', dist: 'debian', distrel: '6.0', vmstate: 'ACTIVE', console: 'VNC',
    interfaces: [iface(0, '00:50:56:13:11:d1', '172.20.6.14', '255.255.0.0', '', 'eth0', '', '')],
  },
  // ColdFire on its serial line (CLI0), no NIC.
  cf1: { arch: 'm68k', vmstate: 'ACTIVE', console: 'CLI0', interfaces: [] },
  // Seven levels below the base.
  deep1: { vmstate: 'ACTIVE', interfaces: [iface(0, '00:50:56:13:11:f1', '172.20.6.16')] },
  // A backup copy: enumerated, shown only when asked for (MATCHVSTAT:BACKUP).
  bak1: { vmstate: 'BACKUP', interfaces: [iface(0, '00:50:56:13:11:a1', '172.20.6.11')] },
};

before(() => {
  sb = sandbox('ctysenum');
  sb.enter();
  base = join(sb.home, 'ctys-vms');
  made.push(writeCtysVm(base, 'tst/web1', {
    LABEL: 'web1', UUID: '2c6c7b1e4c1a11df8bd30050561311a1', MAC: '00:50:56:13:11:a1', IP: '172.20.6.11%255.255.0.0%%eth0%22%172.20.0.1',
    DIST: 'debian', RELEASE: '5.0', OS_: 'Linux', OSREL: '2.6.26',
  }));
  made.push(writeCtysVm(base, 'tst/logic1', {
    LABEL: 'logic1', MAC: '00:50:56:13:11:b1', IP: '172.20.6.12', DEFAULTCONSOLE: 'SDL', MEMSIZE: '',
  }, [
    'MEMSIZE=$((128*3))',
    'if [ "$MYDIST" == debian ] || [ -n "$CTYSWRAPPERPATH" ]; then SMP=2; fi',
    'LABEL="renamed-by-hand"',
  ].join('\n')));
  made.push(writeCtysVm(base, 'net/twonic', { LABEL: 'twonic', MAC: '00:50:56:13:11:c1', IP: '172.20.6.13%255.255.0.0' }, [
    "#@#MAC1                      = '00:50:56:13:11:c2'",
    "#@#IP1                       = '10.0.0.5%255.0.0.0%br0%eth1%2222%10.0.0.1,10.0.0.6'",
    'MAC1=00:50:56:13:11:c2',
  ].join('\n')));
  made.push(writeCtysVm(base, 'arm/board1', {
    LABEL: 'board1', ARCH: 'arm', DEFAULTSTARTERCALL: 'qemu-system-arm', MAC: '00:50:56:13:11:d1', IP: '172.20.6.14%255.255.0.0%%eth0',
    DIST: 'debian', RELEASE: '6.0', MEMSIZE: '128',
  }, [
    'CPU=arm926',
    'ARGSADD="-M integratorcp"',
    'KERNELIMAGE=${CTYSWRAPPERPATH}/zImage',
    'INITRDIMAGE=${CTYSWRAPPERPATH}/initrd.img',
    'NIC=smc91c111',
  ].join('\n')));
  made.push(writeCtysVm(base, 'm68k/cf1', {
    LABEL: 'cf1', ARCH: 'm68k', DEFAULTSTARTERCALL: 'qemu-system-m68k', DEFAULTCONSOLE: 'CLI0', MEMSIZE: '64', HDD_A: '',
  }, ['CPU=m5208', 'KERNELIMAGE=${CTYSWRAPPERPATH}/vmlinux', 'NIC=', 'HDDBOOTIMAGE='].join('\n')));
  made.push(writeCtysVm(base, 'a/b/c/d/e/f/deep1', { LABEL: 'deep1', MAC: '00:50:56:13:11:f1', IP: '172.20.6.16' }));
  // createConfVM leaves a VM it was not told to make ACTIVE as MAGICID-IGNORE.
  made.push(writeCtysVm(base, 'tst/off1', { LABEL: 'off1', VMSTATE: 'DISABLED', MAC: '00:50:56:13:11:e1' }));
  made.push(writeCtysVm(base, 'backup/bak1', { LABEL: 'bak1', VMSTATE: 'BACKUP', MAC: '00:50:56:13:11:a1', IP: '172.20.6.11' }, '', { activate: true }));
});
after(() => sb.cleanup());

test('ENUMERATE reads every field of ctys-made configs as ctys does', async () => {
  const all = await enumerate([base]);
  const byLabel = new Map(all.map((v) => [v.label, v]));
  assert.deepEqual([...byLabel.keys()].sort(), ['bak1', 'board1', 'cf1', 'deep1', 'logic1', 'twonic', 'web1'],
    'off1 is MAGICID-IGNORE; deep1 is found 7 levels down');
  for (const [label, expected] of Object.entries(CTYS)) {
    const vm = byLabel.get(label)!;
    for (const [field, value] of Object.entries(expected)) {
      assert.deepEqual(vm[field as keyof VmInfo], value, `${label}.${field}`);
    }
    // The first-interface fields stay for what shows one address.
    assert.equal(vm.mac, vm.interfaces[0]?.mac ?? '', `${label}.mac`);
    assert.equal(vm.ip, vm.interfaces[0]?.ip ?? '', `${label}.ip`);
    assert.equal(vm.source, 'ctys');
  }
  // The disk: ${CTYSWRAPPERPATH}/hda.img, the VM's directory as ctys's wrapper sets it.
  assert.equal(byLabel.get('web1')!.disk, join(base, 'tst/web1/hda.img'));
  assert.equal(byLabel.get('cf1')!.disk, '', 'cf1 has no disk');
  // Bash logic is evaluated: ctys's VRAM/VCPU are 128 and 1 for every QEMU VM
  // (its sed finds no -m/-smp in a .ctys); vmdeck reports what QEMU gets.
  const logic = byLabel.get('logic1')!;
  assert.equal(logic.memsize, 384);
  assert.equal(logic.smp, 2);
  assert.equal(logic.dynamic, true);
  // The one label rule: the #@#LABEL marker, as ctys (the variable says renamed-by-hand).
  assert.ok(!byLabel.has('renamed-by-hand'));
  for (const vm of made) assert.equal(existsSync(vm.ranMarker), false, `${vm.wrapper} was run`);
});

test('VMSTATE filters as ctys MATCHVSTAT, by default ACTIVE, DISABLED and none', async () => {
  const all = await enumerate([base]);
  assert.deepEqual(filterVmstate(all).map((v) => v.label).sort(), ['board1', 'cf1', 'deep1', 'logic1', 'twonic', 'web1']);
  assert.deepEqual(filterVmstate(all, 'BACKUP').map((v) => v.label), ['bak1']);
  assert.equal(filterVmstate(all, 'all').length, 7);
  assert.throws(() => filterVmstate(all, 'SPARE'), /vmstate: 'SPARE' is not one of/);
  assert.deepEqual(filterVmstate(all, 'CUSTOM%SPARE'), []);

  const shown = await vmdeck(['enumerate', '--base', base], sb.env);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^LABEL +STATE +VMSTATE/);
  assert.match(shown.stdout, /\nweb1 +stopped +ACTIVE /);
  assert.doesNotMatch(shown.stdout, /bak1/);
  const backups = await vmdeck(['enumerate', '--json', '--base', base, '--vmstate=backup'], sb.env);
  assert.deepEqual(JSON.parse(backups.stdout).map((v: VmInfo) => v.label), ['bak1']);
  const bad = await vmdeck(['enumerate', '--base', base, '--vmstate=SPARE'], sb.env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^vmdeck enumerate: vmstate: 'SPARE' is not one of ACTIVE, DISABLED/);
  for (const vm of made) assert.equal(existsSync(vm.ranMarker), false, `${vm.wrapper} was run`);
});

test("enumerate --ctys prints ctys's machine records, field by field as ctys's ENUMERATE", async () => {
  const r = await vmdeck(['enumerate', '--ctys', '--title', '--base', base], sb.env);
  assert.equal(r.code, 0, r.stderr);
  const [title, ...lines] = r.stdout.trimEnd().split('\n');
  assert.equal(title, CTYS_RECORD_FIELDS.join(';'));
  const records = lines.map((l) => Object.fromEntries(l.split(';').map((v, i) => [CTYS_RECORD_FIELDS[i], v])));
  for (const rec of records) assert.equal(Object.keys(rec).length, 47);
  // twonic: one record per address, as ctys's getIFlst.
  assert.deepEqual(records.filter((x) => x.Label === 'twonic').map((x) => `${x.MAC}=${x.TCP}%${x.IFname}`),
    ['00:50:56:13:11:c1=172.20.6.13%0', '00:50:56:13:11:c2=10.0.0.5%eth1', '00:50:56:13:11:c2=10.0.0.6%1']);
  const web1 = records.find((x) => x.Label === 'web1')!;
  // What ctys's enumerateMySessionsQEMU + canonize.awk print for web1.
  const ctys: Record<string, string> = {
    ContainingMachine: hostname().split('.')[0], SessionType: 'QEMU', Label: 'web1', ID: join(base, 'tst/web1/web1.ctys'),
    UUID: '2c6c7b1e4c1a11df8bd30050561311a1', MAC: '00:50:56:13:11:a1', TCP: '172.20.6.11', DISPLAY: '', ClientAccessPort: '',
    ServerAccessPort: '', VNCbasePort: '', Distro: 'debian', Distrorel: '5.0', OS: 'Linux', OSrel: '2.6.26', VersNo: '01.11.022',
    SerialNo: '20100601120000', Category: 'VM', VMstate: 'ACTIVE', hyperrel: '', StackCap: '', StackReq: '', HWCAP: '', HWREQ: '',
    ExecLocation: '', RelocationCapacity: '', SSHport: '22', netname: '', accellerator: 'QEMU', rsrv: '', IFname: 'eth0',
    CTYSRelease: '', netmask: '255.255.0.0', gateway: '172.20.0.1', relay: '', Arch: 'x86_64', Platform: '', VCPU: '1',
    ContextStg: '', UserStrg: '', UID: userInfo().username, DefHOSTs: 'VNC', DefCONSOLE: 'VNC',
  };
  for (const [k, v] of Object.entries(ctys)) assert.equal(web1[k], v, `web1 ${k}`);
  // Where vmdeck differs on purpose (docs/CTYS.md): ctys asks the binary its
  // version (hyperrelrun) and resolves its path (exepath); its VRAM is 128 for any QEMU VM.
  assert.equal(web1.hyperrelrun, '');
  assert.equal(web1.exepath, 'qemu-system-x86_64');
  assert.equal(web1.VRAM, '512');
});

test('the macmap database: create-conf fills MAC and IP by label, ENUMERATE flags a pair it disagrees with', async () => {
  // ctys's macmap.fdb (name;MAC;IP, MACs upper case as ctys stores them) and an /etc/ethers-style file.
  writeFileSync(join(sb.home, 'macmap.fdb'), [
    '# ctys-extractMAClst -n',
    'web1;00:50:56:13:11:A1;172.20.6.11',
    'printer;00:50:56:13:11:99;172.20.6.12',
    'dbvm.example.org;00:50:56:13:11:77;172.20.6.77',
  ].join('\n'));
  const ethers = join(sb.home, 'ethers');
  writeFileSync(ethers, '00:50:56:13:11:78 dbvm2\n00:50:56:13:11:78 172.20.6.78\n0:50:56:13:11:79 172.20.6.79\n');
  const env = { ...sb.env, VMDECK_MACMAP: `${join(sb.home, 'macmap.fdb')}%${ethers}` };
  process.env.VMDECK_MACMAP = env.VMDECK_MACMAP;
  try {
    const byLabel = new Map((await enumerate([base])).map((v) => [v.label, v]));
    assert.equal(byLabel.get('web1')!.warnings, undefined, 'web1 agrees with the database');
    assert.deepEqual(byLabel.get('logic1')!.warnings,
      ['macmap: IP0 172.20.6.12 has MAC 00:50:56:13:11:99 in the macmap database, but MAC0 is 00:50:56:13:11:b1']);
    // --json prints the record of a VM with warnings from its facts, not the one ENUMERATE kept (runner.ts's enumerateRecords).
    const json = await vmdeck(['enumerate', '--json', '--base', base], env);
    assert.equal(json.code, 0, json.stderr);
    const jsonByLabel = new Map((JSON.parse(json.stdout) as VmInfo[]).map((v) => [v.label, v]));
    assert.deepEqual(jsonByLabel.get('logic1')!.warnings, byLabel.get('logic1')!.warnings);
    assert.equal(jsonByLabel.get('web1')!.warnings, undefined);
    const listed = await vmdeck(['enumerate', '--base', base], env);
    assert.match(listed.stderr, /^vmdeck enumerate: warning: logic1: macmap: IP0 172\.20\.6\.12 has MAC 00:50:56:13:11:99/m);
    const records = await vmdeck(['enumerate', '--ctys', '--base', base], env);
    assert.ok(records.stdout.split('\n').some((l) => l.split(';')[2] === 'web1' && l.split(';')[27] === 'web1'), 'netname from the database');

    for (const [label, mac, ip] of [['dbvm', '00:50:56:13:11:77', '172.20.6.77'], ['dbvm2', '00:50:56:13:11:78', '172.20.6.78']]) {
      // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
      const made = await vmdeck(['create-conf', '--label', label, '--auto-all', '--no-create-image', '--json'], { ...env, ACCELERATOR: 'QEMU' });
      assert.equal(made.code, 0, made.stderr);
      const conf = readFileSync(join(sb.home, 'vms', label, `${label}.ctys`), 'utf8');
      assert.match(conf, new RegExp(`^MAC0='${mac}'$`, 'm'), label);
      assert.match(conf, new RegExp(`^IP0='${ip.replace(/\./g, '\\.')}'$`, 'm'), label);
    }
    // A MAC given: the database gives its IP only.
    // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
    const given = await vmdeck(['create-conf', '--label', 'dbvm3', '--auto-all', '--no-create-image'], { ...env, ACCELERATOR: 'QEMU', MAC: '00:50:56:13:11:79' });
    assert.equal(given.code, 0, given.stderr);
    assert.match(readFileSync(join(sb.home, 'vms', 'dbvm3', 'dbvm3.ctys'), 'utf8'), /^IP0='172\.20\.6\.79'$/m);
  } finally {
    delete process.env.VMDECK_MACMAP;
  }
});
