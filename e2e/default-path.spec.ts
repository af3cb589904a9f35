// What a new user does in the browser, with nothing pinned: the host page
// says what the KVM probe found, the wizard proposes this host's accelerator
// (not touched here), and the VM made so boots to its shell on the serial
// console. The other specs pin TCG for determinism (e2e/pages.ts).
import { expect, test, type Page } from '@playwright/test';
import { e2eEnv } from './env';
import { csrf, loggedIn, shot } from './pages';

const env = e2eEnv();
const LABEL = 'plain1';
const PROMPT = /guest:[^\n]*# /;

test.describe.configure({ mode: 'serial' });

let page: Page;

test.beforeAll(async ({ browser }) => {
  // Logged in once the page holds the session's secret (the list's heading is there before: an API request
  // made then went without the secret, and its answer had no items).
  ({ page } = await loggedIn(browser));
  await expect(page.getByRole('heading', { name: 'Virtual machines' })).toBeVisible();
});

test.afterAll(async () => {
  await page?.context().close();
});

test('the host page says in one line what the KVM probe found', async () => {
  const answer = await page.request.get('/api/host', { headers: await csrf(page) });
  expect(answer.status(), await answer.text()).toBe(200);
  const host = await answer.json();
  const kvm = host.items.find((i: { name: string }) => i.name === '/dev/kvm');
  await page.goto('/host');
  await expect(page.getByText(kvm.detail)).toBeVisible();
  expect(kvm.detail).toMatch(host.kvm ? /a test guest runs under it|not tried/ : /VMs run emulated \(ACCELERATOR=QEMU\)/);
  await shot(page, 'host-kvm');
});

test('a VM made in the wizard with the host\'s defaults boots to its shell', async () => {
  const host = await (await page.request.get('/api/host', { headers: await csrf(page) })).json();
  const accelerator = host.kvm ? 'KVM' : 'QEMU';
  await page.goto('/vms/new?template=kernel-initrd');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.locator('#f-label').fill(LABEL);
  await page.getByRole('button', { name: 'Next' }).click();
  // Hardware: the accelerator is left as the wizard proposes it.
  await expect(page.getByRole('radio', { name: accelerator === 'KVM' ? /^KVM/ : /^QEMU \(TCG\)/ })).toBeChecked();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.locator('#f-kernel').fill(env.kernel);
  await page.locator('#f-initrd').fill(env.initrd);
  await page.locator('#f-append').fill(env.append);
  await page.getByRole('button', { name: /Review/ }).click();
  await expect(page.getByRole('tabpanel')).toContainText(`ACCELERATOR='${accelerator}'`);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/vms/${LABEL}`));
  await page.getByRole('toolbar').getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.locator('h1 + [data-state]')).toHaveAttribute('data-state', 'running');
  await page.getByRole('tab', { name: 'Serial' }).click();
  const serial = page.locator('[data-console="serial"] .xterm-rows');
  await expect(serial).toContainText(PROMPT, { timeout: 120_000 });
  await page.locator('[data-console="serial"] .xterm-screen').click();
  await page.keyboard.type('echo plain-$((40+2))');
  await page.keyboard.press('Enter');
  await expect(serial).toContainText('plain-42');
  await shot(page, 'default-path-serial');
  // Leave nothing running for the next spec.
  await page.request.post(`/api/vms/${LABEL}/stop`, { data: { mode: 'force' }, headers: await csrf(page) });
});
