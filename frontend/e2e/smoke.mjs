// End-to-end smoke test of the WebUI in headless Chromium (playwright-core, no browser
// download): drives a running `cafleet server` seeded by e2e/seed.sh.
//
//   BASE=http://127.0.0.1:18999 node e2e/smoke.mjs
//
// Env: BASE (server URL), CHROMIUM (default /usr/bin/chromium), OUT (screenshot dir,
// default e2e/out), FLEET (the seeded alpha fleet id, default 1). Optional: CAFLEET_BIN (with
// CAFLEET_DATABASE_URL, TMUX, TMUX_PANE of the seed) to check that changes made with the CLI
// arrive over the event stream; TOKEN_BASE and TOKEN for a second server started with --token.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BASE = process.env.BASE ?? 'http://127.0.0.1:18999';
const OUT = process.env.OUT ?? join(dirname(fileURLToPath(import.meta.url)), 'out');
const FLEET = Number(process.env.FLEET ?? 1);
mkdirSync(OUT, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ],
});

let passed = 0;
let failed = 0;
const pageErrors = [];

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function newPage(viewport = { width: 1400, height: 900 }, colorScheme = 'light') {
  const ctx = await browser.newContext({ viewport, colorScheme });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|ERR_FAILED|net::/.test(m.text())) pageErrors.push(m.text());
  });
  return page;
}

