// UEFI and TPM in the Hardware tab (issue 12): a BIOS VM switched to UEFI
// with a TPM 2.0 in the "Firmware and TPM" card, reviewed as its config
// lines and saved, boots Debian's OVMF: with nothing bootable on its empty
// disk and drive, OVMF starts its UEFI shell, read off the VM's screen with
// tesseract. A second CD/DVD drive is added and given an ISO in the drives card.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { ocr } from '../test/helpers/media-files';
import { e2eEnv, SCREENSHOTS } from './env';
import { csrf, loggedIn, shot, wizardToHardware } from './pages';

const env = e2eEnv();
const LABEL = 'uefi1';

test('FIRMWARE=UEFI and TPM=2.0 set in the Hardware tab: the VM boots OVMF to its UEFI shell', async ({ browser }) => {
  // OVMF under TCG takes a while to reach its shell on 2 busy cores.
  test.setTimeout(360_000);
  const { context, page } = await loggedIn(browser);
  const made = await page.request.post('/api/vms', {
    headers: await csrf(page),
    // TCG, pinned: the same on every host. No network: OVMF would try PXE (IPv4, then IPv6) before its shell.
    data: { label: LABEL, template: 'linux-x86_64', accelerator: 'QEMU', smp: 1, memsize: 256, diskSize: '16M', netmode: 'none', createImage: true },
  });
  expect(made.status(), await made.text()).toBe(201);

  await page.goto(`/vms/${LABEL}?tab=hardware`);
  const card = page.locator('[data-card="firmware"]');
  await expect(card.locator('#hw-firmware')).toHaveValue('BIOS');
  await card.locator('#hw-secureBoot').selectOption('on');
  await card.getByRole('button', { name: 'Review changes' }).click();
  // The server's own refusal, under the card: Secure Boot needs UEFI first.
  await expect(card.getByRole('alert')).toHaveText('secureBoot: Secure Boot needs UEFI firmware (FIRMWARE=UEFI)');
  await card.locator('#hw-secureBoot').selectOption('off');
  await card.locator('#hw-firmware').selectOption('UEFI');
  await card.locator('#hw-tpm').selectOption('2.0');
  await card.getByRole('button', { name: 'Review changes' }).click();
  const review = card.getByTestId('review');
  await expect(review).toContainText("FIRMWARE='UEFI'");
  await expect(review).toContainText("(was FIRMWARE='BIOS')");
  await expect(review).toContainText("TPM='2.0'");
  await shot(page, 'firmware-review');
  await card.getByRole('button', { name: 'Save' }).click();
  await expect(card.getByRole('status')).toHaveText('Saved.');
  const config = (await (await page.request.get(`/api/vms/${LABEL}`, { headers: await csrf(page) })).json()).files[`${LABEL}.ctys`] as string;
  expect(config).toMatch(/^FIRMWARE='UEFI'$/m);
  expect(config).toMatch(/^TPM='2.0'$/m);

  // A second CD/DVD drive, and an ISO put into it, in the drives card.
  // Beside the VM, not in the media library, which the media spec finds empty.
  const tree = join(env.home, 'cd-tree');
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, 'hello.txt'), 'hello\n');
  const iso = join(env.home, 'vms', LABEL, 'data.iso');
  execFileSync('genisoimage', ['-quiet', '-V', 'DATA', '-o', iso, tree]);
  const drives = page.locator('[data-card="list-drives"]');
  await drives.getByRole('button', { name: 'Add CD/DVD drive' }).click();
  await expect(drives.getByRole('status')).toHaveText("Added CD/DVD drive 1: CDROM1='' CDROM1_IF='ide'");
  await drives.getByLabel('Image in cd1').fill(iso);
  await drives.locator('[data-drive="cd1"]').getByRole('button', { name: 'Change' }).click();
  await expect(drives.getByRole('status')).toHaveText(`cd1: ${iso}: CDROM1='${iso}'`);
  // A PC's floppy drives are there to be filled, empty until then.
  await expect(drives.getByLabel('Image in fda')).toHaveValue('');
  await expect(drives.getByLabel('Image in fdb')).toHaveValue('');
  await shot(page, 'drives-card');
  // A second drive added and taken away again: drive 1 keeps its ISO.
  await drives.getByRole('button', { name: 'Add CD/DVD drive' }).click();
  await expect(drives.getByRole('status')).toHaveText("Added CD/DVD drive 2: CDROM2='' CDROM2_IF='ide'");
  await drives.getByRole('button', { name: 'Remove cd2' }).click();
  await expect(drives.getByRole('status')).toHaveText("Removed CD/DVD drive 2: CDROM2='' CDROM2_IF=''");
  await expect(drives.locator('[data-drive="cd2"]')).toHaveCount(0);
  await expect(drives.getByLabel('Image in cd1')).toHaveValue(iso);

  await page.getByRole('toolbar').getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.locator('h1 + [data-state]')).toHaveAttribute('data-state', 'running');
  let png: Buffer = Buffer.alloc(0);
  await expect(async () => {
    png = await (await page.request.get(`/api/vms/${LABEL}/screenshot`, { headers: await csrf(page) })).body();
    expect(await ocr(png)).toMatch(/UEFI Interactive Shell|Shell>/);
  }).toPass({ timeout: 300_000, intervals: [3000] });
  writeFileSync(join(SCREENSHOTS, 'firmware-uefi-screen.png'), png);
  await page.goto(`/vms/${LABEL}`);
  await expect(page.locator('canvas').first()).toBeVisible();
  await shot(page, 'firmware-uefi-shell');

  expect((await page.request.post(`/api/vms/${LABEL}/stop`, { headers: await csrf(page), data: { mode: 'force' } })).status()).toBe(200);
  expect((await page.request.delete(`/api/vms/${LABEL}?disks=delete`, { headers: await csrf(page) })).status()).toBe(200);
  // The runtime dir went with the VM, swtpm's files too; so did the UEFI variables and the TPM state.
  expect(existsSync(join(env.run, LABEL))).toBe(false);
  expect(readdirSync(join(env.home, 'vms', LABEL))).toEqual(['data.iso']);
  rmSync(iso);
  rmSync(tree, { recursive: true });
  await context.close();
});

