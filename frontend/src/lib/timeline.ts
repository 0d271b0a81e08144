// The unified timeline: merging message snapshots and change events by task id, grouping
// broadcast deliveries into one entry, ordering, day separators and scrollback cursors.
//
// Pure functions, no DOM: unit-tested in timeline.test.ts.

import type { Agent, DeliveryState, Message } from './types';

const ISO = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Microseconds since the epoch of a server timestamp (`2026-11-24T12:26:54.152671+00:00`).
 * Accepts 0–9 fraction digits, `Z` or an offset (none means UTC), `T` or a space. Unparseable
 * input gives `NaN`.
 */
export function epochMicros(ts: string | null | undefined): number {
  if (!ts) return Number.NaN;
  const m = ISO.exec(ts.trim());
  if (!m) {
    const t = Date.parse(ts);
    return Number.isNaN(t) ? Number.NaN : t * 1000;
  }
  const [, date, time, frac = '', zone = 'Z'] = m;
  const hms = time.length === 5 ? `${time}:00` : time;
  let tz = zone.toUpperCase();
  if (/^[+-]\d{2}$/.test(tz)) tz += ':00';
  else if (/^[+-]\d{4}$/.test(tz)) tz = `${tz.slice(0, 3)}:${tz.slice(3)}`;
  const base = Date.parse(`${date}T${hms}${tz}`);
  if (Number.isNaN(base)) return Number.NaN;
  return base * 1000 + Number(frac.padEnd(6, '0').slice(0, 6));
}

/** Compares two timestamps chronologically (unparseable ones by string, before others). */
export function compareTs(a: string, b: string): number {
  const x = epochMicros(a);
  const y = epochMicros(b);
  if (Number.isNaN(x) || Number.isNaN(y)) {
    if (Number.isNaN(x) && Number.isNaN(y)) return a < b ? -1 : a > b ? 1 : 0;
    return Number.isNaN(x) ? -1 : 1;
  }
  return x - y;
}

/** The API's order: newest state change first (`status_timestamp` desc, `task_id` desc). */
export function compareApiOrder(a: Message, b: Message): number {
  return compareTs(b.status_timestamp, a.status_timestamp) || b.task_id - a.task_id;
}

/**
 * How far a pending delivery got, in the order it only ever moves (stored → typed →
 * submitted → dead → seen: a poll marks even a dead letter seen); -1 for a malformed value.
 */
export function deliveryRank(delivery: DeliveryState): number {
  switch (delivery) {
    case 'stored':
      return 0;
    case 'typed':
      return 1;
    case 'submitted':
      return 2;
    case 'dead':
      return 3;
    case 'seen':
      return 4;
    case 'acked':
    case 'canceled':
      return 5;
    default:
      return -1;
  }
}

/** `incoming` is an older copy of `old` (same task). */
function isStale(incoming: Message, old: Message): boolean {
  const c = compareTs(incoming.status_timestamp, old.status_timestamp);
  if (c !== 0) return c < 0;
  // A delivery's progress leaves status_timestamp alone: the further state is the newer.
  const a = deliveryRank(incoming.delivery);
  const b = deliveryRank(old.delivery);
  return a >= 0 && b >= 0 && a < b;
}

/**
 * Merges messages into a list by `task_id`. A message replaces the one with the same id
 * unless it is older: its `status_timestamp` before the kept one's (e.g. a poll answered
 * just before an ACK arrived over the event stream), or the same with a delivery state
 * behind the kept one's (a poll answered just before a "seen" arrived). New ids are added.
 * The result is in API order.
 */
export function mergeMessages(existing: readonly Message[], incoming: readonly Message[]): Message[] {
  const byId = new Map<number, Message>();
  for (const m of existing) byId.set(m.task_id, m);
  for (const m of incoming) {
    const old = byId.get(m.task_id);
    if (!old || !isStale(m, old)) byId.set(m.task_id, m);
  }
  return [...byId.values()].sort(compareApiOrder);
}

/**
 * The scrollback cursor: the task id to pass as `?before=` to get the page after the
 * oldest loaded message (the last one in API order), or null when nothing is loaded.
 */
export function oldestCursor(messages: readonly Message[]): number | null {
  if (messages.length === 0) return null;
  let oldest = messages[0];
  for (const m of messages) if (compareApiOrder(m, oldest) > 0) oldest = m;
  return oldest.task_id;
}

