// The fleet picker: the list, opening a fleet, fetch errors.
import { BASE, FLEET, expect, snap, test } from './support';

test('picker lists fleets and has the tab title', async ({ page }) => {
  await page.goto(BASE);
  await page.getByTestId('fleet-card').first().waitFor();
  expect(await page.title(), 'title').toBe('CAFleet Admin');
  expect(await page.getByTestId('fleet-card').count(), 'two fleets').toBeGreaterThanOrEqual(2);
  await snap(page, '01-picker.png');
});

test('fleet card opens the dashboard with a consistent breadcrumb', async ({ page }) => {
  await page.goto(BASE);
  await page.locator(`[data-testid=fleet-card][data-fleet-id="${FLEET}"]`).click();
  await page.getByTestId('dashboard').waitFor();
  expect(await page.getByTestId('crumb-fleet').textContent(), 'crumb').toBe('alpha-team');
  expect(page.url()).toMatch(new RegExp(`#/fleets/${FLEET}/agents$`));
});

test('picker shows fetch errors and an empty beta timeline', async ({ page }) => {
  await page.goto(BASE);
  await page.getByTestId('fleet-card').first().waitFor();
  await page.route('**/api/fleets', (route) => route.abort('connectionrefused'));
  await page.getByTestId('refresh').click();
  await page.getByTestId('picker-error').waitFor();
  expect(await page.getByTestId('fleet-card').count(), 'list kept').toBeGreaterThanOrEqual(2);
  await page.unroute('**/api/fleets');
  const beta = page.getByTestId('fleet-card').filter({ hasText: 'beta' });
  await beta.click();
  await page.getByTestId('timeline-empty').waitFor();
  await page
    .getByTestId('no-admin-banner')
    .waitFor({ state: 'detached', timeout: 1000 })
    .catch(() => {});
});
