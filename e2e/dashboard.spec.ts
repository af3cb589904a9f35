// The dashboard end to end: log in, create the demo guest through the wizard,
// start it, and use every console on it, against the real server and QEMU.
// One browser context for the whole story (the tests build on each other).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect, test, type BrowserContext, type Locator, type Page } from '@playwright/test';
import { e2eEnv, SCREENSHOTS } from './env';
import { csrf, loggedIn, shot, wizardToStorage } from './pages';

const env = e2eEnv();
const LABEL = 'e2e1';
const PROMPT = /guest:[^\n]*# /;

test.describe.configure({ mode: 'serial' });

let context: BrowserContext;
let page: Page;


/** The text a console's xterm.js shows (its DOM renderer's rows). */
const terminal = (p: Page, kind: string): Locator => p.locator(`[data-console="${kind}"] .xterm-rows`);

async function openTab(p: Page, name: string) {
  await p.getByRole('tab', { name }).click();
  await expect(p.getByRole('tab', { name })).toHaveAttribute('aria-selected', 'true');
}

async function typeInto(p: Page, kind: string, text: string) {
  await p.locator(`[data-console="${kind}"] .xterm-screen`).click();
  await p.keyboard.type(text);
  await p.keyboard.press('Enter');
}

/** What the Content-Security-Policy blocked on any page of the run: nothing, or the pages do not work as built. */
const cspViolations: string[] = [];

test.beforeAll(async ({ browser }) => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  context = await browser.newContext();
  context.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
  page = await context.newPage();
});

test.afterAll(async () => {
  // A test that failed before the Delete leaves the VM running: the next specs would count it (the host page's "1 VM").
  try {
    await page?.request.post(`/api/vms/${LABEL}/stop`, { data: { mode: 'force' }, headers: await csrf(page) });
  } catch { /* the page is gone: the run's teardown ends what is left */ }
  await context?.close();
});

test('logs in with the token', async () => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel('Access token').fill('not-the-token');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.locator('#token-error')).toContainText('not right');
  await page.getByLabel('Access token').fill(env.token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { name: 'Virtual machines' })).toBeVisible();
});

test('a page that lost its secret (storage cleared, the cookie kept) asks for a new login and stays there; the login gives it one', async ({ browser }) => {
  // A context of its own: clearing the storage of this spec's context would send its open page to the login too.
  const { context: own, page: p } = await loggedIn(browser);
  await p.goto('/host');
  await p.evaluate(() => window.localStorage.clear());
  // The page goes on to the login by itself. So may the host page before it: its next poll of the host's load
  // lacks the secret too, and its own way to the login then aborts this navigation (once in a CI rehearsal).
  await p.goto('/', { waitUntil: 'commit' }).catch((e: Error) => {
    if (!/ERR_ABORTED/.test(e.message)) throw e;
  });
  // The list's first API call is refused for the missing secret: to the login page with the reason, once.
  await expect(p).toHaveURL(/\/login\?error=/);
  await expect(p.locator('#token-error')).toContainText('page secret');
  const at = p.url();
  await p.waitForTimeout(1500);
  expect(p.url()).toBe(at);
  await p.getByLabel('Access token').fill(env.token);
  await p.getByRole('button', { name: 'Log in' }).click();
  await expect(p).toHaveURL(/\/$/);
  await expect(p.getByRole('heading', { name: 'Virtual machines' })).toBeVisible();
  await expect(p.locator('[aria-live]').first()).toContainText(/VMs?/);
  await own.close();
});

test('pages carry a per-answer script nonce and refuse framing; the login left no secret in the address bar', async () => {
  expect(page.url()).not.toContain('csrf');
  const p = await context.newPage();
  const first = await p.goto('/host');
  const csp = first!.headers()['content-security-policy'];
  expect(csp).toMatch(/script-src 'nonce-[^']+' 'strict-dynamic'/);
  expect(csp).toContain("frame-ancestors 'none'");
  expect(first!.headers()['x-frame-options']).toBe('DENY');
  const again = await p.goto('/host');
  expect(again!.headers()['content-security-policy']).not.toBe(csp);
  // Hydrated under the policy: a client-side navigation works.
  await p.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Virtual machines' }).click();
  await expect(p.getByRole('heading', { name: 'Virtual machines' })).toBeVisible();
  await p.close();
});

