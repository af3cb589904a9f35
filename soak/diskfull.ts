// The disk full (`npm run soak`, and npm test's short form): a base on a
// small tmpfs, mounted in a mount namespace of its own (`unshare -rm`: no
// root needed where user namespaces are allowed), and vmdeck's CLI in it.
// A create on the full base, then a snapshot and a suspend of a running VM
// without room for its state, a set of its config (full, then read-only),
// must each fail with one line and leave
// nothing half-written: no VM directory or temporary, no snapshot, no
// saved state, a disk that qemu-img finds sound, the VM running on.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { verdict } from '../bench/report';
import { demoVmEnv, REPO, sandbox } from '../test/helpers/guest';

export interface DiskFullFigures {
  results: Record<string, string>;
  problems: string[];
  ms: number;
}

const SCRIPT = String.raw`
set -u
vd() { node "$REPO/bin/vmdeck.js" "$@"; }
say() { printf 'RESULT %s=%s\n' "$1" "$(printf '%s' "$2" | tr '\n' '|' | head -c 400)"; }
mkdir -p "$BASE"
mount -t tmpfs -o size=24m tmpfs "$BASE" || { say setup 'cannot mount a tmpfs'; exit 0; }
fill() { # leaves $1 KiB free
	rm -f "$BASE/.filler"
	local avail; avail=$(df --output=avail -k "$BASE" | tail -n 1)
	[ "$avail" -gt "$1" ] && dd if=/dev/zero of="$BASE/.filler" bs=1k count=$((avail - $1)) status=none 2>/dev/null
	return 0
}
fill 0
vd create-conf --label full1 --template kernel-initrd --auto-all >/dev/null 2>"$T/create.err"; say create_status $?
say create_err "$(cat "$T/create.err")"
say create_left "$(ls -A "$BASE" | grep -vx .filler)"
rm -f "$BASE/.filler"
vd create-conf --label full2 --template kernel-initrd --auto-all >/dev/null 2>"$T/setup.err" || { say setup "create: $(cat "$T/setup.err")"; exit 0; }
vd start full2 >/dev/null 2>"$T/setup.err" || { say setup "start: $(cat "$T/setup.err")"; exit 0; }
sleep 3
disk=$BASE/full2/full2.qcow2
fill 256
vd snapshot full2 save s1 >/dev/null 2>"$T/snap.err"; say snapshot_status $?
say snapshot_err "$(cat "$T/snap.err")"
say snapshot_listed "$(qemu-img snapshot -U -l "$disk" 2>&1 | grep -w s1)"
qemu-img check -U "$disk" >/dev/null 2>&1; say check_status $?
vd list --json > "$T/list.json" 2>/dev/null; say running_after_snapshot "$(grep -c '"label": *"full2"' "$T/list.json")"
fill 256
vd cancel full2 --suspend >/dev/null 2>"$T/suspend.err"; say suspend_status $?
say suspend_err "$(cat "$T/suspend.err")"
say suspend_left "$(ls -A "$BASE/full2" | grep suspend)"
vd list --json > "$T/list.json" 2>/dev/null; say running_after_suspend "$(grep -c '"label": *"full2"' "$T/list.json")"
config=$BASE/full2/full2.ctys
before=$(md5sum < "$config")
fill 0
vd set full2 MEMSIZE=300 >/dev/null 2>"$T/set.err"; say set_status $?
say set_err "$(cat "$T/set.err")"
say set_changed "$([ "$(md5sum < "$config")" = "$before" ] || echo yes)"
say set_left "$(ls -A "$BASE/full2" | grep -F .edit-)"
vd cancel full2 --force >/dev/null 2>&1
rm -f "$BASE/.filler"
mount -o remount,ro "$BASE" || { say setup 'cannot remount the tmpfs read-only'; exit 0; }
vd set full2 MEMSIZE=300 >/dev/null 2>"$T/ro.err"; say ro_status $?
say ro_err "$(cat "$T/ro.err")"
say ro_changed "$([ "$(md5sum < "$config")" = "$before" ] || echo yes)"
say done yes
`;

export function diskFull(): DiskFullFigures {
  const t0 = Date.now();
  const sb = sandbox('diskfull');
  try {
    const env = { ...sb.env, ...demoVmEnv(), MEMSIZE: '256', REPO, BASE: join(sb.home, 'vms'), T: join(sb.home, '..') };
    const out = execFileSync('unshare', ['-rm', 'bash', '-c', SCRIPT], { env, encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'] });
    const results: Record<string, string> = {};
    for (const m of out.matchAll(/^RESULT ([a-z_]+)=(.*)$/gm)) results[m[1]] = m[2];
    const problems: string[] = [];
    const oneLine = (what: string) => {
      const text = results[`${what}_err`] ?? '';
      if (results[`${what}_status`] === '0') problems.push(`${what} on a full disk succeeded`);
      else if (text.replace(/\|$/, '').includes('|') || text === '') problems.push(`${what}: not one line: ${JSON.stringify(text)}`);
      else if (!/no space left in '/.test(text)) problems.push(`${what}: does not say the disk is full: ${JSON.stringify(text)}`);
    };
    if (results.setup) problems.push(`setup: ${results.setup}`);
    else if (results.done !== 'yes') problems.push(`the script did not finish: ${out.slice(-400)}`);
    else {
      oneLine('create');
      if (results.create_left) problems.push(`create left ${results.create_left}`);
      oneLine('snapshot');
      if (results.snapshot_listed) problems.push(`a snapshot s1 is listed after the failed save: ${results.snapshot_listed}`);
      if (!['0', '3'].includes(results.check_status)) problems.push(`qemu-img check after the failed snapshot: status ${results.check_status}`);
      if (results.running_after_snapshot !== '1') problems.push('the VM is not running after the failed snapshot');
      oneLine('suspend');
      if (results.suspend_left) problems.push(`the failed suspend left ${results.suspend_left}`);
      if (results.running_after_suspend !== '1') problems.push('the VM is not running after the failed suspend');
      oneLine('set');
      if (!/^vmdeck set: config: cannot write '[^']+full2\.ctys': no space left in '/.test(results.set_err ?? '')) problems.push(`set: does not name the config: ${JSON.stringify(results.set_err)}`);
      if (results.set_changed || results.set_left) problems.push(`the failed set changed the config (${results.set_changed ?? ''}) or left ${results.set_left ?? ''}`);
      if (results.ro_status === '0' || !/^vmdeck set: config: cannot write '[^']+': '[^']+' is on a read-only file system \(nothing was changed\)\|?$/.test(results.ro_err ?? '')) {
        problems.push(`set on a read-only base: exit ${results.ro_status}: ${JSON.stringify(results.ro_err)}`);
      }
      if (results.ro_changed) problems.push('the refused set on a read-only base changed the config');
    }
    return { results, problems, ms: Date.now() - t0 };
  } finally {
    sb.cleanup();
  }
}

export function printDiskFull(f: DiskFullFigures): boolean {
  const ok = f.problems.length === 0;
  for (const what of ['create', 'snapshot', 'suspend', 'set', 'ro']) console.log(`disk-full: ${what}: exit ${f.results[`${what}_status`] ?? '?'}: ${(f.results[`${what}_err`] ?? '').replace(/\|$/, '')}`);
  for (const p of f.problems) console.log(`disk-full:   ${p}`);
  console.log(`disk-full: one line each, nothing half-written, the disk sound, the VM running on (${(f.ms / 1000).toFixed(1)} s) ${verdict(ok)}`);
  return ok;
}
