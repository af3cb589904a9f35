// "Build a Debian system" in the browser: while POST /api/vms builds the disk
// (mmdebstrap's tree, cached in .cache/debootstrap once
// test/integration/debootstrap.test.ts has built it; then the ext4 disk), the
// wizard shows the create task's progress, a bar and its log, line by line as
// the task log tells them (GET /api/events), before the request has answered.
import { expect, test } from '@playwright/test';
import { e2eEnv } from './env';
import { csrf, shot, wizardToStorage } from './pages';

const env = e2eEnv();
const LABEL = 'debprog';

test('"Build a Debian system": the create job\'s progress bar and log lines arrive while the disk is built', async ({ page }) => {
  // Uncached, mmdebstrap builds the tree first: a few minutes under emulation's neighbours.
  test.setTimeout(600_000);
  await page.goto(`/login?token=${env.token}`);
  await expect(page).toHaveURL(/\/$/);
  await wizardToStorage(page, LABEL, 'linux-x86_64');
  await page.getByRole('radio', { name: /Build a Debian system/ }).check();
  await page.locator('#f-diskSize').fill('3G');
  // Its seed is cloud-init's, and nothing else can be chosen: the account's fields are there at once.
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByRole('heading', { name: 'Automate the install' })).toBeVisible();
  await expect(page.getByRole('radio', { name: /^cloud-init/ })).toBeChecked();
  await expect(page.getByRole('radio', { name: /^None/ })).toBeDisabled();
  await expect(page.getByRole('radio', { name: /^Debian\/Ubuntu preseed/ })).toBeDisabled();
  await expect(page.locator('#f-sshKey')).toBeVisible();
  await page.getByRole('button', { name: /Review/ }).click();
  await expect(page.getByRole('tabpanel')).toContainText("UNATTENDED='cloud-init'");
  await expect(page.getByRole('tabpanel')).toContainText("HDDBOOTIMAGE='debprog.raw'");
  // Its disk is built installed: the second button starts it (no install source to boot), and the summary says so.
  await expect(page.getByRole('button', { name: 'Create and start' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Create and install' })).toHaveCount(0);
  await expect(page.getByRole('complementary', { name: 'Summary' })).toContainText('built by mmdebstrap');

  let answered = 0;
  const response = page.waitForResponse((r) => r.url().endsWith('/api/vms') && r.request().method() === 'POST', { timeout: 590_000 })
    .then((r) => { answered = Date.now(); return r; });
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  const log = page.getByRole('log', { name: 'Create log' });
  const bar = page.getByRole('progressbar', { name: 'Building the disk' });
  // The tree's line (from the cache, or the start of a build), then the disk's: each while the request still runs.
  await expect(log).toContainText(/debootstrap: (Debian bookworm from the cache|building Debian bookworm with mmdebstrap)/, { timeout: 580_000 });
  await expect(log).toContainText(`debootstrap: making the ext4 disk ${LABEL}.raw (3G) from the tree`, { timeout: 580_000 });
  const sawDisk = Date.now();
  expect(answered, 'the disk\'s line came before POST /api/vms answered').toBe(0);
  await expect(page.getByRole('button', { name: 'Creating…' })).toBeVisible();
  expect(Number(await bar.getAttribute('value'))).toBeGreaterThanOrEqual(0.6);
  // The line beside the bar is the newest of the log: debootstrap's own or a step's (mkfs.ext4's), whichever came last.
  const line = (await page.getByTestId('create-progress-line').getAttribute('title')) ?? '';
  expect(line).toMatch(/\S/);
  await expect(log).toContainText(line);
  await shot(page, 'wizard-debootstrap-progress');

  expect((await response).status()).toBe(201);
  expect(answered).toBeGreaterThan(sawDisk);
  await expect(page).toHaveURL(new RegExp(`/vms/${LABEL}`));
  // The task log keeps the lines as the create's output.
  const tasks = await page.request.get(`/api/tasks?label=${LABEL}`, { headers: await csrf(page) });
  const create = (await tasks.json()).find((t: { action: string }) => t.action === 'create');
  expect(create.result).toBe('ok');
  expect(create.output).toMatch(/debootstrap: disk ready in \d+ s/);
});
