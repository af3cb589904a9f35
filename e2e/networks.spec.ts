// The network page end to end: create a VDE switch, put a VM from the wizard
// on it, see it attached, and cancel the switch, against the real server,
// vde_switch and QEMU.
import { join } from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { e2eEnv } from './env';
import { csrf, loggedIn, shot, wizardToStorage } from './pages';

const env = e2eEnv();
const SWITCH = 'e2elan';
const LABEL = 'e2evde';

test.describe.configure({ mode: 'serial' });

let context: BrowserContext;
let page: Page;

const row = (p: Page, name: string) => p.locator(`tr[data-switch="${name}"]`);

test.beforeAll(async ({ browser }) => {
  ({ context, page } = await loggedIn(browser));
});

test.afterAll(async () => {
  // The VM keeps running without its switch; it is not needed any more.
  if (page) await page.request.post(`/api/vms/${LABEL}/stop`, { data: { mode: 'force' }, headers: await csrf(page) }).catch(() => undefined);
  await context?.close();
});

test('creates a switch on the network page; a bad name shows the server\'s message under the field', async () => {
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Networks' }).click();
  await expect(page.getByRole('heading', { name: 'Networks' })).toBeVisible();

  await page.locator('#net-name').fill('bad name');
  await page.getByRole('button', { name: 'Create switch' }).click();
  await expect(page.locator('#net-name-error')).toContainText("name: 'bad name' is not a switch name");
  await expect(page.locator('#net-name')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('tr[data-switch]')).toHaveCount(0);

  await page.locator('#net-name').fill(SWITCH);
  await page.getByRole('button', { name: 'Create switch' }).click();
  await expect(page.locator('#net-name-error')).toBeHidden();
  await expect(row(page, SWITCH).locator('[data-state]')).toHaveText('running');
  await expect(row(page, SWITCH)).toContainText(join(env.run, 'net', SWITCH));
});

test('the wizard offers the switch and the NIC models of the machine; the VM on it shows as attached', async () => {
  await wizardToStorage(page, LABEL);
  await page.locator('#f-kernel').fill(env.kernel);
  await page.locator('#f-initrd').fill(env.initrd);
  await page.locator('#f-append').fill(env.append);
  await page.getByRole('button', { name: 'Next' }).click();
  // The install is by hand: past "Automate the install".
  await expect(page.getByRole('heading', { name: 'Automate the install' })).toBeVisible();
  await page.getByRole('button', { name: 'Next' }).click();

  await expect(page.getByRole('heading', { name: 'Network' })).toBeVisible();
  await page.getByRole('radio', { name: /VDE switch/ }).check();
  // The running switch is chosen; the NICs are the template's, its own first.
  await expect(page.locator('#f-vdeSwitch')).toHaveValue(SWITCH);
  await expect(page.locator('#f-nic')).toHaveValue('virtio-net-pci');
  await expect(page.locator('#f-nic option').first()).toHaveText(/virtio-net-pci/);
  await expect(page.locator('#f-nic option')).toContainText(['rtl8139', 'e1000']);
  // A name that no switch has is a warning, not a refusal; an empty one is refused under the field.
  await page.locator('#f-vdeSwitch').selectOption({ label: 'another: a name or directory…' });
  const typed = page.getByLabel('VDE switch name or directory');
  await typed.fill('');
  await expect(page.locator('#f-vdeSwitch-error')).toContainText('vdeSwitch: is needed for network mode vde');
  await typed.fill('nosuch');
  await expect(page.locator('#f-vdeSwitch-hint')).toContainText("No switch 'nosuch' is running");
  await page.locator('#f-vdeSwitch').selectOption(SWITCH);
  await expect(page.getByText('the server accepts this')).toBeVisible();
  await shot(page, 'wizard-network');

  await page.getByRole('button', { name: /Review/ }).click();
  await page.getByRole('tab', { name: `${LABEL}.ctys` }).click();
  await expect(page.getByRole('tabpanel')).toContainText("QEMUSOCK='e2elan'");
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/vms/${LABEL}`));
  await page.getByRole('toolbar').getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.locator('h1 + [data-state]')).toHaveAttribute('data-state', 'running');

  // The facts name the sockets QEMU listens on, and the uptime counts.
  const runtime = page.getByRole('complementary', { name: 'Facts' }).getByRole('definition');
  await expect(runtime.filter({ hasText: 'qmp.sock' })).toHaveCount(1);
  await expect(page.getByTitle(`${join(env.run, LABEL, 'serial.sock')} (click to copy)`)).toContainText('serial.sock');

  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Networks' }).click();
  await expect(row(page, SWITCH).getByRole('link', { name: LABEL })).toBeVisible();
  await expect(page.getByText('1 VDE switch · 1 VM attached')).toBeVisible();
  await shot(page, 'networks');
});

test('cancel asks once, naming the VM on the switch; the switch goes and the VM keeps running', async () => {
  await row(page, SWITCH).getByRole('button', { name: `Cancel switch ${SWITCH}` }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText(`VM ${LABEL} is on it`);
  await dialog.getByRole('button', { name: 'Keep it' }).click();
  await expect(dialog).toBeHidden();
  await expect(row(page, SWITCH)).toBeVisible();

  await row(page, SWITCH).getByRole('button', { name: `Cancel switch ${SWITCH}` }).click();
  await dialog.getByRole('button', { name: 'Cancel and detach the VM' }).click();
  await expect(row(page, SWITCH)).toHaveCount(0);
  await expect(page.getByText('No VDE switches.')).toBeVisible();
  const vm = await (await page.request.get(`/api/vms/${LABEL}`, { headers: await csrf(page) })).json();
  expect(vm.vm.state).toBe('running');
});
