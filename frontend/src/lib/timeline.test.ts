import { describe, expect, it } from 'vitest';
import {
  ackTooltip,
  compareApiOrder,
  compareTs,
  deliveryRank,
  epochMicros,
  groupTimeline,
  isoMillis,
  mergeMessages,
  oldestCursor,
  recipientLabel,
  withDaySeparators,
} from './timeline';
import { agent as baseAgent, malformed, message } from './fixtures.test-helpers';
import type { Agent, AgentStatus, Message } from './types';

const T = (s: string) => `2026-11-24T12:${s}+00:00`;

function msg(task_id: number, extra: Partial<Message> = {}): Message {
  return message({
    task_id,
    created_at: T('00:00.000000'),
    status_timestamp: extra.created_at ?? T('00:00.000000'),
    body: `body ${task_id}`,
    ...extra,
  });
}

function agent(agent_id: number, name: string, status: AgentStatus = 'active'): Agent {
  return baseAgent({ agent_id, name, status, registered_at: T('00:00.000000') });
}

describe('epochMicros / compareTs', () => {
  it('keeps microseconds', () => {
    const a = epochMicros('2026-11-24T12:26:54.152671+00:00');
    const b = epochMicros('2026-11-24T12:26:54.152672+00:00');
    expect(b - a).toBe(1);
    expect(a).toBe(Date.UTC(2026, 10, 24, 12, 26, 54, 152) * 1000 + 671);
  });

  it('accepts both shapes and offsets', () => {
    expect(epochMicros('2026-11-24T12:26:54+00:00')).toBe(Date.UTC(2026, 10, 24, 12, 26, 54) * 1000);
    expect(epochMicros('2026-11-24T12:26:54Z')).toBe(Date.UTC(2026, 10, 24, 12, 26, 54) * 1000);
    expect(epochMicros('2026-11-24 12:26:54.5')).toBe(Date.UTC(2026, 10, 24, 12, 26, 54, 500) * 1000);
    expect(epochMicros('2026-11-24T14:26:54.000000+02:00')).toBe(epochMicros('2026-11-24T12:26:54Z'));
    expect(epochMicros('2026-11-24T14:26:54+0200')).toBe(epochMicros('2026-11-24T12:26:54Z'));
    expect(epochMicros('2026-11-24T12:26:54.123456789Z') % 1_000_000).toBe(123456);
  });

  it('gives NaN for junk', () => {
    expect(epochMicros('nope')).toBeNaN();
    expect(epochMicros('')).toBeNaN();
    expect(epochMicros(null)).toBeNaN();
  });

  it('compares across fraction shapes (not by string)', () => {
    expect(compareTs('2026-11-24T12:26:54+00:00', '2026-11-24T12:26:54.000001+00:00')).toBeLessThan(0);
    expect(compareTs('2026-11-24T12:26:54.5+00:00', '2026-11-24T12:26:54.400000+00:00')).toBeGreaterThan(0);
    expect(compareTs(T('00:00.000000'), T('00:00.000000'))).toBe(0);
  });
});

describe('compareApiOrder', () => {
  it('orders by status_timestamp desc, then task_id desc', () => {
    const list = [
      msg(1, { status_timestamp: T('01:00.000000') }),
      msg(3, { status_timestamp: T('02:00.000000') }),
      msg(2, { status_timestamp: T('02:00.000000') }),
      msg(4, { status_timestamp: T('00:30.000000') }),
    ];
    expect(list.sort(compareApiOrder).map((m) => m.task_id)).toEqual([3, 2, 1, 4]);
  });
});

describe('deliveryRank', () => {
  it('orders the states a pending delivery moves through', () => {
    const order = (['stored', 'typed', 'submitted', 'dead', 'seen', 'acked'] as const).map(deliveryRank);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(new Set(order).size).toBe(order.length);
    expect(deliveryRank('canceled')).toBe(deliveryRank('acked'));
    expect(deliveryRank(malformed(undefined))).toBe(-1);
    expect(deliveryRank(malformed('junk'))).toBe(-1);
  });
});

