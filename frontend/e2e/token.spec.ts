// The server started with --token: a clear 401 message, and ?token= kept for the session.
import { FLEET, TOKEN, TOKEN_BASE, expect, live, send, test } from './support';

test('access token: clear 401 message; ?token= is kept in the session and removed from the URL', async ({ page }) => {
  await page.goto(TOKEN_BASE);
  await page.getByTestId('auth-error').waitFor();
  expect((await page.getByTestId('auth-error').textContent()) ?? '', 'hint').toContain('cafleet server');
  await page.goto(`${TOKEN_BASE}/?token=${TOKEN}#/fleets`);
  await page.getByTestId('fleet-card').first().waitFor();
  expect(page.url()).not.toContain('token');
  expect(await page.getByTestId('auth-error').count(), 'no auth error').toBe(0);
  await page.locator(`[data-testid=fleet-card][data-fleet-id="${FLEET}"]`).click();
  await live(page);
  const stamp = Date.now();
  await send(page, `@alice with a token ${stamp}`);
  await page.getByTestId('timeline-entry').filter({ hasText: `with a token ${stamp}` }).waitFor({ timeout: 5000 });
  await page.reload();
  await page.getByTestId('timeline-entry').first().waitFor();
  expect(await page.getByTestId('auth-error').count(), 'token survives a reload').toBe(0);
});
