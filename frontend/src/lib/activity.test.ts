import { describe, expect, it } from 'vitest';
import { activityInfo, activitySource } from './activity';

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);
const ago = (ms: number) => new Date(NOW - ms).toISOString();

describe('activityInfo', () => {
  it('is null when the server reports no activity (older servers)', () => {
    expect(activityInfo({}, NOW)).toBeNull();
    expect(activityInfo({ activity: null }, NOW)).toBeNull();
    expect(activityInfo({ activity: '  ' }, NOW)).toBeNull();
  });

  it('labels each state with its meaning and style', () => {
    const t = (activity: string) => activityInfo({ activity }, NOW);
    expect(t('working')).toMatchObject({ state: 'working', label: 'Working', tone: 'busy' });
    expect(t('idle')).toMatchObject({ label: 'Idle', tone: 'ok' });
    expect(t('waiting')).toMatchObject({ label: 'Waiting', tone: 'warn' });
    expect(t('waiting')?.meaning).toContain('question');
    expect(t('exited')).toMatchObject({ label: 'Exited', tone: 'bad' });
    expect(t('unknown')).toMatchObject({ label: 'Unknown', tone: 'unknown' });
  });

  it('says how long ago it was seen, and where', () => {
    const a = activityInfo({ activity: 'working', activity_seen_at: ago(12_000), activity_source: 'pane' }, NOW);
    expect(a?.seen).toBe('seen 12 s ago');
    expect(a?.text).toBe('Working (a turn is running), seen 12 s ago, read from its pane');
    const b = activityInfo({ activity: 'idle', activity_seen_at: ago(3 * 60_000 + 5_000), activity_source: 'Stop' }, NOW);
    expect(b?.text).toBe('Idle (at its prompt), seen 3 min ago, reported by the Stop hook');
  });

  it('leaves out what the server did not say', () => {
    expect(activityInfo({ activity: 'idle', activity_seen_at: null, activity_source: null }, NOW)?.text).toBe(
      'Idle (at its prompt)',
    );
    expect(activityInfo({ activity: 'idle', activity_seen_at: 'garbage' }, NOW)?.seen).toBe('');
  });

  it('treats a timestamp ahead of the local clock as just now', () => {
    expect(activityInfo({ activity: 'idle', activity_seen_at: ago(-30_000) }, NOW)?.seen).toBe('seen just now');
  });

  it('shows a state from a newer server capitalised, with an unknown style', () => {
    expect(activityInfo({ activity: 'compacting' }, NOW)).toMatchObject({ label: 'Compacting', tone: 'unknown', text: 'Compacting' });
    // Not mistaken for an Object.prototype member.
    expect(activityInfo({ activity: 'constructor' }, NOW)).toMatchObject({ label: 'Constructor', tone: 'unknown' });
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
