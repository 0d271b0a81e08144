import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setFleet, setToken } from './api';
import { filterEntries } from './delivery';
import { FleetSession } from './session.svelte';
import { groupTimeline } from './timeline';
import { agent as baseAgent, message, runtime as idleRuntime } from './fixtures.test-helpers';
import type { Agent, Message } from './types';

const agent = (agent_id: number, name: string, extra: Partial<Agent> = {}): Agent =>
  baseAgent({ agent_id, name, ...extra });
const admin = agent(2, 'Administrator', { kind: 'builtin-administrator', role: 'administrator' });
const msg = (task_id: number, ts = `2026-11-24T12:00:${String(task_id % 60).padStart(2, '0')}.000000+00:00`): Message =>
  message({ task_id, to_agent_id: 3, created_at: ts, status_timestamp: ts, body: `m${task_id}` });
const runtime = idleRuntime();

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;
let handler: Handler;
const calls: { url: string; init: RequestInit }[] = [];
const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function routes(timeline: (url: string) => Message[] = () => [msg(1)]): Handler {
  return (url) => {
    if (url.startsWith('/api/agents')) return json({ agents: [agent(1, 'Director'), admin] });
    if (url.startsWith('/api/monitor')) return json(runtime);
    if (url.startsWith('/api/timeline')) return json({ messages: timeline(url) });
    return json({ detail: 'Not Found' }, 404);
  };
}

beforeEach(() => {
  calls.length = 0;
  handler = routes();
  vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return Promise.resolve(handler(url, init));
  });
  setFleet(7);
  setToken(null);
});
afterEach(() => {
  vi.unstubAllGlobals();
  setFleet(null);
});

describe('FleetSession.refresh', () => {
  it('loads agents, monitor and the timeline with the fleet header', async () => {
    const s = new FleetSession(7);
    await s.refresh();
    expect(s.agents?.map((a) => a.name)).toEqual(['Director', 'Administrator']);
    expect(s.runtime).toEqual(runtime);
    expect(s.messages.map((m) => m.task_id)).toEqual([1]);
    expect(s.timelineLoaded).toBe(true);
    expect(s.scrollback.hasMore).toBe(false);
    expect(s.sender?.agent_id).toBe(2);
    expect(s.connection).toBe('polling'); // no event stream in this environment
    for (const c of calls) expect((c.init.headers as Record<string, string>)['X-Fleet-Id']).toBe('7');
  });

  it('sends the bearer token when one is set', async () => {
    setToken('t+k');
    await new FleetSession(7).refresh();
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe('Bearer t+k');
  });

  it('reports an unreachable server as offline and keeps the stale data (defect 12)', async () => {
    const s = new FleetSession(7);
    await s.refresh();
    handler = () => {
      throw new TypeError('Failed to fetch');
    };
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('Failed to fetch')));
    await s.refresh();
    expect(s.connection).toBe('offline');
    expect(s.error).toBe('Failed to fetch');
    expect(s.messages).toHaveLength(1);
    expect(s.agents).toHaveLength(2);
  });

  it('reports HTTP failures as errors with the server detail, 401 as unauthorized', async () => {
    const s = new FleetSession(7);
    handler = (url) => (url.startsWith('/api/monitor') ? json({ detail: 'the database is busy' }, 503) : routes()(url, {}));
    await s.refresh();
    expect(s.connection).toBe('error');
    expect(s.error).toBe('the database is busy');
    expect(s.agents).not.toBeNull(); // successful parts applied
    handler = () => json({ detail: 'access token required' }, 401);
    await s.refresh();
    expect(s.connection).toBe('unauthorized');
    handler = routes();
    await s.refresh();
    expect(s.error).toBeNull();
    expect(s.connection).toBe('polling');
  });

  it('skips a refresh while one is in flight', async () => {
    const s = new FleetSession(7);
    const a = s.refresh();
    const b = s.refresh();
    await Promise.all([a, b]);
    expect(calls.filter((c) => c.url.startsWith('/api/timeline'))).toHaveLength(1);
  });

  it('bumps the version after each refresh', async () => {
    const s = new FleetSession(7);
    const v = s.version;
    await s.refresh();
    expect(s.version).toBe(v + 1);
  });
});

