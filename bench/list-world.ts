// What the list's benches share: worlds of VMs on disk, a `vmdeck serve` on
// each (killed at exit), chromium's flags and the login of a page.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { startDashboard } from './children';
import { benchWorld, writeVms } from './world';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'bench-list-token';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

const servers: ChildProcess[] = [];
const { root } = benchWorld('vd-bench-list-', () => servers.forEach((s) => s.kill('SIGKILL')));

export interface World { home: string; run: string }

/** A VMDECK_HOME and VMDECK_RUN of their own with VMs vm00000… in the default base, all stopped, a third of them FreeBSD. */
export async function world(name: string, n: number): Promise<World> {
  const home = join(root, name);
  const run = join(root, `${name}-run`);
  mkdirSync(run, { mode: 0o700 });
  await writeVms(join(home, 'vms'), 0, n, (i) => ({ os: i % 3 ? 'Linux' : 'FreeBSD' }));
  return { home, run };
}

/** `vmdeck serve` of the checkout in repo (this one by default) on a world; its dashboard's URL. */
export async function startServer({ home, run }: World, repo = REPO): Promise<string> {
  const env = { ...process.env, VMDECK_HOME: home, VMDECK_RUN: run, VMDECK_TOKEN: TOKEN };
  return (await startDashboard(servers, join(repo, 'bin/vmdeck.js'), env)).base;
}

/**
 * Logs the page in, once: a second login hands over a new page secret in the
 * URL's fragment, which a navigation right after it can lose (the page then
 * goes round /login with the old one). Cookies are per host, not per port:
 * one browser context per server.
 */
export async function login(page: Page, base: string): Promise<void> {
  await page.bringToFront();
  await page.goto(`${base}/login?token=${TOKEN}`);
  await page.waitForFunction(() => localStorage.getItem('vmdeck:csrf') && !location.hash); // components/session.ts took the secret
}
