// What the spec files share: the servers and seeded ids e2e/run.sh hands over in the
// environment, the `test` every spec uses (an error in the page fails the test; each test
// leaves a screenshot in OUT) and the helpers for the seeded `alpha-team` fleet.
import { test as base, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export { expect } from '@playwright/test';

/** An environment variable e2e/run.sh sets; a clear error when it is missing. */
export function need(name: string): string {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `e2e: ${name} is not set. Run the suite with 'npm --prefix frontend run e2e' (e2e/run.sh seeds the database, starts the servers and sets it).`,
    );
  }
  return v;
}

/** The server (no token). */
export const BASE = need('BASE');
/** The second server, on the same database, started with `--token TOKEN`. */
export const TOKEN_BASE = need('TOKEN_BASE');
export const TOKEN = need('TOKEN');
/** The seeded `alpha-team` fleet. */
export const FLEET = Number(need('FLEET'));
/** The release binary, for changes made with the CLI in another process. */
export const CLI = need('CAFLEET_BIN');
/** Screenshots. */
export const OUT = process.env.OUT ?? join(dirname(fileURLToPath(import.meta.url)), 'out');
mkdirSync(OUT, { recursive: true });

export const slug = (s: string) =>
  s
    .replace(/\W+/g, '-')
    .replace(/^-+|-+$/g, '')
    .toLowerCase()
    .slice(0, 60);

/** Saves a screenshot of `page` as OUT/`file`. */
export const snap = (page: Page, file: string) => page.screenshot({ path: join(OUT, file) });

/** Collects uncaught errors and console errors (other than failed requests) of `page`. */
export function watchPage(page: Page, errors: string[]): void {
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|ERR_FAILED|net::/.test(m.text())) errors.push(m.text());
  });
}

export const test = base.extend<{ pageWatch: void }>({
  // Every page of the test is watched for errors; after it, a screenshot of its first page:
  // OUT/step-<title>.png when it passed (unless the page is blank), fail-<title>.png when not.
  pageWatch: [
    async ({ context }, use, testInfo) => {
      const errors: string[] = [];
      for (const p of context.pages()) watchPage(p, errors);
      context.on('page', (p) => watchPage(p, errors));
      await use();
      const page = context.pages()[0];
      const name = slug(testInfo.title);
      const passed = testInfo.status === testInfo.expectedStatus && errors.length === 0;
      if (page && passed) {
        if (page.url() !== 'about:blank') await snap(page, `step-${name}.png`).catch(() => {});
      } else if (page) {
        await snap(page, `fail-${name}.png`).catch(() => {});
      }
      if (errors.length > 0) throw new Error(`errors in the page:\n  ${errors.join('\n  ')}`);
    },
    { auto: true },
  ],
});

/** The dashboard of the alpha fleet (with an agent's panel open). */
export const dash = (agent?: number) => `${BASE}/#/fleets/${FLEET}/agents${agent ? `/${agent}` : ''}`;

export async function openDashboard(page: Page, agent?: number): Promise<void> {
  await page.goto(dash(agent));
  await page.getByTestId('timeline-entry').first().waitFor();
}

/** The id of the sidebar's agent named exactly `name`. */
export async function agentId(page: Page, name: string): Promise<number> {
  const row = page
    .getByTestId('sidebar-agent')
    .filter({ has: page.locator('.name', { hasText: new RegExp(`^${name}$`) }) });
  return Number(await row.first().getAttribute('data-agent-id'));
}

/** The Director's id, from the sidebar. */
export async function directorId(page: Page): Promise<number> {
  return Number(await page.locator('[data-testid=sidebar-agent][data-role=director]').getAttribute('data-agent-id'));
}

/** Types `text` into the message input and sends it with Enter (any popup closed first). */
export async function send(page: Page, text: string): Promise<void> {
  const input = page.getByTestId('message-input');
  await input.fill(text);
  await input.press('Escape');
  await input.press('Enter');
}

/** Waits for the event stream to be up. */
export const live = (page: Page) =>
  page.locator('[data-testid=connection-status][data-state=live]').waitFor({ timeout: 10_000 });

/** `cafleet --json ...` in another process (the seed's database and tmux server). */
export function cli<T = unknown>(...args: (string | number)[]): T {
  const out = execFileSync(CLI, ['--json', ...args.map(String)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return JSON.parse(out) as T;
}

/** What `message send --json` prints (the part the tests read). */
export interface Sent {
  task: { id: number };
  notification_sent?: boolean;
}
