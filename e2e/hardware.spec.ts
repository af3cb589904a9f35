// The Hardware tab (issue 12): a setting changed in its card is reviewed as
// the config lines it will write, then saved; on a running VM the change is
// pending until the next start, on the page and in the list.
import { expect, test, type Page } from '@playwright/test';
import { e2eEnv } from './env';
import { shot, csrf } from './pages';

const env = e2eEnv();
const LABEL = 'hw1';

test.describe.configure({ mode: 'serial' });

let page: Page;

test.beforeAll(async ({ browser }) => {
  page = await (await browser.newContext()).newPage();
  await page.goto(`/login?token=${env.token}`);
  // The dashboard's page keeps the session's secret once it is there.
  await expect(page).toHaveURL(/\/$/);
  const made = await page.request.post('/api/vms', {
    headers: await csrf(page),
    // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
    data: { label: LABEL, template: 'kernel-initrd', accelerator: 'QEMU', kernel: env.kernel, initrd: env.initrd, append: env.append, createImage: true, start: true },
  });
  expect(made.status(), await made.text()).toBe(201);
});

test.afterAll(async () => {
  await page.request.post(`/api/vms/${LABEL}/stop`, { headers: await csrf(page), data: { mode: 'force' } });
  await page?.context().close();
});

test('memory changed in the Hardware tab: reviewed as its config line, saved, pending on the page and in the list', async () => {
  await page.goto(`/vms/${LABEL}?tab=hardware`);
  // Every boot mode's source is a field of the Boot card.
  const boot = page.locator('[data-card="boot"]');
  for (const source of ['CD/DVD image', 'Floppy image', 'USB image', 'PXE tree', 'PXE boot file', 'Kernel']) await expect(boot.getByLabel(new RegExp(`^${source} [A-Z_]+$`))).toBeVisible();
  await expect(boot.getByLabel(/^PXE boot file /)).toHaveValue('pxelinux.0');
  const card = page.locator('[data-card="cpu"]');
  await expect(card.getByLabel(/Memory/)).toHaveValue('256');
  // SMP, CPU, … are plain assignments: editable; a bad value is the server's own message under the card.
  await card.getByLabel(/Memory/).fill('12x');
  await card.getByRole('button', { name: 'Review changes' }).click();
  await expect(card.getByRole('alert')).toHaveText("memsize: '12x' is not a size in MiB");
  // The field refused takes the focus back, described by its error.
  await expect(card.getByLabel(/Memory/)).toBeFocused();
  await expect(card.getByLabel(/Memory/)).toHaveAccessibleDescription("memsize: '12x' is not a size in MiB");
  await card.getByLabel(/Memory/).fill('320');
  await card.getByRole('button', { name: 'Review changes' }).click();
  const review = card.getByTestId('review');
  await expect(review).toContainText("MEMSIZE='320'");
  await expect(review).toContainText('(was MEMSIZE=256)');
  await expect(review).toContainText('pending until the next start');
  await shot(page, 'hardware-review');
  const files = async () => (await (await page.request.get(`/api/vms/${LABEL}`, { headers: await csrf(page) })).json()).files[`${LABEL}.ctys`] as string;
  expect(await files()).toMatch(/^MEMSIZE=256$/m);
  await card.getByRole('button', { name: 'Save' }).click();
  await expect(card.getByRole('status')).toHaveText('Saved: pending until the next start.');
  expect(await files()).toMatch(/^MEMSIZE='320'$/m);
  await expect(page.getByTestId('pending')).toContainText('MEMSIZE');
  await expect(page.locator('h1 ~ span', { hasText: 'pending' })).toBeVisible();
  // Meanwhile the page shows the memory QEMU runs with, the next start's beside it in the facts.
  await expect(page.locator('h1 ~ span', { hasText: ' MiB' })).toHaveText(/· 256 MiB$/);
  await expect(page.locator('dd:visible', { hasText: 'from the next start' })).toHaveText(/^256 MiB\s*\(320 MiB from the next start\)$/);
  await shot(page, 'hardware-pending');
  await page.goto('/');
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: LABEL, exact: true }) });
  await expect(row.getByText('pending', { exact: true })).toBeVisible();
  await expect(row.getByTitle('Runs with 256 MiB; 320 MiB from the next start')).toHaveText('256 MiB');
  // The list fits the 1280-pixel window (no sideways scroll), and the badge stays in its cell, clear of the OS beside it.
  const fit = await row.evaluate((r) => {
    const badge = [...r.querySelectorAll('*')].find((e) => e.textContent === 'pending' && e.children.length === 0)!.getBoundingClientRect();
    const cell = r.querySelector('[role="cell"]:nth-child(4)')!.getBoundingClientRect();
    const scroller = r.closest('.overflow-auto')!;
    return { inCell: badge.left >= cell.left && badge.right <= cell.right, sideways: scroller.scrollWidth - scroller.clientWidth };
  });
  expect(fit).toEqual({ inCell: true, sideways: 0 });
});

