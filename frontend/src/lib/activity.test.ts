import { describe, expect, it } from 'vitest';
import { activityInfo, activitySource } from './activity';
import { agent, malformed } from './fixtures.test-helpers';
import type { Agent } from './types';

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);
const ago = (ms: number) => new Date(NOW - ms).toISOString();
const info = (a: Partial<Agent>) => activityInfo(agent(a), NOW);

describe('activityInfo', () => {
  it('is null when the activity is missing or blank (malformed)', () => {
    expect(activityInfo(malformed({}), NOW)).toBeNull();
    expect(info({ activity: malformed(null) })).toBeNull();
    expect(info({ activity: malformed('  ') })).toBeNull();
  });

  it('labels each state with its meaning and style', () => {
    const t = (activity: Agent['activity']) => info({ activity });
    expect(t('working')).toMatchObject({ state: 'working', label: 'Working', tone: 'busy' });
    expect(t('idle')).toMatchObject({ label: 'Idle', tone: 'ok' });
    expect(t('waiting')).toMatchObject({ label: 'Waiting', tone: 'warn' });
    expect(t('waiting')?.meaning).toContain('question');
    expect(t('exited')).toMatchObject({ label: 'Exited', tone: 'bad' });
    expect(t('unknown')).toMatchObject({ label: 'Unknown', tone: 'unknown' });
  });

  it('says how long ago it was seen, and where', () => {
    const a = info({ activity: 'working', activity_seen_at: ago(12_000), activity_source: 'pane' });
    expect(a?.seen).toBe('seen 12 s ago');
    expect(a?.text).toBe('Working (a turn is running), seen 12 s ago, read from its pane');
    const b = info({ activity: 'idle', activity_seen_at: ago(3 * 60_000 + 5_000), activity_source: 'Stop' });
    expect(b?.text).toBe('Idle (at its prompt), seen 3 min ago, reported by the Stop hook');
  });

  it('leaves out what the server did not say', () => {
    expect(info({ activity: 'idle', activity_seen_at: null, activity_source: null })?.text).toBe(
      'Idle (at its prompt)',
    );
    expect(info({ activity: 'idle', activity_seen_at: 'garbage' })?.seen).toBe('');
  });

  it('treats a timestamp ahead of the local clock as just now', () => {
    expect(info({ activity: 'idle', activity_seen_at: ago(-30_000) })?.seen).toBe('seen just now');
  });

  it('shows an unknown (malformed) state capitalised, with an unknown style', () => {
    expect(info({ activity: malformed('compacting') })).toMatchObject({ label: 'Compacting', tone: 'unknown', text: 'Compacting' });
    // Not mistaken for an Object.prototype member.
    expect(info({ activity: malformed('constructor') })).toMatchObject({ label: 'Constructor', tone: 'unknown' });
  });
});

describe('activitySource', () => {
  it('names the pane and hooks', () => {
    expect(activitySource('pane')).toBe('read from its pane');
    expect(activitySource('UserPromptSubmit')).toBe('reported by the UserPromptSubmit hook');
    expect(activitySource('')).toBe('');
    expect(activitySource(undefined)).toBe('');
  });
});