describe('mergeMessages', () => {
  it('adds new messages in API order', () => {
    const a = [msg(1, { created_at: T('01:00.000000') })];
    const b = [msg(2, { created_at: T('02:00.000000') }), msg(3, { created_at: T('00:10.000000') })];
    expect(mergeMessages(a, b).map((m) => m.task_id)).toEqual([2, 1, 3]);
  });

  it('replaces a message whose status changed (acked moves to the top)', () => {
    const old = [
      msg(1, { created_at: T('01:00.000000') }),
      msg(2, { created_at: T('02:00.000000') }),
    ];
    const acked = msg(1, { created_at: T('01:00.000000'), status: 'completed', status_timestamp: T('03:00.000000') });
    const merged = mergeMessages(old, [acked]);
    expect(merged).toHaveLength(2);
    expect(merged[0]).toBe(acked);
    expect(merged.map((m) => m.task_id)).toEqual([1, 2]);
  });

  it('does not let a stale snapshot undo a newer state', () => {
    const acked = msg(1, { status: 'completed', status_timestamp: T('03:00.000000') });
    const stale = msg(1, { status: 'input_required', status_timestamp: T('00:00.000000') });
    expect(mergeMessages([acked], [stale])[0]).toBe(acked);
  });

  it('takes the incoming copy on equal timestamps', () => {
    const a = msg(1, { body: 'old' });
    const b = msg(1, { body: 'new' });
    expect(mergeMessages([a], [b])[0].body).toBe('new');
  });

  it('takes a delivery\'s progress, which leaves status_timestamp alone (a live "seen")', () => {
    const typed = msg(1, { delivery: 'typed' });
    const seen = msg(1, { delivery: 'seen' });
    expect(mergeMessages([typed], [seen])[0]).toBe(seen);
    const dead = msg(1, { delivery: 'dead' });
    expect(mergeMessages([typed], [dead])[0]).toBe(dead);
    expect(mergeMessages([dead], [seen])[0]).toBe(seen); // a poll marks even a dead letter seen
  });

  it('does not let a snapshot taken before a delivery step undo it', () => {
    const seen = msg(1, { delivery: 'seen' });
    for (const before of ['stored', 'typed', 'submitted', 'dead'] as const) {
      expect(mergeMessages([seen], [msg(1, { delivery: before })])[0]).toBe(seen);
    }
    const submitted = msg(1, { delivery: 'submitted' });
    expect(mergeMessages([submitted], [msg(1, { delivery: 'stored' })])[0]).toBe(submitted);
  });

  it('takes the incoming copy when either delivery state is unknown', () => {
    const seen = msg(1, { delivery: 'seen' });
    const unknown = msg(1, { delivery: malformed(undefined), body: 'malformed' });
    expect(mergeMessages([seen], [unknown])[0]).toBe(unknown);
    const future = msg(1, { delivery: malformed('retrying') });
    expect(mergeMessages([seen], [future])[0]).toBe(future);
  });

  it('lets a newer status win over delivery rank (an ack after seen)', () => {
    const seen = msg(1, { delivery: 'seen', status_timestamp: T('00:00.000000') });
    const acked = msg(1, { status: 'completed', delivery: 'acked', status_timestamp: T('01:00.000000') });
    expect(mergeMessages([seen], [acked])[0]).toBe(acked);
    expect(mergeMessages([acked], [seen])[0]).toBe(acked);
  });

  it('dedupes within the incoming batch and leaves inputs untouched', () => {
    const existing = [msg(1)];
    const copy = [...existing];
    const merged = mergeMessages(existing, [msg(2), msg(2), msg(1)]);
    expect(merged.map((m) => m.task_id)).toEqual([2, 1]);
    expect(existing).toEqual(copy);
  });

  it('merges an empty batch into an empty list', () => {
    expect(mergeMessages([], [])).toEqual([]);
  });
});

describe('oldestCursor', () => {
  it('is the last message in API order', () => {
    const list = [
      msg(5, { status_timestamp: T('05:00.000000') }),
      msg(9, { status_timestamp: T('01:00.000000') }),
      msg(7, { status_timestamp: T('01:00.000000') }),
      msg(8, { status_timestamp: T('02:00.000000') }),
    ];
    expect(oldestCursor(list)).toBe(7);
    expect(oldestCursor([])).toBeNull();
  });
});