async function test(name, fn) {
  const page = await newPage();
  try {
    await fn(page);
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n     ${e instanceof Error ? e.message : e}`);
    await page.screenshot({ path: join(OUT, `fail-${name.replace(/\W+/g, '-')}.png`) }).catch(() => {});
  } finally {
    await page.context().close();
  }
}

const dash = (agent) => `${BASE}/#/fleets/${FLEET}/agents${agent ? `/${agent}` : ''}`;

async function openDashboard(page, agent) {
  await page.goto(dash(agent));
  await page.getByTestId('timeline-entry').first().waitFor();
}

async function agentId(page, name) {
  const row = page.getByTestId('sidebar-agent').filter({ has: page.locator('.name', { hasText: new RegExp(`^${name}$`) }) });
  return Number(await row.first().getAttribute('data-agent-id'));
}

async function send(page, text) {
  const input = page.getByTestId('message-input');
  await input.fill(text);
  await input.press('Escape'); // close any popup
  await input.press('Enter');
}

await test('picker lists fleets and has the tab title', async (page) => {
  await page.goto(BASE);
  await page.getByTestId('fleet-card').first().waitFor();
  assert((await page.title()) === 'CAFleet Admin', 'title');
  assert((await page.getByTestId('fleet-card').count()) >= 2, 'two fleets');
  await page.screenshot({ path: join(OUT, '01-picker.png') });
});

await test('fleet card opens the dashboard with a consistent breadcrumb', async (page) => {
  await page.goto(BASE);
  await page.locator(`[data-testid=fleet-card][data-fleet-id="${FLEET}"]`).click();
  await page.getByTestId('dashboard').waitFor();
  assert((await page.getByTestId('crumb-fleet').textContent()) === 'alpha-team', 'crumb');
  assert(page.url().endsWith(`#/fleets/${FLEET}/agents`), page.url());
});

await test('sidebar: sections, Admin / Director badges, monitor badge', async (page) => {
  await openDashboard(page);
  const side = page.getByTestId('sidebar');
  assert(await side.getByText('Active', { exact: true }).isVisible(), 'Active heading');
  assert(await side.getByText('Deregistered', { exact: true }).isVisible(), 'Deregistered heading');
  const admin = page.locator('[data-testid=sidebar-agent][data-role=administrator]');
  assert((await admin.getByTestId('role-badge').textContent()) === 'Admin', 'admin badge');
  const dir = page.locator('[data-testid=sidebar-agent][data-role=director]');
  assert(((await dir.getByTestId('role-badge').textContent()) ?? '').startsWith('Director'), 'director badge');
  assert(/^\d+s$/.test((await dir.getByTestId('monitor-badge').textContent()) ?? ''), 'monitor badge');
  assert((await page.locator('[data-testid=sidebar-agent][data-status=deregistered]').count()) === 1, 'carol deregistered');
  await page.screenshot({ path: join(OUT, '02-dashboard.png') });
});

await test('timeline: broadcast grouped with acks, canceled struck, HTML as text', async (page) => {
  await openDashboard(page);
  const bc = page.locator('[data-testid=timeline-entry][data-kind=broadcast]').filter({ hasText: 'frozen' });
  assert((await bc.count()) === 1, 'one broadcast entry');
  assert((await bc.getByTestId('recipient-chip').count()) >= 4, 'recipients');
  assert((await bc.locator('[data-testid=ack-chip][data-status=completed]').count()) === 2, 'two acks');
  const tip = await bc.getByTestId('ack-chip').first().getAttribute('data-tip');
  assert(/^@\S.* — \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(tip ?? ''), `tooltip ${tip}`);
  const canceled = page.locator('[data-testid=timeline-entry][data-canceled=true]');
  assert((await canceled.count()) >= 1, 'canceled entry');
  const deco = await canceled.first().getByTestId('entry-body').evaluate((el) => getComputedStyle(el).textDecorationLine);
  assert(deco.includes('line-through'), 'struck through');
  assert((await page.getByTestId('timeline').locator('img, b').count()) === 0, 'no HTML elements from bodies');
  assert((await page.getByText('<img src=x onerror=alert(1)>', { exact: false }).count()) === 1, 'literal text');
});

await test('mention popup: suggestions, Escape closes, next Enter sends (defect 14)', async (page) => {
  await openDashboard(page);
  const input = page.getByTestId('message-input');
  await input.click();
  await input.pressSequentially('@');
  await page.getByTestId('mention-popup').waitFor();
  const tokens = await page.getByTestId('mention-option').evaluateAll((els) => els.map((e) => e.getAttribute('data-token')));
  assert(tokens[0] === 'all', `first is all: ${tokens}`);
  assert(!tokens.includes('administrator'), 'no admin on empty partial');
  await page.screenshot({ path: join(OUT, '03-mention-popup.png') });
  await input.pressSequentially('all');
  await input.press('Escape');
  assert((await page.getByTestId('mention-popup').count()) === 0, 'popup closed');
  await input.press('Enter');
  await page.getByTestId('send-error').filter({ hasText: 'Message body is empty' }).waitFor();
  assert((await input.inputValue()) === '@all', `text kept: ${await input.inputValue()}`);
});

await test('mention popup: Tab inserts the slug of names with _ and unicode', async (page) => {
  await openDashboard(page);
  const input = page.getByTestId('message-input');
  await input.click();
  await input.pressSequentially('@code_');
  await page.getByTestId('mention-popup').waitFor();
  await input.press('Tab');
  assert((await input.inputValue()) === '@code-reviewer ', await input.inputValue());
  await input.fill('');
  await input.pressSequentially('@太');
  await page.getByTestId('mention-popup').waitFor();
  await input.press('Enter');
  assert((await input.inputValue()) === '@太郎 ', await input.inputValue());
});

await test('input errors: no mention, unknown agent, multi-recipient', async (page) => {
  await openDashboard(page);
  await send(page, 'hello');
  await page.getByTestId('send-error').filter({ hasText: 'Start the message with @<agent> or @all' }).waitFor();
  await send(page, '@nobody hi');
  await page.getByTestId('send-error').filter({ hasText: "No active agent named '@nobody'" }).waitFor();
  await send(page, '@alice @bob-smith hi');
  await page.getByTestId('send-error').filter({ hasText: 'Multi-recipient unicast' }).waitFor();
  await page.getByTestId('message-input').pressSequentially('x');
  assert(((await page.getByTestId('send-error').textContent()) ?? '') === '', 'edit clears the error');
});

await test('send: unicast by quoted name and underscore name, broadcast; entries appear live', async (page) => {
  await openDashboard(page);
  const stamp = Date.now();
  await send(page, `@"Bob Smith" quoted hello ${stamp}`);
  await page.getByTestId('timeline-entry').filter({ hasText: `quoted hello ${stamp}` }).waitFor({ timeout: 5000 });
  assert((await page.getByTestId('message-input').inputValue()) === '', 'cleared');
  await send(page, `@code_reviewer underscore hello ${stamp}`);
  await page.getByTestId('timeline-entry').filter({ hasText: `underscore hello ${stamp}` }).waitFor({ timeout: 5000 });
  await send(page, `@all broadcast ${stamp}`);
  const bc = page.locator('[data-testid=timeline-entry][data-kind=broadcast]').filter({ hasText: `broadcast ${stamp}` });
  await bc.waitFor({ timeout: 5000 });
  assert((await bc.getByTestId('recipient-chip').count()) >= 3, 'broadcast recipients');
  await page.screenshot({ path: join(OUT, '04-after-send.png') });
});

await test('agent panel: inbox/sent tabs, Escape closes', async (page) => {
  await openDashboard(page);
  const alice = await agentId(page, 'Alice');
  await page.locator(`[data-testid=sidebar-agent][data-agent-id="${alice}"]`).click();
  await page.getByTestId('agent-panel').waitFor();
  assert(page.url().endsWith(`/agents/${alice}`), page.url());
  await page.getByTestId('detail-message').first().waitFor();
  assert((await page.getByTestId('detail-tab-inbox').getAttribute('aria-selected')) === 'true', 'inbox default');
  await page.getByTestId('detail-tab-sent').click();
  await page.locator('[data-testid=detail-list][data-tab=sent]').waitFor();
  await page.getByTestId('detail-message').first().waitFor();
  await page.screenshot({ path: join(OUT, '05-panel.png') });
  await page.keyboard.press('Escape');
  await page.getByTestId('agent-panel').waitFor({ state: 'detached' });
  assert(page.url().endsWith(`#/fleets/${FLEET}/agents`), page.url());
});

await test('unknown agent in the URL falls back to the dashboard', async (page) => {
  await page.goto(dash(777));
  await page.getByTestId('dashboard').waitFor();
  await page.waitForFunction(() => location.hash.endsWith('/agents'));
});

await test('monitor controls: interval and enable/disable via PATCH', async (page) => {
  const probe = await newPage();
  await openDashboard(probe);
  const dir = Number(await probe.locator('[data-testid=sidebar-agent][data-role=director]').getAttribute('data-agent-id'));
  await probe.context().close();
  await openDashboard(page, dir);
  const badge = page.locator(`[data-testid=sidebar-agent][data-agent-id="${dir}"] [data-testid=monitor-badge]`);
  await page.getByTestId('interval-input').fill('0');
  await page.getByTestId('interval-save').click();
  await page.getByTestId('monitor-error').filter({ hasText: 'whole number' }).waitFor();
  await page.getByTestId('interval-input').fill('123');
  await page.getByTestId('interval-save').click();
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === '123s', `[data-testid=sidebar-agent][data-agent-id="${dir}"] [data-testid=monitor-badge]`);
  await page.getByTestId('monitor-toggle').click();
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'off', `[data-testid=sidebar-agent][data-agent-id="${dir}"] [data-testid=monitor-badge]`);
  assert((await page.getByTestId('monitoring-state').textContent()) === 'Disabled', 'disabled');
  await page.getByTestId('monitor-toggle').click();
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === '123s', `[data-testid=sidebar-agent][data-agent-id="${dir}"] [data-testid=monitor-badge]`);
  assert(await badge.isVisible(), 'badge');
});

