// The task log end to end: actions run by the vmdeck command line while the
// dashboard is open show on the Tasks page and the VM page within a second,
// through the server's event stream, against the real server, CLI and QEMU.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { e2eEnv, REPO } from './env';
import { loggedIn, shot } from './pages';

const env = e2eEnv();
const LABEL = 'e2etask';
const run = promisify(execFile);

/** The real vmdeck command against the dashboard's home and runtime root. */
const vmdeck = (...args: string[]) => run(process.execPath, [join(REPO, 'bin/vmdeck.js'), ...args], {
  env: {
    ...process.env, VMDECK_HOME: env.home, VMDECK_RUN: env.run, VMDECK_BASES: '',
    // This host's /dev/kvm cannot run ordinary guests: emulation.
    // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
    ACCELERATOR: 'QEMU', INST_KERNEL: env.kernel, INST_INITRD: env.initrd, INST_APPEND: env.append, MEMSIZE: '256',
  },
  timeout: 90_000,
});

test.describe.configure({ mode: 'serial' });

let context: BrowserContext;
let page: Page;

const taskRow = (p: Page, action: string) => p.locator('tr[data-task]').filter({ has: p.locator('td', { hasText: new RegExp(`^${action}$`) }) });

test.beforeAll(async ({ browser }) => {
  ({ context, page } = await loggedIn(browser));
});

test.afterAll(async () => {
  await vmdeck('cancel', LABEL, '--force').catch(() => undefined);
  await context?.close();
});

test('a VM created, started and stopped from the CLI shows as tasks on the open Tasks page within a second', async () => {
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Tasks' }).click();
  await expect(page.getByRole('heading', { name: 'Tasks' })).toBeVisible();
  // The stream is open before anything runs: what shows next came through it, not a reload.
  await page.waitForLoadState('networkidle');

  await vmdeck('create-conf', '--label', LABEL, '--template', 'kernel-initrd', '--auto-all');
  await expect(taskRow(page, 'create').filter({ hasText: LABEL })).toHaveAttribute('data-result', 'ok', { timeout: 1000 });
  await vmdeck('start', LABEL);
  await expect(taskRow(page, 'start').filter({ hasText: LABEL })).toHaveAttribute('data-result', 'ok', { timeout: 1000 });

  const stopping = vmdeck('cancel', LABEL, '--force');
  await stopping;
  const row = taskRow(page, 'stop:force').filter({ hasText: LABEL });
  await expect(row).toHaveAttribute('data-result', 'ok', { timeout: 1000 });
  await expect(row).toContainText(/cli:/);
  await shot(page, 'tasks-page');
});

test('the VM page lists its tasks, a failed one with its one-line error; the dashboard\'s own show as the dashboard\'s', async () => {
  await page.goto(`/vms/${LABEL}?tab=tasks`);
  await expect(page.getByRole('tab', { name: 'Tasks' })).toHaveAttribute('aria-selected', 'true');
  const table = page.getByRole('table', { name: `Tasks of ${LABEL}` });
  await expect(table.locator('tr[data-task]')).toHaveCount(3);

  await vmdeck('cancel', LABEL, '--pause').catch(() => undefined);
  const failed = taskRow(page, 'stop:pause');
  await expect(failed).toHaveAttribute('data-result', 'error', { timeout: 1000 });
  await expect(failed).toContainText(`VM '${LABEL}' is not running`);

  await page.getByRole('button', { name: 'Start' }).first().click();
  const started = table.locator('tr[data-task]').first();
  await expect(started).toContainText('start');
  await expect(started).toContainText('dashboard@127.0.0.1');
  await expect(started).toHaveAttribute('data-result', 'ok');
  await shot(page, 'vm-tasks');
});
