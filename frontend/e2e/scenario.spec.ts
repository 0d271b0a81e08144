// The scenario with real panes: fleet `platform-team`, whose members Alice and Bob were made
// with `cafleet member create` and run the stand-in agent, which logs every byte typed into
// its pane. One page stays open through all the steps (nothing reloads until the XSS step),
// the way an operator would use it; a step that fails skips the ones after it.
import { expect, test, type Page, type Route } from '@playwright/test';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BASE, CLI, OUT, TOKEN, TOKEN_BASE, need, send, slug, watchPage } from './support';

const LIVE = Number(need('LIVE_FLEET'));
const DIRECTOR = Number(need('LIVE_DIRECTOR'));
const ADMIN = Number(need('LIVE_ADMIN'));
const ALICE = Number(need('ALICE_ID'));
const BOB = Number(need('BOB_ID'));
const ALICE_PANE = need('ALICE_PANE');
const BOB_PANE = need('BOB_PANE');
const DIRECTOR_PANE = need('DIRECTOR_PANE');
const LOGS = need('STANDIN_LOGS');
const TMUX_SOCKET = need('TMUX_SOCKET');

/** A row of /api/timeline and of the inbox/sent lists (the fields the steps read). */
interface Row {
  task_id: number;
  from_agent_id: number;
  to_agent_id: number;
  body: string;
  status: string;
  created_at: string;
  origin_task_id: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy; fails after `timeout` ms. */
async function until<T>(what: string, fn: () => T | Promise<T>, timeout = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms: ${what}`);
    await sleep(50);
  }
}

/** Everything typed into the stand-in agent of `pane` so far. */
function keys(pane: string): string {
  try {
    return readFileSync(join(LOGS, `${pane}.keys`)).toString('utf8');
  } catch {
    return '';
  }
}

const count = (hay: string, needle: string) => hay.split(needle).length - 1;
const show = (s: string) => JSON.stringify(s.length > 400 ? `…${s.slice(-400)}` : s);

/** Waits until the stand-in in `pane` has received `needle` (typed after the HTTP reply). */
const typed = (pane: string, needle: string, timeout = 10_000) =>
  until(`${show(needle)} typed into ${pane}`, () => keys(pane).includes(needle), timeout).catch(() => {
    throw new Error(`pane ${pane} never received ${show(needle)}; it got ${show(keys(pane))}`);
  });

interface Reply {
  status: number;
  text: string;
  json: { task_id?: number; messages?: Row[] } | null;
}

/** One HTTP request with exactly these headers (Host and Origin included). */
function raw(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, timeout: 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json = null;
          try {
            json = JSON.parse(text);
          } catch {
            // not JSON: the status and text say enough
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 5 s`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function api(path: string): Promise<Row[]> {
  const r = await raw(BASE, 'GET', path, { 'X-Fleet-Id': String(LIVE) });
  expect(r.status, `GET ${path}: ${r.text}`).toBe(200);
  return r.json?.messages ?? [];
}
const timeline = () => api('/api/timeline');

const execFileP = promisify(execFile);
/** `cafleet --json ...` in its own process, run from `pane` (default: the Director's). */
async function cli<T>(args: (string | number)[], pane = DIRECTOR_PANE): Promise<T> {
  const { stdout } = await execFileP(CLI, ['--json', ...args.map(String)], {
    env: { ...process.env, TMUX_PANE: pane },
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as T;
}

/** The preview typed into a recipient's pane: header, LF, the body, Enter (CR). */
const preview = (row: Row, from = ADMIN) => `[cafleet msg ${row.task_id} from ${from} ${row.created_at}]\n${row.body}\r`;

test.describe.configure({ mode: 'serial' });

let page: Page;
const errors: string[] = [];
let stepNo = 0;
const step = () => String(stepNo).padStart(2, '0');

const entry = (taskId: number) => page.locator(`[data-testid=timeline-entry][data-task-id="${taskId}"]`);
const bodyIs = (text: string) =>
  page.locator('[data-testid=entry-body]', { hasText: new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) });
const live = () => page.locator('[data-testid=connection-status][data-state=live]').waitFor({ timeout: 10_000 });
const samePage = () => page.evaluate(() => (window as unknown as { __e2eSamePage?: boolean }).__e2eSamePage === true);

/**
 * Runs `fn` with the timeline, inbox and sent polls failing, so whatever appears meanwhile
 * can only have come over the event stream (the 30 s safety poll may fall in the window).
 */
async function streamOnly(fn: () => Promise<void>): Promise<void> {
  const polls = /\/api\/(timeline|agents\/\d+\/(inbox|sent))(\?|$)/;
  let blocked = 0;
  const handler = (route: Route) => {
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
}

/** A still screenshot: fade-ins finished, no hover effect from the last click. */
async function shot(file: string): Promise<void> {
  await page.mouse.move(700, 760);
  await page.screenshot({ path: join(OUT, file), animations: 'disabled' });
}

test.beforeAll(async ({ browser }) => {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: 'light' });
  page = await ctx.newPage();
  watchPage(page, errors);
});

test.afterAll(async () => {
  await page?.context().close();
});

test.beforeEach(() => {
  stepNo++;
});

// Each step leaves live-NN-<title>.png (fail-live-NN-... when it failed); an error in the
// page during a step fails that step.
test.afterEach(async ({}, testInfo) => {
  const name = `live-${step()}-${slug(testInfo.title)}.png`;
  if (testInfo.status === testInfo.expectedStatus) await shot(name);
  else await page.screenshot({ path: join(OUT, `fail-${name}`) }).catch(() => {});
  if (errors.length > 0) throw new Error(`errors in the page:\n  ${errors.splice(0).join('\n  ')}`);
});

let hello: Row; // the /api/timeline row of "@alice hello"
let bcRows: Row[] = []; // the deliveries of the @all broadcast
let fromCli: { id: number }; // the task Alice sent with the CLI
const BC = 'Please push your branches before 17:00; the release freeze starts then.';

test('pick platform-team in the picker; Alice and Bob are members in real panes', async () => {
  await page.goto(BASE);
  const card = page.locator(`[data-testid=fleet-card][data-fleet-id="${LIVE}"]`);
  await card.waitFor();
  expect((await card.textContent()) ?? '', 'card label').toContain('platform-team');
  await shot(`live-${step()}-picker.png`);
  await card.click();
  await page.getByTestId('dashboard').waitFor();
  expect(page.url()).toMatch(new RegExp(`#/fleets/${LIVE}/agents$`));
  expect(await page.getByTestId('crumb-fleet').textContent(), 'crumb').toBe('platform-team');
  await live();
  for (const [id, name, pane] of [
    [ALICE, 'Alice', ALICE_PANE],
    [BOB, 'Bob', BOB_PANE],
  ] as const) {
    const row = page.locator(`[data-testid=sidebar-agent][data-agent-id="${id}"][data-status=active]`);
    expect((await row.locator('.name').textContent()) ?? '', `${name} in the sidebar`).toBe(name);
    // The pane runs the stand-in started by `member create` (argv as a member's claude).
    const argv = await until(`${name}'s stand-in argv`, () => {
      try {
        return JSON.parse(readFileSync(join(LOGS, `${pane}.argv`), 'utf8')) as { argv: string[]; db: string };
      } catch {
        return null;
      }
    });
    expect(argv.argv[0] === 'claude' && argv.argv.includes('--name') && argv.argv.includes(name), JSON.stringify(argv)).toBe(true);
    expect(argv.db, 'stand-in database').toBe(process.env.CAFLEET_DATABASE_URL);
  }
  await page.getByTestId('timeline-entry').first().waitFor();
  // Marker: a reload before the XSS step would lose it.
  await page.evaluate(() => ((window as unknown as { __e2eSamePage?: boolean }).__e2eSamePage = true));
});

test('"@alice hello" is in the timeline and typed into Alice\'s pane', async () => {
  await send(page, '@alice hello');
  const e = page
    .locator('[data-testid=timeline-entry][data-kind=unicast]')
    .filter({ has: page.locator(`[data-testid=recipient-chip][data-agent-id="${ALICE}"]`) })
    .filter({ has: bodyIs('hello') });
  await e.waitFor({ timeout: 5000 });
  expect(await e.count(), 'one entry').toBe(1);
  expect(await page.getByTestId('message-input').inputValue(), 'input cleared').toBe('');
  expect(await e.locator('.from').textContent(), 'sent as the Administrator').toBe('Administrator');
  const id = Number(await e.getAttribute('data-task-id'));
  const row = (await timeline()).find((m) => m.task_id === id);
  expect(row, `task ${id} in /api/timeline`).toBeTruthy();
  hello = row as Row;
  expect(hello.from_agent_id === ADMIN && hello.to_agent_id === ALICE && hello.body === 'hello', JSON.stringify(hello)).toBe(true);
  expect(hello.status).toBe('input_required');
  // "[cafleet msg <id> from <admin> <ts>]", LF, the body, then Enter (CR).
  await typed(ALICE_PANE, preview(hello));
  expect(count(keys(ALICE_PANE), `[cafleet msg ${id} from `), 'typed exactly once').toBe(1);
  expect(keys(BOB_PANE), "not typed into Bob's pane").not.toContain(`[cafleet msg ${id} from `);
  // Its delivery badge moves on from stored once the preview is in the pane (live).
  const badge = e.locator(`[data-testid=delivery-badge][data-agent-id="${ALICE}"]`);
  const state = await until(
    "Alice's delivery badge past stored",
    async () => {
      const st = await badge.getAttribute('data-state');
      return st === 'typed' || st === 'submitted' ? st : null;
    },
    10_000,
  ).catch(async () => {
    throw new Error(`Alice's delivery badge is ${await badge.getAttribute('data-state')} (${await badge.getAttribute('title')})`);
  });
  expect(await badge.locator('[aria-hidden=true]').textContent(), 'badge text').toBe(state);
});

test('"@all ..." is one grouped broadcast entry and reaches Alice\'s and Bob\'s panes', async () => {
  await send(page, `@all ${BC}`);
  const bc = page.locator('[data-testid=timeline-entry][data-kind=broadcast]').filter({ has: bodyIs(BC) });
  await bc.waitFor({ timeout: 5000 });
  expect(await bc.count(), 'one broadcast entry').toBe(1);
  expect(
    await page.locator('[data-testid=timeline-entry][data-kind=unicast]').filter({ has: bodyIs(BC) }).count(),
    'no unicast entries for it',
  ).toBe(0);
  expect(await bc.locator('.from').textContent(), 'sent as the Administrator').toBe('Administrator');
  const want = [DIRECTOR, ALICE, BOB].sort((a, b) => a - b).join(',');
  const ids = async (testid: string) =>
    (await bc.getByTestId(testid).evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-agent-id')))))
      .sort((a, b) => a - b)
      .join(',');
  await until(`recipient chips ${want}`, async () => (await ids('recipient-chip')) === want, 5000).catch(async () => {
    throw new Error(`recipient chips ${await ids('recipient-chip')}, want ${want}`);
  });
  bcRows = (await timeline()).filter((m) => m.body === BC);
  expect(bcRows.length, 'deliveries').toBe(3);
  expect(new Set(bcRows.map((m) => m.origin_task_id)).size === 1 && bcRows[0].origin_task_id !== null, 'one origin').toBe(true);
  for (const [id, pane] of [
    [ALICE, ALICE_PANE],
    [BOB, BOB_PANE],
  ] as const) {
    await typed(pane, preview(bcRows.find((m) => m.to_agent_id === id) as Row));
  }
  // The Director's pane is a plain shell: nothing is typed there (K2).
  const director = execFileSync('tmux', ['-S', TMUX_SOCKET, 'capture-pane', '-p', '-t', DIRECTOR_PANE], { encoding: 'utf8' });
  expect(director, "typed into the Director's shell").not.toContain('release freeze');
  // One delivery badge per recipient; the Director's copy stays stored, a warning-free "stored".
  expect(await ids('delivery-badge'), 'delivery badges').toBe(want);
  const dirBadge = bc.locator(`[data-testid=delivery-badge][data-agent-id="${DIRECTOR}"]`);
  expect(await dirBadge.getAttribute('data-state'), "Director's badge").toBe('stored');
  expect((await dirBadge.getAttribute('title')) ?? '', 'names the Director').toContain("Director's pane");
});

test('a CLI ack by Alice (another process) turns the ack chip live, without reload', async () => {
  const e = entry(hello.task_id);
  expect(await e.getByTestId('ack-chip').count(), 'no ack chip before').toBe(0);
  const bcEntry = page.locator('[data-testid=timeline-entry][data-kind=broadcast]').filter({ has: bodyIs(BC) });
  await streamOnly(async () => {
    const t0 = Date.now();
    await cli(['message', 'ack', '--fleet-id', LIVE, '--agent-id', ALICE, '--task-id', hello.task_id], ALICE_PANE);
    await e.locator(`[data-testid=ack-chip][data-status=completed][data-agent-id="${ALICE}"]`).waitFor({ timeout: 4000 });
    await e.locator(`[data-testid=recipient-chip][data-agent-id="${ALICE}"][data-status=completed]`).waitFor({ timeout: 1000 });
    await e.locator(`[data-testid=delivery-badge][data-agent-id="${ALICE}"][data-state=acked]`).waitFor({ timeout: 1000 });
    console.log(`     (ack chip ${Date.now() - t0} ms after the CLI started)`);
    // Bob acknowledges his copy of the broadcast: one of its three chips turns acked.
    const bob = bcRows.find((m) => m.to_agent_id === BOB) as Row;
    await cli(['message', 'ack', '--fleet-id', LIVE, '--agent-id', BOB, '--task-id', bob.task_id], BOB_PANE);
    await bcEntry.locator(`[data-testid=ack-chip][data-status=completed][data-agent-id="${BOB}"]`).waitFor({ timeout: 4000 });
  });
  expect(await bcEntry.getByTestId('ack-chip').count(), 'only Bob acked the broadcast').toBe(1);
  expect(await samePage(), 'the page was reloaded').toBe(true);
});

test('a CLI send (Alice to the Director) appears live', async () => {
  const text = 'Tokenizer done: all 42 parser tests pass. PR #7 is ready for review.';
  await streamOnly(async () => {
    const out = await cli<{ task: { id: number }; notification_sent: boolean }>(
      ['message', 'send', '--fleet-id', LIVE, '--agent-id', ALICE, '--to', DIRECTOR, '--text', text],
      ALICE_PANE,
    );
    fromCli = out.task;
    // The Director's pane is a shell, so no preview is typed (K2).
    expect(out.notification_sent, 'notification_sent').toBe(false);
    const e = entry(fromCli.id);
    await e.waitFor({ timeout: 4000 });
    expect(await e.locator('.from').textContent(), 'from Alice').toBe('Alice');
    expect(await e.getByTestId('recipient-chip').getAttribute('data-agent-id'), 'to the Director').toBe(String(DIRECTOR));
    expect(await e.getByTestId('entry-body').textContent(), 'body').toBe(text);
  });
  expect(await samePage(), 'the page was reloaded').toBe(true);
});

test("detail panel: Alice's and Bob's Inbox and Sent tabs list exactly their messages", async () => {
  const listed = () =>
    page
      .locator('[data-testid=detail-list] [data-testid=detail-message]')
      .evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-task-id'))));
  const showsApi = async (agent: number, tab: 'inbox' | 'sent') => {
    await page.locator(`[data-testid=detail-list][data-tab=${tab}]`).waitFor();
    const want = (await api(`/api/agents/${agent}/${tab}`)).map((m) => m.task_id);
    await until(`${tab} of ${agent} lists ${want}`, async () => (await listed()).join(',') === want.join(','), 5000).catch(async () => {
      throw new Error(`${tab} of ${agent} lists ${await listed()}, the API says ${want}`);
    });
    return want;
  };
  const row = (id: number) => page.locator(`[data-testid=detail-message][data-task-id="${id}"]`);
  await page.locator(`[data-testid=sidebar-agent][data-agent-id="${ALICE}"]`).click();
  await page.getByTestId('agent-panel').waitFor();
  expect(await page.getByTestId('panel-name').textContent(), "Alice's panel").toBe('Alice');
  expect(await page.getByTestId('detail-tab-inbox').getAttribute('aria-selected'), 'Inbox first').toBe('true');
  let ids = await showsApi(ALICE, 'inbox');
  const aliceBc = (bcRows.find((m) => m.to_agent_id === ALICE) as Row).task_id;
  expect(ids.includes(hello.task_id) && ids.includes(aliceBc), `inbox ${ids}`).toBe(true);
  expect(ids, 'her own message is not in her inbox').not.toContain(fromCli.id);
  expect(await row(hello.task_id).getAttribute('data-status'), 'hello acked').toBe('completed');
  const helloText = (await row(hello.task_id).textContent()) ?? '';
  expect(helloText.includes('from Administrator') && helloText.includes('acked') && helloText.includes('hello'), helloText).toBe(true);
  expect((await row(aliceBc).textContent()) ?? '', 'broadcast copy pending').toContain('pending');
  await shot('webui.png'); // the docs/webui.png candidate
  await page.getByTestId('detail-tab-sent').click();
  ids = await showsApi(ALICE, 'sent');
  expect(ids.includes(fromCli.id) && !ids.includes(hello.task_id), `sent ${ids}`).toBe(true);
  expect((await row(fromCli.id).textContent()) ?? '', 'to Director').toContain('to Director');
  await shot(`live-${step()}-alice-sent.png`);
  await page.locator(`[data-testid=sidebar-agent][data-agent-id="${BOB}"]`).click();
  await page.waitForFunction(() => document.querySelector('[data-testid=panel-name]')?.textContent === 'Bob');
  if ((await page.getByTestId('detail-tab-inbox').getAttribute('aria-selected')) !== 'true') {
    await page.getByTestId('detail-tab-inbox').click();
  }
  ids = await showsApi(BOB, 'inbox');
  const bobBc = (bcRows.find((m) => m.to_agent_id === BOB) as Row).task_id;
  expect(ids.includes(bobBc) && !ids.includes(hello.task_id) && !ids.includes(fromCli.id), `Bob's inbox ${ids}`).toBe(true);
  expect(await row(bobBc).getAttribute('data-status'), 'Bob acked the broadcast').toBe('completed');
  await page.getByTestId('detail-tab-sent').click();
  await showsApi(BOB, 'sent');
  await page.getByTestId('panel-close').click();
  await page.getByTestId('agent-panel').waitFor({ state: 'detached' });
});

test('a message "<img src=x onerror=...>" renders as literal text', async () => {
  const XSS = '<img src=x onerror=window.__xss=1>';
  const xssSet = () => page.evaluate(() => typeof (window as unknown as { __xss?: unknown }).__xss);
  await send(page, `@alice ${XSS}`);
  const row = await until('the message in /api/timeline', async () => (await timeline()).find((m) => m.body === XSS), 5000);
  const id = row.task_id;
  const check = async (where: string) => {
    const e = entry(id);
    await e.waitFor({ timeout: 5000 });
    expect(await e.getByTestId('entry-body').textContent(), `${where}: body text`).toBe(XSS);
    expect(await e.getByTestId('entry-body').isVisible(), `${where}: visible`).toBe(true);
    expect(await e.locator('img').count(), `${where}: an <img> inside the entry`).toBe(0);
    expect(await page.locator('img[src="x"]').count(), `${where}: an <img src=x> in the page`).toBe(0);
    // Give a failed image load, had an <img> ever been created, time to run its handler.
    await sleep(300);
    expect(await xssSet(), `${where}: window.__xss is set`).toBe('undefined');
  };
  await check('live');
  // Typed into the pane as the same literal text.
  await typed(ALICE_PANE, preview(row));
  await page.reload();
  await check('after reload');
  await page.locator(`[data-testid=sidebar-agent][data-agent-id="${ALICE}"]`).click();
  const r = page.locator(`[data-testid=detail-message][data-task-id="${id}"]`);
  await r.waitFor();
  expect((await r.locator('.body').textContent()) === XSS && (await r.locator('img').count()) === 0, 'panel row').toBe(true);
  expect(await xssSet(), 'window.__xss is set').toBe('undefined');
  await page.getByTestId('panel-close').click();
  // Control: had the page parsed the text as HTML, the handler would have run by now.
  const fired = await page.evaluate(async () => {
    const w = window as unknown as { __xssProbe?: number };
    const probe = document.createElement('div');
    probe.innerHTML = '<img src=x onerror="window.__xssProbe=1">';
    const t0 = Date.now();
    while (w.__xssProbe !== 1 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
    return w.__xssProbe === 1 ? Date.now() - t0 : -1;
  });
  expect(fired >= 0 && fired < 300, `control <img onerror> fired after ${fired} ms: the 300 ms wait is too short`).toBe(true);
});

test('a foreign Host and cross-origin POSTs get 403 and store nothing', async () => {
  const port = new URL(BASE).port;
  const host = `127.0.0.1:${port}`;
  const evil = `evil.example:${port}`;
  const json = { 'Content-Type': 'application/json', 'X-Fleet-Id': String(LIVE) };
  const body = (text: string, from = ADMIN) => JSON.stringify({ from_agent_id: from, to_agent_id: ALICE, text });
  const answers = async (what: string, want: number[], req: Promise<Reply>) => {
    const r = await req;
    expect(want, `${what}: HTTP ${r.status} ${r.text}`).toContain(r.status);
    return r;
  };
  // DNS rebinding: any Host other than the bound address or localhost.
  await answers('GET /api/fleets, foreign Host', [403], raw(BASE, 'GET', '/api/fleets', { Host: evil }));
  await answers('GET /, foreign Host', [403], raw(BASE, 'GET', '/', { Host: evil }));
  await answers('GET /api/events, foreign Host', [403], raw(BASE, 'GET', '/api/events', { Host: evil, 'X-Fleet-Id': String(LIVE) }));
  await answers('GET /api/timeline, foreign Host', [403], raw(BASE, 'GET', '/api/timeline', { Host: evil, 'X-Fleet-Id': String(LIVE) }));
  await answers(
    'POST, rebinding (foreign Host and its Origin)',
    [403],
    raw(BASE, 'POST', '/api/messages/send', { ...json, Host: evil, Origin: `http://${evil}` }, body('refused-rebinding')),
  );
  // Cross-site POSTs: a foreign Origin, another local origin, or none at all.
  await answers(
    'POST, foreign Origin',
    [403],
    raw(BASE, 'POST', '/api/messages/send', { ...json, Host: host, Origin: 'http://evil.example' }, body('refused-foreign-origin')),
  );
  await answers(
    'POST, Origin of another port',
    [403],
    raw(BASE, 'POST', '/api/messages/send', { ...json, Host: host, Origin: 'http://127.0.0.1:1' }, body('refused-other-port')),
  );
  await answers('POST, no Origin', [403], raw(BASE, 'POST', '/api/messages/send', { ...json, Host: host }, body('refused-no-origin')));
  // W3: even same-origin, the WebUI sends only as the Administrator.
  await answers(
    'POST as Alice',
    [400, 403, 422],
    raw(BASE, 'POST', '/api/messages/send', { ...json, Host: host, Origin: `http://${host}` }, body('refused-impersonation', ALICE)),
  );
  // The token server checks the Host before the token, and wants the token for a POST.
  const tport = new URL(TOKEN_BASE).port;
  await answers(
    'token server, foreign Host with the token',
    [403],
    raw(TOKEN_BASE, 'GET', '/api/fleets', { Host: `evil.example:${tport}`, Authorization: `Bearer ${TOKEN}` }),
  );
  await answers(
    'token server, POST without the token',
    [401, 403],
    raw(
      TOKEN_BASE,
      'POST',
      '/api/messages/send',
      { ...json, Host: `127.0.0.1:${tport}`, Origin: 'http://evil.example' },
      body('refused-no-token'),
    ),
  );
  // Control: the same request from the page's own origin is accepted and typed; once its
  // preview is in Alice's pane, any preview of the refused ones would be there too.
  const ok = await answers(
    'POST, same Origin',
    [200],
    raw(BASE, 'POST', '/api/messages/send', { ...json, Host: host, Origin: `http://${host}` }, body('same-origin control')),
  );
  const rows = await timeline();
  await typed(ALICE_PANE, preview(rows.find((m) => m.task_id === ok.json?.task_id) as Row));
  const stored = rows.filter((m) => m.body.startsWith('refused-'));
  expect(stored, 'stored').toEqual([]);
  const inbox = (await api(`/api/agents/${ALICE}/inbox`)).filter((m) => m.body.startsWith('refused-'));
  expect(inbox, "in Alice's inbox").toEqual([]);
  expect(keys(ALICE_PANE), "a refused message was typed into Alice's pane").not.toContain('refused-');
  await page.getByTestId('timeline-entry').filter({ has: bodyIs('same-origin control') }).waitFor({ timeout: 5000 });
});
