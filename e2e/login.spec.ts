// A session that ended (the dashboard restarted, or this browser was logged
// out): the login page says so, and the login brings the user back to the
// page they were on, its query (the VM's tab) kept.
import { expect, test } from '@playwright/test';
import { e2eEnv } from './env';
import { shot } from './pages';

const env = e2eEnv();

test('after the session ended, the login says why and goes back to the page that was open', async ({ page, context }) => {
  await page.goto(`/login?token=${env.token}`);
  await expect(page).toHaveURL(/\/$/);
  await page.goto('/tasks');
  await expect(page.getByRole('heading', { name: /Tasks/ })).toBeVisible();
  // What a restart does to this browser's session: its cookie is no longer one the server knows.
  await context.clearCookies();
  await page.goto('/networks?from=e2e');
  await expect(page).toHaveURL(/\/login\?next=%2Fnetworks%3Ffrom%3De2e$/);
  await page.getByLabel('Access token').fill(env.token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/networks\?from=e2e$/);
  await expect(page.getByRole('heading', { name: /Networks|switches/i }).first()).toBeVisible();

  // The page's own request refused (api.ts, a console's 4401): the login page says why.
  await context.clearCookies();
  await page.goto('/login?ended=1&next=%2Fvms%2Fx%3Ftab%3Dserial');
  await expect(page.getByRole('status')).toHaveText('Your session ended: the dashboard restarted, or this browser was logged out. Log in again to go back to /vms/x?tab=serial.');
  await shot(page, 'login-ended');
});
