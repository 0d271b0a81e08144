import { describe, expect, it } from 'vitest';
import {
  avatarColor,
  byRegistration,
  dashboardHash,
  durationText,
  fleetName,
  initials,
  parseRoute,
  plural,
  relativeTime,
  roleBadge,
} from './format';
import { agent, malformed } from './fixtures.test-helpers';

describe('parseRoute', () => {
  it.each([
    ['', { view: 'picker' }],
    ['#/fleets', { view: 'picker' }],
    ['#/garbage', { view: 'picker' }],
    ['#/fleets/abc/agents', { view: 'picker' }],
    ['#/fleets/3/agents', { view: 'dashboard', fleetId: 3, agentId: null }],
    ['#fleets/3/agents', { view: 'dashboard', fleetId: 3, agentId: null }],
    ['#/fleets/3/agents/12', { view: 'dashboard', fleetId: 3, agentId: 12 }],
    ['#/fleets/3/agents/12/', { view: 'dashboard', fleetId: 3, agentId: 12 }],
  ])('%j', (hash, route) => {
    expect(parseRoute(hash)).toEqual(route);
  });

  it('round-trips with dashboardHash', () => {
    expect(parseRoute(dashboardHash(4, 9))).toEqual({ view: 'dashboard', fleetId: 4, agentId: 9 });
    expect(parseRoute(dashboardHash(4))).toEqual({ view: 'dashboard', fleetId: 4, agentId: null });
  });
});

describe('display helpers', () => {
  it('initials keep case and code points', () => {
    expect(initials('Director')).toBe('Di');
    expect(initials('carol')).toBe('ca');
    expect(initials('W2')).toBe('W2');
    expect(initials('😀x')).toBe('😀x');
    expect(initials('')).toBe('?');
  });

  it('avatar colours cycle over 12', () => {
    expect(avatarColor(12)).toBe(0);
    expect(avatarColor(13)).toBe(1);
  });

  it('fleet names are the same in picker and breadcrumb (defect 17)', () => {
    expect(fleetName({ fleet_id: 3, label: null })).toBe('Fleet 3');
    expect(fleetName({ fleet_id: 3, label: '  ' })).toBe('Fleet 3');
    expect(fleetName({ fleet_id: 1, label: 'alpha' })).toBe('alpha');
  });

  it('plural', () => {
    expect(plural(1, 'agent')).toBe('1 agent');
    expect(plural(0, 'agent')).toBe('0 agents');
  });

  it('role badges tell the Director and the monitoring member apart', () => {
    expect(roleBadge({ role: 'director', kind: 'user' })?.label).toBe('Director');
    expect(roleBadge({ role: 'monitor', kind: 'user' })?.label).toBe('Monitor');
    expect(roleBadge(malformed({ kind: 'builtin-administrator' }))?.label).toBe('Admin');
    expect(roleBadge({ role: 'member', kind: 'user' })).toBeNull();
  });

  it('sorts by registration, stable on ties', () => {
    const a = (id: number, at: string) => agent({ agent_id: id, registered_at: at });
    const list = [a(1, '2026-01-02T00:00:00Z'), a(2, '2026-01-01T00:00:00Z'), a(3, '2026-01-02T00:00:00Z')];
    expect(byRegistration(list).map((x) => x.agent_id)).toEqual([2, 1, 3]);
  });
});

describe('durationText / relativeTime', () => {
  it('rounds down to one coarse unit', () => {
    expect(durationText(0)).toBe('0 s');
    expect(durationText(59_999)).toBe('59 s');
    expect(durationText(60_000)).toBe('1 min');
    expect(durationText(59 * 60_000 + 59_999)).toBe('59 min');
    expect(durationText(3_600_000)).toBe('1 h');
    expect(durationText(23.9 * 3_600_000)).toBe('23 h');
    expect(durationText(50 * 3_600_000)).toBe('2 d');
  });

  it('treats negative and non-finite spans as 0', () => {
    expect(durationText(-5000)).toBe('0 s');
    expect(durationText(Number.NaN)).toBe('0 s');
  });

  it('says how long ago a server timestamp was', () => {
    const now = Date.UTC(2026, 10, 24, 12, 0, 0);
    expect(relativeTime('2026-11-24T11:59:58.000000+00:00', now)).toBe('just now');
    expect(relativeTime('2026-11-24T11:59:48.000000+00:00', now)).toBe('12 s ago');
    expect(relativeTime('2026-11-24T13:59:48.000000+02:00', now)).toBe('12 s ago');
    expect(relativeTime('2026-11-24T09:00:00Z', now)).toBe('3 h ago');
    expect(relativeTime('2026-11-24T12:05:00Z', now)).toBe('just now'); // clocks a little apart
    expect(relativeTime('junk', now)).toBe('');
    expect(relativeTime(null, now)).toBe('');
  });
});
