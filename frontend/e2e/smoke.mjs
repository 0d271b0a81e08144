// End-to-end test of the WebUI in headless Chromium (playwright-core, no browser download):
// drives a running release `cafleet server` seeded by e2e/seed.sh. Run it through e2e/run.sh
// (`npm run e2e`), which sets everything below.
//
//   BASE=http://127.0.0.1:18999 node e2e/smoke.mjs
//
// Env: BASE (server URL), CHROMIUM (default /usr/bin/chromium), OUT (screenshot dir,
// default e2e/out), FLEET (the seeded alpha fleet id, default 1). Optional: CAFLEET_BIN (with
// CAFLEET_DATABASE_URL, TMUX, TMUX_PANE of the seed) to check that changes made with the CLI
// arrive over the event stream; TOKEN_BASE and TOKEN for a second server started with --token;
// the seed.env values (LIVE_FLEET, LIVE_DIRECTOR, LIVE_ADMIN, ALICE_ID, ALICE_PANE, BOB_ID,
// BOB_PANE, DIRECTOR_PANE, STANDIN_LOGS) plus TMUX_SOCKET for the scenario with stand-in
// agents in real tmux panes (previews typed into panes, live acks, refused foreign requests).
//
// Every test and scenario step leaves a screenshot in OUT (step-NN-*.png, live-NN-*.png;
// fail-*.png on failure); live-NN-...webui.png / webui.png is the docs/webui.png candidate.
import { chromium } from 'playwright-core';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const BASE = process.env.BASE ?? 'http://127.0.0.1:18999';
const OUT = process.env.OUT ?? join(dirname(fileURLToPath(import.meta.url)), 'out');
const FLEET = Number(process.env.FLEET ?? 1);
mkdirSync(OUT, { recursive: true });
const execFileP = promisify(execFile);
const suiteStart = Date.now();
const secs = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
// E2E_ONLY=<regex>: run only the tests (and the live scenario, named "live") it matches.
const ONLY = process.env.E2E_ONLY ? new RegExp(process.env.E2E_ONLY) : null;
const slug = (s) => s.replace(/\W+/g, '-').replace(/^-+|-+$/g, '').toLowerCase().slice(0, 60);

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

