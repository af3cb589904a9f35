// After the run: every QEMU that the run started is ended (by the pid in its
// runtime directory: VMs outlive the dashboard by design), and the private
// world is removed.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { e2eEnv, SCREENSHOTS } from './env';

export default async function teardown() {
  const env = e2eEnv();
  let labels: string[] = [];
  try {
    labels = readdirSync(env.run);
  } catch { /* nothing ran */ }
  for (const label of labels) {
    try {
      const pid = Number(readFileSync(join(env.run, label, 'qemu.pid'), 'utf8').trim());
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      // Only a QEMU of this run: its command line names this run's directory.
      if (cmdline.includes(env.root)) process.kill(pid, 'SIGKILL');
    } catch { /* not running */ }
  }
  await new Promise((r) => setTimeout(r, 300));
  rmSync(env.root, { recursive: true, force: true });
  console.log(`e2e screenshots: ${SCREENSHOTS}`);
}
