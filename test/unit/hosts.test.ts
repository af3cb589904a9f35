// The pure side of other hosts: targets, the remote command line, versions and ssh's refusals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkApiVmdeckCommand, checkDest, checkHostName, passedHeaders, remoteCommand, sshDestination, sshRefusal, takeTarget, versionsTalk } from '../../lib/hosts';

test('targets: --host H, --host=H, LABEL@H, a lone user@host; none is this machine', () => {
  assert.deepEqual(takeTarget(['web', '--host', 'lab2', '--force'], true), { host: 'lab2', args: ['web', '--force'] });
  assert.deepEqual(takeTarget(['--host=lab2', 'web'], true), { host: 'lab2', args: ['web'] });
  assert.deepEqual(takeTarget(['web@lab2', '--console=VNC'], true), { host: 'lab2', args: ['web', '--console=VNC'] });
  assert.deepEqual(takeTarget(['web@root@lab2'], true), { host: 'root@lab2', args: ['web'] });
  assert.deepEqual(takeTarget(['root@lab2', '--json'], false), { host: 'root@lab2', args: ['--json'] });
  assert.deepEqual(takeTarget(['--host', 'local', 'web'], true), { host: 'local', args: ['web'] });
  assert.equal(takeTarget(['web', '--force'], true), null);
  // A NAME=value option or a path with '@' in it is not a target.
  assert.equal(takeTarget(['--label', 'x', 'INSTCDROM=/isos/a@b.iso'], false), null);
  assert.equal(takeTarget(['/vms/a@b/a.ctys'], true), null);
});

test('the remote command quotes every word, the vmdeck command\'s too', () => {
  assert.equal(remoteCommand('node /opt/vmdeck/bin/vmdeck.js', ['start', "it's; rm -rf ~"]), `'node' '/opt/vmdeck/bin/vmdeck.js' 'start' 'it'\\''s; rm -rf ~'`);
  assert.equal(sshDestination('root@lab2:2222'), 'ssh://root@lab2:2222');
  assert.equal(sshDestination('lab2'), 'lab2');
});

test('names and destinations: a destination is never an ssh option', () => {
  assert.match(checkDest('-oProxyCommand=x') ?? '', /^dest: /);
  assert.match(checkDest('a b') ?? '', /^dest: /);
  assert.match(checkDest('h:99999') ?? '', /^dest: port 99999/);
  assert.equal(checkDest('root@10.0.0.2:22'), null);
  assert.match(checkHostName('local') ?? '', /reserved/);
  assert.match(checkHostName('a/b') ?? '', /^name: /);
});

test('versions talk with the same major (and, for 0.x, the same minor)', () => {
  assert.ok(versionsTalk('0.1.0', '0.1.7'));
  assert.ok(!versionsTalk('0.1.0', '0.2.0'));
  assert.ok(versionsTalk('1.2.0', '1.9.1'));
  assert.ok(!versionsTalk('1.2.0', '2.0.0'));
});

test('ssh refusals are one line naming the host; a changed key carries ssh\'s own ssh-keygen -R', () => {
  const changed = '@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n  remove with:\n  ssh-keygen -f "/k/known_hosts" -R "10.0.0.2"\nHost key verification failed.\n';
  const line = sshRefusal('lab2', 'root@lab2', changed);
  assert.ok(!line.includes('\n'));
  assert.match(line, /^host: lab2 \(root@lab2\): its host key has changed.*ssh-keygen -f "\/k\/known_hosts" -R "10\.0\.0\.2"/);
  assert.equal(sshRefusal('lab2', 'lab2', 'ssh: connect to host 10.0.0.2 port 22: Connection refused\r\n'), 'host: lab2 (lab2): ssh: connect to host 10.0.0.2 port 22: Connection refused');
});

