// vmdeck clone (issue 12, point 3): a linked clone boots, writes, and leaves
// its backing file unchanged; a full clone has no tie to its source; both get
// a new label, UUID and MAC; a running source is refused.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sandbox, type Sandbox } from '../helpers/guest';
import { createGuestVm, vmdeck } from '../helpers/lifecycle';
import { api, spawnServer, type ChildServer } from '../helpers/server';
import { guestShell, quitVm } from '../helpers/vms';

let sb: Sandbox;
let server: ChildServer;
const vmFile = (label: string, name: string) => join(sb.home, 'vms', label, name);
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const info = (path: string) => JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', path], { encoding: 'utf8' }));

before(async () => {
  sb = sandbox('clone');
  sb.enter();
  await createGuestVm(sb.env, 'src');
  server = await spawnServer(sb);
});
after(async () => {
  await server?.kill();
  sb.cleanup();
});

/** Boots a VM, writes text at the start of its disk (vda) and reads it back. */
async function writeDisk(label: string, text: string): Promise<void> {
  assert.equal((await vmdeck(['start', label], sb.env)).code, 0);
  const shell = await guestShell(sb.run, label, 120000);
  try {
    await shell.run(`echo ${text} > /tmp/t; dd if=/tmp/t of=/dev/vda 2>/dev/null; sync; echo W$((1+1))`, /W2/);
    const out = await shell.run(`echo "R$((1+1))$(dd if=/dev/vda bs=${text.length} count=1 2>/dev/null)E$((1+1))"`, /R2\S*E2/);
    assert.equal(out, `R2${text}E2`);
  } finally {
    shell.close();
  }
  await quitVm(sb.run, label);
}

test('a linked clone boots and writes; its backing file, the source\'s disk, stays unchanged; new identity', async () => {
  const srcDisk = vmFile('src', 'src.qcow2');
  const before = sha(srcDisk);
  const r = await api(server.base, 'POST', '/api/vms/src/clone', { label: 'lnk', linked: true });
  assert.equal(r.status, 201, r.text);
  const [src, lnk] = [(await api(server.base, 'GET', '/api/vms/src')).json.vm, r.json.vm];
  assert.equal(lnk.label, 'lnk');
  assert.notEqual(lnk.uuid, src.uuid);
  assert.notEqual(lnk.mac, src.mac);
  const config = readFileSync(vmFile('lnk', 'lnk.ctys'), 'utf8');
  assert.match(config, /^#@#LABEL\s+= "lnk"$/m);
  assert.match(config, new RegExp(`^#@#MAC0\\s+= "${lnk.mac}"$`, 'm'));
  assert.match(config, /^HDDBOOTIMAGE='lnk\.qcow2'$/m);
  assert.equal(info(vmFile('lnk', 'lnk.qcow2'))['backing-filename'], srcDisk);
  await writeDisk('lnk', 'linkeddata');
  assert.equal(sha(srcDisk), before, 'the backing file is unchanged');
  // While its source runs (and holds its disk's write lock) the clone does not start: QEMU's cause is in the one line.
  assert.equal((await vmdeck(['start', 'src'], sb.env)).code, 0);
  try {
    const refused = await vmdeck(['start', 'lnk'], sb.env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^vmdeck start: qemu: QEMU did not start: .*Failed to get shared "write" lock.* \/ Is another process using the image/);
  } finally {
    await quitVm(sb.run, 'src');
  }
});

test('a full clone is independent: no backing file, its writes are its own, no start at the host\'s boot; a running source is refused', async () => {
  // The source starts at the host's boot (as vmdeck autostart writes it); its copy does not until asked.
  const srcConfig = vmFile('src', 'src.ctys');
  const plain = readFileSync(srcConfig, 'utf8');
  writeFileSync(srcConfig, /^AUTOSTART=.*$/m.test(plain) ? plain.replace(/^AUTOSTART=.*$/m, "AUTOSTART='on'") : `${plain}\nAUTOSTART='on'\n`);
  const cli = await vmdeck(['clone', 'src', 'full'], sb.env);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(readFileSync(vmFile('full', 'full.ctys'), 'utf8'), /^AUTOSTART='?off'?$/m);
  assert.match(readFileSync(srcConfig, 'utf8'), /^AUTOSTART='on'$/m);
  writeFileSync(srcConfig, plain);
  const full = info(vmFile('full', 'full.qcow2'));
  assert.equal(full['backing-filename'], undefined);
  const before = sha(vmFile('src', 'src.qcow2'));
  await writeDisk('full', 'fulldata');
  assert.equal(sha(vmFile('src', 'src.qcow2')), before);
  const vms = (await api(server.base, 'GET', '/api/vms')).json as { label: string; uuid: string; mac: string }[];
  assert.equal(new Set(vms.map((v) => v.uuid)).size, 3);
  assert.equal(new Set(vms.map((v) => v.mac)).size, 3);

  assert.equal((await vmdeck(['start', 'full'], sb.env)).code, 0);
  const refused = await vmdeck(['clone', 'full', 'again'], sb.env);
  assert.equal(refused.stderr, "vmdeck clone: label: VM 'full' is running; clone it once it is stopped (its disks change while it runs)\n");
  await quitVm(sb.run, 'full');
});

test('a clone cut short by the server\'s death leaves no half-made VM: the label stays free, and the next clone of it works (a task both times)', async () => {
  // A source with 200 MiB of data, so that the copy takes a while.
  const big = vmFile('src', 'src.qcow2');
  execFileSync('qemu-img', ['resize', '-q', big, '1G']);
  execFileSync('qemu-io', ['-c', 'write -P 0x5a 0 200M', big], { stdio: 'ignore' });
  const cut = api(server.base, 'POST', '/api/vms/src/clone', { label: 'cut' }).catch(() => null);
  // The clone's copy under way: its temporary directory there.
  const base = join(sb.home, 'vms');
  const building = () => readdirSync(base).filter((n) => n.startsWith('.cut.tmp-'));
  for (let i = 0; i < 200 && building().length === 0; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(building().length, 1, 'the clone builds beside the base in .cut.tmp-…');
  await server.kill();
  await cut;
  server = await spawnServer(sb);
  assert.equal(existsSync(join(base, 'cut')), false, 'no VM directory cut/ that no ENUMERATE lists');
  const vms = (await api(server.base, 'GET', '/api/vms')).json as { label: string }[];
  assert.equal(vms.some((v) => v.label === 'cut'), false);
  const again = await api(server.base, 'POST', '/api/vms/src/clone', { label: 'cut' });
  assert.equal(again.status, 201, again.text);
  assert.deepEqual(building(), [], 'the dead clone\'s temporary directory is gone');
  assert.equal(info(vmFile('cut', 'cut.qcow2'))['virtual-size'], 2 ** 30);
  const tasks = (await api(server.base, 'GET', '/api/tasks?label=cut')).json as { action: string; result: string }[];
  const clones = tasks.filter((t) => t.action === 'clone');
  assert.equal(clones.length, 2, JSON.stringify(tasks));
  assert.deepEqual(clones.map((t) => t.result).sort(), ['interrupted', 'ok']);
});
