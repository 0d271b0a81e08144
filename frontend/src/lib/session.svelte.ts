// One open fleet: its agents, monitor state and timeline, kept fresh by the server's event
// stream (SSE) with polling as the fallback, and an honest connection state.

import { ApiError, api, eventsUrl, messageOf } from './api';
import { isActive, isAdministrator } from './mention';
import { Scrollback } from './scrollback.svelte';
import { mergeMessages } from './timeline';
import type { Agent, Message, MonitorRuntime } from './types';

/** Polling period while the event stream is down. */
export const POLL_MS = 5000;
/** Safety-net refresh period while the event stream is up. */
export const LIVE_POLL_MS = 30000;
/** One timeline page: the server's page size, generated from its Rust code. */
export { PAGE } from './wire';
import { PAGE } from './wire';

/** The API's answer for an unknown or deleted fleet. */
export const FLEET_NOT_FOUND = 'Fleet not found';

export type Connection = 'connecting' | 'live' | 'polling' | 'offline' | 'error' | 'unauthorized';

export class FleetSession {
  readonly fleetId: number;
  agents = $state.raw<Agent[] | null>(null);
  runtime = $state.raw<MonitorRuntime | null>(null);
  messages = $state.raw<Message[]>([]);
  timelineLoaded = $state(false);
  /** Older timeline pages ("load older"): whether more exist, the one loading, its error. */
  readonly scrollback = new Scrollback({
    pageSize: PAGE,
    fetchPage: (before) => api.timeline(before),
    loaded: () => this.messages,
    merge: (page) => {
      this.messages = mergeMessages(this.messages, page);
    },
    alive: () => !this.disposed,
  });
  refreshing = $state(false);
  /** Why the last refresh failed (null when it succeeded). */
  error = $state<string | null>(null);
  errorStatus = $state(0);
  streamOpen = $state(false);
  /** Bumped after every refresh (panels then refetch the newest inbox/sent page). */
  version = $state(0);
  /** The last batch of new and changed messages from the event stream (panels merge it). */
  liveBatch = $state.raw<Message[] | null>(null);
  lastOkAt = $state<number | null>(null);
  /**
   * The timeline shows only messages not yet delivered (a view setting kept here, so live
   * updates and a remounted timeline keep it for as long as the fleet is open).
   */
  onlyUndelivered = $state(false);

  private es: EventSource | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private reconnect: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;
  private lastRefreshAt = 0;
  constructor(fleetId: number, agents: Agent[] | null = null) {
    this.fleetId = fleetId;
    this.agents = agents;
  }

  get administrator(): Agent | null {
    return this.agents?.find(isAdministrator) ?? null;
  }

  /** The Administrator, when it can send (the WebUI's only sender). */
  get sender(): Agent | null {
    const a = this.administrator;
    return a && isActive(a) ? a : null;
  }

  /** The server no longer knows the fleet (deleted meanwhile): its API answers 404. */
  get fleetGone(): boolean {
    return this.errorStatus === 404 && this.error === FLEET_NOT_FOUND;
  }

  get connection(): Connection {
    if (this.errorStatus === 401) return 'unauthorized';
    if (this.error !== null) return this.errorStatus === 0 ? 'offline' : 'error';
    if (this.streamOpen) return 'live';
    if (this.lastOkAt === null) return 'connecting';
    return 'polling';
  }

  start(): void {
    void this.refresh();
    this.openStream();
    this.timer = setInterval(() => {
      const period = this.streamOpen && this.error === null ? LIVE_POLL_MS : POLL_MS;
      if (Date.now() - this.lastRefreshAt >= period - 250) void this.refresh();
    }, 1000);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.reconnect) clearTimeout(this.reconnect);
    this.es?.close();
    this.es = null;
  }

  /**
   * Agents, monitor state and the newest timeline page, in parallel; skipped while one is
   * in flight. Successful parts are applied; the first failure is shown.
   */
  async refresh(): Promise<void> {
    if (this.refreshing || this.disposed) return;
    this.refreshing = true;
    this.lastRefreshAt = Date.now();
    const [agents, runtime, timeline] = await Promise.allSettled([
      api.agents(this.fleetId),
      api.monitor(),
      api.timeline(),
    ]);
    if (this.disposed) return;
    if (agents.status === 'fulfilled') this.agents = agents.value;
    if (runtime.status === 'fulfilled') this.runtime = runtime.value;
    if (timeline.status === 'fulfilled') {
      const first = !this.timelineLoaded;
      this.messages = mergeMessages(this.messages, timeline.value);
      if (first) this.scrollback.firstPage(timeline.value);
      this.timelineLoaded = true;
    }
    const failed = [agents, runtime, timeline].find((r) => r.status === 'rejected');
    if (failed && failed.status === 'rejected') {
      this.error = messageOf(failed.reason, 'Refresh failed');
      this.errorStatus = failed.reason instanceof ApiError ? failed.reason.status : 0;
    } else {
      this.error = null;
      this.errorStatus = 0;
      this.lastOkAt = Date.now();
    }
    this.refreshing = false;
    this.version++;
  }

  private openStream(): void {
    if (this.disposed || typeof EventSource === 'undefined') return;
    const es = new EventSource(eventsUrl(this.fleetId));
    this.es = es;
    es.addEventListener('hello', () => {
      this.streamOpen = true;
      // Fill whatever happened while the stream was down.
      void this.refresh();
    });
    es.addEventListener('messages', (ev) => {
      const data = parse<{ messages?: Message[] }>(ev);
      if (data?.messages && data.messages.length > 0) {
        this.messages = mergeMessages(this.messages, data.messages);
        this.timelineLoaded = true;
        this.liveBatch = data.messages;
      }
    });
    es.addEventListener('agents', (ev) => {
      const data = parse<{ agents?: Agent[] }>(ev);
      if (data?.agents) this.agents = data.agents;
    });
    es.addEventListener('monitor', (ev) => {
      const data = parse<MonitorRuntime>(ev);
      if (data && typeof data.running === 'boolean') this.runtime = data;
    });
    es.onerror = () => {
      this.streamOpen = false;
      // Find out at once whether the server itself is gone.
      void this.refresh();
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. an HTTP error); retry ourselves.
        es.close();
        if (this.es === es) this.es = null;
        if (!this.disposed) this.reconnect = setTimeout(() => this.openStream(), POLL_MS);
      }
    };
  }
}

function parse<T>(ev: Event): T | null {
  try {
    return JSON.parse((ev as MessageEvent<string>).data) as T;
  } catch {
    return null;
  }
}