await test('monitor status hint shows a valid command (defect 13)', async (page) => {
  await openDashboard(page);
  const tip = await page.getByTestId('monitor-status').getAttribute('data-tip');
  assert(
    tip?.includes(`cafleet monitor start --fleet-id ${FLEET}`) || tip?.startsWith('cafleet monitor is running'),
    `${tip}`,
  );
});

await test('narrow viewport: the panel is a drawer inside the screen', async () => {
  const page = await newPage({ width: 600, height: 800 });
  try {
    await page.goto(BASE);
    await page.getByTestId('fleet-card').first().waitFor();
    await openDashboard(page);
    const alice = await agentId(page, 'Alice');
    await page.goto(dash(alice));
    await page.getByTestId('agent-panel').waitFor();
    const box = await page.getByTestId('agent-panel').boundingBox();
    assert(box && box.x >= 0 && box.x + box.width <= 600.5, `panel box ${JSON.stringify(box)}`);
    const scrollW = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(scrollW <= 600, `page scroll width ${scrollW}`);
    await page.screenshot({ path: join(OUT, '06-narrow.png') });
  } finally {
    await page.context().close();
  }
});

await test('theme: OS dark by default, toggle persists', async () => {
  const page = await newPage({ width: 1400, height: 900 }, 'dark');
  try {
    await openDashboard(page);
    assert(await page.evaluate(() => document.documentElement.classList.contains('dark')), 'dark from OS');
    await page.screenshot({ path: join(OUT, '07-dark.png') });
    await page.getByTestId('theme-toggle').click();
    assert(!(await page.evaluate(() => document.documentElement.classList.contains('dark'))), 'light now');
    assert((await page.evaluate(() => localStorage.getItem('cafleet-admin-theme'))) === 'light', 'stored');
    await page.reload();
    await page.getByTestId('dashboard').waitFor();
    assert(!(await page.evaluate(() => document.documentElement.classList.contains('dark'))), 'light after reload');
  } finally {
    await page.context().close();
  }
});