let testNo = 0;
async function test(name, fn) {
  if (ONLY && !ONLY.test(name)) return;
  const page = await newPage();
  const n = String(++testNo).padStart(2, '0');
  const t0 = Date.now();
  try {
    await fn(page);
    passed++;
    console.log(`ok   ${name} (${secs(t0)})`);
    // Tests that open their own page leave this one blank: nothing to show.
    if (page.url() !== 'about:blank') await page.screenshot({ path: join(OUT, `step-${n}-${slug(name)}.png`) }).catch(() => {});
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

await test('panel scrollback: inbox and sent load 200 rows, then older pages with ?before=', async (page) => {
  await page.goto(BASE);
  const card = page.getByTestId('fleet-card').filter({ hasText: 'gamma-history' });
  if ((await card.count()) === 0) return; // seed without history
  await card.click();
  const mailUrls = [];
  page.on('request', (r) => {
    if (/\/api\/agents\/\d+\/(inbox|sent)/.test(r.url())) mailUrls.push(r.url());
  });
  for (const [name, tab] of [
    ['Listener', 'inbox'],
    ['Talker', 'sent'],
  ]) {
    await page.getByTestId('sidebar-agent').filter({ hasText: name }).click();
    await page.waitForFunction((n) => document.querySelector('[data-testid=panel-name]')?.textContent === n, name);
    await page.getByTestId(`detail-tab-${tab}`).click();
    const rows = page.locator(`[data-testid=detail-list][data-tab=${tab}] [data-testid=detail-message]`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=detail-message]').length >= 200);
    assert((await rows.count()) === 200, `${name} ${tab}: first page ${await rows.count()}`);
    const label = (await page.getByTestId(`detail-tab-${tab}`).textContent()) ?? '';
    assert(label.includes('(200+)'), `tab says more exist: ${label}`);
    assert(((await rows.first().textContent()) ?? '').includes('history message 230'), 'newest first');
    await page.getByTestId('detail-list').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=detail-message]').length >= 230);
    await page.getByTestId('detail-edge').filter({ hasText: 'No older messages' }).waitFor();
    assert(((await rows.last().textContent()) ?? '').includes('history message 1'), 'oldest last');
    assert((await rows.count()) === 230, `${name} ${tab}: all ${await rows.count()}`);
  }
  assert(mailUrls.some((u) => /\/(inbox|sent)\?before=\d+$/.test(u)), `paged with before: ${mailUrls.join(' ')}`);
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

  await test('delivery badge and the "not delivered" filter follow a message until it is acked', async (page) => {
    await openDashboard(page);
    await page.locator('[data-testid=connection-status][data-state=live]').waitFor({ timeout: 10000 });
    const cli = (...args) => JSON.parse(execFileSync(CLI, ['--json', ...args.map(String)], { encoding: 'utf8' }));
    const alice = await agentId(page, 'Alice');
    const stamp = Date.now();
    const badgeOf = (e) => e.locator(`[data-testid=delivery-badge][data-agent-id="${alice}"]`);
    const describe = async (b) => ({
      state: await b.getAttribute('data-state'),
      text: await b.locator('[aria-hidden=true]').textContent(),
      title: await b.getAttribute('title'),
      sr: await b.locator('.sr-only').textContent(),
    });
    // Sent from the WebUI. Alice has no pane in this fleet: nothing is typed, it stays stored.
    await send(page, `@alice delivery check ${stamp}`);
    const e = page.getByTestId('timeline-entry').filter({ hasText: `delivery check ${stamp}` });
    await e.waitFor({ timeout: 5000 });
    let b = await describe(badgeOf(e));
    assert(b.state === 'stored' && b.text === 'stored', `badge ${JSON.stringify(b)}`);
    assert(b.title?.startsWith("Stored, not yet typed into Alice's pane") && b.sr === b.title, `badge words ${JSON.stringify(b)}`);
    const id = Number(await e.getAttribute('data-task-id'));

    // The filter: only messages not yet seen, acked or canceled.
    const filter = page.getByTestId('filter-undelivered');
    assert((await filter.getAttribute('aria-pressed')) === 'false', 'filter off at first');
    const before = Number(await filter.getAttribute('data-count'));
    assert(before >= 1, `count ${before}`);
    await filter.click();
    assert((await filter.getAttribute('aria-pressed')) === 'true', 'filter on');
    await e.waitFor();
    // The seeded, acked "tokenizer" message is hidden; every entry left has an undelivered row.
    assert((await page.getByTestId('timeline-entry').filter({ hasText: 'Please implement the tokenizer' }).count()) === 0, 'acked shown');
    const shown = await page.getByTestId('timeline-entry').evaluateAll((els) =>
      els.map((el) => [...el.querySelectorAll('[data-testid=delivery-badge]')].map((x) => x.getAttribute('data-state'))),
    );
    assert(shown.length === before, `${shown.length} entries shown, the count said ${before}`);
    assert(shown.every((st) => st.some((x) => ['stored', 'typed', 'submitted', 'dead'].includes(x))), JSON.stringify(shown));

    // Alice acks it with the CLI (another process): gone from the filtered view, live.
    cli('message', 'ack', '--fleet-id', FLEET, '--agent-id', alice, '--task-id', id);
    await e.waitFor({ state: 'detached', timeout: 4000 });
    assert((await filter.getAttribute('aria-pressed')) === 'true', 'the filter survived the live update');
    assert(Number(await filter.getAttribute('data-count')) === before - 1, 'count after the ack');
    await page.screenshot({ path: join(OUT, '09-not-delivered.png') });
    await filter.click();
    await badgeOf(e).and(page.locator('[data-state=acked]')).waitFor({ timeout: 4000 });
    b = await describe(badgeOf(e));
    assert(b.text === 'acked' && b.title === 'Delivered and acknowledged by Alice', `acked badge ${JSON.stringify(b)}`);

    // `message poll` marks a delivery seen: its badge says so, and the filter hides it too.
    const text = `poll check ${stamp}`;
    const dir = Number(await page.locator('[data-testid=sidebar-agent][data-role=director]').getAttribute('data-agent-id'));
    const sent = cli('message', 'send', '--fleet-id', FLEET, '--agent-id', dir, '--to', alice, '--text', text);
    const p = page.getByTestId('timeline-entry').filter({ hasText: text });
    await badgeOf(p).and(page.locator('[data-state=stored]')).waitFor({ timeout: 4000 });
    await filter.click();
    await p.waitFor();
    cli('message', 'poll', '--fleet-id', FLEET, '--agent-id', alice);
    await p.waitFor({ state: 'detached', timeout: 4000 });
    await filter.click();
    await badgeOf(p).and(page.locator('[data-state=seen]')).waitFor({ timeout: 4000 });
    b = await describe(badgeOf(p));
    assert(b.text === 'seen' && b.title === 'Delivered and seen by Alice', `seen badge ${JSON.stringify(b)}`);
    assert(Number(await p.getAttribute('data-task-id')) === sent.task.id, 'task id');
    // Alice's inbox in the panel: the same row, its badge there too.
    await page.locator(`[data-testid=sidebar-agent][data-agent-id="${alice}"]`).click();
    const row = page.locator(`[data-testid=detail-message][data-task-id="${sent.task.id}"]`);
    await row.waitFor();
    assert((await row.getByTestId('delivery-badge').getAttribute('data-state')) === 'seen', 'panel badge');
    assert((await page.locator(`[data-testid=detail-message][data-task-id="${id}"] [data-testid=delivery-badge]`).count()) === 0, 'an acked row says so in its status chip only');
  });

  await test('"not delivered" filter: an empty state once every message is seen', async (page) => {
    await page.goto(BASE);
    const card = page.getByTestId('fleet-card').filter({ hasText: 'gamma-history' });
    if ((await card.count()) === 0) return; // seed without history
    const fleet = Number(await card.getAttribute('data-fleet-id'));
    await card.click();
    await page.getByTestId('timeline-entry').first().waitFor();
    const listener = await agentId(page, 'Listener');
    const filter = page.getByTestId('filter-undelivered');
    await filter.click();
    assert((await page.getByTestId('timeline-entry').count()) > 0, 'stored history messages shown');
    // Listener polls: every history message is seen, and the view empties live.
    execFileSync(CLI, ['--json', 'message', 'poll', '--fleet-id', String(fleet), '--agent-id', String(listener)], { encoding: 'utf8', maxBuffer: 1 << 26 });
    await page.getByTestId('timeline-filter-empty').waitFor({ timeout: 4000 });
    assert((await page.getByTestId('timeline-entry').count()) === 0, 'entries left');
    assert((await page.getByTestId('undelivered-count').textContent()) === '0', 'count 0');
    await page.getByTestId('timeline-filter-empty').getByRole('button', { name: 'Show all messages' }).click();
    await page.getByTestId('timeline-entry').first().waitFor();
    assert((await filter.getAttribute('aria-pressed')) === 'false', 'filter off again');
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

// ---------------------------------------------------------------------------------------
// The scenario with real panes: fleet `platform-team`, whose members Alice and Bob were made
// with `cafleet member create` and run the stand-in agent, which logs every byte typed into
// its pane. One page stays open throughout (nothing reloads until the XSS step), the way an
// operator would use it.
const LIVE = Number(process.env.LIVE_FLEET ?? 0);
if (LIVE && CLI && process.env.STANDIN_LOGS && (!ONLY || ONLY.test('live'))) {
  const env = process.env;
  const DIRECTOR = Number(env.LIVE_DIRECTOR);
  const ADMIN = Number(env.LIVE_ADMIN);
  const ALICE = Number(env.ALICE_ID);
  const BOB = Number(env.BOB_ID);
  const LOGS = env.STANDIN_LOGS;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  /** Polls `fn` until it returns something truthy; fails after `timeout` ms. */
  const until = async (what, fn, timeout = 10000) => {
    const end = Date.now() + timeout;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out after ${timeout} ms: ${what}`);
      await sleep(50);
    }
  };
  /** Everything typed into the stand-in agent of `pane` so far. */
  const keys = (pane) => {
    try {
      return readFileSync(join(LOGS, `${pane}.keys`)).toString('utf8');
    } catch {
      return '';
    }
  };
  const count = (hay, needle) => hay.split(needle).length - 1;
  const show = (s) => JSON.stringify(s.length > 400 ? `…${s.slice(-400)}` : s);
  /** Waits until the stand-in in `pane` has received `needle` (typed after the HTTP reply). */
  const typed = (pane, needle, timeout = 10000) =>
    until(`${show(needle)} typed into ${pane}`, () => keys(pane).includes(needle), timeout).catch(() => {
      throw new Error(`pane ${pane} never received ${show(needle)}; it got ${show(keys(pane))}`);
    });
  /** One HTTP request with exactly these headers (Host and Origin included). */
  const raw = (base, method, path, headers = {}, body) =>
    new Promise((resolve, reject) => {
      const u = new URL(path, base);
      const req = http.request(
        { host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, timeout: 5000 },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json = null;
            try {
              json = JSON.parse(text);
            } catch {}
            resolve({ status: res.statusCode, text, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 5 s`)));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  const api = async (path) => {
    const r = await raw(BASE, 'GET', path, { 'X-Fleet-Id': String(LIVE) });
    assert(r.status === 200, `GET ${path}: ${r.status} ${r.text}`);
    return r.json;
  };
  const timeline = async () => (await api('/api/timeline')).messages;
  /** `cafleet --json ...` in its own process, run from `pane` (default: the Director's). */
  const cli = async (args, pane = env.DIRECTOR_PANE) => {
    const { stdout } = await execFileP(CLI, ['--json', ...args.map(String)], {
      env: { ...process.env, TMUX_PANE: pane },
      encoding: 'utf8',
    });
    return JSON.parse(stdout);
  };
  const preview = (row, from = ADMIN) => `[cafleet msg ${row.task_id} from ${from} ${row.created_at}]\n${row.body}\r`;

  const page = await newPage();
  const entry = (taskId) => page.locator(`[data-testid=timeline-entry][data-task-id="${taskId}"]`);
  const bodyIs = (text) => page.locator('[data-testid=entry-body]', { hasText: new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) });
  const live = () => page.locator('[data-testid=connection-status][data-state=live]').waitFor({ timeout: 10000 });
  /**
   * Runs `fn` with the timeline, inbox and sent polls failing, so whatever appears meanwhile
   * can only have come over the event stream (the 30 s safety poll may fall in the window).
   */
  const streamOnly = async (fn) => {
    const polls = /\/api\/(timeline|agents\/\d+\/(inbox|sent))(\?|$)/;
    let blocked = 0;
    const handler = (route) => {
      blocked++;
      return route.abort('connectionrefused');
    };
    await page.route(polls, handler);
    try {
      await fn();
    } finally {
      await page.unroute(polls, handler);
    }
    if (blocked > 0) {
      console.log(`     (${blocked} poll(s) blocked meanwhile; waiting for Live again)`);
      await live();
    }
  };
  /** A still screenshot: fade-ins finished, no hover effect from the last click. */
  const shot = async (file) => {
    await page.mouse.move(700, 760);
    await page.screenshot({ path: join(OUT, file), animations: 'disabled' });
  };
  let stepNo = 0;
  const step = async (name, fn) => {
    const n = String(++stepNo).padStart(2, '0');
    const t0 = Date.now();
    try {
      await fn();
      passed++;
      console.log(`ok   live ${n} ${name} (${secs(t0)})`);
      await shot(`live-${n}-${slug(name)}.png`);
    } catch (e) {
      failed++;
      console.log(`FAIL live ${n} ${name}\n     ${e instanceof Error ? e.message : e}`);
      await page.screenshot({ path: join(OUT, `fail-live-${n}-${slug(name)}.png`) }).catch(() => {});
    }
  };

  let hello = null; // the /api/timeline row of "@alice hello"
  let bcRows = []; // the deliveries of the @all broadcast
  let fromCli = null; // the task Alice sent with the CLI

  await step('pick platform-team in the picker; Alice and Bob are members in real panes', async () => {
    await page.goto(BASE);
    const card = page.locator(`[data-testid=fleet-card][data-fleet-id="${LIVE}"]`);
    await card.waitFor();
    assert(((await card.textContent()) ?? '').includes('platform-team'), 'card label');
    await shot(`live-${String(stepNo).padStart(2, '0')}-picker.png`);
    await card.click();
    await page.getByTestId('dashboard').waitFor();
    assert(page.url().endsWith(`#/fleets/${LIVE}/agents`), page.url());
    assert((await page.getByTestId('crumb-fleet').textContent()) === 'platform-team', 'crumb');
    await live();
    for (const [id, name, pane] of [
      [ALICE, 'Alice', env.ALICE_PANE],
      [BOB, 'Bob', env.BOB_PANE],
    ]) {
      const row = page.locator(`[data-testid=sidebar-agent][data-agent-id="${id}"][data-status=active]`);
      assert(((await row.locator('.name').textContent()) ?? '') === name, `${name} in the sidebar`);
      // The pane runs the stand-in started by `member create` (argv as a member's claude).
      const argv = await until(`${name}'s stand-in argv`, () => {
        try {
          return JSON.parse(readFileSync(join(LOGS, `${pane}.argv`), 'utf8'));
        } catch {
          return null;
        }
      });
      assert(argv.argv[0] === 'claude' && argv.argv.includes('--name') && argv.argv.includes(name), JSON.stringify(argv));
      assert(argv.db === process.env.CAFLEET_DATABASE_URL, `stand-in database ${argv.db}`);
    }
    await page.getByTestId('timeline-entry').first().waitFor();
    // Marker: a reload before the XSS step would lose it.
    await page.evaluate(() => (window.__e2eSamePage = true));
  });

  await step('"@alice hello" is in the timeline and typed into Alice\'s pane', async () => {
    await send(page, '@alice hello');
    const e = page
      .locator('[data-testid=timeline-entry][data-kind=unicast]')
      .filter({ has: page.locator(`[data-testid=recipient-chip][data-agent-id="${ALICE}"]`) })
      .filter({ has: bodyIs('hello') });
    await e.waitFor({ timeout: 5000 });
    assert((await e.count()) === 1, 'one entry');
    assert((await page.getByTestId('message-input').inputValue()) === '', 'input cleared');
    assert((await e.locator('.from').textContent()) === 'Administrator', 'sent as the Administrator');
    const id = Number(await e.getAttribute('data-task-id'));
    hello = (await timeline()).find((m) => m.task_id === id);
    assert(hello, `task ${id} in /api/timeline`);
    assert(hello.from_agent_id === ADMIN && hello.to_agent_id === ALICE && hello.body === 'hello', JSON.stringify(hello));
    assert(hello.status === 'input_required', hello.status);
    // "[cafleet msg <id> from <admin> <ts>]", LF, the body, then Enter (CR).
    const want = preview(hello);
    await typed(env.ALICE_PANE, want);
    assert(count(keys(env.ALICE_PANE), `[cafleet msg ${id} from `) === 1, 'typed exactly once');
    assert(!keys(env.BOB_PANE).includes(`[cafleet msg ${id} from `), 'not typed into Bob\'s pane');
    // Its delivery badge moves on from stored once the preview is in the pane (live).
    const badge = e.locator(`[data-testid=delivery-badge][data-agent-id="${ALICE}"]`);
    const state = await until('Alice\'s delivery badge past stored', async () => {
      const st = await badge.getAttribute('data-state');
      return st === 'typed' || st === 'submitted' ? st : null;
    }, 10000).catch(async () => {
      throw new Error(`Alice's delivery badge is ${await badge.getAttribute('data-state')} (${await badge.getAttribute('title')})`);
    });
    assert((await badge.locator('[aria-hidden=true]').textContent()) === state, 'badge text');
  });

  const BC = 'Please push your branches before 17:00; the release freeze starts then.';
  await step('"@all ..." is one grouped broadcast entry and reaches Alice\'s and Bob\'s panes', async () => {
    await send(page, `@all ${BC}`);
    const bc = page.locator('[data-testid=timeline-entry][data-kind=broadcast]').filter({ has: bodyIs(BC) });
    await bc.waitFor({ timeout: 5000 });
    assert((await bc.count()) === 1, 'one broadcast entry');
    assert((await page.locator('[data-testid=timeline-entry][data-kind=unicast]').filter({ has: bodyIs(BC) }).count()) === 0, 'no unicast entries for it');
    assert((await bc.locator('.from').textContent()) === 'Administrator', 'sent as the Administrator');
    const want = [DIRECTOR, ALICE, BOB].sort((a, b) => a - b).join(',');
    const chips = async () =>
      (await bc.getByTestId('recipient-chip').evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-agent-id')))))
        .sort((a, b) => a - b)
        .join(',');
    await until(`recipient chips ${want}`, async () => (await chips()) === want, 5000).catch(async () => {
      throw new Error(`recipient chips ${await chips()}, want ${want}`);
    });
    bcRows = (await timeline()).filter((m) => m.body === BC);
    assert(bcRows.length === 3, `${bcRows.length} deliveries`);
    assert(new Set(bcRows.map((m) => m.origin_task_id)).size === 1 && bcRows[0].origin_task_id !== null, 'one origin');
    for (const [id, pane] of [
      [ALICE, env.ALICE_PANE],
      [BOB, env.BOB_PANE],
    ]) {
      await typed(pane, preview(bcRows.find((m) => m.to_agent_id === id)));
    }
    // The Director's pane is a plain shell: nothing is typed there (K2).
    const director = execFileSync('tmux', ['-S', env.TMUX_SOCKET, 'capture-pane', '-p', '-t', env.DIRECTOR_PANE], { encoding: 'utf8' });
    assert(!director.includes('release freeze'), `typed into the Director's shell:\n${director}`);
    // One delivery badge per recipient; the Director's copy stays stored, a warning-free "stored".
    const badges = async () =>
      (await bc.getByTestId('delivery-badge').evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-agent-id')))))
        .sort((a, b) => a - b)
        .join(',');
    assert((await badges()) === want, `delivery badges for ${await badges()}, want ${want}`);
    const dirBadge = bc.locator(`[data-testid=delivery-badge][data-agent-id="${DIRECTOR}"]`);
    assert((await dirBadge.getAttribute('data-state')) === 'stored', `Director's badge ${await dirBadge.getAttribute('data-state')}`);
    assert(((await dirBadge.getAttribute('title')) ?? '').includes("Director's pane"), 'names the Director');
  });

  await step('a CLI ack by Alice (another process) turns the ack chip live, without reload', async () => {
    const e = entry(hello.task_id);
    assert((await e.getByTestId('ack-chip').count()) === 0, 'no ack chip before');
    const bcEntry = page.locator('[data-testid=timeline-entry][data-kind=broadcast]').filter({ has: bodyIs(BC) });
    await streamOnly(async () => {
      const t0 = Date.now();
      await cli(['message', 'ack', '--fleet-id', LIVE, '--agent-id', ALICE, '--task-id', hello.task_id], env.ALICE_PANE);
      await e.locator(`[data-testid=ack-chip][data-status=completed][data-agent-id="${ALICE}"]`).waitFor({ timeout: 4000 });
      await e.locator(`[data-testid=recipient-chip][data-agent-id="${ALICE}"][data-status=completed]`).waitFor({ timeout: 1000 });
      await e.locator(`[data-testid=delivery-badge][data-agent-id="${ALICE}"][data-state=acked]`).waitFor({ timeout: 1000 });
      console.log(`     (ack chip ${Date.now() - t0} ms after the CLI started)`);
      // Bob acknowledges his copy of the broadcast: one of its three chips turns acked.
      const bob = bcRows.find((m) => m.to_agent_id === BOB);
      await cli(['message', 'ack', '--fleet-id', LIVE, '--agent-id', BOB, '--task-id', bob.task_id], env.BOB_PANE);
      await bcEntry.locator(`[data-testid=ack-chip][data-status=completed][data-agent-id="${BOB}"]`).waitFor({ timeout: 4000 });
    });
    assert((await bcEntry.getByTestId('ack-chip').count()) === 1, 'only Bob acked the broadcast');
    assert(await page.evaluate(() => window.__e2eSamePage === true), 'the page was reloaded');
  });

  await step('a CLI send (Alice to the Director) appears live', async () => {
    const text = 'Tokenizer done: all 42 parser tests pass. PR #7 is ready for review.';
    await streamOnly(async () => {
      const out = await cli(['message', 'send', '--fleet-id', LIVE, '--agent-id', ALICE, '--to', DIRECTOR, '--text', text], env.ALICE_PANE);
      fromCli = out.task;
      // The Director's pane is a shell, so no preview is typed (K2).
      assert(out.notification_sent === false, `notification_sent ${out.notification_sent}`);
      const e = entry(fromCli.id);
      await e.waitFor({ timeout: 4000 });
      assert((await e.locator('.from').textContent()) === 'Alice', 'from Alice');
      assert((await e.getByTestId('recipient-chip').getAttribute('data-agent-id')) === String(DIRECTOR), 'to the Director');
      assert((await e.getByTestId('entry-body').textContent()) === text, 'body');
    });
    assert(await page.evaluate(() => window.__e2eSamePage === true), 'the page was reloaded');
  });

  await step('detail panel: Alice\'s and Bob\'s Inbox and Sent tabs list exactly their messages', async () => {
    const listed = () =>
      page.locator('[data-testid=detail-list] [data-testid=detail-message]').evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-task-id'))));
    const showsApi = async (agent, tab) => {
      await page.locator(`[data-testid=detail-list][data-tab=${tab}]`).waitFor();
      const want = (await api(`/api/agents/${agent}/${tab}`)).messages.map((m) => m.task_id);
      await until(`${tab} of ${agent} lists ${want}`, async () => (await listed()).join(',') === want.join(','), 5000).catch(async () => {
        throw new Error(`${tab} of ${agent} lists ${await listed()}, the API says ${want}`);
      });
      return want;
    };
    const row = (id) => page.locator(`[data-testid=detail-message][data-task-id="${id}"]`);
    await page.locator(`[data-testid=sidebar-agent][data-agent-id="${ALICE}"]`).click();
    await page.getByTestId('agent-panel').waitFor();
    assert((await page.getByTestId('panel-name').textContent()) === 'Alice', 'Alice\'s panel');
    assert((await page.getByTestId('detail-tab-inbox').getAttribute('aria-selected')) === 'true', 'Inbox first');
    let ids = await showsApi(ALICE, 'inbox');
    const aliceBc = bcRows.find((m) => m.to_agent_id === ALICE).task_id;
    assert(ids.includes(hello.task_id) && ids.includes(aliceBc), `inbox ${ids}`);
    assert(!ids.includes(fromCli.id), 'her own message is not in her inbox');
    assert((await row(hello.task_id).getAttribute('data-status')) === 'completed', 'hello acked');
    const helloText = (await row(hello.task_id).textContent()) ?? '';
    assert(helloText.includes('from Administrator') && helloText.includes('acked') && helloText.includes('hello'), helloText);
    assert(((await row(aliceBc).textContent()) ?? '').includes('pending'), 'broadcast copy pending');
    await shot('webui.png'); // the docs/webui.png candidate
    await page.getByTestId('detail-tab-sent').click();
    ids = await showsApi(ALICE, 'sent');
    assert(ids.includes(fromCli.id) && !ids.includes(hello.task_id), `sent ${ids}`);
    assert(((await row(fromCli.id).textContent()) ?? '').includes('to Director'), 'to Director');
    await shot(`live-${String(stepNo).padStart(2, '0')}-alice-sent.png`);
    await page.locator(`[data-testid=sidebar-agent][data-agent-id="${BOB}"]`).click();
    await page.waitForFunction(() => document.querySelector('[data-testid=panel-name]')?.textContent === 'Bob');
    if ((await page.getByTestId('detail-tab-inbox').getAttribute('aria-selected')) !== 'true') await page.getByTestId('detail-tab-inbox').click();
    ids = await showsApi(BOB, 'inbox');
    const bobBc = bcRows.find((m) => m.to_agent_id === BOB).task_id;
    assert(ids.includes(bobBc) && !ids.includes(hello.task_id) && !ids.includes(fromCli.id), `Bob's inbox ${ids}`);
    assert((await row(bobBc).getAttribute('data-status')) === 'completed', 'Bob acked the broadcast');
    await page.getByTestId('detail-tab-sent').click();
    await showsApi(BOB, 'sent');
    await page.getByTestId('panel-close').click();
    await page.getByTestId('agent-panel').waitFor({ state: 'detached' });
  });

  const XSS = '<img src=x onerror=window.__xss=1>';
  await step('a message "<img src=x onerror=...>" renders as literal text', async () => {
    await send(page, `@alice ${XSS}`);
    const row = await until('the message in /api/timeline', async () => (await timeline()).find((m) => m.body === XSS), 5000);
    const id = row.task_id;
    const check = async (where) => {
      const e = entry(id);
      await e.waitFor({ timeout: 5000 });
      assert((await e.getByTestId('entry-body').textContent()) === XSS, `${where}: body text`);
      assert(await e.getByTestId('entry-body').isVisible(), `${where}: visible`);
      assert((await e.locator('img').count()) === 0, `${where}: an <img> inside the entry`);
      assert((await page.locator('img[src="x"]').count()) === 0, `${where}: an <img src=x> in the page`);
      // Give a failed image load, had an <img> ever been created, time to run its handler.
      await sleep(300);
      assert((await page.evaluate(() => typeof window.__xss)) === 'undefined', `${where}: window.__xss is set`);
    };
    await check('live');
    // Typed into the pane as the same literal text.
    await typed(env.ALICE_PANE, preview(row));
    await page.reload();
    await check('after reload');
    await page.locator(`[data-testid=sidebar-agent][data-agent-id="${ALICE}"]`).click();
    const r = page.locator(`[data-testid=detail-message][data-task-id="${id}"]`);
    await r.waitFor();
    assert((await r.locator('.body').textContent()) === XSS && (await r.locator('img').count()) === 0, 'panel row');
    assert((await page.evaluate(() => typeof window.__xss)) === 'undefined', 'window.__xss is set');
    await page.getByTestId('panel-close').click();
    // Control: had the page parsed the text as HTML, the handler would have run by now.
    const fired = await page.evaluate(async () => {
      const probe = document.createElement('div');
      probe.innerHTML = '<img src=x onerror="window.__xssProbe=1">';
      const t0 = Date.now();
      while (window.__xssProbe !== 1 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
      return window.__xssProbe === 1 ? Date.now() - t0 : -1;
    });
    assert(fired >= 0 && fired < 300, `control <img onerror> fired after ${fired} ms: the 300 ms wait is too short`);
  });

  await step('a foreign Host and cross-origin POSTs get 403 and store nothing', async () => {
    const port = new URL(BASE).port;
    const host = `127.0.0.1:${port}`;
    const evil = `evil.example:${port}`;
    const json = { 'Content-Type': 'application/json', 'X-Fleet-Id': String(LIVE) };
    const body = (text, from = ADMIN) => JSON.stringify({ from_agent_id: from, to_agent_id: ALICE, text });
    const expect = async (what, want, req) => {
      const r = await req;
      assert(want.includes(r.status), `${what}: HTTP ${r.status} ${r.text}`);
      return r;
    };
    // DNS rebinding: any Host other than the bound address or localhost.
    await expect('GET /api/fleets, foreign Host', [403], raw(BASE, 'GET', '/api/fleets', { Host: evil }));
    await expect('GET /, foreign Host', [403], raw(BASE, 'GET', '/', { Host: evil }));
    await expect('GET /api/events, foreign Host', [403], raw(BASE, 'GET', '/api/events', { Host: evil, 'X-Fleet-Id': String(LIVE) }));
    await expect('GET /api/timeline, foreign Host', [403], raw(BASE, 'GET', '/api/timeline', { Host: evil, 'X-Fleet-Id': String(LIVE) }));
    await expect('POST, rebinding (foreign Host and its Origin)', [403],
      raw(BASE, 'POST', '/api/messages/send', { ...json, Host: evil, Origin: `http://${evil}` }, body('refused-rebinding')));
    // Cross-site POSTs: a foreign Origin, another local origin, or none at all.
    await expect('POST, foreign Origin', [403],
      raw(BASE, 'POST', '/api/messages/send', { ...json, Host: host, Origin: 'http://evil.example' }, body('refused-foreign-origin')));
    await expect('POST, Origin of another port', [403],
      raw(BASE, 'POST', '/api/messages/send', { ...json, Host: host, Origin: 'http://127.0.0.1:1' }, body('refused-other-port')));
    await expect('POST, no Origin', [403],
      raw(BASE, 'POST', '/api/messages/send', { ...json, Host: host }, body('refused-no-origin')));
    // W3: even same-origin, the WebUI sends only as the Administrator.
    await expect('POST as Alice', [400, 403, 422],
      raw(BASE, 'POST', '/api/messages/send', { ...json, Host: host, Origin: `http://${host}` }, body('refused-impersonation', ALICE)));
    // The token server checks the Host before the token, and wants the token for a POST.
    if (TOKEN_BASE && TOKEN) {
      const tport = new URL(TOKEN_BASE).port;
      await expect('token server, foreign Host with the token', [403],
        raw(TOKEN_BASE, 'GET', '/api/fleets', { Host: `evil.example:${tport}`, Authorization: `Bearer ${TOKEN}` }));
      await expect('token server, POST without the token', [401, 403],
        raw(TOKEN_BASE, 'POST', '/api/messages/send', { ...json, Host: `127.0.0.1:${tport}`, Origin: 'http://evil.example' }, body('refused-no-token')));
    }
    // Control: the same request from the page's own origin is accepted and typed; once its
    // preview is in Alice's pane, any preview of the refused ones would be there too.
    const ok = await expect('POST, same Origin', [200],
      raw(BASE, 'POST', '/api/messages/send', { ...json, Host: host, Origin: `http://${host}` }, body('same-origin control')));
    const rows = await timeline();
    await typed(env.ALICE_PANE, preview(rows.find((m) => m.task_id === ok.json.task_id)));
    const stored = rows.filter((m) => m.body.startsWith('refused-'));
    assert(stored.length === 0, `stored: ${JSON.stringify(stored)}`);
    const inbox = (await api(`/api/agents/${ALICE}/inbox`)).messages.filter((m) => m.body.startsWith('refused-'));
    assert(inbox.length === 0, `in Alice's inbox: ${JSON.stringify(inbox)}`);
    assert(!keys(env.ALICE_PANE).includes('refused-'), 'a refused message was typed into Alice\'s pane');
    await page.getByTestId('timeline-entry').filter({ has: bodyIs('same-origin control') }).waitFor({ timeout: 5000 });
  });

  await page.context().close();
}

await browser.close();
if (pageErrors.length > 0) {
  failed++;
  console.log(`FAIL page errors:\n     ${pageErrors.join('\n     ')}`);
}
console.log(`${passed} passed, ${failed} failed in ${secs(suiteStart)}`);
process.exit(failed === 0 ? 0 : 1);
