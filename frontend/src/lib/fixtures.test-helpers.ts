// Typed builders for the unit tests' fixtures: each fills every required field of a wire
// record (./wire.ts, generated from the server's types) with a plain default, and a test
// overrides what it is about. When the server adds a field, these are the only fixtures to
// update.
//
// Not a test file itself (vitest runs `*.test.ts` only), but inside src/, so svelte-check
// and tsc type-check it with the rest.

import type { Agent, Message, MonitorRuntime } from './types';

/** The default timestamp of every fixture. */
export const AT = '2026-11-24T12:00:00.000000+00:00';

/** An active, plain member agent (no monitor, no coding agent, nothing undelivered). */
export function agent(overrides: Partial<Agent> = {}): Agent {
  return {
    agent_id: 1,
    name: 'Alice',
    description: '',
    status: 'active',
    registered_at: AT,
    kind: 'user',
    monitor: null,
    role: 'member',
    coding_agent: null,
    undelivered: { unseen: 0, dead: 0 },
    activity: 'unknown',
    activity_seen_at: null,
    activity_source: null,
    ...overrides,
  };
}

/** A pending unicast from agent 1 (Director) to agent 12 (Alice), stored. */
export function message(overrides: Partial<Message> = {}): Message {
  return {
    task_id: 1,
    from_agent_id: 1,
    from_agent_name: 'Director',
    to_agent_id: 12,
    to_agent_name: 'Alice',
    type: 'unicast',
    status: 'input_required',
    created_at: AT,
    status_timestamp: AT,
    origin_task_id: null,
    body: 'body',
    delivery: 'stored',
    ...overrides,
  };
}

/** No monitor process running. */
export function runtime(overrides: Partial<MonitorRuntime> = {}): MonitorRuntime {
  return {
    running: false,
    pid: null,
    tick_seconds: null,
    last_tick_at: null,
    last_tick_age_seconds: null,
    started_at: null,
    ...overrides,
  };
}

/**
 * A value the wire types exclude (an unknown state, null, a missing field), passed ON
 * PURPOSE: this deliberately bypasses the generated types so a test can check how the app
 * copes with malformed data. The only escape hatch in the fixtures; never use it for a
 * well-formed value.
 */
export function malformed<T>(value: unknown): T {
  return value as T;
}
