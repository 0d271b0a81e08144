// The message input: the mention popup, input errors, sending.
import type { Page } from '@playwright/test';
import { expect, openDashboard, send, snap, test } from './support';

/** Opens the dashboard and types `text` into the message input, up to the mention popup. */
async function typeMention(page: Page, text: string) {
  await openDashboard(page);
  const input = page.getByTestId('message-input');
  await input.click();
  await input.pressSequentially(text);
  await page.getByTestId('mention-popup').waitFor();
  return input;
}

test('mention popup: suggestions, Escape closes, next Enter sends (defect 14)', async ({ page }) => {
  const input = await typeMention(page, '@');
  const tokens = await page.getByTestId('mention-option').evaluateAll((els) => els.map((e) => e.getAttribute('data-token')));
  expect(tokens[0], `first is all: ${tokens}`).toBe('all');
  expect(tokens, 'no admin on empty partial').not.toContain('administrator');
  await snap(page, '03-mention-popup.png');
  await input.pressSequentially('all');
  await input.press('Escape');
  expect(await page.getByTestId('mention-popup').count(), 'popup closed').toBe(0);
  await input.press('Enter');
  await page.getByTestId('send-error').filter({ hasText: 'Message body is empty' }).waitFor();
  expect(await input.inputValue(), 'text kept').toBe('@all');
});

test('mention popup: Tab inserts the slug of names with _ and unicode', async ({ page }) => {
  const input = await typeMention(page, '@code_');
  await input.press('Tab');
  expect(await input.inputValue()).toBe('@code-reviewer ');
  await input.fill('');
  await input.pressSequentially('@太');
  await page.getByTestId('mention-popup').waitFor();
  await input.press('Enter');
  expect(await input.inputValue()).toBe('@太郎 ');
});

test('input errors: no mention, unknown agent, multi-recipient', async ({ page }) => {
  await openDashboard(page);
  await send(page, 'hello');
  await page.getByTestId('send-error').filter({ hasText: 'Start the message with @<agent> or @all' }).waitFor();
  await send(page, '@nobody hi');
  await page.getByTestId('send-error').filter({ hasText: "No active agent named '@nobody'" }).waitFor();
  await send(page, '@alice @bob-smith hi');
  await page.getByTestId('send-error').filter({ hasText: 'Multi-recipient unicast' }).waitFor();
  await page.getByTestId('message-input').pressSequentially('x');
  expect((await page.getByTestId('send-error').textContent()) ?? '', 'edit clears the error').toBe('');
});

test('send: unicast by quoted name and underscore name, broadcast; entries appear live', async ({ page }) => {
  await openDashboard(page);
  const stamp = Date.now();
  await send(page, `@"Bob Smith" quoted hello ${stamp}`);
  await page.getByTestId('timeline-entry').filter({ hasText: `quoted hello ${stamp}` }).waitFor({ timeout: 5000 });
  expect(await page.getByTestId('message-input').inputValue(), 'cleared').toBe('');
  await send(page, `@code_reviewer underscore hello ${stamp}`);
  await page.getByTestId('timeline-entry').filter({ hasText: `underscore hello ${stamp}` }).waitFor({ timeout: 5000 });
  await send(page, `@all broadcast ${stamp}`);
  const bc = page.locator('[data-testid=timeline-entry][data-kind=broadcast]').filter({ hasText: `broadcast ${stamp}` });
  await bc.waitFor({ timeout: 5000 });
  expect(await bc.getByTestId('recipient-chip').count(), 'broadcast recipients').toBeGreaterThanOrEqual(3);
  await snap(page, '04-after-send.png');
});
