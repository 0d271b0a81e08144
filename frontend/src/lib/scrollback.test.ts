import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { Scrollback } from './scrollback.svelte';
import { range } from './test-messages';
import { mergeMessages } from './timeline';
import type { Message } from './types';

/** A list of `pageSize` pages over tasks 1..`total`, with every `?before=` it asked for. */
function list(total: number, pageSize = 3) {
  const asked: number[] = [];
  const state = {
    messages: null as Message[] | null,
    alive: true,
    fail: null as Error | null,
    /** Answers the next fetch only when `release` is called (for overlap tests). */
    hold: false,
    release: () => {},
  };
  const page = (before: number) => range(Math.max(1, before - pageSize), before - 1);
  const scroll = new Scrollback({
    pageSize,
    fetchPage: async (before) => {
      asked.push(before);
      if (state.hold) await new Promise<void>((r) => (state.release = r));
      if (state.fail) throw state.fail;
      return page(before);
    },
    loaded: () => state.messages,
    merge: (p) => {
      state.messages = mergeMessages(state.messages ?? [], p);
    },
    alive: () => state.alive,
  });
  const first = range(Math.max(1, total - pageSize + 1), total);
  const start = () => {
    state.messages = first;
    scroll.firstPage(first);
  };
  return { scroll, state, asked, start };
}

describe('Scrollback', () => {
  it('pages back with the oldest loaded task until a short page', async () => {
    const { scroll, state, asked, start } = list(8);
    start();
    expect(scroll.hasMore).toBe(true);
    await scroll.loadOlder();
    expect(asked).toEqual([6]);
    expect(state.messages?.map((m) => m.task_id)).toEqual([8, 7, 6, 5, 4, 3]);
    expect(scroll.hasMore).toBe(true);
    await scroll.loadOlder();
    expect(asked).toEqual([6, 3]);
    expect(state.messages?.map((m) => m.task_id).slice(-2)).toEqual([2, 1]);
    expect(scroll.hasMore).toBe(false);
    await scroll.loadOlder();
    expect(asked).toHaveLength(2);
  });

  it('a short first page means nothing older, and nothing is asked', async () => {
    const { scroll, asked, start } = list(2);
    start();
    expect(scroll.hasMore).toBe(false);
    await scroll.loadOlder();
    expect(asked).toEqual([]);
  });

  it('does nothing before the first page', async () => {
    const { scroll, asked } = list(8);
    scroll.hasMore = true;
    await scroll.loadOlder();
    expect(asked).toEqual([]);
  });

  it('an empty list has no cursor: nothing older', async () => {
    const { scroll, state, asked } = list(8);
    state.messages = [];
    scroll.hasMore = true;
    await scroll.loadOlder();
    expect(asked).toEqual([]);
    expect(scroll.hasMore).toBe(false);
  });

  it('asks for one page at a time', async () => {
    const { scroll, state, asked, start } = list(8);
    start();
    state.hold = true;
    const a = scroll.loadOlder();
    expect(scroll.loading).toBe(true);
    await scroll.loadOlder();
    expect(asked).toEqual([6]);
    state.release();
    await a;
    expect(scroll.loading).toBe(false);
  });

  it('keeps the error for the view and allows a retry', async () => {
    const { scroll, state, asked, start } = list(8);
    start();
    state.fail = new ApiError(500, 'boom');
    await scroll.loadOlder();
    expect(scroll.error).toBe('boom');
    expect(scroll.hasMore).toBe(true);
    expect(scroll.loading).toBe(false);
    expect(state.messages).toHaveLength(3);
    state.fail = null;
    await scroll.loadOlder();
    expect(asked).toEqual([6, 6]);
    expect(scroll.error).toBeNull();
    expect(state.messages).toHaveLength(6);
  });

  it('drops a page that arrives after its owner is gone', async () => {
    const { scroll, state, start } = list(8);
    start();
    state.hold = true;
    const a = scroll.loadOlder();
    state.alive = false;
    state.release();
    await a;
    expect(state.messages).toHaveLength(3);
    expect(scroll.loading).toBe(false);
    await scroll.loadOlder();
    expect(state.messages).toHaveLength(3);
  });
});