test('the wizard: the Windows 11 template brings UEFI, Secure Boot and a TPM, each changeable, into the review\'s config', async ({ browser }) => {
  const { context, page } = await loggedIn(browser);
  await wizardToHardware(page, 'win11', 'windows11');
  await expect(page.locator('#f-firmware')).toHaveValue('UEFI');
  await expect(page.locator('#f-secureBoot')).toHaveValue('on');
  await expect(page.locator('#f-tpm')).toHaveValue('2.0');
  // Secure Boot without UEFI: the server's own refusal, under the field.
  await page.locator('#f-firmware').selectOption('BIOS');
  await expect(page.locator('#f-secureBoot-error')).toHaveText('secureBoot: Secure Boot needs UEFI firmware (FIRMWARE=UEFI)');
  await page.locator('#f-firmware').selectOption('UEFI');
  await page.locator('#f-tpm').selectOption('none');
  await page.getByRole('radio', { name: /^QEMU \(TCG\)/ }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('button', { name: /Review/ }).click();
  await page.getByRole('tab', { name: 'win11.ctys' }).click();
  const panel = page.getByRole('tabpanel');
  await expect(panel).toContainText("FIRMWARE='UEFI'");
  await expect(panel).toContainText("SECUREBOOT='on'");
  await expect(panel).toContainText("TPM='none'");
  await expect(panel).toContainText("MACHINE='q35'");
  await shot(page, 'wizard-firmware-review');
  await context.close();
});

test("the wizard's machine section: a type QEMU lacks is said under its field; made right under the cursor, the section stays open", async ({ browser }) => {
  const { context, page } = await loggedIn(browser);
  await wizardToHardware(page, 'machine1', 'linux-x86_64');
  const machine = page.locator('details', { hasText: 'Machine (from the template)' });
  await machine.locator('summary').click();
  await page.locator('#f-machine').fill('q3');
  await expect(page.locator('#f-machine-error')).toContainText("'q3' is not a machine type of qemu-system-x86_64");
  await page.locator('#f-machine').pressSequentially('5');
  await expect(page.locator('#f-machine-error')).toHaveCount(0);
  await expect(machine).toHaveAttribute('open', '');
  await expect(page.locator('#f-machine')).toBeVisible();
  await expect(page.locator('#f-machine')).toBeFocused();
  await context.close();
});

test("the browser's Back and Forward go from step to step of the wizard, what was entered kept", async ({ browser }) => {
  const { context, page } = await loggedIn(browser);
  await page.goto('/');
  await wizardToHardware(page, 'backfwd1', 'linux-x86_64');
  await expect(page.locator('#f-machine')).toBeAttached();
  await page.goBack();
  await expect(page.locator('#f-label')).toHaveValue('backfwd1');
  await page.goForward();
  await expect(page.locator('#f-machine')).toBeAttached();
  await page.goBack();
  await page.goBack();
  await expect(page.locator('#f-label')).toHaveCount(0);
  await expect(page).toHaveURL(/\/vms\/new/);
  await page.goForward();
  await expect(page.locator('#f-label')).toHaveValue('backfwd1');
  // Back past the wizard's first step leaves it, as before.
  await page.goBack();
  await page.goBack();
  await expect(page).toHaveURL(/\/$/);
  // Its entries keep the router's state (the wizard was loaded first, before the router patched history):
  // away by the nav and Back again is the router's own navigation, not a reload of the page.
  await page.goForward();
  await expect(page).toHaveURL(/\/vms\/new/);
  await page.evaluate(() => { (window as unknown as { stayed: boolean }).stayed = true; });
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Virtual machines' }).click();
  await expect(page).toHaveURL(/\/$/);
  await page.goBack();
  await expect(page).toHaveURL(/\/vms\/new/);
  await expect(page.getByRole('heading', { name: 'New virtual machine' })).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  await context.close();
});
