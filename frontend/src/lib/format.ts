// Small display helpers: avatars, local times, routes, roles.

import { epochMicros } from './timeline';
import type { Agent, Fleet } from './types';

/** The first two characters (code points) of a name, case kept (`Di`, `ca`, `W2`). */
export function initials(name: string | null | undefined): string {
  const chars = Array.from((name ?? '').trim());
  return chars.length === 0 ? '?' : chars.slice(0, 2).join('');
}

/** Index into the 12 avatar colours. */
export function avatarColor(agentId: number): number {
  return ((agentId % 12) + 12) % 12;
}

function toDate(ts: string | null | undefined): Date | null {
  const us = epochMicros(ts);
  return Number.isNaN(us) ? null : new Date(us / 1000);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Local `HH:MM` (24 h). */
export function hhmm(ts: string | null | undefined): string {
  const d = toDate(ts);
  return d ? `${pad(d.getHours())}:${pad(d.getMinutes())}` : '';
}

/** Local `HH:MM · <date>`. */
export function hhmmDate(ts: string | null | undefined): string {
  const d = toDate(ts);
  return d ? `${hhmm(ts)} · ${d.toLocaleDateString()}` : '';
}

export function localDate(ts: string | null | undefined): string {
  const d = toDate(ts);
  return d ? d.toLocaleDateString() : '';
}

export function localDateTime(ts: string | null | undefined): string {
  const d = toDate(ts);
  return d ? d.toLocaleString() : '';
}

/** The fleet's display name everywhere (picker and breadcrumb): label or `Fleet <id>`. */
export function fleetName(f: Pick<Fleet, 'fleet_id' | 'label'>): string {
  return f.label && f.label.trim() !== '' ? f.label : `Fleet ${f.fleet_id}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Short label of an agent's role for badges (empty for plain members). */
export function roleBadge(a: Pick<Agent, 'role' | 'kind'>): { label: string; title: string } | null {
  // The kind alone marks the Administrator (as isAdministrator has it), even were its role malformed.
  switch (a.kind === 'builtin-administrator' ? 'administrator' : a.role) {
    case 'administrator':
      return { label: 'Admin', title: 'Built-in Administrator: the WebUI sends as this agent' };
    case 'director':
      return { label: 'Director', title: 'Root Director of this fleet' };
    case 'monitor':
      return { label: 'Monitor', title: 'Monitoring member: wakes due agents on each monitor tick' };
    default:
      return null;
  }
}

/** Sorts by `registered_at` ascending (stable). */
export function byRegistration(agents: readonly Agent[]): Agent[] {
  return agents
    .map((a, i) => [a, i] as const)
    .sort(([a, i], [b, j]) => {
      const x = epochMicros(a.registered_at);
      const y = epochMicros(b.registered_at);
      if (!Number.isNaN(x) && !Number.isNaN(y) && x !== y) return x - y;
      return i - j;
    })
    .map(([a]) => a);
}

/** The hash route. */
export type Route =
  | { view: 'picker' }
  | { view: 'dashboard'; fleetId: number; agentId: number | null };

/**
 * `#/fleets/<fleetId>/agents[/<agentId>]` → dashboard (with the detail panel); anything
 * else → picker.
 */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#\/?/, '');
  const m = /^fleets\/(\d+)\/agents(?:\/(\d+))?(?:[/?].*)?$/.exec(path);
  if (!m) return { view: 'picker' };
  return { view: 'dashboard', fleetId: Number(m[1]), agentId: m[2] === undefined ? null : Number(m[2]) };
}

export function dashboardHash(fleetId: number, agentId: number | null = null): string {
  return agentId === null ? `#/fleets/${fleetId}/agents` : `#/fleets/${fleetId}/agents/${agentId}`;
}

/** A span of time in words, coarse: `45 s`, `12 min`, `3 h`, `2 d` (negative counts as 0). */
export function durationText(ms: number): string {
  const s = Math.floor(Math.max(0, Number.isFinite(ms) ? ms : 0) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h`;
  return `${Math.floor(h / 24)} d`;
}

/**
 * How long before `nowMs` a server timestamp was, in words: `just now` (under 5 s, or in
 * the future: the clocks may differ a little), else `12 min ago`; '' when unparseable.
 */
export function relativeTime(ts: string | null | undefined, nowMs: number): string {
  const us = epochMicros(ts);
  if (Number.isNaN(us)) return '';
  const diff = nowMs - us / 1000;
  return diff < 5000 ? 'just now' : `${durationText(diff)} ago`;
}
