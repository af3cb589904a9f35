// Rewriting one variable of a hand-edited config: only its plain assignment
// changes, byte for byte everything else stays; logic is refused by line.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import test from 'node:test';
import { setAssignment } from '../../lib/config-edit';

const config = `#!/bin/bash
#@#MAGICID-QEMU
#@#LABEL = "web"
LABEL='web'
# Hardware. ACCELERATOR: KVM or QEMU.
ACCELERATOR='KVM'   # the host has VT-x
MEMSIZE=512
if [[ $(hostname) == big* ]]; then
\tMEMSIZE=4096
fi
SMP=$((2 * 2))
`;

test('a plain assignment is rewritten in place, its comment and every other line kept', () => {
  const r = setAssignment(config, 'ACCELERATOR', 'QEMU');
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.text, config.replace("ACCELERATOR='KVM'   # the host has VT-x", "ACCELERATOR='QEMU'   # the host has VT-x"));
});

test('a value is quoted for bash, never re-parsed', () => {
  const r = setAssignment(config, 'ACCELERATOR', "Q'$(id)");
  assert.ok(r.ok);
  if (r.ok) assert.match(r.text, /^ACCELERATOR='Q'\\''\$\(id\)'   # the host has VT-x$/m);
  // What it wrote is plain again: the next change rewrites it in place, and bash reads each as written.
  if (!r.ok) return;
  const again = setAssignment(r.text, 'ACCELERATOR', "it's");
  assert.ok(again.ok, again.ok ? '' : again.error);
  if (!again.ok) return;
  assert.match(again.text, /^ACCELERATOR='it'\\''s'   # the host has VT-x$/m);
  const read = execFileSync('bash', ['-c', 'eval "$1"; printf %s "$ACCELERATOR"', 'x', again.text.split('\n').filter((l) => l.startsWith('ACCELERATOR=')).join('\n')], { encoding: 'utf8' });
  assert.equal(read, "it's");
  // A $ outside single quotes is still logic.
  const mixed = setAssignment(config.replace("ACCELERATOR='KVM'", "ACCELERATOR='K'\\''$HOME"), 'ACCELERATOR', 'QEMU');
  assert.equal(mixed.ok, false);
});

test('a variable also set inside an if is refused, naming the line', () => {
  const r = setAssignment(config, 'MEMSIZE', '1024');
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.error, /^MEMSIZE: assigned more than once \(line 7, line 9\)/);
});

test('a computed value is refused, naming the line', () => {
  const r = setAssignment(config, 'SMP', '4');
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.error, 'SMP: computed by logic on line 11 of the config (SMP=$((2 * 2))); change it there by hand');
});

test('a variable only set inside a block is refused', () => {
  const r = setAssignment('A=1\nif true; then\n  B=2\nfi\n', 'B', '3');
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.error, /^B: computed by logic on line 3/);
});

test('a variable set on a line with more on it is refused', () => {
  const r = setAssignment('A=1\n[[ -e /x ]] && NIC=e1000\n', 'NIC', 'virtio-net-pci');
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.error, /^NIC: set by logic on line 2/);
});

test('a variable not set yet is added at the end', () => {
  const r = setAssignment('A=1\n', 'ACCELERATOR', 'QEMU');
  assert.deepEqual(r, { ok: true, text: "A=1\nACCELERATOR='QEMU'\n" });
});