await test('server unreachable: visible Offline state (defect 12)', async (page) => {
  await openDashboard(page);
  await page.route('**/api/**', (route) => route.abort('connectionrefused'));
  await page.getByTestId('refresh').click();
  await page.locator('[data-testid=connection-status][data-state=offline]').waitFor({ timeout: 8000 });
  await page.getByTestId('dashboard-error').waitFor();
  await page.screenshot({ path: join(OUT, '08-offline.png') });
  await page.unroute('**/api/**');
  await page.getByTestId('refresh').click();
  await page.getByTestId('dashboard-error').waitFor({ state: 'detached', timeout: 8000 });
});

await test('picker shows fetch errors and an empty beta timeline', async (page) => {
  await page.goto(BASE);
  await page.getByTestId('fleet-card').first().waitFor();
  await page.route('**/api/fleets', (route) => route.abort('connectionrefused'));
  await page.getByTestId('refresh').click();
  await page.getByTestId('picker-error').waitFor();
  assert((await page.getByTestId('fleet-card').count()) >= 2, 'list kept');
  await page.unroute('**/api/fleets');
  const beta = page.getByTestId('fleet-card').filter({ hasText: 'beta' });
  await beta.click();
  await page.getByTestId('timeline-empty').waitFor();
  await page.getByTestId('no-admin-banner').waitFor({ state: 'detached', timeout: 1000 }).catch(() => {});
});

