// End-to-end tests of the dashboard against the real server and real QEMU.
// Nothing is built here: `npm run build` must have run. The server runs with
// a private VMDECK_HOME, VMDECK_RUN and token (e2e/env.ts).
import { dirname, join } from 'node:path';
import { defineConfig } from '@playwright/test';
import { e2eEnv, REPO } from './e2e/env';

const env = e2eEnv();

export default defineConfig({
  testDir: 'e2e',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 30_000 },
  // The JSON report is what scripts/test.sh says again of a failure at the end of its output.
  reporter: [['list'], ['json', { outputFile: '.cache/test-logs/browser.json' }]],
  outputDir: 'test-results',
  globalTeardown: './e2e/teardown.ts',
  use: {
    baseURL: env.baseURL,
    viewport: { width: 1280, height: 800 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
  webServer: {
    command: `node bin/vmdeck.js serve --port ${env.port}`,
    url: `${env.baseURL}/api/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      ...(process.env as Record<string, string>),
      VMDECK_HOME: env.home,
      VMDECK_RUN: env.run,
      VMDECK_BASES: '',
      VMDECK_TOKEN: env.token,
      // The wizard's kernel and initrd: the API takes files from the bases and the media directories only.
      VMDECK_MEDIA: `${dirname(env.kernel)}%${join(env.home, 'media')}`,
      VMDECK_SSH_CONFIG: env.sshConfig,
      // The autostart switch makes its systemd unit in a tree of the run's own, never in the host's /etc (e2e/autostart.spec.ts).
      VMDECK_SYSTEMD_ROOT: join(env.root, 'sysroot'),
      // The debootstrap tree test/integration/debootstrap.test.ts built (e2e/debootstrap.spec.ts builds it when missing).
      VMDECK_DEBOOTSTRAP_CACHE: join(REPO, '.cache', 'debootstrap'),
      HOST: '127.0.0.1',
      // A stuck VM is told after 5 s, not 60 (e2e/progress.spec.ts); the booting guests of the other specs never are.
      VMDECK_NO_PROGRESS_SECONDS: '5',
    },
  },
});
