// Steps the e2e specs share: a screenshot under the run's folder, and the
// wizard's first steps for a kernel+initrd guest under emulation.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { e2eEnv, SCREENSHOTS } from './env';

export const shot = (p: Page, name: string) => p.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });

/**
 * The wizard from a template (the kernel+initrd one unless said), through
 * identity (label) and hardware (QEMU, TCG), to the storage step. TCG is
 * pinned: it behaves the same on every host; e2e/default-path.spec.ts runs
 * the host's own default.
 */
export async function wizardToStorage(page: Page, label: string, template = 'kernel-initrd'): Promise<void> {
  await wizardToHardware(page, label, template);
  await page.getByRole('radio', { name: /^QEMU \(TCG\)/ }).check();
  await page.getByRole('button', { name: 'Next' }).click();
}

/** The wizard from a template through identity (label) to the hardware step, nothing chosen there. */
export async function wizardToHardware(page: Page, label: string, template = 'kernel-initrd'): Promise<void> {
  await page.goto(`/vms/new?template=${template}`);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.locator('#f-label').fill(label);
  await page.getByRole('button', { name: 'Next' }).click();
}

/** The session's page secret as the dashboard's page keeps it (components/session.ts), for a spec's own API calls. */
export async function csrf(p: Page): Promise<Record<string, string>> {
  return { 'x-vmdeck-csrf': await p.evaluate(() => window.localStorage.getItem('vmdeck:csrf') ?? '') };
}

/** A browser context of its own, logged in with the run's token, on the VM list. */
export async function loggedIn(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`/login?token=${e2eEnv().token}`);
  await expect(page).toHaveURL(/\/$/);
  return { context, page };
}
