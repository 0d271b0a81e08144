// The header's controls: the monitor pill, the connection state, the theme toggle.
import { FLEET, expect, openDashboard, snap, test } from './support';

test('monitor status hint shows a valid command (defect 13)', async ({ page }) => {
  await openDashboard(page);
  const tip = (await page.getByTestId('monitor-status').getAttribute('data-tip')) ?? '';
  expect(
    tip.includes(`cafleet monitor start --fleet-id ${FLEET}`) || tip.startsWith('cafleet monitor is running'),
    tip,
  ).toBe(true);
});

test('server unreachable: visible Offline state (defect 12)', async ({ page }) => {
  await openDashboard(page);
  await page.route('**/api/**', (route) => route.abort('connectionrefused'));
  await page.getByTestId('refresh').click();
  await page.locator('[data-testid=connection-status][data-state=offline]').waitFor({ timeout: 8000 });
  await page.getByTestId('dashboard-error').waitFor();
  await snap(page, '08-offline.png');
  await page.unroute('**/api/**');
  await page.getByTestId('refresh').click();
  await page.getByTestId('dashboard-error').waitFor({ state: 'detached', timeout: 8000 });
});

test.describe('in a dark OS theme', () => {
  test.use({ colorScheme: 'dark' });

  test('theme: OS dark by default, toggle persists', async ({ page }) => {
    const dark = () => page.evaluate(() => document.documentElement.classList.contains('dark'));
    await openDashboard(page);
    expect(await dark(), 'dark from OS').toBe(true);
    await snap(page, '07-dark.png');
    await page.getByTestId('theme-toggle').click();
    expect(await dark(), 'light now').toBe(false);
    expect(await page.evaluate(() => localStorage.getItem('cafleet-admin-theme')), 'stored').toBe('light');
    await page.reload();
    await page.getByTestId('dashboard').waitFor();
    expect(await dark(), 'light after reload').toBe(false);
  });
});
