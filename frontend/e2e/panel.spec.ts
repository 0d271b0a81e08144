// The agent detail panel: Inbox/Sent tabs, monitoring controls, the drawer on narrow screens.
import { BASE, FLEET, agentId, dash, directorId, expect, openDashboard, snap, test } from './support';

test('agent panel: inbox/sent tabs, Escape closes', async ({ page }) => {
  await openDashboard(page);
  const alice = await agentId(page, 'Alice');
  await page.locator(`[data-testid=sidebar-agent][data-agent-id="${alice}"]`).click();
  await page.getByTestId('agent-panel').waitFor();
  expect(page.url()).toMatch(new RegExp(`/agents/${alice}$`));
  await page.getByTestId('detail-message').first().waitFor();
  expect(await page.getByTestId('detail-tab-inbox').getAttribute('aria-selected'), 'inbox default').toBe('true');
  await page.getByTestId('detail-tab-sent').click();
  await page.locator('[data-testid=detail-list][data-tab=sent]').waitFor();
  await page.getByTestId('detail-message').first().waitFor();
  await snap(page, '05-panel.png');
  await page.keyboard.press('Escape');
  await page.getByTestId('agent-panel').waitFor({ state: 'detached' });
  expect(page.url()).toMatch(new RegExp(`#/fleets/${FLEET}/agents$`));
});

test('monitor controls: interval and enable/disable via PATCH', async ({ page, context }) => {
  // The Director's id, from another page: this one opens with its panel from the URL.
  const probe = await context.newPage();
  await openDashboard(probe);
  const dir = await directorId(probe);
  await probe.close();
  await openDashboard(page, dir);
  const sel = `[data-testid=sidebar-agent][data-agent-id="${dir}"] [data-testid=monitor-badge]`;
  const badgeIs = (text: string) => page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent === t, [sel, text]);
  await page.getByTestId('interval-input').fill('0');
  await page.getByTestId('interval-save').click();
  await page.getByTestId('monitor-error').filter({ hasText: 'whole number' }).waitFor();
  await page.getByTestId('interval-input').fill('123');
  await page.getByTestId('interval-save').click();
  await badgeIs('123s');
  await page.getByTestId('monitor-toggle').click();
  await badgeIs('off');
  expect(await page.getByTestId('monitoring-state').textContent(), 'disabled').toBe('Disabled');
  await page.getByTestId('monitor-toggle').click();
  await badgeIs('123s');
  expect(await page.locator(sel).isVisible(), 'badge').toBe(true);
});

test.describe('on a narrow screen', () => {
  test.use({ viewport: { width: 600, height: 800 } });

  test('narrow viewport: the panel is a drawer inside the screen', async ({ page }) => {
    await page.goto(BASE);
    await page.getByTestId('fleet-card').first().waitFor();
    await openDashboard(page);
    const alice = await agentId(page, 'Alice');
    await page.goto(dash(alice));
    await page.getByTestId('agent-panel').waitFor();
    const box = await page.getByTestId('agent-panel').boundingBox();
    expect(box !== null && box.x >= 0 && box.x + box.width <= 600.5, `panel box ${JSON.stringify(box)}`).toBe(true);
    const scrollW = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(scrollW, 'page scroll width').toBeLessThanOrEqual(600);
    await snap(page, '06-narrow.png');
  });
});