test('takeTarget: with a ctys action string, the one word besides it is the host, user@host or a name', () => {
  assert.deepEqual(takeTarget(['-a', 'create=l:rvm,console:none', 'root@lab'], true), { host: 'root@lab', args: ['-a', 'create=l:rvm,console:none'] });
  assert.deepEqual(takeTarget(['-a', 'cancel=l:rvm,force', '--json', 'lab'], true), { host: 'lab', args: ['-a', 'cancel=l:rvm,force', '--json'] });
  assert.equal(takeTarget(['-a', 'create=l:rvm'], true), null);
  // An option's value is no host: these stay on this machine, their values where they were.
  assert.equal(takeTarget(['-a', 'create=l:x', '--console', 'VNC'], true), null);
  assert.equal(takeTarget(['-a', 'enumerate=machine', '--base', '/srv/vms'], false), null);
  assert.equal(takeTarget(['-a', 'cancel=l:x', '--poweroff', '30'], true), null);
  assert.deepEqual(takeTarget(['-a', 'enumerate=machine', 'lab'], false), { host: 'lab', args: ['-a', 'enumerate=machine'] });
  // LABEL@H stays what it was without an action string.
  assert.deepEqual(takeTarget(['rvm@lab'], true), { host: 'lab', args: ['rvm'] });
});

test('the fixes refusals suggest can be run: a user@host target is added under a name; ssh by hand reads vmdeck\'s ssh config', async () => {
  const { versionRefusal } = await import('../../lib/hosts');
  const node = 'node:internal/modules/cjs/loader:1228\n  throw err;\nError: Cannot find module \'/opt/x.js\'\nNode.js v20.20.2\n';
  assert.equal(versionRefusal('root@lab', null, '0.2.0', node), "host: root@lab: its vmdeck did not say its version (it answered: Error: Cannot find module '/opt/x.js'); add it under a name with its command: vmdeck host add NAME root@lab --vmdeck CMD");
  assert.match(versionRefusal('lab', null, '0.2.0', 'sh: 1: vmdeck: not found\n', 'root@10.0.0.2'), /it answered: sh: 1: vmdeck: not found\); set its command: vmdeck host remove lab, then vmdeck host add lab root@10\.0\.0\.2 --vmdeck CMD$/);
  assert.match(sshRefusal('lab', 'lab', 'No ED25519 host key is known for lab and you have requested strict checking.\nHost key verification failed.\n', '/home/u/ssh_config'), /accept it once with ssh -F \/home\/u\/ssh_config lab$/);
});

test('through the API a host\'s vmdeck command is vmdeck, or node and vmdeck.js: no other program', () => {
  for (const ok of ['vmdeck', '/opt/vmdeck/bin/vmdeck', '/opt/vmdeck/bin/vmdeck.js', 'node /srv/vmdeck/bin/vmdeck.js', '/usr/bin/nodejs /srv/v/bin/vmdeck.js']) {
    assert.equal(checkApiVmdeckCommand(ok), null, ok);
  }
  for (const bad of ['sh -c id>/tmp/x;echo${IFS}vmdeck', 'sh -c vmdeck', 'node -e x vmdeck.js', 'node --require=/tmp/x.js vmdeck.js', 'bash vmdeck',
    'node /tmp/evil.iso', '/tmp/evil', 'env vmdeck', 'vmdeck --help', 'node vmdeck.js extra', '-vmdeck']) {
    assert.match(checkApiVmdeckCommand(bad) ?? '', /^vmdeck: '.*' is not how vmdeck is run: .*vmdeck host add --vmdeck$/, bad);
  }
  assert.match(checkApiVmdeckCommand(' ') ?? '', /^vmdeck: the command .* is empty$/);
});

test('a host\'s answer reaches the browser with vmdeck\'s own headers only: no cookie, no policy, no page', () => {
  const out = passedHeaders({
    'content-type': 'text/html', 'content-security-policy': "script-src 'unsafe-inline'", 'x-frame-options': 'ALLOWALL',
    'set-cookie': ['vmdeck_session=attacker'], 'content-length': '12', 'cache-control': 'no-store', 'content-disposition': 'inline',
  } as Record<string, string | string[]>);
  assert.deepEqual(out, { 'content-type': 'application/octet-stream', 'content-length': '12', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  assert.equal(passedHeaders({ 'content-type': 'application/json; charset=utf-8' })['content-type'], 'application/json; charset=utf-8');
  assert.equal(passedHeaders({ 'content-type': 'image/svg+xml' })['content-type'], 'application/octet-stream');
  assert.equal(passedHeaders({ 'content-disposition': 'attachment; filename="a-serial.log"' })['content-disposition'], 'attachment; filename="a-serial.log"');
});
