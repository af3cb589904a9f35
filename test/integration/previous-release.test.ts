// Every config written before disks and NICs became lists starts exactly as
// before: a VM's files written by the previous release (test/fixtures/
// previous-release: its config, and its wrapper as it wrote it) give the
// same QEMU command under that old wrapper and under today's; so does a
// ctys config whose second interface is only MAC1/IP1 (no NIC1: no NIC).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

const print = (wrapper: string) => execFileSync('bash', [wrapper, '--print'], { env: sb.env, encoding: 'utf8' });

test('a config of the previous release: today\'s wrapper prints the command its own wrapper printed', () => {
  const dir = vmDir('plain');
  const before = print(join(dir, 'previous.sh'));
  assert.match(before, /^-m\n320$/m);
  assert.equal(print(join(dir, 'today.sh')), before);
});

test('a ctys config with a second interface\'s MAC1/IP1 and no NIC1 gets no second NIC', () => {
  const dir = vmDir('ctys', (c) => `${c.replace('#@#IP0', '#@#MAC1          = "52:54:00:aa:bb:01"\n#@#IP1           = "10.0.0.2"\n#@#IP0')}MAC1='52:54:00:aa:bb:01'\nIP1='10.0.0.2'\n`);
  const today = print(join(dir, 'today.sh'));
  assert.equal(today, print(join(dir, 'previous.sh')));
  assert.doesNotMatch(today, /52:54:00:aa:bb:01|-netdev/);
});
