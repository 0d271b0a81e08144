import { describe, expect, it } from 'vitest';
import { avatarColor, byRegistration, dashboardHash, fleetName, initials, parseRoute, plural, roleBadge } from './format';
import type { Agent } from './types';

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
    expect(roleBadge({ kind: 'builtin-administrator' })?.label).toBe('Admin');
    expect(roleBadge({ role: 'member', kind: 'user' })).toBeNull();
  });

  it('sorts by registration, stable on ties', () => {
    const a = (id: number, at: string) => ({ agent_id: id, registered_at: at }) as Agent;
    const list = [a(1, '2026-01-02T00:00:00Z'), a(2, '2026-01-01T00:00:00Z'), a(3, '2026-01-02T00:00:00Z')];
    expect(byRegistration(list).map((x) => x.agent_id)).toEqual([2, 1, 3]);
  });
});
