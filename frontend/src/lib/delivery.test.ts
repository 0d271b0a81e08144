import { describe, expect, it } from 'vitest';
import {
  DELIVERY_STATES,
  STALE_MS,
  deliveryBadge,
  deliveryState,
  entryUndelivered,
  filterEntries,
  isUndelivered,
  recipientName,
} from './delivery';
import { groupTimeline, withDaySeparators } from './timeline';
import { agent, malformed, message } from './fixtures.test-helpers';
import type { DeliveryState, Message, MessageStatus } from './types';

const SENT = '2026-11-24T12:00:00.000000+00:00';
const SENT_MS = Date.UTC(2026, 10, 24, 12, 0, 0);

const msg = (task_id: number, extra: Partial<Message> = {}): Message =>
  message({ task_id, created_at: SENT, status_timestamp: SENT, body: `body ${task_id}`, ...extra });

describe('deliveryState / isUndelivered', () => {
  it('takes the row\'s delivery while the task is pending', () => {
    for (const d of ['stored', 'typed', 'submitted', 'seen', 'dead'] as const) {
      expect(deliveryState(msg(1, { delivery: d }))).toBe(d);
    }
  });

  it('reports an acked or canceled task as such, whatever its delivery says', () => {
    expect(deliveryState(msg(1, { status: 'completed', delivery: 'seen' }))).toBe('acked');
    expect(deliveryState(msg(1, { status: 'completed', delivery: malformed(undefined) }))).toBe('acked');
    expect(deliveryState(msg(1, { status: 'canceled', delivery: 'typed' }))).toBe('canceled');
  });

  it('is unknown without the field or with an empty one (malformed)', () => {
    expect(deliveryState(msg(1, { delivery: malformed(undefined) }))).toBeNull();
    expect(deliveryState(msg(1, { delivery: malformed('') }))).toBeNull();
    expect(isUndelivered(msg(1, { delivery: malformed(undefined) }))).toBe(false);
  });

  it('counts stored, typed, submitted and dead as not delivered; seen, acked, canceled as delivered', () => {
    const undelivered = DELIVERY_STATES.filter((d) => isUndelivered(msg(1, { delivery: d })));
    expect(undelivered).toEqual(['stored', 'typed', 'submitted', 'dead']);
    expect(isUndelivered(msg(1, { status: 'completed', delivery: 'stored' }))).toBe(false);
    expect(isUndelivered(msg(1, { status: 'canceled', delivery: 'dead' }))).toBe(false);
    expect(isUndelivered(msg(1, { delivery: malformed('retrying') }))).toBe(false); // unknown state
  });
});

describe('the "not delivered" filter', () => {
  // 1: acked unicast; 2: stored unicast; 3–5: a broadcast, one delivery still typed;
  // 6–7: a broadcast seen by both; 8: canceled.
  const messages = [
    msg(1, { status: 'completed', delivery: 'acked' }),
    msg(2, { delivery: 'stored', created_at: '2026-11-24T12:01:00Z', status_timestamp: '2026-11-24T12:01:00Z' }),
    msg(3, { origin_task_id: 100, to_agent_id: 12, delivery: 'seen' }),
    msg(4, { origin_task_id: 100, to_agent_id: 13, delivery: 'typed' }),
    msg(5, { origin_task_id: 100, to_agent_id: 14, status: 'completed', delivery: 'acked' }),
    msg(6, { origin_task_id: 200, to_agent_id: 12, delivery: 'seen' }),
    msg(7, { origin_task_id: 200, to_agent_id: 13, delivery: 'seen' }),
    msg(8, { status: 'canceled', delivery: 'canceled' }),
  ];
  const entries = groupTimeline(messages);

  it('keeps an entry when any of its deliveries is not yet seen', () => {
    expect(entries.filter(entryUndelivered).map((e) => e.key)).toEqual(['b100', 'u2']);
  });

  it('filters only when asked, and keeps the whole broadcast (every recipient\'s badge)', () => {
    expect(filterEntries(entries, false)).toHaveLength(entries.length);
    const shown = filterEntries(entries, true);
    expect(shown.map((e) => e.key)).toEqual(['b100', 'u2']);
    expect(shown[0].rows.map((r) => r.task_id)).toEqual([3, 4, 5]);
  });

  it('drops a message once it is acked (as a live update merges the new row)', () => {
    const acked = messages.map((m): Message => (m.task_id === 2 ? { ...m, status: 'completed', delivery: 'acked' } : m));
    expect(filterEntries(groupTimeline(acked), true).map((e) => e.key)).toEqual(['b100']);
    const allSeen = acked.map((m): Message => (m.task_id === 4 ? { ...m, delivery: 'seen' } : m));
    expect(filterEntries(groupTimeline(allSeen), true)).toEqual([]);
  });

  it('keeps a dead letter', () => {
    expect(filterEntries(groupTimeline([msg(9, { delivery: 'dead' })]), true)).toHaveLength(1);
  });

  it('day separators only for the days left', () => {
    const items = withDaySeparators(filterEntries(entries, true), () => 'same-day', () => 'Today');
    expect(items.map((i) => i.type)).toEqual(['day', 'entry', 'entry']);
  });
});