/** One line of the timeline: a unicast message, or all deliveries of one broadcast. */
export interface TimelineEntry {
  /** Stable key: `u<task_id>` or `b<origin_task_id>`. */
  key: string;
  /** The unicast's task id, or the broadcast's id (its summary task, as `send` returns). */
  taskId: number;
  broadcast: boolean;
  fromId: number;
  fromName: string | null;
  /** Sort key: creation time (the earliest delivery's for a broadcast). */
  createdAt: string;
  body: string;
  /** The deliveries, by ascending task id (send order; stable when one is ACKed). */
  rows: Message[];
  /** Every delivery canceled. */
  canceled: boolean;
  /** Deliveries ACKed by their recipient. */
  acks: Message[];
}

function hasOrigin(m: Message): m is Message & { origin_task_id: number } {
  return m.origin_task_id !== null && m.origin_task_id !== undefined;
}

/**
 * Groups messages into timeline entries: rows sharing an `origin_task_id` form one
 * broadcast entry, every other row is a unicast entry. Entries are sorted oldest first by
 * creation time (ties by id).
 */
export function groupTimeline(messages: readonly Message[]): TimelineEntry[] {
  const groups = new Map<string, Message[]>();
  for (const m of messages) {
    const key = hasOrigin(m) ? `b${m.origin_task_id}` : `u${m.task_id}`;
    const list = groups.get(key);
    if (list) list.push(m);
    else groups.set(key, [m]);
  }
  const entries: TimelineEntry[] = [];
  for (const [key, rows] of groups) {
    rows.sort((a, b) => a.task_id - b.task_id);
    const first = rows[0];
    const broadcast = key.startsWith('b');
    let createdAt = first.created_at;
    for (const r of rows) if (compareTs(r.created_at, createdAt) < 0) createdAt = r.created_at;
    entries.push({
      key,
      taskId: broadcast ? (first.origin_task_id as number) : first.task_id,
      broadcast,
      fromId: first.from_agent_id,
      fromName: first.from_agent_name,
      createdAt,
      body: first.body,
      rows,
      canceled: rows.every((r) => r.status === 'canceled'),
      acks: rows.filter((r) => r.status === 'completed'),
    });
  }
  return entries.sort((a, b) => compareTs(a.createdAt, b.createdAt) || a.taskId - b.taskId);
}

export type TimelineItem =
  | { type: 'day'; key: string; label: string }
  | { type: 'entry'; key: string; entry: TimelineEntry };

/** The local calendar day of a timestamp, as a comparable key. */
export function localDayKey(ts: string): string {
  const us = epochMicros(ts);
  if (Number.isNaN(us)) return '';
  const d = new Date(us / 1000);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/** `November 24, 2026` in the user's locale. */
export function localDayLabel(ts: string): string {
  const us = epochMicros(ts);
  if (Number.isNaN(us)) return ts;
  return new Date(us / 1000).toLocaleDateString(undefined, {
    year: 'numeric',
    month: 'long',
    day: 'numeric',
  });
}

/** Inserts a day separator before the first entry and wherever the (local) day changes. */
export function withDaySeparators(
  entries: readonly TimelineEntry[],
  dayKey: (ts: string) => string = localDayKey,
  dayLabel: (ts: string) => string = localDayLabel,
): TimelineItem[] {
  const items: TimelineItem[] = [];
  let last: string | null = null;
  for (const entry of entries) {
    const day = dayKey(entry.createdAt);
    if (day !== last) {
      items.push({ type: 'day', key: `d${day}:${entry.key}`, label: dayLabel(entry.createdAt) });
      last = day;
    }
    items.push({ type: 'entry', key: entry.key, entry });
  }
  return items;
}

/** UTC ISO with milliseconds (`2026-11-24T12:26:06.228Z`), or the input when unparseable. */
export function isoMillis(ts: string): string {
  const us = epochMicros(ts);
  return Number.isNaN(us) ? ts : new Date(Math.floor(us / 1000)).toISOString();
}

/** The display name of a message's recipient: the agent's name, else the row's, else `#id`. */
export function recipientLabel(row: Message, agents: readonly Agent[]): string {
  const a = agents.find((x) => x.agent_id === row.to_agent_id);
  if (a) return `@${a.name}`;
  if (row.to_agent_name) return `@${row.to_agent_name}`;
  return `#${row.to_agent_id}`;
}

/** Tooltip of an ACK chip: `@Alice — 2026-11-24T12:26:06.228Z` (`(deregistered)` if so). */
export function ackTooltip(row: Message, agents: readonly Agent[]): string {
  const a = agents.find((x) => x.agent_id === row.to_agent_id);
  const who = a ? `@${a.name}` : `#${row.to_agent_id}`;
  const dereg = a && a.status !== 'active' ? ' (deregistered)' : '';
  return `${who}${dereg} — ${isoMillis(row.status_timestamp)}`;
}
