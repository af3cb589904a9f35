// Graphs end to end: a running VM's figures sampled by the server show as
// graphs on its VM page, a CPU sparkline in its list row, and the host page
// shows host CPU, memory and the bases' disk space; real server and QEMU.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { e2eEnv, REPO } from './env';
import { loggedIn, shot } from './pages';

const env = e2eEnv();
const LABEL = 'e2egraph';
const run = promisify(execFile);

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

test.beforeAll(async ({ browser }) => {
  ({ context, page } = await loggedIn(browser));
  await vmdeck('create-conf', '--label', LABEL, '--template', 'kernel-initrd', '--auto-all');
  await vmdeck('start', LABEL);
});

test.afterAll(async () => {
  await vmdeck('cancel', LABEL, '--force').catch(() => undefined);
  await context?.close();
});

test('the VM page draws its CPU, memory and disk graphs from the sampled history', async () => {
  await page.goto(`/vms/${LABEL}?tab=graphs`);
  const cpu = page.locator('figure[data-chart="CPU"]');
  // Two samples of 5 s make the first point.
  await expect(cpu.locator('polyline').first()).toBeAttached({ timeout: 30_000 });
  await expect(cpu.locator('[data-now="cpu"]')).toHaveText(/^\d+ %$/);
  await expect(page.locator('figure[data-chart="Memory (RSS)"] [data-now="rss"]')).toHaveText(/MiB$/);
  await expect(page.locator('figure[data-chart="Network"] [data-now="rx"]')).toHaveText('—');
  // A time axis under each graph: the hour's marks every 10 minutes said as clock times, the week's as dates.
  const axis = cpu.locator('[data-axis="time"] span');
  await expect(axis.first()).toHaveText(/^\d{1,2}:\d0(\s?[AP]M)?$/);
  const hour = await axis.allTextContents();
  expect(hour.length).toBeGreaterThanOrEqual(5);
  for (const text of hour) expect(text).toMatch(/^\d{1,2}:\d0(\s?[AP]M)?$/);
  await shot(page, 'vm-graphs');
  await page.getByRole('button', { name: '1w', exact: true }).click();
  await expect(axis.first()).toHaveText(/^[A-Z][a-z]{2} \d{1,2}$/);
  const week = await axis.allTextContents();
  expect(week.length).toBeGreaterThanOrEqual(6);
  for (const text of week) expect(text).toMatch(/^[A-Z][a-z]{2} \d{1,2}$/);
  await page.getByRole('button', { name: '1h', exact: true }).click();
  // Stopped, the legend's figures are the last ones sampled, and say so.
  await vmdeck('cancel', LABEL, '--force');
  await expect(cpu.locator('[data-now="cpu"]')).toHaveText(/^last \d+ %$/);
  await expect(page.getByText('· not running')).toBeVisible();
  await vmdeck('start', LABEL);
  await expect(cpu.locator('[data-now="cpu"]')).toHaveText(/^\d+ %$/, { timeout: 30_000 });
});

test('the list shows a CPU sparkline in the running VM\'s row; the host page its load', async () => {
  await page.goto('/');
  await expect(page.locator(`[role="row"][data-label="${LABEL}"] svg[data-sparkline]`)).toBeVisible({ timeout: 30_000 });
  await page.goto('/host');
  await expect(page.getByRole('meter', { name: 'CPU' })).toBeVisible();
  await expect(page.getByRole('meter', { name: 'Memory' })).toBeVisible();
  await expect(page.getByRole('meter', { name: join(env.home, 'vms') })).toBeVisible();
  await expect(page.locator('[data-meter="Memory"]')).toContainText('1 VM');
  await shot(page, 'host-load');
});
