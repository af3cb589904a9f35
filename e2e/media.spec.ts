// The install-media library in the browser: GRUB's rescue ISO (Debian's
// grub-rescue-pc) uploaded through the wizard shows its progress and SHA-256,
// appears in the wizard's list, is picked as the VM's ISO and boots it: GRUB's
// menu on the VM's screen, read with tesseract. A preseed with a Debian
// install CD picked in the wizard: its review and its create.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { expect, test } from '@playwright/test';
import { netinstIso, ocr, rescueIso } from '../test/helpers/media-files';
import { e2eEnv } from './env';
import { shot, wizardToStorage, csrf } from './pages';

const env = e2eEnv();
const LABEL = 'isoboot';

test('an ISO uploaded in the wizard shows progress, is listed and picked, and boots the VM', async ({ page, context }) => {
  const iso = rescueIso();
  const name = basename(iso);
  const sha256 = createHash('sha256').update(readFileSync(iso)).digest('hex');
  await page.goto(`/login?token=${env.token}`);
  await expect(page).toHaveURL(/\/$/);
  await page.goto('/vms/new?template=linux-x86_64');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.locator('#f-label').fill(LABEL);
  await page.getByRole('button', { name: 'Next' }).click();
  // This host's /dev/kvm (kvm_pvm) cannot run ordinary guests: emulation.
  await page.getByRole('radio', { name: /^QEMU \(TCG\)/ }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('radio', { name: /No disk/ }).check();
  await page.getByRole('radio', { name: /^CD-ROM/ }).check();
  const library = page.getByRole('list', { name: 'Media library' });
  await expect(page.getByText(/No ISO images in/)).toBeVisible();

  // Loopback is too fast to see a bar move: the browser's upload is slowed to about 1 MB/s.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1024 * 1024 });
  await page.getByLabel('Upload an image').setInputFiles(iso);
  const progress = page.getByTestId('upload-progress');
  await expect(progress).toBeVisible();
  await expect(progress).toHaveText(/^([1-9]|[1-9]\d)% of 4\.8 MiB$/, { timeout: 15_000 });
  await shot(page, 'media-upload-progress');
  await expect(page.getByTestId('upload-sha256')).toHaveText(sha256, { timeout: 60_000 });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

  // Listed with its volume label, and picked as the VM's ISO.
  const entry = library.getByRole('button', { name: new RegExp(name.replace(/\./g, '\\.')) });
  await expect(entry).toHaveAttribute('aria-pressed', 'true');
  await expect(entry).toContainText('ISO');
  const uploaded = join(env.home, 'media', name);
  await expect(page.locator('#f-instSrcCdrom')).toHaveValue(uploaded);
  const listed = await (await page.request.get('/api/media', { headers: await csrf(page) })).json();
  expect(listed.media.map((m: { path: string }) => m.path)).toContain(uploaded);
  await shot(page, 'media-picked');

  await page.getByRole('button', { name: /Review/ }).click();
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/vms/${LABEL}`));
  await page.getByRole('toolbar').getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.locator('h1 + [data-state]')).toHaveAttribute('data-state', 'running');

  let text = '';
  await expect(async () => {
    const png = await (await page.request.get(`/api/vms/${LABEL}/screenshot`, { headers: await csrf(page) })).body();
    text = await ocr(png);
    expect(text).toMatch(/GNU GRUB/);
  }).toPass({ timeout: 90_000, intervals: [2000] });
  await shot(page, 'media-grub');

  // The CD/DVD menu lists the library too.
  await page.getByRole('button', { name: 'CD/DVD' }).click();
  await expect(page.getByRole('list', { name: 'Media library' })).toContainText(name);
  await page.keyboard.press('Escape');

  expect((await page.request.post(`/api/vms/${LABEL}/stop`, { headers: await csrf(page), data: { mode: 'force' } })).status()).toBe(200);
  expect((await page.request.delete(`/api/vms/${LABEL}?disks=delete`, { headers: await csrf(page) })).status()).toBe(200);
});

test('"Automate the install": the review shows the cloud-init seed files, without the password hash', async ({ page }) => {
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMZIxQoxP+xUYOvHvzx7/tMZ6tUjmEqXcVUa+4bvkaHT e2e@vmdeck';
  const hash = '$6$vmdecksalt$hPxVkxH9cz4uOSsP6Pg0tWy2yGGOzQ44Tct69vRHWbHMwgIKa2dMxxWYQ8AUdhBtOJ8eC54j4R2U7ky0S8MDx0';
  await page.goto(`/login?token=${env.token}`);
  await expect(page).toHaveURL(/\/$/);
  await wizardToStorage(page, 'seeded');
  await page.locator('#f-kernel').fill(env.kernel);
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByRole('heading', { name: 'Automate the install' })).toBeVisible();
  await page.getByRole('radio', { name: /cloud-init/ }).check();
  await page.locator('#f-sshKey').fill('ssh-rsa nonsense');
  await expect(page.locator('#f-sshKey-error')).toContainText('is not an OpenSSH public key');
  await page.locator('#f-sshKey').fill(key);
  await page.locator('#f-passwordHash').fill(hash);
  await page.locator('#f-vmUser').fill('alice');
  await page.getByRole('button', { name: /Review/ }).click();
  await page.getByRole('tab', { name: 'seeded.seed.user-data' }).click();
  const panel = page.getByRole('tabpanel');
  await expect(panel).toContainText('"name": "alice"');
  await expect(panel).toContainText(key);
  await expect(panel).toContainText('(PASSWORD_HASH, not shown)');
  await expect(panel).not.toContainText(hash);
  await page.getByRole('tab', { name: 'seeded.ctys' }).click();
  await expect(panel).toContainText("SEEDIMAGE='seeded.seed.iso'");
  await expect(page.locator('[data-warning]')).toHaveCount(0);
  await shot(page, 'wizard-unattended-review');
  // Neither key nor password: the review says that nobody could log in, before anything is made.
  await page.getByRole('list', { name: 'Steps' }).getByRole('button', { name: /Automate the install/ }).click();
  await page.locator('#f-sshKey').fill('');
  await page.locator('#f-passwordHash').fill('');
  await page.getByRole('list', { name: 'Steps' }).getByRole('button', { name: /Review/ }).click();
  await expect(page.locator('[data-warning]')).toHaveText("unattended: the account 'alice' gets neither an SSH key (SSHKEY) nor a password (PASSWORD_HASH): nobody can log in to the installed system");
});

test('"Build a Debian system": the review shows the debootstrap VM\'s config before anything is built', async ({ page }) => {
  await page.goto(`/login?token=${env.token}`);
  await expect(page).toHaveURL(/\/$/);
  await page.goto('/vms/new?template=linux-x86_64');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.locator('#f-label').fill('debwiz');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('radio', { name: /^QEMU \(TCG\)/ }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('radio', { name: /Build a Debian system/ }).check();
  await expect(page.getByText(/booted in KERNEL mode/)).toBeVisible();
  await page.getByRole('button', { name: /Review/ }).click();
  const panel = page.getByRole('tabpanel');
  await expect(panel).toContainText("HDDBOOTIMAGE='debwiz.raw'");
  await expect(panel).toContainText("DEFAULTBOOTMODE='KERNEL'");
  await expect(panel).toContainText("UNATTENDED='cloud-init'");
  await expect(page.getByRole('tab', { name: 'debwiz.seed.user-data' })).toBeVisible();
  await shot(page, 'wizard-debootstrap-review');
});

test('"Automate the install": a preseed with a Debian install CD boots the CD\'s installer by kernel; the review says so, create writes it', async ({ page }) => {
  // In a directory under the media directory: the API takes it, the library (one level) does not list it.
  const iso = join(env.home, 'media', 'installers', 'netinst.iso');
  mkdirSync(join(env.home, 'media', 'installers'), { recursive: true });
  copyFileSync(netinstIso(), iso);
  await page.goto(`/login?token=${env.token}`);
  await expect(page).toHaveURL(/\/$/);
  await wizardToStorage(page, 'cdseed', 'linux-x86_64');
  await page.getByRole('radio', { name: /^CD-ROM/ }).check();
  await page.locator('#f-instSrcCdrom').fill(iso);
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByRole('heading', { name: 'Automate the install' })).toBeVisible();
  const preseed = page.getByRole('radio', { name: /Debian\/Ubuntu preseed/ });
  await preseed.check();
  await expect(page.getByText(/The CD's installer \(\/install\.amd\) booted by kernel/)).toBeVisible();
  await page.getByRole('button', { name: /Review/ }).click();
  await expect(page.getByRole('tab', { name: 'cdseed.seed.preseed.cfg' })).toBeVisible();
  await page.getByRole('tab', { name: 'cdseed.ctys' }).click();
  const panel = page.getByRole('tabpanel');
  for (const line of ["DEFAULTBOOTMODE='KERNEL'", "KERNELIMAGE='cdseed.seed.vmlinuz'", "INITRDIMAGE='cdseed.seed.initrd'", `INSTSRCCDROM='${iso}'`]) {
    await expect(panel).toContainText(line);
  }
  await shot(page, 'wizard-preseed-cd-review');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(page).toHaveURL(/\/vms\/cdseed/);
  const dir = join(env.home, 'vms', 'cdseed');
  expect(statSync(join(dir, 'cdseed.seed.vmlinuz')).size).toBeGreaterThan(1_000_000);
  expect(statSync(join(dir, 'cdseed.seed.initrd')).mode & 0o777).toBe(0o600);
  expect((await page.request.delete('/api/vms/cdseed?disks=delete', { headers: await csrf(page) })).status()).toBe(200);
});