describe('groupTimeline', () => {
  it('makes one entry per unicast, oldest first by created_at', () => {
    const entries = groupTimeline([
      msg(2, { created_at: T('02:00.000000') }),
      msg(1, { created_at: T('01:00.000000'), status_timestamp: T('09:00.000000') }),
    ]);
    expect(entries.map((e) => e.key)).toEqual(['u1', 'u2']);
    expect(entries[0]).toMatchObject({ taskId: 1, broadcast: false, rows: [{ task_id: 1 }] });
  });

  it('groups broadcast deliveries by origin_task_id into one entry', () => {
    const b = (id: number, to: number, extra: Partial<Message> = {}) =>
      msg(id, { origin_task_id: 8, to_agent_id: to, created_at: T('26:07.148110'), body: 'Heads up', ...extra });
    const entries = groupTimeline([
      b(12, 12, { status: 'completed', status_timestamp: T('26:16.118863') }),
      msg(14, { created_at: T('26:11.000000') }),
      b(11, 11),
      b(10, 10),
      b(9, 8, { status: 'completed', status_timestamp: T('26:15.391314') }),
      msg(5, { created_at: T('20:00.000000') }),
    ]);
    expect(entries.map((e) => e.key)).toEqual(['u5', 'b8', 'u14']);
    const bc = entries[1];
    expect(bc).toMatchObject({ broadcast: true, taskId: 8, body: 'Heads up', canceled: false });
    expect(bc.rows.map((r) => r.task_id)).toEqual([9, 10, 11, 12]);
    expect(bc.acks.map((r) => r.to_agent_id)).toEqual([8, 12]);
  });

  it('sorts a broadcast by its earliest delivery', () => {
    const entries = groupTimeline([
      msg(20, { origin_task_id: 19, created_at: T('05:00.000001') }),
      msg(21, { origin_task_id: 19, created_at: T('05:00.000000') }),
      msg(22, { created_at: T('05:00.0000005') }),
    ]);
    expect(entries.map((e) => e.key)).toEqual(['b19', 'u22']);
    expect(entries[0].createdAt).toBe(T('05:00.000000'));
  });

  it('marks canceled only when every delivery is canceled', () => {
    const all = groupTimeline([
      msg(2, { origin_task_id: 1, status: 'canceled' }),
      msg(3, { origin_task_id: 1, status: 'canceled' }),
    ]);
    expect(all[0].canceled).toBe(true);
    const some = groupTimeline([
      msg(2, { origin_task_id: 1, status: 'canceled' }),
      msg(3, { origin_task_id: 1, status: 'completed' }),
    ]);
    expect(some[0].canceled).toBe(false);
    expect(some[0].acks).toHaveLength(1);
    expect(groupTimeline([msg(4, { status: 'canceled' })])[0].canceled).toBe(true);
  });

  it('breaks created_at ties by id', () => {
    const entries = groupTimeline([msg(3), msg(1), msg(2)]);
    expect(entries.map((e) => e.taskId)).toEqual([1, 2, 3]);
  });

  it('keeps broadcast row order stable when one is ACKed', () => {
    const before = groupTimeline([
      msg(3, { origin_task_id: 1 }),
      msg(2, { origin_task_id: 1 }),
    ]);
    const after = groupTimeline(
      mergeMessages(
        [msg(3, { origin_task_id: 1 }), msg(2, { origin_task_id: 1 })],
        [msg(2, { origin_task_id: 1, status: 'completed', status_timestamp: T('59:00.000000') })],
      ),
    );
    expect(before[0].rows.map((r) => r.task_id)).toEqual([2, 3]);
    expect(after[0].rows.map((r) => r.task_id)).toEqual([2, 3]);
    expect(after[0].acks.map((r) => r.task_id)).toEqual([2]);
  });

  it('handles an empty list', () => {
    expect(groupTimeline([])).toEqual([]);
  });

  it('keeps HTML-looking bodies as data', () => {
    const e = groupTimeline([msg(1, { body: '<img src=x onerror=alert(1)>' })]);
    expect(e[0].body).toBe('<img src=x onerror=alert(1)>');
  });
});

describe('withDaySeparators', () => {
  const dayKey = (ts: string) => ts.slice(0, 10);
  const dayLabel = (ts: string) => `day ${ts.slice(0, 10)}`;

  it('inserts a separator before the first entry and at each day change', () => {
    const entries = groupTimeline([
      msg(1, { created_at: '2026-11-23T10:00:00.000000+00:00' }),
      msg(2, { created_at: '2026-11-24T10:00:00.000000+00:00' }),
      msg(3, { created_at: '2026-11-24T11:00:00.000000+00:00' }),
      msg(4, { created_at: '2026-11-26T09:00:00.000000+00:00' }),
    ]);
    const items = withDaySeparators(entries, dayKey, dayLabel);
    expect(items.map((i) => (i.type === 'day' ? i.label : i.entry.taskId))).toEqual([
      'day 2026-11-23',
      1,
      'day 2026-11-24',
      2,
      3,
      'day 2026-11-26',
      4,
    ]);
    const keys = items.map((i) => i.key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('uses the local calendar day by default', () => {
    const entries = groupTimeline([msg(1), msg(2)]);
    const items = withDaySeparators(entries);
    expect(items.filter((i) => i.type === 'day')).toHaveLength(1);
  });

  it('returns nothing for no entries', () => {
    expect(withDaySeparators([])).toEqual([]);
  });
});

describe('labels and tooltips', () => {
  const agents = [agent(12, 'Alice'), agent(10, 'carol', 'deregistered')];

  it('formats UTC ISO with milliseconds', () => {
    expect(isoMillis('2026-11-24T12:26:06.228999+00:00')).toBe('2026-11-24T12:26:06.228Z');
    expect(isoMillis('junk')).toBe('junk');
  });

  it('builds the ack tooltip', () => {
    const row = msg(1, { to_agent_id: 12, status: 'completed', status_timestamp: '2026-11-24T12:26:06.228000+00:00' });
    expect(ackTooltip(row, agents)).toBe('@Alice — 2026-11-24T12:26:06.228Z');
    expect(ackTooltip({ ...row, to_agent_id: 10 }, agents)).toBe(
      '@carol (deregistered) — 2026-11-24T12:26:06.228Z',
    );
    expect(ackTooltip({ ...row, to_agent_id: 99 }, agents)).toBe('#99 — 2026-11-24T12:26:06.228Z');
  });

  it('labels recipients from the agent list, the row, or the id', () => {
    expect(recipientLabel(msg(1, { to_agent_id: 12, to_agent_name: 'Old' }), agents)).toBe('@Alice');
    expect(recipientLabel(msg(1, { to_agent_id: 50, to_agent_name: 'Gone' }), agents)).toBe('@Gone');
    expect(recipientLabel(msg(1, { to_agent_id: 51, to_agent_name: null }), agents)).toBe('#51');
  });
});