describe('FleetSession.loadOlder', () => {
  it('pages back with ?before=<oldest> until a short page', async () => {
    const page1 = Array.from({ length: 200 }, (_, i) => msg(1000 - i, `2026-11-24T13:${String(Math.floor((1000 - i) / 60) % 60).padStart(2, '0')}:${String((1000 - i) % 60).padStart(2, '0')}.000000+00:00`));
    const page2 = [msg(5, '2026-11-24T10:00:00.000000+00:00'), msg(4, '2026-11-24T09:00:00.000000+00:00')];
    handler = routes((url) => (url.includes('before=') ? page2 : page1));
    const s = new FleetSession(7);
    await s.refresh();
    expect(s.scrollback.hasMore).toBe(true);
    await s.scrollback.loadOlder();
    const older = calls.find((c) => c.url.includes('before='));
    expect(older?.url).toBe('/api/timeline?before=801');
    expect(s.messages).toHaveLength(202);
    expect(s.scrollback.hasMore).toBe(false);
    await s.scrollback.loadOlder();
    expect(calls.filter((c) => c.url.includes('before='))).toHaveLength(1);
  });

  it('keeps the error and allows a retry', async () => {
    handler = routes(() => Array.from({ length: 200 }, (_, i) => msg(300 - i)));
    const s = new FleetSession(7);
    await s.refresh();
    handler = (url) => (url.includes('before=') ? json({ detail: 'boom' }, 500) : routes()(url, {}));
    await s.scrollback.loadOlder();
    expect(s.scrollback.error).toBe('boom');
    expect(s.scrollback.hasMore).toBe(true);
    expect(s.scrollback.loading).toBe(false);
  });
});

describe('FleetSession and the event stream', () => {
  class FakeEventSource {
    static last: FakeEventSource | null = null;
    static CLOSED = 2;
    readyState = 1;
    onerror: (() => void) | null = null;
    private listeners = new Map<string, ((ev: MessageEvent<string>) => void)[]>();
    constructor(readonly url: string) {
      FakeEventSource.last = this;
    }
    addEventListener(type: string, fn: (ev: MessageEvent<string>) => void) {
      this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
    }
    emit(type: string, data: unknown) {
      for (const fn of this.listeners.get(type) ?? []) fn({ data: JSON.stringify(data) } as MessageEvent<string>);
    }
    close() {}
  }

  it('hands pushed messages to the panels as a batch, without a refetch (defect 11)', async () => {
    vi.stubGlobal('EventSource', FakeEventSource);
    const s = new FleetSession(7);
    s.start();
    await vi.waitFor(() => expect(s.timelineLoaded).toBe(true));
    const version = s.version;
    const before = calls.length;
    FakeEventSource.last?.emit('messages', { messages: [msg(2)] });
    expect(s.liveBatch?.map((m) => m.task_id)).toEqual([2]);
    expect(s.messages.map((m) => m.task_id)).toEqual([2, 1]);
    expect(s.version).toBe(version); // panels merge the batch; no inbox/sent refetch
    expect(calls.length).toBe(before);
    s.dispose();
  });
});

describe('the "not delivered" view across live updates', () => {
  it('keeps the setting while rows change over the stream and on refresh', async () => {
    const stored: Message = { ...msg(1), delivery: 'stored' };
    handler = routes(() => [stored]);
    const s = new FleetSession(7);
    await s.refresh();
    s.onlyUndelivered = true;
    const shown = () => filterEntries(groupTimeline(s.messages), s.onlyUndelivered).map((e) => e.taskId);
    expect(shown()).toEqual([1]);
    // A poll by the recipient: the row comes back seen, status_timestamp unchanged.
    handler = routes(() => [{ ...stored, delivery: 'seen' }]);
    await s.refresh();
    expect(s.onlyUndelivered).toBe(true);
    expect(shown()).toEqual([]);
    // A refresh answered before the "seen" does not bring the message back.
    handler = routes(() => [stored]);
    await s.refresh();
    expect(shown()).toEqual([]);
    expect(s.onlyUndelivered).toBe(true);
  });
});

describe('FleetSession.fleetGone', () => {
  it('is true once the API says the fleet is not found (deleted meanwhile)', async () => {
    const s = new FleetSession(7);
    await s.refresh();
    expect(s.fleetGone).toBe(false);
    handler = () => json({ detail: 'Fleet not found' }, 404);
    await s.refresh();
    expect(s.fleetGone).toBe(true);
    handler = () => json({ detail: 'Agent not found' }, 404);
    await s.refresh();
    expect(s.fleetGone).toBe(false);
  });
});
