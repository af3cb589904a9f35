// The VNC console's clipboard panel (issue 13): it says which clipboard the
// VM has. With CLIPBOARD=vdagent (QEMU's qemu-vdagent) it shows the guest's
// clipboard and sends text to it through noVNC's clipboard over the VNC
// connection, which goes on; without, paste types keys. The text reaching a
// guest's clipboard needs spice-vdagent in the guest, which the test guest
// has not (test/integration/clipboard.test.ts tests QEMU's side).
import { expect, test, type Page } from '@playwright/test';
import { e2eEnv } from './env';
import { csrf, loggedIn, shot } from './pages';

const env = e2eEnv();

test.describe.configure({ mode: 'serial' });

let page: Page;

test.beforeAll(async ({ browser }) => {
  ({ page } = await loggedIn(browser));
  for (const [label, clipboard] of [['clip1', 'vdagent'], ['keys1', '']]) {
    const made = await page.request.post('/api/vms', {
      headers: await csrf(page),
      // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
      data: { label, template: 'kernel-initrd', accelerator: 'QEMU', kernel: env.kernel, initrd: env.initrd, append: env.append, clipboard, createImage: true, start: true },
    });
    expect(made.status(), await made.text()).toBe(201);
  }
});

test.afterAll(async () => {
  for (const label of ['clip1', 'keys1']) await page.request.post(`/api/vms/${label}/stop`, { headers: await csrf(page), data: { mode: 'force' } });
  await page?.context().close();
});

test('the clipboard panel: shared with qemu-vdagent (text sent over VNC, the console stays connected), paste as keys without', async () => {
  await page.goto('/vms/clip1');
  const status = page.getByText(/connected to the screen of clip1/);
  await expect(status).toBeVisible({ timeout: 30000 });
  await page.getByRole('button', { name: 'Clipboard' }).click();
  const panel = page.getByRole('form', { name: 'Clipboard' });
  await expect(panel.getByTestId('clipboard-mode')).toContainText('Shared clipboard (qemu-vdagent)');
  await expect(panel.getByLabel("The guest's clipboard")).toHaveValue('');
  await panel.getByLabel('Text for clip1').fill('from the browser');
  await panel.getByRole('button', { name: 'Send to clipboard' }).click();
  await expect(panel.getByRole('status')).toHaveText("Sent to the guest's clipboard.");
  await shot(page, 'clipboard-shared');
  await page.waitForTimeout(1000);
  await expect(status).toBeVisible();

  await page.goto('/vms/keys1');
  await page.getByRole('button', { name: 'Clipboard' }).click();
  await expect(page.getByTestId('clipboard-mode')).toContainText('No shared clipboard (CLIPBOARD is not vdagent)');
  await expect(page.getByRole('button', { name: 'Send to clipboard' })).toHaveCount(0);
  await expect(page.getByLabel('Typed into keys1 as keystrokes')).toBeVisible();
});
