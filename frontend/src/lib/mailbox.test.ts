import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pagePath, setFleet, setToken } from './api';
import { MAIL_PAGE, Mailbox, belongsTo } from './mailbox.svelte';
import { msg, range, ts } from './test-messages';

type Handler = (url: string) => Response;
let handler: Handler;
const urls: string[] = [];
const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

beforeEach(() => {
  urls.length = 0;
  handler = () => json({ messages: [msg(1)] });
  vi.stubGlobal('fetch', (url: string) => {
    urls.push(url);
    return Promise.resolve(handler(url));
  });
  setFleet(7);
  setToken(null);
});
afterEach(() => {
  vi.unstubAllGlobals();
  setFleet(null);
});

describe('pagePath', () => {
  it('adds ?before= only with a cursor', () => {
    expect(pagePath('/api/agents/3/inbox')).toBe('/api/agents/3/inbox');
    expect(pagePath('/api/agents/3/inbox', null)).toBe('/api/agents/3/inbox');
    expect(pagePath('/api/agents/3/sent', 42)).toBe('/api/agents/3/sent?before=42');
  });
});

describe('belongsTo', () => {
  it('puts messages to the agent in its inbox and messages from it in its sent list', () => {
    const m = msg(1, { from_agent_id: 1, to_agent_id: 3 });
    expect(belongsTo(m, 3, 'inbox')).toBe(true);
    expect(belongsTo(m, 3, 'sent')).toBe(false);
    expect(belongsTo(m, 1, 'sent')).toBe(true);
    expect(belongsTo(m, 1, 'inbox')).toBe(false);
  });
});

describe('Mailbox', () => {
  it('loads the newest page only, and knows more may exist', async () => {
    handler = (url) => json({ messages: url.includes('before=') ? range(1, 5) : range(6, 205) });
    const box = new Mailbox(3, 'inbox');
    await box.refresh();
    expect(urls).toEqual(['/api/agents/3/inbox']);
    expect(box.messages).toHaveLength(MAIL_PAGE);
    expect(box.scrollback.hasMore).toBe(true);
    await box.scrollback.loadOlder();
    expect(urls[1]).toBe('/api/agents/3/inbox?before=6');
    expect(box.messages?.map((m) => m.task_id).slice(-3)).toEqual([3, 2, 1]);
    expect(box.messages).toHaveLength(205);
    expect(box.scrollback.hasMore).toBe(false);
    await box.scrollback.loadOlder();
    expect(urls).toHaveLength(2);
  });

  it('a short first page means nothing older', async () => {
    handler = () => json({ messages: range(1, 3) });
    const box = new Mailbox(3, 'sent');
    await box.refresh();
    expect(urls).toEqual(['/api/agents/3/sent']);
    expect(box.scrollback.hasMore).toBe(false);
  });

  it('a refresh merges the newest page and keeps the older pages loaded', async () => {
    handler = (url) => json({ messages: url.includes('before=') ? range(1, 5) : range(6, 205) });
    const box = new Mailbox(3, 'inbox');
    await box.refresh();
    await box.scrollback.loadOlder();
    // Task 2 was acked (moves to the top), task 206 arrived.
    const acked = msg(2, { status: 'completed', status_timestamp: ts(300) });
    handler = () => json({ messages: [acked, msg(206), ...range(8, 205)] });
    await box.refresh();
    expect(box.messages).toHaveLength(206);
    expect(box.messages?.[0]).toEqual(acked);
    expect(box.messages?.[1].task_id).toBe(206);
    expect(box.scrollback.hasMore).toBe(false);
  });

  it('merges pushed messages that belong to it, without a request', async () => {
    handler = () => json({ messages: range(1, 2) });
    const box = new Mailbox(3, 'inbox');
    box.applyLive([msg(9)]);
    expect(box.messages).toBeNull(); // the first load brings it
    await box.refresh();
    const n = urls.length;
    box.applyLive([msg(3), msg(4, { to_agent_id: 5 }), msg(1, { status: 'canceled', status_timestamp: ts(100) })]);
    expect(urls).toHaveLength(n);
    expect(box.messages?.map((m) => [m.task_id, m.status])).toEqual([
      [1, 'canceled'],
      [3, 'input_required'],
      [2, 'input_required'],
    ]);
    // An older copy (a poll answered before the change) does not undo it.
    box.applyLive([msg(1)]);
    expect(box.messages?.[0].status).toBe('canceled');
  });

  it('keeps the list on errors and reports them', async () => {
    handler = () => json({ messages: range(1, 200) });
    const box = new Mailbox(3, 'inbox');
    await box.refresh();
    handler = () => json({ detail: 'Fleet not found' }, 404);
    await box.refresh();
    expect(box.error).toBe('Fleet not found');
    expect(box.messages).toHaveLength(200);
    await box.scrollback.loadOlder();
    expect(box.scrollback.error).toBe('Fleet not found');
    expect(box.scrollback.hasMore).toBe(true);
    expect(box.scrollback.loading).toBe(false);
    handler = () => json({ messages: [] });
    await box.scrollback.loadOlder();
    expect(box.scrollback.error).toBeNull();
    expect(box.scrollback.hasMore).toBe(false);
  });

  it('skips a refresh while one is in flight and stops after dispose', async () => {
    const box = new Mailbox(3, 'inbox');
    await Promise.all([box.refresh(), box.refresh()]);
    expect(urls).toHaveLength(1);
    box.dispose();
    await box.refresh();
    expect(urls).toHaveLength(1);
  });
});
