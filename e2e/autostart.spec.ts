// The VM page's "Start on host boot" switch (issue 13): on writes AUTOSTART
// with the order and delay and makes the host's unit (here in the run's own
// systemd tree, VMDECK_SYSTEMD_ROOT), a bad order is the server's own line
// under it, off removes the unit with the last VM marked.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { e2eEnv } from './env';
import { csrf, loggedIn, shot } from './pages';

const env = e2eEnv();
const LABEL = 'boot1';
const unit = join(env.root, 'sysroot/etc/systemd/system/vmdeck-autostart.service');

test.describe.configure({ mode: 'serial' });

let page: Page;

test.beforeAll(async ({ browser }) => {
  ({ page } = await loggedIn(browser));
  const made = await page.request.post('/api/vms', {
    headers: await csrf(page),
    // Never started: the accelerator is only written.
    data: { label: LABEL, template: 'kernel-initrd', accelerator: 'QEMU', kernel: env.kernel, initrd: env.initrd, append: env.append, createImage: true },
  });
  expect(made.status(), await made.text()).toBe(201);
});

test.afterAll(async () => {
  await page?.context().close();
});

test('the Start on host boot switch: on with an order and a delay makes the unit, a bad order is refused by name, off removes it', async () => {
  await page.goto(`/vms/${LABEL}`);
  const box = page.getByRole('region', { name: 'Start on host boot' }).filter({ visible: true });
  const toggle = box.getByRole('switch', { name: 'Start on host boot' });
  await expect(toggle).toHaveAttribute('aria-checked', 'false');
  await box.getByLabel('Boot order').fill('5');
  await box.getByLabel('Delay after start (s)').fill('30');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-checked', 'true');
  await expect(box.getByRole('status')).toContainText('systemd is not running here');
  expect(existsSync(unit)).toBe(true);
  const config = async () => (await (await page.request.get(`/api/vms/${LABEL}`, { headers: await csrf(page) })).json()).files[`${LABEL}.ctys`] as string;
  expect(await config()).toMatch(/^AUTOSTART='on'\nAUTOSTART_ORDER='5'\nAUTOSTART_DELAY='30'$/m);
  await shot(page, 'autostart-on');
  await box.getByLabel('Boot order').fill('first');
  await box.getByLabel('Delay after start (s)').focus();
  await expect(box.getByRole('alert')).toHaveText("order: 'first' is not a start order (a whole number 0-9999, or empty for none)");
  expect(await config()).toMatch(/^AUTOSTART_ORDER='5'$/m);
  await box.getByLabel('Boot order').fill('');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-checked', 'false');
  expect(await config()).toMatch(/^AUTOSTART='off'\nAUTOSTART_ORDER=''\nAUTOSTART_DELAY='30'$/m);
  expect(existsSync(unit)).toBe(false);
});
