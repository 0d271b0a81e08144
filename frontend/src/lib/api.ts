// The HTTP client: fleet header, access token, readable errors.

import type { Agent, Fleet, Message, MonitorConfig, MonitorRuntime, SendResult } from './types';

export const TOKEN_KEY = 'cafleet-admin-token';

export const UNAUTHORIZED_HINT =
  'Access token required or invalid. Open the WebUI with the URL that `cafleet server` printed (it ends in ?token=…).';

/** An API failure with the server's message. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

interface ValidationEntry {
  msg?: unknown;
  loc?: unknown;
}

/**
 * The text to show for an error body: a string `detail` as is; a validation array as
 * `field: msg; field: msg`; otherwise `HTTP <status>`.
 */
export function errorText(body: unknown, status: number): string {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === 'string' && detail.trim() !== '') return detail;
  if (Array.isArray(detail)) {
    const parts = detail
      .map((e: ValidationEntry | string) => {
        if (typeof e === 'string') return e;
        if (!e || typeof e !== 'object') return '';
        const msg = typeof e.msg === 'string' ? e.msg : '';
        const loc = Array.isArray(e.loc)
          ? e.loc.filter((p) => p !== 'body' && p !== 'query' && p !== 'path').join('.')
          : '';
        if (!msg) return '';
        return loc ? `${loc}: ${msg}` : msg;
      })
      .filter((s) => s !== '');
    if (parts.length > 0) return parts.join('; ');
  }
  return `HTTP ${status}`;
}

/**
 * Reads `?token=` from a URL: the token (if any) and the URL without it. The raw query is
 * read (not URLSearchParams), so a `+` in a token stays a `+` as the server compares it.
 */
export function splitToken(href: string): { token: string | null; url: string } {
  const u = new URL(href);
  const raw = u.search.startsWith('?') ? u.search.slice(1) : u.search;
  if (raw === '') return { token: null, url: href };
  let token: string | null = null;
  let found = false;
  const kept: string[] = [];
  for (const part of raw.split('&')) {
    if (part === 'token' || part.startsWith('token=')) {
      found = true;
      const v = part.slice('token='.length);
      try {
        token = decodeURIComponent(v);
      } catch {
        token = v;
      }
    } else if (part !== '') {
      kept.push(part);
    }
  }
  if (!found) return { token: null, url: href };
  u.search = kept.length > 0 ? `?${kept.join('&')}` : '';
  return { token: token === '' ? null : token, url: u.toString() };
}

/**
 * A token as a query value: characters that would end or corrupt the parameter are
 * percent-encoded, all others stay literal (the server compares the raw query text).
 */
export function tokenQueryValue(t: string): string {
  return t.replace(/[^A-Za-z0-9\-._~!$'()*+,;=:@/?]/gu, (c) => encodeURIComponent(c));
}

/**
 * At start-up: moves a `?token=` from the address bar into sessionStorage (so it is not
 * left in history or bookmarks) and returns the token in force.
 */
export function captureToken(): string | null {
  try {
    const { token, url } = splitToken(window.location.href);
    if (token !== null) {
      sessionStorage.setItem(TOKEN_KEY, token);
    }
    if (url !== window.location.href) window.history.replaceState(window.history.state, '', url);
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

let token: string | null = null;
let fleetId: number | null = null;
let onAuth: ((ok: boolean) => void) | null = null;

export function setToken(t: string | null): void {
  token = t;
}
export function getToken(): string | null {
  return token;
}
export function setFleet(id: number | null): void {
  fleetId = id;
}
/** Told after every answer whether the server accepted our credentials (false on 401). */
export function setAuthListener(fn: ((ok: boolean) => void) | null): void {
  onAuth = fn;
}

async function request<T>(method: string, path: string, body?: unknown, fleet = fleetId): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (fleet !== null) headers['X-Fleet-Id'] = String(fleet);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, e instanceof Error && e.message ? e.message : 'Failed to fetch');
  }
  let parsed: unknown = null;
  const text = await res.text().catch(() => '');
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  onAuth?.(res.status !== 401);
  if (!res.ok) {
    throw new ApiError(res.status, res.status === 401 ? UNAUTHORIZED_HINT : errorText(parsed, res.status));
  }
  return parsed as T;
}

export const api = {
  fleets: () => request<Fleet[]>('GET', '/api/fleets'),
  agents: (fleet?: number) =>
    request<{ agents: Agent[] }>('GET', '/api/agents', undefined, fleet ?? fleetId).then((r) => r.agents),
  monitor: () => request<MonitorRuntime>('GET', '/api/monitor'),
  timeline: (before?: number) =>
    request<{ messages: Message[] }>('GET', pagePath('/api/timeline', before)).then((r) => r.messages),
  /** A page of an agent's inbox or sent list: the newest, or the one before a task id. */
  mailbox: (agentId: number, kind: 'inbox' | 'sent', before?: number) =>
    request<{ messages: Message[] }>('GET', pagePath(`/api/agents/${agentId}/${kind}`, before)).then(
      (r) => r.messages,
    ),
  patchMonitor: (agentId: number, patch: { interval_seconds?: number | null; enabled?: boolean | null }) =>
    request<MonitorConfig>('PATCH', `/api/agents/${agentId}/monitor`, patch),
  send: (from: number, to: number | '*', text: string) =>
    request<SendResult>('POST', '/api/messages/send', { from_agent_id: from, to_agent_id: to, text }),
};

/** A paged list's URL: `path`, with `?before=<task id>` for the page after that message. */
export function pagePath(path: string, before?: number | null): string {
  return before === undefined || before === null ? path : `${path}?before=${encodeURIComponent(before)}`;
}

/** The URL of the fleet's event stream (EventSource cannot set headers). */
export function eventsUrl(fleet: number): string {
  const q = `fleet_id=${encodeURIComponent(String(fleet))}`;
  return token ? `/api/events?${q}&token=${tokenQueryValue(token)}` : `/api/events?${q}`;
}

/** A readable message for any thrown value. */
export function messageOf(e: unknown, fallback: string): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error && e.message) return e.message;
  return fallback;
}
