// Start on host boot, the pure half: where the unit goes for root and for a
// user, its text as systemd reads it back, and the order VMs start in.
import assert from 'node:assert/strict';
import test from 'node:test';
import { autostartOf, bootOrder, renderUnit, systemdWord, unitPlace } from '../../lib/autostart';
import { checkChange } from '../../lib/settings';

test('root gets a system unit, any other user a user unit under XDG_CONFIG_HOME, a tree its own /etc', () => {
  assert.deepEqual(unitPlace({ uid: 0, home: '/root' }), { scope: 'system', dir: '/etc/systemd/system', wantedBy: 'multi-user.target' });
  assert.deepEqual(unitPlace({ uid: 1000, home: '/home/ann' }), { scope: 'user', dir: '/home/ann/.config/systemd/user', wantedBy: 'default.target' });
  assert.equal(unitPlace({ uid: 1000, home: '/home/ann', xdgConfigHome: '/cfg' }).dir, '/cfg/systemd/user');
  assert.deepEqual(unitPlace({ uid: 1000, home: '/h', systemdRoot: '/img/' }), { scope: 'system', dir: '/img/etc/systemd/system', root: '/img/', wantedBy: 'multi-user.target' });
});

test('a unit word is one quoted word: quotes and backslashes escaped, % and (in ExecStart) $ doubled, a line break refused', () => {
  assert.equal(systemdWord('/usr/bin/node', 'exec'), '"/usr/bin/node"');
  assert.equal(systemdWord('/a b/"x"\\%i$HOME', 'exec'), '"/a b/\\"x\\"\\\\%%i$$HOME"');
  assert.equal(systemdWord('VMDECK_HOME=/a $b %h', 'environment'), '"VMDECK_HOME=/a $b %%h"');
  assert.throws(() => systemdWord('/a\nExecStart=/bin/evil', 'exec'), /line break/);
});

test('the unit: a oneshot that leaves its VMs running, the environment that finds them, the boot run as its command', () => {
  const system = renderUnit({ scope: 'system', wantedBy: 'multi-user.target', command: ['/usr/bin/node', '/opt/vm deck/bin/vmdeck.js'], environment: { VMDECK_HOME: '/srv/vmdeck' } });
  assert.match(system, /^Type=oneshot$/m);
  assert.match(system, /^RemainAfterExit=yes$/m);
  assert.match(system, /^KillMode=process$/m);
  assert.match(system, /^After=network-online.target local-fs.target$/m);
  assert.match(system, /^Environment="VMDECK_HOME=\/srv\/vmdeck"$/m);
  assert.match(system, /^ExecStart="\/usr\/bin\/node" "\/opt\/vm deck\/bin\/vmdeck.js" autostart --boot$/m);
  assert.match(system, /^ExecStop="\/usr\/bin\/node" "\/opt\/vm deck\/bin\/vmdeck.js" autostart --shutdown$/m);
  assert.match(system, /^TimeoutStopSec=infinity$/m);
  assert.match(system, /^WantedBy=multi-user.target$/m);
  const user = renderUnit({ scope: 'user', wantedBy: 'default.target', command: ['/n', '/v'], environment: {} });
  assert.doesNotMatch(user, /network-online/);
  assert.match(user, /^WantedBy=default.target$/m);
});

test('boot order: by AUTOSTART_ORDER, those without one last, then by label', () => {
  const vms = [{ label: 'c', order: null }, { label: 'b', order: 2 }, { label: 'a', order: null }, { label: 'z', order: 1 }, { label: 'y', order: 2 }];
  assert.deepEqual(bootOrder(vms).map((v) => v.label), ['z', 'b', 'y', 'a', 'c']);
});

test('a config\'s autostart settings; AUTOSTART is changed by vmdeck autostart only', () => {
  assert.deepEqual(autostartOf({}), { enabled: false, order: null, delay: 0 });
  assert.deepEqual(autostartOf({ AUTOSTART: 'on', AUTOSTART_ORDER: '3', AUTOSTART_DELAY: '10' }), { enabled: true, order: 3, delay: 10 });
  assert.deepEqual(autostartOf({ AUTOSTART: 'off', AUTOSTART_ORDER: '', AUTOSTART_DELAY: 'soon' }), { enabled: false, order: null, delay: 0 });
  const r = checkChange('AUTOSTART', 'on');
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.error : '', /^autostart: is changed with vmdeck autostart L on\|off/);
});
