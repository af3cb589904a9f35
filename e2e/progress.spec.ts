// A VM that QEMU runs but that gets nowhere: its boot sector only halts. The
// VM list shows a warning beside its badge, the VM page says why.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { e2eEnv, SCREENSHOTS } from './env';
import { csrf, shot } from './pages';

const env = e2eEnv();
const LABEL = 'e2estuck';

test.describe.configure({ mode: 'serial' });

let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  context = await browser.newContext();
  page = await context.newPage();
  await page.goto(`/login?token=${env.token}`);
  await expect(page).toHaveURL(/\/$/);
});

test.afterAll(async () => {
  if (page) {
    const headers = await csrf(page).catch(() => ({}));
    await page.request.post(`/api/vms/${LABEL}/stop`, { data: { mode: 'force' }, headers }).catch(() => undefined);
    await page.request.delete(`/api/vms/${LABEL}?disks=delete`, { headers }).catch(() => undefined);
  }
  await context?.close();
});

test('a running VM that makes no progress: a warning beside its badge in the list, and the reason on its page', async () => {
  // cli; hlt; jmp $-1 as the boot sector: SeaBIOS says "Booting from Hard Disk..." and nothing follows.
  const disk = Buffer.alloc(1024 * 1024);
  disk.set([0xfa, 0xf4, 0xeb, 0xfd], 0);
  disk.set([0x55, 0xaa], 510);
  // In a media directory: the API takes disks from the bases and the media directories only.
  const media = join(env.home, 'media');
  mkdirSync(media, { recursive: true });
  const path = join(media, `${LABEL}.img`);
  writeFileSync(path, disk);
  // TCG: this host's KVM runs no ordinary guest (kvm_pvm); the warning is about the guest, not the accelerator.
  const created = await page.request.post('/api/vms', {
    headers: await csrf(page),
    // TCG, pinned: the same on every host (the host's own default is run by test/integration/default-path.test.ts).
    data: { label: LABEL, template: 'linux-x86_64', disk: path, diskFormat: 'raw', accelerator: 'QEMU', netmode: 'none', memsize: 64, smp: 1, start: true },
  });
  expect(created.status(), await created.text()).toBe(201);
  expect((await created.json()).startError).toBeUndefined();

  await page.goto('/');
  const row = page.locator(`[role="row"][data-label="${LABEL}"]`);
  await expect(row.locator('[data-state]')).toHaveText('running');
  const mark = row.locator('[data-warning]');
  await expect(mark).toHaveAttribute('aria-label', /^warning: no progress: nothing on serial since the start/, { timeout: 60_000 });
  await expect(row).toContainText('no progress: nothing on serial since the start');
  await shot(page, 'list-no-progress');

  await page.goto(`/vms/${LABEL}`);
  await expect(page.locator('h1')).toHaveText(LABEL);
  const status = page.getByRole('status').filter({ hasText: 'no progress' });
  await expect(status).toContainText('the CPU has not turned paging on: no OS kernel runs');
  await expect(page.locator('[data-state]').first()).toHaveText('running');
  await shot(page, 'vm-no-progress');
});