test('a second disk and NIC added in the browser to the running VM: hot-plugged and in the config', async () => {
  await page.goto(`/vms/${LABEL}?tab=hardware`);
  const disks = page.locator('[data-card="list-disks"]');
  await expect(disks.getByRole('row')).toHaveCount(1);
  await disks.getByLabel('New disk size').fill('16M');
  await disks.getByRole('button', { name: 'Add disk (live)' }).click();
  await expect(disks.getByRole('status')).toHaveText(/^Added disk 1 to the running VM: HDDBOOTIMAGE1='hw1-disk1\.qcow2'/);
  await expect(disks.getByRole('row')).toHaveCount(2);
  const nics = page.locator('[data-card="list-nics"]');
  await nics.getByRole('button', { name: 'Add NIC (live)' }).click();
  await expect(nics.getByRole('status')).toHaveText(/^Added NIC 1 to the running VM: NIC1=/);
  await expect(nics.getByRole('row')).toHaveCount(2);
  await shot(page, 'hardware-devices');
  const vm = (await (await page.request.get(`/api/vms/${LABEL}`, { headers: await csrf(page) })).json());
  expect(vm.vm.disks.map((d: { file: string }) => d.file)).toEqual(['hw1.qcow2', 'hw1-disk1.qcow2']);
  expect(vm.vm.nics).toHaveLength(2);
  expect(vm.files[`${LABEL}.ctys`]).toMatch(/^NIC1='virtio-net-pci'$/m);
  // Live, not pending: QEMU has them now (test/integration/devices.test.ts checks the guest sees them).
  expect(vm.vm.pending?.variables ?? []).not.toContain('HDDBOOTIMAGE1');
});

