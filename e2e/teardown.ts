// After the run: every QEMU and VDE switch that the run started is ended (by
// the pid in its runtime directory: VMs outlive the dashboard by design), and
// the private world is removed.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { e2eEnv, SCREENSHOTS } from './env';

export default async function teardown() {
  const env = e2eEnv();
  let labels: string[] = [];
  try {
    labels = readdirSync(env.run);
  } catch { /* nothing ran */ }
  // A QEMU or a VDE switch (run/net/<name>.pid) of this run: its command line names this run's directory.
  const pidfiles = labels.map((label) => join(env.run, label, 'qemu.pid'));
  try {
    pidfiles.push(...readdirSync(join(env.run, 'net')).filter((n) => n.endsWith('.pid')).map((n) => join(env.run, 'net', n)));
  } catch { /* no switches */ }
  for (const pidfile of pidfiles) {
    try {
      const pid = Number(readFileSync(pidfile, 'utf8').trim());
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(env.root)) process.kill(pid, 'SIGKILL');
    } catch { /* not running */ }
  }
  await new Promise((r) => setTimeout(r, 300));
  rmSync(env.root, { recursive: true, force: true });
  console.log(`e2e screenshots: ${SCREENSHOTS}`);
}
