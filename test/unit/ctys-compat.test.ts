import assert from 'node:assert/strict';
import test from 'node:test';
import { interfacesOf, matchesVstat, parseIpEntity, parseMatchVstat, readMarkers } from '../../lib/ctys';
import { complaint } from '../../lib/wrapper/complaint';
import { ctysDeviceVars, ctysMachine, disksOf, nicsOf } from '../../lib/hardware';

test('markers read as ctys getConfValueOf: quotes of either kind dropped, tabs ignored, first wins', () => {
  const m = readMarkers([
    "#@#LABEL                     = 'quoted'",
    '\t#@#UUID\t= "abc" trailing',
    '  #@#DIST = debian',
    '#@#DIST = other',
    '#@#MAGICID-do-not-IGNORE =>ACTIVATED',
    '#@#MAGICID-QEMU',
  ].join('\n'));
  assert.equal(m.magic, 'QEMU', 'an activated config is enumerated');
  assert.deepEqual(m.values, { LABEL: 'quoted', UUID: 'abc', DIST: 'debian' });
  assert.equal(readMarkers('#@#MAGICID-QEMU\nX=1 # was #@#MAGICID-IGNORE').magic, 'IGNORE', 'anywhere in a line, as enumfilter.awk');
});

test("ctys's extended IP syntax: ip%netmask%relay%ifname%sshport%gateway, more addresses after commas", () => {
  assert.deepEqual(parseIpEntity(1, 'm', '10.0.0.5%255.0.0.0%br0%eth1%2222%10.0.0.1,10.0.0.6'), [
    { index: 1, mac: 'm', ip: '10.0.0.5', netmask: '255.0.0.0', relay: 'br0', ifname: 'eth1', sshport: '2222', gateway: '10.0.0.1' },
    { index: 1, mac: 'm', ip: '10.0.0.6', netmask: '', relay: '', ifname: '1', sshport: '', gateway: '' },
  ]);
  // Variables win over markers; #@#MAC without a number is interface 0; NETMASKn fills in.
  const ifs = interfacesOf({ MAC0: 'a', IP0: '1.2.3.4', NETMASK0: '255.0.0.0', MAC2: 'c' }, { MAC: 'x', IP1: '5.6.7.8', MAC1: 'b' });
  assert.deepEqual(ifs.map((i) => [i.index, i.mac, i.ip, i.netmask]), [[0, 'a', '1.2.3.4', '255.0.0.0'], [1, 'b', '5.6.7.8', ''], [2, 'c', '', '']]);
});

test('MATCHVSTAT values', () => {
  assert.equal(parseMatchVstat('all'), null);
  const s = parseMatchVstat('active%backup')!;
  assert.ok(matchesVstat('ACTIVE', s) && matchesVstat('BACKUP', s) && !matchesVstat('', s) && !matchesVstat('INACTIVE', s));
  assert.ok(matchesVstat('', parseMatchVstat('empty')));
  assert.ok(matchesVstat('MINE', parseMatchVstat('CUSTOM%mine')));
  assert.ok(matchesVstat('TEMPLATE', parseMatchVstat('present')) && !matchesVstat('', parseMatchVstat('present')));
  assert.throws(() => parseMatchVstat('mine'), /vmstate: 'MINE' is not one of/);
});

test("a wrapper's complaint is the line that says what is wrong, not its last", () => {
  assert.equal(complaint('ERROR:This script requires the variable CTYS_LIBPATH to be set.\nERROR:Refer to "UnifiedSessionsManager" user manual.\n'),
    'ERROR:This script requires the variable CTYS_LIBPATH to be set.');
  assert.equal(complaint("x.sh: the CD/DVD image /a.iso, in the drive when the VM was suspended, is gone: resuming with the drive empty\nx.sh: HDDBOOTIMAGE: disk image '/d' does not exist\n"),
    "x.sh: HDDBOOTIMAGE: disk image '/d' does not exist");
  assert.equal(complaint("x.sh: VM 'x' is already running (pid 7)\n"), "x.sh: VM 'x' is already running (pid 7)");
  assert.equal(complaint('\n'), null);
});

