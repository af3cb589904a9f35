import assert from 'node:assert/strict';
import test from 'node:test';
import {
  ifaceNameError, labelFromQemuArgv, parseHashTable, parseMgmtReply, parsePortTable, switchNameError,
} from '../../lib/net';
import { BUILTIN_TEMPLATES } from '../../lib/templates';

// What vde_switch 2.3.2 answers on its management socket.
const ALLPRINT = `vde$ 0000 DATA END WITH '.'
Port 0001 untagged_vlan=0000 ACTIVE - Unnamed Allocatable
 Current User: root Access Control: (User: NONE - Group: NONE)
 IN:  pkts          3          bytes                  182
 OUT: pkts          2          bytes                  140
  -- endpoint ID 0003 module unix prog   : QEMU user=root pid=9976
Port 0002 untagged_vlan=0000 ACTIVE - Unnamed Allocatable
 Current User: NONE Access Control: (User: NONE - Group: NONE)
 IN:  pkts          0          bytes                    0
 OUT: pkts          0          bytes                    0
  -- endpoint ID 0006 module tuntap      : vdtap0
Port 0003 untagged_vlan=0000 ACTIVE - Unnamed Allocatable
 Current User: root Access Control: (User: NONE - Group: NONE)
 IN:  pkts          0          bytes                    0
 OUT: pkts          0          bytes                    0
  -- endpoint ID 0007 module unix prog   : vdeplug: user=root pid=10011
.
1000 Success

vde$ `;

test('a management answer is read up to its status line, with its data lines', () => {
  const r = parseMgmtReply(ALLPRINT);
  assert.ok(r);
  assert.equal(r.code, 1000);
  assert.equal(r.message, 'Success');
  assert.equal(r.data.length, 15);
  assert.equal(r.data[0], 'Port 0001 untagged_vlan=0000 ACTIVE - Unnamed Allocatable');
});

test('an incomplete answer is not an answer yet; a failure keeps its code', () => {
  assert.equal(parseMgmtReply("0000 DATA END WITH '.'\nPort 0001 untagged"), null);
  assert.deepEqual(parseMgmtReply('1038 Function not implemented\n\nvde$ '), { code: 1038, message: 'Function not implemented', data: [] });
});

test('port/allprint gives each endpoint with its port, module, client and pid', () => {
  const ports = parsePortTable(parseMgmtReply(ALLPRINT)!.data);
  assert.deepEqual(ports, [
    { port: 1, endpoint: 3, module: 'unix', descr: 'QEMU', user: 'root', pid: 9976 },
    { port: 2, endpoint: 6, module: 'tuntap', descr: 'vdtap0', user: null, pid: null },
    { port: 3, endpoint: 7, module: 'unix', descr: 'vdeplug:', user: 'root', pid: 10011 },
  ]);
});

test('hash/print gives the MACs learned on each port', () => {
  const byPort = parseHashTable([
    'Hash: 0041 Addr: 52:54:00:22:86:dc VLAN 0000 to port: 001  age 1 secs',
    'Hash: 0073 Addr: 52:54:00:08:FE:37 VLAN 0000 to port: 002  age 1 secs',
  ]);
  assert.deepEqual([...byPort], [[1, ['52:54:00:22:86:dc']], [2, ['52:54:00:08:fe:37']]]);
});

test('switch names that could escape the net directory or a command are refused, in one line', () => {
  for (const name of ['lan', 'lab-1', 'A_2', 'x'.repeat(32)]) assert.equal(switchNameError(name), null, name);
  for (const name of ['', 'a b', '../x', 'a/b', '-x', '.hidden', 'lan.mgmt', '$(id)', 'x'.repeat(33)]) {
    const err = switchNameError(name);
    assert.ok(err, name);
    assert.match(err, /^name: '.*' is not a switch name/);
    assert.doesNotMatch(err, /\n/);
  }
  assert.equal(ifaceNameError('tap', 'vdtap0'), null);
  assert.match(ifaceNameError('bridge', 'waytoolongname12345')!, /^bridge: 'waytoolongname12345' is not a network interface name/);
  assert.match(ifaceNameError('tap', 'a/b')!, /^tap: /);
});

test("a QEMU process's label comes from its -name guest=LABEL", () => {
  assert.equal(labelFromQemuArgv(['qemu-system-x86_64', '-name', 'guest=vm1,process=vmdeck-vm1', '-m', '256']), 'vm1');
  assert.equal(labelFromQemuArgv(['qemu-system-x86_64', '-name', 'old-ctys-vm']), 'old-ctys-vm');
  assert.equal(labelFromQemuArgv(['qemu-system-x86_64', '-m', '256']), null);
});

test("each template's NIC is the first of the NIC models it offers", () => {
  for (const t of BUILTIN_TEMPLATES) {
    assert.ok(t.nicModels?.length, `${t.id} lists its NIC models`);
    assert.equal(t.defaults.nic, t.nicModels[0], t.id);
  }
});
