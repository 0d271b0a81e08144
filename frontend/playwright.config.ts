// The WebUI end-to-end suite (e2e/*.spec.ts) on @playwright/test, driving the system
// Chromium. Run it with `npm run e2e`: e2e/run.sh checks what it needs, seeds a scratch
// database, starts the servers and hands their addresses and the seeded ids over in the
// environment (see e2e/README.md). The tests share that database, so they run one at a time.
import { defineConfig } from '@playwright/test';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.env.OUT ?? join(here, 'e2e', 'out');

export default defineConfig({
  testDir: 'e2e',
  testMatch: '*.spec.ts',
  outputDir: join(out, 'test-results'),
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 30_000,
  globalTimeout: 10 * 60_000,
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    colorScheme: 'light',
    launchOptions: {
      // Never a downloaded browser: the machine's Chromium.
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    },
  },
});