describe('recipientName', () => {
  it('prefers the agent\'s current name, then the row\'s, then the id', () => {
    expect(recipientName(msg(1), [agent({ agent_id: 12, name: 'Alice Renamed' })])).toBe('Alice Renamed');
    expect(recipientName(msg(1), [])).toBe('Alice');
    expect(recipientName(msg(1, { to_agent_name: null }))).toBe('agent #12');
  });
});

describe('deliveryBadge', () => {
  const at = (ms: number) => SENT_MS + ms;

  it('is null when the state is unknown', () => {
    expect(deliveryBadge(msg(1, { delivery: malformed(undefined) }), 'Alice', at(0))).toBeNull();
  });

  it('describes every state in words, naming the recipient', () => {
    const b = (delivery: DeliveryState, status: MessageStatus = 'input_required') => deliveryBadge(msg(1, { delivery, status }), 'bob', at(10_000));
    expect(b('seen')).toMatchObject({ label: 'seen', tone: 'quiet', description: 'Delivered and seen by bob' });
    expect(b('acked', 'completed')).toMatchObject({ label: 'acked', tone: 'ok', description: 'Delivered and acknowledged by bob' });
    expect(b('stored')).toMatchObject({ label: 'stored', tone: 'pending', stale: false });
    expect(b('stored')?.description).toBe(
      "Stored, not yet typed into bob's pane (queued, held back, or waiting for bob to be idle)",
    );
    expect(b('typed')).toMatchObject({ label: 'typed', tone: 'warn' });
    expect(b('typed')?.description).toBe("Typed into bob's pane, but bob was not seen taking it");
    expect(b('submitted')).toMatchObject({ label: 'submitted', tone: 'info' });
    expect(b('submitted')?.description).toContain('bob took the preview');
    expect(b('dead')).toMatchObject({ label: 'dead', tone: 'bad' });
    expect(b('dead')?.description).toContain('dead letter');
    expect(b('dead')?.description).toContain('bob never saw it');
    expect(b(malformed('anything'), 'canceled')).toMatchObject({ state: 'canceled', label: 'canceled', tone: 'quiet' });
  });

  it('flags a delivery stored or typed for a long time, with its age', () => {
    const fresh = deliveryBadge(msg(1, { delivery: 'stored' }), 'Alice', at(STALE_MS - 1));
    expect(fresh).toMatchObject({ stale: false, tone: 'pending', label: 'stored' });
    const old = deliveryBadge(msg(1, { delivery: 'stored' }), 'Alice', at(STALE_MS));
    expect(old).toMatchObject({ stale: true, tone: 'warn', label: 'stored 2 min' });
    expect(old?.description).toMatch(/; sent 2 min ago and not seen yet$/);
    const typed = deliveryBadge(msg(1, { delivery: 'typed' }), 'Alice', at(3 * 3600_000));
    expect(typed).toMatchObject({ stale: true, tone: 'warn', label: 'typed 3 h' });
  });

  it('never flags delivered, dead or submitted ones as stale', () => {
    for (const delivery of ['seen', 'submitted', 'dead'] as const) {
      const b = deliveryBadge(msg(1, { delivery }), 'Alice', at(86_400_000));
      expect(b?.stale).toBe(false);
      expect(b?.label).toBe(delivery);
    }
  });

  it('copes with an unparseable send time and a clock behind the server', () => {
    expect(deliveryBadge(msg(1, { created_at: 'junk' }), 'Alice', at(1e9))).toMatchObject({ stale: false, label: 'stored' });
    expect(deliveryBadge(msg(1), 'Alice', at(-60_000))).toMatchObject({ stale: false, label: 'stored' });
  });

  it('shows an unknown (malformed) state as it came', () => {
    expect(deliveryBadge(msg(1, { delivery: malformed('retrying') }), 'Alice', at(0))).toMatchObject({
      state: 'retrying',
      label: 'retrying',
      tone: 'pending',
      description: 'Delivery to Alice: retrying',
    });
  });

  it('keeps names as plain text (no markup is interpreted or escaped away)', () => {
    const b = deliveryBadge(msg(1, { delivery: 'seen' }), '<img src=x onerror=alert(1)>', at(0));
    expect(b?.description).toBe('Delivered and seen by <img src=x onerror=alert(1)>');
  });
});
