// Delivery badges and the "not delivered" filter: how far each delivery of a message got
// (the `delivery` field of a message row: stored → typed → submitted → seen → acked, or
// dead, or canceled; docs/delivery.md), in words.
//
// Pure functions, no DOM: unit-tested in delivery.test.ts.

import { durationText } from './format';
import { epochMicros, type TimelineEntry } from './timeline';
import type { Agent, DeliveryState, Message } from './types';

export const DELIVERY_STATES: readonly DeliveryState[] = [
  'stored',
  'typed',
  'submitted',
  'seen',
  'acked',
  'dead',
  'canceled',
];

/** Not (yet) seen by the recipient, and still wanted: what the "not delivered" filter shows. */
export const UNDELIVERED_STATES: ReadonlySet<DeliveryState> = new Set<DeliveryState>(['stored', 'typed', 'submitted', 'dead']);

/**
 * A delivery still stored or typed this long after it was sent is flagged (warning style and
 * its age on the badge). The monitor's first redelivery is due after 60 s, so by then a
 * healthy delivery has had two chances.
 */
export const STALE_MS = 2 * 60_000;

/**
 * The delivery state of a message row: its `delivery` field, except that an acked or
 * canceled task is reported as such (as the server does); null for a malformed pending row
 * without one (no badge rather than an empty one).
 */
export function deliveryState(m: Pick<Message, 'delivery' | 'status'>): DeliveryState | null {
  if (m.status === 'completed') return 'acked';
  if (m.status === 'canceled') return 'canceled';
  return m.delivery || null;
}

/** The delivery is not yet seen, acked or canceled (stored, typed, submitted or dead). */
export function isUndelivered(m: Pick<Message, 'delivery' | 'status'>): boolean {
  const s = deliveryState(m);
  return s !== null && UNDELIVERED_STATES.has(s);
}

/** A timeline entry with at least one delivery not yet seen (any recipient of a broadcast). */
export function entryUndelivered(e: Pick<TimelineEntry, 'rows'>): boolean {
  return e.rows.some(isUndelivered);
}

/** The entries the timeline shows: all of them, or only those not yet delivered. */
export function filterEntries<E extends Pick<TimelineEntry, 'rows'>>(entries: readonly E[], onlyUndelivered: boolean): E[] {
  return onlyUndelivered ? entries.filter(entryUndelivered) : [...entries];
}

/** The name a delivery's recipient goes by in sentences: the agent's, the row's, or `agent #id`. */
export function recipientName(row: Pick<Message, 'to_agent_id' | 'to_agent_name'>, agents: readonly Agent[] = []): string {
  const a = agents.find((x) => x.agent_id === row.to_agent_id);
  if (a) return a.name;
  if (row.to_agent_name) return row.to_agent_name;
  return `agent #${row.to_agent_id}`;
}

/** quiet: done or withdrawn; ok: acked; pending: on its way; info: taken; warn / bad: a problem. */
export type DeliveryTone = 'quiet' | 'ok' | 'pending' | 'info' | 'warn' | 'bad';

export interface DeliveryBadge {
  /** The state (`data-state`); a malformed value as it came. */
  state: DeliveryState;
  /** The short visible text: the state, with its age when stale (`stored 5 min`). */
  label: string;
  /** The state in words, naming the recipient (title and screen readers). */
  description: string;
  tone: DeliveryTone;
  /** Stored or typed for at least STALE_MS. */
  stale: boolean;
}

/**
 * The badge of one delivery to `who` at `nowMs` (ms since the epoch), or null when its
 * state is unknown (nothing to show).
 */
export function deliveryBadge(
  m: Pick<Message, 'delivery' | 'status' | 'created_at'>,
  who: string,
  nowMs: number,
): DeliveryBadge | null {
  const state = deliveryState(m);
  if (state === null) return null;
  const sentUs = epochMicros(m.created_at);
  const age = Number.isNaN(sentUs) ? null : Math.max(0, nowMs - sentUs / 1000);
  const stale = (state === 'stored' || state === 'typed') && age !== null && age >= STALE_MS;
  const ageText = age === null ? '' : durationText(age);
  const since = stale ? `; sent ${ageText} ago and not seen yet` : '';
  const badge = (label: string, description: string, tone: DeliveryTone): DeliveryBadge => ({
    state,
    label: stale ? `${label} ${ageText}` : label,
    description,
    tone,
    stale,
  });
  switch (state) {
    case 'stored':
      return badge(
        'stored',
        `Stored, not yet typed into ${who}'s pane (queued, held back, or waiting for ${who} to be idle)${since}`,
        stale ? 'warn' : 'pending',
      );
    case 'typed':
      return badge('typed', `Typed into ${who}'s pane, but ${who} was not seen taking it${since}`, 'warn');
    case 'submitted':
      return badge('submitted', `${who} took the preview and has not polled the message yet`, 'info');
    case 'seen':
      return badge('seen', `Delivered and seen by ${who}`, 'quiet');
    case 'acked':
      return badge('acked', `Delivered and acknowledged by ${who}`, 'ok');
    case 'dead':
      return badge('dead', `Not delivered: ${who} never saw it after every redelivery (dead letter)`, 'bad');
    case 'canceled':
      return badge('canceled', `Canceled by its sender (to ${who})`, 'quiet');
    default:
      // Unreachable for well-formed rows; a malformed state is shown as it came.
      return badge(state, `Delivery to ${who}: ${state}`, 'pending');
  }
}