await test('scrollback: scrolling to the top loads older pages with ?before=', async (page) => {
  await page.goto(BASE);
  const card = page.getByTestId('fleet-card').filter({ hasText: 'gamma-history' });
  if ((await card.count()) === 0) return; // seed without history
  await card.click();
  await page.getByTestId('timeline-entry').first().waitFor();
  const entries = page.getByTestId('timeline-entry');
  assert((await entries.count()) === 200, `first page ${await entries.count()}`);
  const last = page.getByTestId('timeline-entry').last();
  assert(((await last.textContent()) ?? '').includes('history message 230'), 'newest at the bottom');
  const oldest = entries.first();
  const marker = await oldest.getAttribute('data-task-id');
  const before = await oldest.boundingBox();
  await page.getByTestId('timeline').evaluate((el) => el.scrollTo(0, 0));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=timeline-entry]').length >= 230);
  await page.getByTestId('timeline-edge').filter({ hasText: 'Beginning of the timeline' }).waitFor();
  const after = await page.locator(`[data-testid=timeline-entry][data-task-id="${marker}"]`).boundingBox();
  assert(after && before && after.y > 0, `view kept its place (${before?.y} → ${after?.y})`);
  assert(((await entries.first().textContent()) ?? '').includes('history message 1'), 'oldest first');
});

const CLI = process.env.CAFLEET_BIN;
if (CLI) {
  await test('changes made with the CLI arrive over the event stream', async (page) => {
    await openDashboard(page);
    await page.locator('[data-testid=connection-status][data-state=live]').waitFor({ timeout: 10000 });
    const alice = await agentId(page, 'Alice');
    const dir = Number(await page.locator('[data-testid=sidebar-agent][data-role=director]').getAttribute('data-agent-id'));
    const text = `from the CLI ${Date.now()}`;
    const cli = (...args) => JSON.parse(execFileSync(CLI, ['--json', ...args.map(String)], { encoding: 'utf8' }));
    const sent = cli('message', 'send', '--fleet-id', FLEET, '--agent-id', alice, '--to', dir, '--text', text);
    const entry = page.getByTestId('timeline-entry').filter({ hasText: text });
    // The live fallback polls only every 30 s: arriving within 4 s means the stream works.
    await entry.waitFor({ timeout: 4000 });
    cli('message', 'ack', '--fleet-id', FLEET, '--agent-id', dir, '--task-id', sent.task.id);
    await entry.locator('[data-testid=ack-chip][data-status=completed]').waitFor({ timeout: 4000 });
    const name = `Late joiner ${Date.now() % 100000}`;
    cli('agent', 'register', '--fleet-id', FLEET, '--name', name, '--description', 'registered during the test');
    await page.getByTestId('sidebar-agent').filter({ hasText: name }).waitFor({ timeout: 4000 });
  });
}

const TOKEN_BASE = process.env.TOKEN_BASE;
const TOKEN = process.env.TOKEN;
if (TOKEN_BASE && TOKEN) {
  await test('access token: clear 401 message; ?token= is kept in the session and removed from the URL', async (page) => {
    await page.goto(TOKEN_BASE);
    await page.getByTestId('auth-error').waitFor();
    assert(((await page.getByTestId('auth-error').textContent()) ?? '').includes('cafleet server'), 'hint');
    await page.goto(`${TOKEN_BASE}/?token=${TOKEN}#/fleets`);
    await page.getByTestId('fleet-card').first().waitFor();
    assert(!page.url().includes('token'), page.url());
    assert((await page.getByTestId('auth-error').count()) === 0, 'no auth error');
    await page.locator(`[data-testid=fleet-card][data-fleet-id="${FLEET}"]`).click();
    await page.locator('[data-testid=connection-status][data-state=live]').waitFor({ timeout: 10000 });
    const stamp = Date.now();
    await send(page, `@alice with a token ${stamp}`);
    await page.getByTestId('timeline-entry').filter({ hasText: `with a token ${stamp}` }).waitFor({ timeout: 5000 });
    await page.reload();
    await page.getByTestId('timeline-entry').first().waitFor();
    assert((await page.getByTestId('auth-error').count()) === 0, 'token survives a reload');
  });
}

await browser.close();
if (pageErrors.length > 0) {
  failed++;
  console.log(`FAIL page errors:\n     ${pageErrors.join('\n     ')}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
