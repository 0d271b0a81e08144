// An agent's activity (working, idle, waiting, exited, unknown) for the sidebar's status
// dot: its label, style and a title saying how long ago it was observed, and where.
//
// Pure functions, no DOM: unit-tested in activity.test.ts.

import { relativeTime } from './format';
import type { Agent, AgentActivity } from './types';

/** ok: idle at its prompt; busy: a turn runs; warn: waiting for an answer; bad: gone; unknown. */
export type ActivityTone = 'ok' | 'busy' | 'warn' | 'bad' | 'unknown';

export interface ActivityInfo {
  /** The state (`data-activity`); a malformed value as it came (trimmed). */
  state: string;
  /** `Working`, `Idle`, … */
  label: string;
  /** What the state means. */
  meaning: string;
  tone: ActivityTone;
  /** `seen 12 s ago`, or '' when the server did not say when. */
  seen: string;
  /** `read from its pane`, `reported by the Stop hook`, or ''. */
  source: string;
  /** One line for the dot's title and screen readers: `Working (a turn is running), seen 12 s ago, read from its pane`. */
  text: string;
}

// A Map, so that a malformed state such as `constructor` is not found on Object.prototype.
const KNOWN = new Map<string, { label: string; meaning: string; tone: ActivityTone }>(Object.entries({
  working: { label: 'Working', meaning: 'a turn is running', tone: 'busy' },
  idle: { label: 'Idle', meaning: 'at its prompt', tone: 'ok' },
  waiting: { label: 'Waiting', meaning: 'a question or permission prompt has the keyboard', tone: 'warn' },
  exited: { label: 'Exited', meaning: 'its pane is gone or back at a shell', tone: 'bad' },
  unknown: { label: 'Unknown', meaning: 'activity not known', tone: 'unknown' },
} satisfies Record<AgentActivity, { label: string; meaning: string; tone: ActivityTone }>));

/** Where an observation came from, in words. */
export function activitySource(source: string | null | undefined): string {
  const s = (source ?? '').trim();
  if (s === '') return '';
  if (s === 'pane') return 'read from its pane';
  return `reported by the ${s} hook`;
}

/**
 * The activity of an agent at `nowMs` (ms since the epoch). The server always reports one;
 * a malformed value is still shown defensively: null (nothing) when missing or blank, an
 * unknown state capitalised with the `unknown` style.
 */
export function activityInfo(
  a: Pick<Agent, 'activity' | 'activity_seen_at' | 'activity_source'>,
  nowMs: number,
): ActivityInfo | null {
  const raw = a.activity;
  if (typeof raw !== 'string' || raw.trim() === '') return null;
  const state = raw.trim();
  const known = KNOWN.get(state) ?? { label: state.charAt(0).toUpperCase() + state.slice(1), meaning: '', tone: 'unknown' };
  const ago = relativeTime(a.activity_seen_at, nowMs);
  const seen = ago === '' ? '' : `seen ${ago}`;
  const source = activitySource(a.activity_source);
  const head = known.meaning ? `${known.label} (${known.meaning})` : known.label;
  const text = [head, seen, source].filter((s) => s !== '').join(', ');
  return { state, label: known.label, meaning: known.meaning, tone: known.tone, seen, source, text };
}
