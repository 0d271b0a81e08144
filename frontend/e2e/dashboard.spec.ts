// The alpha fleet's dashboard: the sidebar, the timeline's entries, routing to agents.
import { dash, expect, openDashboard, snap, test } from './support';

test('sidebar: sections, Admin / Director badges, monitor badge', async ({ page }) => {
  await openDashboard(page);
  const side = page.getByTestId('sidebar');
  expect(await side.getByText('Active', { exact: true }).isVisible(), 'Active heading').toBe(true);
  expect(await side.getByText('Deregistered', { exact: true }).isVisible(), 'Deregistered heading').toBe(true);
  const admin = page.locator('[data-testid=sidebar-agent][data-role=administrator]');
  expect(await admin.getByTestId('role-badge').textContent(), 'admin badge').toBe('Admin');
  const dir = page.locator('[data-testid=sidebar-agent][data-role=director]');
  expect((await dir.getByTestId('role-badge').textContent()) ?? '', 'director badge').toMatch(/^Director/);
  expect((await dir.getByTestId('monitor-badge').textContent()) ?? '', 'monitor badge').toMatch(/^\d+s$/);
  expect(await page.locator('[data-testid=sidebar-agent][data-status=deregistered]').count(), 'carol deregistered').toBe(1);
  await snap(page, '02-dashboard.png');
});

test('timeline: broadcast grouped with acks, canceled struck, HTML as text', async ({ page }) => {
  await openDashboard(page);
  const bc = page.locator('[data-testid=timeline-entry][data-kind=broadcast]').filter({ hasText: 'frozen' });
  expect(await bc.count(), 'one broadcast entry').toBe(1);
  expect(await bc.getByTestId('recipient-chip').count(), 'recipients').toBeGreaterThanOrEqual(4);
  expect(await bc.locator('[data-testid=ack-chip][data-status=completed]').count(), 'two acks').toBe(2);
  const tip = await bc.getByTestId('ack-chip').first().getAttribute('data-tip');
  expect(tip ?? '', 'tooltip').toMatch(/^@\S.* — \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const canceled = page.locator('[data-testid=timeline-entry][data-canceled=true]');
  expect(await canceled.count(), 'canceled entry').toBeGreaterThanOrEqual(1);
  const deco = await canceled
    .first()
    .getByTestId('entry-body')
    .evaluate((el) => getComputedStyle(el).textDecorationLine);
  expect(deco, 'struck through').toContain('line-through');
  expect(await page.getByTestId('timeline').locator('img, b').count(), 'no HTML elements from bodies').toBe(0);
  expect(await page.getByText('<img src=x onerror=alert(1)>', { exact: false }).count(), 'literal text').toBe(1);
});

test('unknown agent in the URL falls back to the dashboard', async ({ page }) => {
  await page.goto(dash(777));
  await page.getByTestId('dashboard').waitFor();
  await page.waitForFunction(() => location.hash.endsWith('/agents'));
});
