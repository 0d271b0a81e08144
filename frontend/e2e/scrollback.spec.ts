// Scrollback on `gamma-history` (230 messages, more than one 200-message page): the
// timeline and the panel's Inbox/Sent lists load older pages with ?before=.
import type { Page } from '@playwright/test';
import { BASE, expect, test } from './support';

/** Opens gamma-history from the picker; false when the seed made none. */
async function openHistory(page: Page): Promise<boolean> {
  await page.goto(BASE);
  await page.getByTestId('fleet-card').first().waitFor();
  const card = page.getByTestId('fleet-card').filter({ hasText: 'gamma-history' });
  if ((await card.count()) === 0) return false;
  await card.click();
  return true;
}

test('scrollback: scrolling to the top loads older pages with ?before=', async ({ page }) => {
  test.skip(!(await openHistory(page)), 'seed without history');
  await page.getByTestId('timeline-entry').first().waitFor();
  const entries = page.getByTestId('timeline-entry');
  expect(await entries.count(), 'first page').toBe(200);
  expect((await entries.last().textContent()) ?? '', 'newest at the bottom').toContain('history message 230');
  const marker = await entries.first().getAttribute('data-task-id');
  const before = await entries.first().boundingBox();
  await page.getByTestId('timeline').evaluate((el) => el.scrollTo(0, 0));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=timeline-entry]').length >= 230);
  await page.getByTestId('timeline-edge').filter({ hasText: 'Beginning of the timeline' }).waitFor();
  const after = await page.locator(`[data-testid=timeline-entry][data-task-id="${marker}"]`).boundingBox();
  expect(after !== null && before !== null && after.y > 0, `view kept its place (${before?.y} → ${after?.y})`).toBe(true);
  expect((await entries.first().textContent()) ?? '', 'oldest first').toContain('history message 1');
});

test('panel scrollback: inbox and sent load 200 rows, then older pages with ?before=', async ({ page }) => {
  const mailUrls: string[] = [];
  page.on('request', (r) => {
    if (/\/api\/agents\/\d+\/(inbox|sent)/.test(r.url())) mailUrls.push(r.url());
  });
  test.skip(!(await openHistory(page)), 'seed without history');
  for (const [name, tab] of [
    ['Listener', 'inbox'],
    ['Talker', 'sent'],
  ]) {
    await page.getByTestId('sidebar-agent').filter({ hasText: name }).click();
    await page.waitForFunction((n) => document.querySelector('[data-testid=panel-name]')?.textContent === n, name);
    await page.getByTestId(`detail-tab-${tab}`).click();
    const rows = page.locator(`[data-testid=detail-list][data-tab=${tab}] [data-testid=detail-message]`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=detail-message]').length >= 200);
    expect(await rows.count(), `${name} ${tab}: first page`).toBe(200);
    const label = (await page.getByTestId(`detail-tab-${tab}`).textContent()) ?? '';
    expect(label, 'the tab says more exist').toContain('(200+)');
    expect((await rows.first().textContent()) ?? '', 'newest first').toContain('history message 230');
    await page.getByTestId('detail-list').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=detail-message]').length >= 230);
    await page.getByTestId('detail-edge').filter({ hasText: 'No older messages' }).waitFor();
    expect((await rows.last().textContent()) ?? '', 'oldest last').toContain('history message 1');
    expect(await rows.count(), `${name} ${tab}: all`).toBe(230);
  }
  expect(
    mailUrls.some((u) => /\/(inbox|sent)\?before=\d+$/.test(u)),
    `paged with before: ${mailUrls.join(' ')}`,
  ).toBe(true);
});