test('disk 1 of the running VM grown, its options set and removed in the browser: live where QEMU can, pending where not', async () => {
  await page.goto(`/vms/${LABEL}?tab=hardware`);
  const disks = page.locator('[data-card="list-disks"]');
  await disks.getByRole('button', { name: 'Resize disk 1' }).click();
  await disks.getByLabel('New size of disk 1').fill('32M');
  await disks.getByRole('button', { name: 'Resize (live)' }).click();
  await expect(disks.getByRole('status')).toHaveText('Disk 1: 16 MiB → 32 MiB, live');
  // Smaller without the label typed: refused, naming the field.
  await disks.getByRole('button', { name: 'Resize disk 1' }).click();
  await disks.getByLabel('New size of disk 1').fill('8M');
  await disks.getByRole('button', { name: 'Resize (live)' }).click();
  await expect(disks.getByRole('alert')).toHaveText(/^size: 8M is smaller than disk 1's 32 MiB \(33554432 bytes\)/);
  await disks.getByRole('button', { name: 'Options of disk 1' }).click();
  await disks.getByLabel('Read-only').check();
  await disks.getByLabel('Cache').selectOption('none');
  await disks.getByRole('button', { name: 'Save options' }).click();
  await expect(disks.getByRole('status')).toHaveText(/^Disk 1: HDDBOOTIMAGE1_READONLY='on' HDDBOOTIMAGE1_CACHE='none' \(pending until the next start\)$/);
  await expect(disks.locator('tr[data-disk="1"]')).toContainText('read-only, cache none');
  await shot(page, 'hardware-disk-row');
  // Asked first, naming what stays; backing out changes nothing.
  await disks.locator('tr[data-disk="1"]').getByRole('button', { name: 'Remove disk 1' }).click();
  const dialog = page.getByRole('dialog', { name: 'Remove disk 1 of hw1?' });
  await expect(dialog).toContainText('The running guest loses this disk at once');
  await expect(dialog).toContainText('Its image hw1-disk1.qcow2 stays');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(disks.locator('tr[data-disk]')).toHaveCount(2);
  await disks.locator('tr[data-disk="1"]').getByRole('button', { name: 'Remove disk 1' }).click();
  await dialog.getByRole('button', { name: 'Remove disk 1' }).click();
  await expect(disks.getByRole('status').filter({ hasText: 'removed' })).toHaveText('Disk 1 removed from the running VM; its image hw1-disk1.qcow2 stays');
  await expect(disks.getByRole('row')).toHaveCount(1);
  // NIC 1, added live before, goes the same way: asked, then unplugged.
  const nics = page.locator('[data-card="list-nics"]');
  await expect(nics.locator('tr[data-nic="0"]').getByRole('button', { name: /Remove/ })).toHaveCount(0);
  await nics.getByRole('button', { name: 'Remove NIC 1' }).click();
  const nicDialog = page.getByRole('dialog', { name: 'Remove NIC 1 of hw1?' });
  await expect(nicDialog).toContainText('The running guest loses this network interface at once');
  await nicDialog.getByRole('button', { name: 'Remove NIC 1' }).click();
  await expect(nics.getByRole('status')).toHaveText('NIC 1 removed from the running VM');
  await expect(nics.getByRole('row')).toHaveCount(1);
  const vm = (await (await page.request.get(`/api/vms/${LABEL}`, { headers: await csrf(page) })).json());
  // The list ends where a name is empty (lib/hardware.ts): disk 1 is gone from the config.
  expect(vm.files[`${LABEL}.ctys`]).toMatch(/^HDDBOOTIMAGE1=''$/m);
  expect(vm.files[`${LABEL}.ctys`]).toMatch(/^NIC1=''$/m);
  expect(vm.vm.disks).toHaveLength(1);
  expect(vm.vm.nics).toHaveLength(1);
});

test('Clone on the VM page: refused while it runs; stopped, a linked clone is made and its page reached', async () => {
  await page.goto(`/vms/${LABEL}?tab=hardware`);
  const card = page.locator('[data-card="clone"]');
  await expect(card.getByRole('button', { name: 'Clone' })).toBeDisabled();
  await expect(card).toContainText('Stop the VM to clone it.');
  await page.request.post(`/api/vms/${LABEL}/stop`, { headers: await csrf(page), data: { mode: 'force' } });
  await expect(card.getByRole('button', { name: 'Clone' })).toBeEnabled();
  await card.getByLabel('New label').fill('hw1-copy');
  await card.getByLabel(/Linked/).check();
  await card.getByRole('button', { name: 'Clone' }).click();
  await expect(card.getByRole('status')).toHaveText('Made hw1-copy.');
  await shot(page, 'hardware-clone');
  await card.getByRole('link', { name: 'hw1-copy' }).click();
  await expect(page.getByRole('heading', { name: 'hw1-copy' })).toBeVisible();
  const copy = (await (await page.request.get('/api/vms/hw1-copy', { headers: await csrf(page) })).json()).vm;
  const source = (await (await page.request.get(`/api/vms/${LABEL}`, { headers: await csrf(page) })).json()).vm;
  expect(copy.uuid).not.toBe(source.uuid);
  expect(copy.mac).not.toBe(source.mac);
});
