// After the run: every QEMU and VDE switch that the run started is ended (by
// the pid in its runtime directory: VMs outlive the dashboard by design), and
// the private world is removed.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../server/proc';
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
  const killed: number[] = [];
  for (const pidfile of pidfiles) {
    try {
      const pid = Number(readFileSync(pidfile, 'utf8').trim());
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(env.root)) {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      }
    } catch { /* not running */ }
  }
  // The dashboard is still up here (Playwright stops its webServer after this
  // teardown) and notes each death in the run directory, and wrappers write
  // their exit: wait for the processes to be gone, then retry the removal
  // while those last writes land.
  const deadline = Date.now() + 5000;
  while (killed.some(processAlive) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
  const remove = () => rmSync(env.root, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  try {
    remove();
  } catch { /* the dashboard wrote into it meanwhile: again at the runner's exit */ }
  // The dashboard may make its runtime directory again until it is stopped: the world is removed once more when
  // the runner exits, after Playwright has stopped its webServer.
  process.once('exit', () => {
    try {
      remove();
    } catch (err) {
      console.warn(`e2e teardown: could not remove ${env.root}: ${(err as Error).message}`);
    }
  });
  console.log(`e2e screenshots: ${SCREENSHOTS}`);
}