test('the list page loads neither noVNC nor xterm.js, and little JavaScript', async () => {
  const p = await context.newPage();
  const bodies: Buffer[] = [];
  const pending: Promise<void>[] = [];
  p.on('response', (r) => {
    if (r.url().includes('/_next/static/') && r.url().endsWith('.js')) pending.push(r.body().then((b) => { bodies.push(b); }));
  });
  await p.goto('/');
  await p.waitForLoadState('networkidle');
  await Promise.all(pending);
  const all = Buffer.concat(bodies).toString('utf8');
  expect(all).not.toContain('xterm-helper-textarea');
  expect(all).not.toContain('_negotiateSecurity');
  const gzipped = bodies.reduce((n, b) => n + gzipSync(b).length, 0);
  console.log(`list page first-load JS: ${(gzipped / 1024).toFixed(1)} KiB gzip in ${bodies.length} files`);
  expect(gzipped).toBeLessThanOrEqual(250 * 1024);
  await p.close();
});

test('a wrong label shows the server\'s message under the field, and nothing is created', async () => {
  await page.goto('/vms/new');
  await page.getByRole('radio', { name: /Linux kernel \+ initrd/ }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.locator('#f-label').fill('bad label');
  await expect(page.locator('#f-label-error')).toContainText("'bad label' is not a valid label");
  await expect(page.locator('#f-label')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByRole('button', { name: 'Next' })).toBeDisabled();
  await page.getByRole('button', { name: /Review/ }).click();
  await expect(page.getByRole('button', { name: 'Create', exact: true })).toBeDisabled();
  const vms = await (await page.request.get('/api/vms', { headers: await csrf(page) })).json();
  expect(vms.map((v: { label: string }) => v.label)).not.toContain('bad label');
});

test('creates the demo guest through the wizard and starts it', async () => {
  await page.goto('/vms/new');
  await page.getByRole('radio', { name: /Linux kernel \+ initrd/ }).check();
  await page.getByRole('button', { name: 'Next' }).click();

  await page.locator('#f-label').fill(LABEL);
  await expect(page.locator('#f-mac')).toHaveValue(/^52:54:00(:[0-9a-f]{2}){3}$/);
  await page.getByRole('button', { name: 'Next' }).click();

  // TCG, pinned: the same on every host (e2e/default-path.spec.ts takes the host's default).
  await page.getByRole('radio', { name: /^QEMU \(TCG\)/ }).check();
  await page.getByRole('button', { name: 'Next' }).click();

  await page.locator('#f-kernel').fill(env.kernel);
  await page.locator('#f-initrd').fill(env.initrd);
  await page.locator('#f-append').fill(env.append);
  await page.getByRole('button', { name: 'Next' }).click();
  // The install is by hand: past "Automate the install".
  await expect(page.getByRole('heading', { name: 'Automate the install' })).toBeVisible();
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByRole('heading', { name: 'Network' })).toBeVisible();
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByRole('heading', { name: 'Console' })).toBeVisible();
  await page.getByRole('button', { name: 'Next' }).click();

  // The review shows the exact files and command before anything is written.
  const panel = page.getByRole('tabpanel');
  await expect(page.getByRole('tab', { name: `${LABEL}.ctys` })).toBeVisible();
  await expect(panel).toContainText(`#@#LABEL`);
  await expect(panel).toContainText(`"${LABEL}"`);
  await expect(panel).toContainText("ACCELERATOR='QEMU'");
  await shot(page, 'wizard-review');
  await page.getByRole('tab', { name: `${LABEL}.sh` }).click();
  await expect(panel).toContainText('#!/usr/bin/env bash');
  await page.getByRole('tab', { name: 'QEMU command' }).click();
  await expect(panel).toContainText(`-kernel ${env.kernel}`);
  let vms = await (await page.request.get('/api/vms', { headers: await csrf(page) })).json();
  expect(vms.map((v: { label: string }) => v.label)).not.toContain(LABEL);

  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/vms/${LABEL}`));
  vms = await (await page.request.get('/api/vms', { headers: await csrf(page) })).json();
  expect(vms.map((v: { label: string }) => v.label)).toContain(LABEL);

  await page.getByRole('toolbar').getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.locator('h1 + [data-state]')).toHaveAttribute('data-state', 'running');
});

test('serial console: prompt, typing, and the earlier output after a reload', async () => {
  await openTab(page, 'Serial');
  await expect(terminal(page, 'serial')).toContainText(PROMPT, { timeout: 90_000 });
  await typeInto(page, 'serial', 'uname -s');
  await expect(terminal(page, 'serial')).toContainText(/uname -s\s*Linux/);
  // Ctrl+Shift+V pastes (plain Ctrl+V would be the guest's ^V).
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.baseURL });
  await page.evaluate(() => navigator.clipboard.writeText('echo pasted-$((2+3))'));
  await page.locator('[data-console="serial"] .xterm-screen').click();
  await page.keyboard.press('Control+Shift+V');
  await page.keyboard.press('Enter');
  await expect(terminal(page, 'serial')).toContainText('pasted-5');
  await shot(page, 'console-serial');
  await page.reload();
  await expect(page.getByRole('tab', { name: 'Serial' })).toHaveAttribute('aria-selected', 'true');
  await expect(terminal(page, 'serial')).toContainText(/uname -s\s*Linux/);
});

test('VNC console: connected, the screen is not blank, and Ctrl-Alt-Del reaches the guest', async () => {
  await openTab(page, 'VNC');
  await expect(page.locator('[data-phase]').filter({ visible: true })).toHaveAttribute('data-phase', 'connected');
  await expect.poll(async () => page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-console="vnc"] canvas');
    if (!canvas || canvas.width === 0) return 0;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    const colours = new Set<number>();
    for (let i = 0; i < data.length; i += 4 * 7) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    return colours.size;
  }), { message: 'distinct colours on the VNC canvas' }).toBeGreaterThan(1);
  await shot(page, 'console-vnc');

  await page.getByRole('button', { name: 'Send keys' }).click();
  await page.getByRole('menuitem', { name: 'Ctrl-Alt-Del' }).click();
  await openTab(page, 'Serial');
  await expect(terminal(page, 'serial')).toContainText('vmdeck-guest: ctrl-alt-del');
});

test('monitor console: info status', async () => {
  await openTab(page, 'Monitor');
  await expect(terminal(page, 'monitor')).toContainText('(qemu)');
  await typeInto(page, 'monitor', 'info status');
  await expect(terminal(page, 'monitor')).toContainText('VM status: running');
  await shot(page, 'console-monitor');
  await openTab(page, 'Files & command');
  await expect(page.getByRole('tabpanel').filter({ visible: true })).toContainText(`${LABEL}.ctys`);
  await shot(page, 'files');
});

test('a phone-wide window: no page scrolls sideways; the nav, the wizard\'s steps and the VM\'s tabs scroll in their bars, the facts are in Files', async () => {
  const narrow = await context.newPage();
  await narrow.setViewportSize({ width: 390, height: 800 });
  const sideways = () => narrow.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  for (const path of ['/', `/vms/${LABEL}`, '/vms/new', '/host']) {
    await narrow.goto(path);
    await expect(narrow.getByRole('navigation', { name: 'Sections' })).toBeVisible();
    await narrow.waitForTimeout(500);
    expect(await sideways(), `${path} scrolls sideways`).toBeLessThanOrEqual(0);
  }
  await narrow.goto(`/vms/${LABEL}`);
  await narrow.getByRole('tab', { name: 'Files & command' }).click();
  await expect(narrow.getByRole('complementary', { name: 'Facts' }).filter({ visible: true })).toContainText('UUID');
  await shot(narrow, 'narrow-vm-files');
  await narrow.close();
});

test('pause shows in another tab without a reload; resume', async () => {
  const list = await context.newPage();
  await list.goto('/');
  const badge = list.locator(`[role=row][data-label="${LABEL}"] [data-state]`);
  await expect(badge).toHaveAttribute('data-state', 'running');
  await shot(list, 'list');

  await page.getByRole('toolbar').getByRole('button', { name: 'Pause' }).click();
  await expect(badge).toHaveAttribute('data-state', 'paused');
  // The state filter goes by the badge: a VM paused by the user is paused, not failed.
  const stateFilter = list.locator('#vm-state-filter');
  const row = list.locator(`[role=row][data-label="${LABEL}"]`);
  await stateFilter.selectOption('paused');
  await expect(row).toBeVisible();
  await expect(stateFilter.locator('option[value=paused]')).toHaveText(/paused \([1-9]\d*\)/);
  await stateFilter.selectOption('failed');
  await expect(row).toBeHidden();
  await stateFilter.selectOption('');
  // The row's own button (one click handler on the table for every row's).
  await row.getByRole('button', { name: 'Resume' }).click();
  await expect(badge).toHaveAttribute('data-state', 'running');
  await expect(page.locator('h1 + [data-state]')).toHaveAttribute('data-state', 'running');
  // The row's label is a link: Enter on it opens the VM page in the app, without loading a document.
  await list.evaluate(() => { (window as unknown as { stayed: boolean }).stayed = true; });
  await row.getByRole('link', { name: LABEL, exact: true }).focus();
  await list.keyboard.press('Enter');
  // The page names its tab in the address (?tab=…) once it shows it.
  await expect(list).toHaveURL(new RegExp(`/vms/${LABEL}(\\?tab=[a-z]+)?$`));
  await expect(list.locator('h1 + [data-state]')).toHaveAttribute('data-state', 'running');
  expect(await list.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  await list.close();
});

test('shut down that the guest ignores: the reason beside the button, and Force off right there', async () => {
  // The test guest (busybox) has no ACPI daemon: the server waits its 20 s and gives up.
  const bar = page.getByRole('toolbar');
  await bar.getByRole('button', { name: 'Shut down' }).click();
  await expect(bar.getByRole('button', { name: 'Shutting down…' })).toBeDisabled();
  const note = bar.getByRole('alert');
  await expect(note).toContainText('did not power off', { timeout: 45_000 });
  await expect(page.locator('h1 + [data-state]')).toHaveAttribute('data-state', 'running');
  await shot(page, 'shutdown-ignored');
  await note.getByRole('button', { name: 'Force off' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText(`Whatever ${LABEL} has not written to its disk is lost`);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await note.getByRole('button', { name: 'Dismiss' }).click();
  await expect(note).toBeHidden();
});

test('a shut down under way when the page is reloaded: still shown as under way, and its end said there', async () => {
  const bar = page.getByRole('toolbar');
  await bar.getByRole('button', { name: 'Shut down' }).click();
  await expect(bar.getByRole('button', { name: 'Shutting down…' })).toBeDisabled();
  // Reloaded once the server has the request (the task log has it running), not while it is still being sent.
  await expect.poll(async () => {
    const tasks = await (await page.request.get(`/api/tasks?label=${LABEL}`, { headers: await csrf(page) })).json();
    return tasks.find((t: { action: string }) => t.action === 'stop:poweroff')?.result;
  }).toBe('running');
  await page.reload();
  // The task log has it running: the reloaded page says so, and then how it ended.
  await expect(bar.getByRole('button', { name: 'Shutting down…' })).toBeDisabled();
  const note = bar.getByRole('alert');
  await expect(note).toContainText('did not power off', { timeout: 45_000 });
  await expect(note.getByRole('button', { name: 'Force off' })).toBeVisible();
  await expect(bar.getByRole('button', { name: 'Shut down' })).toBeEnabled();
  await note.getByRole('button', { name: 'Dismiss' }).click();
});

/** How many boots the serial console shows (the guest prints this line once per boot). */
const boots = async (p: Page) => ((await terminal(p, 'serial').textContent()) ?? '').split('vmdeck-guest: ready').length - 1;

test('force off shows the stopped banner; Start on it brings the prompt back', async () => {
  await openTab(page, 'Serial');
  const bootsBefore = await boots(page);
  await page.getByRole('toolbar').getByRole('button', { name: 'Force off' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText(LABEL);
  await dialog.getByRole('button', { name: 'Force off' }).click();
  const banner = page.locator('[data-console="serial"] ~ [role=alert]');
  await expect(banner).toContainText('VM stopped');
  await shot(page, 'console-serial-stopped');
  // A mark on this document: a reload would lose it.
  await page.evaluate(() => { (window as unknown as { sameDocument: boolean }).sameDocument = true; });
  await banner.getByRole('button', { name: 'Start' }).click();
  await expect(banner).toBeHidden();
  // serial.log keeps the earlier boot: wait for the new one, and its prompt.
  await expect.poll(() => boots(page), { timeout: 90_000 }).toBeGreaterThan(bootsBefore);
  await expect(terminal(page, 'serial')).toContainText(/vmdeck-guest: ready(?![\s\S]*vmdeck-guest: ready)[\s\S]*guest:[^\n]*# /, { timeout: 90_000 });
  // A live console, not a replay: the new guest answers. Its shell may take the line only once its
  // console is set up (a line typed as the prompt first shows was lost once in a CI rehearsal): typed again then.
  await expect(async () => {
    await typeInto(page, 'serial', 'echo back-$((6*7))');
    await expect(terminal(page, 'serial')).toContainText('back-42', { timeout: 10_000 });
  }).toPass({ timeout: 60_000 });
  // Download log is all of serial.log: both boots, from the first line.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download log' }).click()]);
  expect(download.suggestedFilename()).toBe(`${LABEL}-serial.log`);
  const log = readFileSync((await download.path())!, 'utf8');
  expect(log.split('vmdeck-guest: ready').length - 1).toBeGreaterThanOrEqual(2);
  expect(log).toContain('back-42');
  // The VNC console, stopped with the VM, came back by itself.
  await openTab(page, 'VNC');
  await expect(page.locator('[data-phase]').filter({ visible: true })).toHaveAttribute('data-phase', 'connected');
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
});

test('Create and install with a kernel that is not there: the VM is made, its page says it did not start and why', async () => {
  const bad = `${LABEL}bad`;
  await wizardToStorage(page, bad);
  // The disk choice and the image path are told apart: clicking the path's label keeps "Existing image".
  await page.getByRole('radio', { name: /Existing image/ }).check();
  await page.getByText('Image path', { exact: true }).click();
  await expect(page.getByRole('radio', { name: /Existing image/ })).toBeChecked();
  await expect(page.locator('#f-disk')).toBeFocused();
  await page.getByRole('radio', { name: /New disk image/ }).check();
  await page.locator('#f-kernel').fill(`${env.kernel}-missing`);
  await page.locator('#f-initrd').fill(env.initrd);
  await page.getByRole('button', { name: /Review/ }).click();
  await page.getByRole('button', { name: 'Create and install' }).click();

  await expect(page).toHaveURL(new RegExp(`/vms/${bad}`));
  const note = page.getByRole('alert').filter({ hasText: `Created ${bad}, but it did not start` });
  await expect(note).toContainText('-missing');
  await shot(page, 'created-not-started');
  // Said once; the page itself keeps saying what keeps it from starting.
  await page.reload();
  await expect(note).toBeHidden();
  await expect(page.getByRole('status').filter({ hasText: 'It cannot start as configured' })).toContainText(`KERNELIMAGE: kernel '${env.kernel}-missing' does not exist`);
  const gone = await page.request.delete(`/api/vms/${bad}?disks=delete`, { headers: await csrf(page) });
  expect(gone.status()).toBe(200);
});

test('Delete names what goes, the logs in the runtime dir with it, and removes them', async () => {
  const off = await page.request.post(`/api/vms/${LABEL}/stop`, { data: { mode: 'force' }, headers: await csrf(page) });
  expect(off.status()).toBe(200);
  const runDir = join(env.run, LABEL);
  expect(existsSync(join(runDir, 'serial.log'))).toBe(true);
  // Another tab on the VM's page, which must not go on showing it once it is gone.
  const other = await context.newPage();
  await other.goto(`/vms/${LABEL}?tab=hardware`);
  await expect(other.locator('h1')).toHaveText(LABEL);
  await page.goto(`/vms/${LABEL}`);
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('with the config and the wrapper is removed');
  await expect(dialog).toContainText(`Its logs (serial.log, qemu.log) in its runtime directory ${runDir} go with it.`);
  await shot(page, 'delete-dialog');
  await dialog.getByRole('checkbox').check();
  await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
  await expect(page).toHaveURL(/\/$/);
  expect((await page.request.get(`/api/vms/${LABEL}`, { headers: await csrf(page) })).status()).toBe(404);
  expect(existsSync(runDir)).toBe(false);
  await expect(other.locator('p[role=alert]')).toContainText(`VM '${LABEL}' is gone: it was deleted, or its config moved`);
  await expect(other.getByRole('toolbar')).toHaveCount(0);
  await other.close();
});

test('nothing on any page was blocked by the Content-Security-Policy', () => {
  expect(cspViolations).toEqual([]);
});
