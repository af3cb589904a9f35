// VDE switches through the API with a VM on one, as the network page uses
// them: a VM shows as attached while it runs, a switch in use is not
// cancelled unless forced, and forcing detaches the VM without stopping it.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createVm } from '../../server/store';
import { demoVmEnv, guestImages, sandbox } from '../helpers/guest';
import { alive, waitFor } from '../helpers/vms';
import { api, inProcessServer, type InProcessServer } from '../helpers/server';

const sb = sandbox('srvnet');
const SWITCH = 'apilan';
const LABEL = 'vde1';
let base: string;
let srv: InProcessServer;

before(async () => {
  srv = await inProcessServer(sb, () => createVm({ label: LABEL, template: 'kernel-initrd', env: demoVmEnv(guestImages(), { NETMODE: 'vde', QEMUSOCK: SWITCH, NIC: 'virtio-net-pci' }) }));
  ({ base } = srv);
});

after(() => srv?.close());

interface Switch { name: string; state: string; pid: number | null; vms: string[]; ports: { kind: string; vm: string | null }[] }

const listed = async (): Promise<Switch[]> => (await api(base, 'GET', '/api/networks')).json;
const start = async () => {
  const r = await api(base, 'POST', `/api/vms/${LABEL}/start`, {});
  assert.equal(r.status, 200, r.text);
};
/** The switch's VMs once QEMU has plugged in (it does as it starts, or unplugs as it ends). */
async function vmsOn(name: string, want: string[]): Promise<Switch> {
  let last: Switch | undefined;
  await waitFor(`switch ${name} to have VMs [${want}]`, async () => {
    last = (await listed()).find((s) => s.name === name);
    return JSON.stringify(last?.vms) === JSON.stringify(want);
  }, 15000);
  return last!;
}

test('POST /api/networks makes a switch that the list shows; a bad name is refused under its field', async () => {
  const bad = await api(base, 'POST', '/api/networks', { name: 'no such' });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.json, {
    error: "name: 'no such' is not a switch name: use letters, digits, '_' and '-' (at most 32), starting with a letter or digit",
    field: 'name',
  });
  const r = await api(base, 'POST', '/api/networks', { name: SWITCH });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.state, 'running');
  assert.ok(alive(r.json.pid));
  assert.deepEqual(r.json.vms, []);
  const [s, ...rest] = await listed();
  assert.deepEqual(rest, []);
  assert.equal(s.name, SWITCH);
  assert.equal(s.pid, r.json.pid);
});

test('through the API a bridge of the host\'s own is joined only when VMDECK_API_BRIDGES names it: refused before anything is made', { skip: process.getuid?.() === 0 ? false : 'a TAP device needs root' }, async () => {
  // 'lo' stands for the host's LAN bridge: an interface that is there before the switch.
  const r = await api(base, 'POST', '/api/networks', { name: 'lanjoin', tap: 'vdtapjoin0', bridge: 'lo' });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.field, 'bridge');
  assert.equal(r.json.error, "bridge: 'lo' is a bridge of this host's (it puts the switch's VMs on its network): the dashboard joins one only when VMDECK_API_BRIDGES names it; or use vmdeck net create lanjoin --tap vdtapjoin0 --bridge lo");
  assert.ok(!(await listed()).some((s) => s.name === 'lanjoin'));
  assert.ok(!existsSync('/sys/class/net/vdtapjoin0'), 'a TAP device was made');
});

test("a switch's PXE tree from the API is held to the bases and media directories: its TFTP serves every guest on the switch", async () => {
  const outside = await api(base, 'POST', '/api/networks', { name: 'pxeetc', pxe: '/etc', bootfile: 'hostname' });
  assert.equal(outside.status, 400, outside.text);
  assert.equal(outside.json.field, 'pxe');
  assert.match(outside.json.error, /^pxe: '\/etc' is outside the bases and the media directories \(/);
  const relative = await api(base, 'POST', '/api/networks', { name: 'pxerel', pxe: 'etc' });
  assert.equal(relative.status, 400, relative.text);
  assert.equal(relative.json.error, "pxe: 'etc' is not an absolute path (a PXE tree under the bases or the media directories)");
  assert.deepEqual((await listed()).map((s) => s.name), [SWITCH], 'no switch made');
  // One in the media directory is served.
  const tree = join(sb.home, 'media', 'tree');
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, 'pxelinux.0'), 'boot');
  const inside = await api(base, 'POST', '/api/networks', { name: 'pxemedia', pxe: tree });
  assert.equal(inside.status, 201, inside.text);
  assert.equal(inside.json.boot.pxe, tree);
  assert.equal(inside.json.boot.bootfile, 'pxelinux.0');
  assert.ok((await api(base, 'DELETE', '/api/networks/pxemedia')).status < 300);
});

test('a VM on the switch shows as attached while it runs, and not once it stops', async () => {
  await start();
  const s = await vmsOn(SWITCH, [LABEL]);
  assert.deepEqual(s.ports.map((p) => [p.kind, p.vm]), [['vm', LABEL]]);
  assert.deepEqual((await api(base, 'GET', `/api/networks/${SWITCH}`)).json.vms, [LABEL]);

  const stopped = await api(base, 'POST', `/api/vms/${LABEL}/stop`, { mode: 'force' });
  assert.equal(stopped.status, 200, stopped.text);
  await vmsOn(SWITCH, []);
});

test('DELETE refuses with 409 while a VM is on the switch; ?force=1 cancels it and the VM keeps running', async () => {
  await start();
  await vmsOn(SWITCH, [LABEL]);
  const refused = await api(base, 'DELETE', `/api/networks/${SWITCH}`);
  assert.equal(refused.status, 409);
  assert.deepEqual(refused.json, {
    error: `name: switch '${SWITCH}' is in use by VM ${LABEL}: stop them first, or cancel with --force`,
    field: 'name',
  });
  const { pid } = (await listed())[0];
  assert.ok(alive(pid!), 'the refused switch still runs');

  const forced = await api(base, 'DELETE', `/api/networks/${SWITCH}?force=1`);
  assert.equal(forced.status, 200, forced.text);
  assert.deepEqual(forced.json, { name: SWITCH, detached: [LABEL], removed: [] });
  assert.ok(!alive(pid!), 'vde_switch has ended');
  assert.deepEqual(await listed(), []);
  assert.equal((await api(base, 'GET', `/api/networks/${SWITCH}`)).status, 404);
  assert.equal((await api(base, 'GET', `/api/vms/${LABEL}`)).json.vm.state, 'running');

  await api(base, 'POST', `/api/vms/${LABEL}/stop`, { mode: 'force' });
});