test("ctys's create=/cancel= suboption strings become vmdeck's options", async () => {
  const { parseCtysAction } = await import('../../lib/subopts');
  assert.deepEqual(parseCtysAction('create=l:web,b:/vms%/more,reuse,instmode:CD%default%VHDD%default%INIT,console:vnc'), {
    action: 'create', address: { label: 'web', base: '/vms%/more' },
    options: ['--reuse', '--instmode=CD%default%VHDD%default%INIT', '--console=VNC'],
  });
  assert.deepEqual(parseCtysAction('create=p:/vms/a/a.ctys,console:vnc:3,bootmode:CD%/x,,y.iso').options,
    ['--console=VNC', '--vncaccessdisplay=3', '--bootmode=CD%/x,y.iso']);
  assert.deepEqual(parseCtysAction('CANCEL=L:web,POWEROFF:20,FORCE'), { action: 'cancel', address: { label: 'web' }, options: ['--poweroff=20', '--force'] });
  assert.deepEqual(parseCtysAction('cancel=uuid:abc,reset').options, ['--reset']);
  assert.throws(() => parseCtysAction('cancel=l:web,reset,force'), /^Error: cancel: force goes with poweroff only/);
  assert.throws(() => parseCtysAction('create=l:web,stackcheck:on'), /^Error: create: 'stackcheck:on' is not a create suboption vmdeck knows/);
  assert.throws(() => parseCtysAction('create=reuse'), /^Error: create: no VM given/);
  assert.throws(() => parseCtysAction('create=p:rel/a.ctys'), /pname: 'rel\/a.ctys' is not an absolute path/);
});

test("ctys's enumerate= suboptions become vmdeck enumerate's options; one it does not know is named", async () => {
  const { parseCtysEnumerate } = await import('../../lib/subopts');
  assert.deepEqual(parseCtysEnumerate('enumerate=machine,title,b:/a%/b,matchvstat:active%empty'), ['--ctys', '--title', '--base=/a%/b', '--vmstate=active%empty']);
  assert.deepEqual(parseCtysEnumerate('ENUMERATE='), []);
  assert.throws(() => parseCtysEnumerate('enumerate=terse'), /^Error: 'terse' is not an enumerate= suboption vmdeck knows/);
  assert.throws(() => parseCtysEnumerate('enumerate=b:'), /'b:' is not an enumerate= suboption/);
});

test("a ctys config's devices read with ctys's meanings: the machine's buses, NIC= as none, the default switch, the probed format", () => {
  const facts = { user: 'alice', buses: null, diskFormat: 'qcow2' };
  const plain = { HDDBOOTIMAGE: 'hda.img', NIC: 'e1000' };
  const read = ctysDeviceVars(plain, facts);
  assert.deepEqual(disksOf(read).map((d) => [d.format, d.interface]), [['qcow2', 'ide']]);
  assert.deepEqual(nicsOf(read).map((n) => [n.model, n.netmode, n.vdeSwitch]), [['e1000', 'vde', '/var/tmp/vde_switch0.alice']]);
  // NIC= (set, empty) is no NIC; NIC unset is ctys's default NIC on the switch.
  assert.deepEqual(nicsOf(ctysDeviceVars({ HDDBOOTIMAGE: 'hda.img', NIC: '' }, facts)), []);
  assert.equal(nicsOf(ctysDeviceVars({ HDDBOOTIMAGE: 'hda.img' }, facts))[0].netmode, 'vde');
  // What the config says stays: its NETMODE, switch, interfaces and format.
  const said = ctysDeviceVars({ HDDBOOTIMAGE: 'hda.img', HDDBOOTIMAGE_IF: 'scsi', HDDBOOTIMAGE_FORMAT: 'raw', NETMODE: 'user', QEMUSOCK: 'sw' }, facts);
  assert.deepEqual(disksOf(said).map((d) => [d.format, d.interface]), [['raw', 'scsi']]);
  assert.deepEqual(nicsOf(said).map((n) => [n.netmode, n.vdeSwitch]), [['user', 'sw']]);
  // A board with no IDE bus, as QEMU listed it to the wrapper (ARGSADD's -M names it).
  const arm = { user: 'alice', buses: 'System main-system-bus PCI pcie.0 virtio-bus', diskFormat: null };
  const board = ctysDeviceVars({ HDDBOOTIMAGE: 'hda.img', ARGSADD: '-M virt -nographic' }, arm);
  assert.equal(ctysMachine({ ARGSADD: '-M virt -nographic' }), 'virt');
  assert.deepEqual(disksOf(board).map((d) => [d.format, d.interface]), [['raw', 'virtio']]);
  assert.equal(board.CDROM_IF, 'none');
});
