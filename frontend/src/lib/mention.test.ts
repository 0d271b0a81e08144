import { describe, expect, it } from 'vitest';
import {
  ERR_ALL_COMBINED,
  ERR_EMPTY,
  ERR_MULTI,
  ERR_NO_MENTION,
  ERR_UNTERMINATED,
  activeMention,
  applySuggestion,
  isAdministrator,
  mentionToken,
  parseMessage,
  readMentions,
  resolveMention,
  slug,
  suggestions,
} from './mention';
import { agent as baseAgent } from './fixtures.test-helpers';
import type { Agent } from './types';

let nextId = 1;
function agent(name: string, extra: Partial<Agent> = {}): Agent {
  return baseAgent({ agent_id: extra.agent_id ?? nextId++, name, ...extra });
}

const director = agent('Director', { agent_id: 1, role: 'director' });
const admin = agent('Administrator', { agent_id: 2, kind: 'builtin-administrator', role: 'administrator' });
const alice = agent('Alice', { agent_id: 12 });
const bob = agent('Bob Smith', { agent_id: 8 });
const carol = agent('carol', { agent_id: 10, status: 'deregistered' });
const watcher = agent('Watcher', { agent_id: 11, role: 'monitor' });
const underscore = agent('code_reviewer', { agent_id: 20 });
const taro = agent('太郎', { agent_id: 21 });
const zoe = agent('Zoë', { agent_id: 22 });
const evil = agent('Evil`x`$(id)\ttab', { agent_id: 23 });
const fleet = [director, admin, alice, bob, carol, watcher, underscore, taro, zoe, evil];

describe('slug', () => {
  it.each([
    ['Bob Smith', 'bob-smith'],
    ['bob_smith', 'bob-smith'],
    ['Alice', 'alice'],
    ['W2', 'w2'],
    ['Evil`x`$(id)\ttab', 'evil-x-id-tab'],
    ['  padded  ', 'padded'],
    ['--dash--', 'dash'],
    ['Zoë', 'zoë'],
    ['太郎', '太郎'],
    ['Ｆｕｌｌ', 'full'],
    ['!!!', ''],
    ['', ''],
    ['a__b..c', 'a-b-c'],
  ])('%j → %j', (name, expected) => {
    expect(slug(name)).toBe(expected);
  });
});

describe('readMentions', () => {
  it('reads a bare mention and the body', () => {
    expect(readMentions('@alice hello there')).toEqual({
      ok: true,
      mentions: [{ name: 'alice', quoted: false, raw: '@alice' }],
      body: 'hello there',
    });
  });

  it('strips leading whitespace and trims the body but keeps inner newlines', () => {
    const r = readMentions('  \n @alice \n line1\nline2  \n');
    expect(r).toEqual({
      ok: true,
      mentions: [{ name: 'alice', quoted: false, raw: '@alice' }],
      body: 'line1\nline2',
    });
  });

  it('reads several leading mentions', () => {
    const r = readMentions('@a @b text @c');
    expect(r.ok && r.mentions.map((m) => m.name)).toEqual(['a', 'b']);
    expect(r.ok && r.body).toBe('text @c');
  });

  it('reads a quoted name with spaces and escapes', () => {
    const r = readMentions('@"Bob Smith" hi');
    expect(r).toEqual({
      ok: true,
      mentions: [{ name: 'Bob Smith', quoted: true, raw: '@"Bob Smith"' }],
      body: 'hi',
    });
    const e = readMentions('@"say \\"hi\\" \\\\ now" x');
    expect(e.ok && e.mentions[0].name).toBe('say "hi" \\ now');
  });

  it('accepts a body glued to the closing quote', () => {
    const r = readMentions('@"Bob Smith"hi');
    expect(r.ok && r.body).toBe('hi');
  });

  it('reports an unterminated quote', () => {
    expect(readMentions('@"Bob Smith hi')).toEqual({ ok: false, error: ERR_UNTERMINATED });
  });

  it('treats a lone @ as text', () => {
    expect(readMentions('@ hi')).toEqual({ ok: true, mentions: [], body: '@ hi' });
  });

  it('finds no mention in plain text or a mid-text @', () => {
    expect(readMentions('hello @alice')).toEqual({ ok: true, mentions: [], body: 'hello @alice' });
  });

  it('reads unicode and punctuation as part of a bare word', () => {
    const r = readMentions('@太郎 こんにちは');
    expect(r.ok && r.mentions[0].name).toBe('太郎');
    expect(r.ok && r.body).toBe('こんにちは');
    const p = readMentions('@alice, hi');
    expect(p.ok && p.mentions[0].name).toBe('alice,');
  });

  it('handles a mention alone', () => {
    expect(readMentions('@alice')).toEqual({
      ok: true,
      mentions: [{ name: 'alice', quoted: false, raw: '@alice' }],
      body: '',
    });
  });
});

describe('resolveMention', () => {
  const r = (name: string, quoted = false) => resolveMention({ name, quoted }, fleet);

  it('matches by slug, case-insensitively', () => {
    expect(r('alice')).toMatchObject({ ok: true, agent: { agent_id: 12 } });
    expect(r('ALICE')).toMatchObject({ ok: true, agent: { agent_id: 12 } });
    expect(r('bob-smith')).toMatchObject({ ok: true, agent: { agent_id: 8 } });
    expect(r('Bob_Smith')).toMatchObject({ ok: true, agent: { agent_id: 8 } });
  });

  it('addresses names with underscores (defect 15)', () => {
    expect(r('code_reviewer')).toMatchObject({ ok: true, agent: { agent_id: 20 } });
    expect(r('code-reviewer')).toMatchObject({ ok: true, agent: { agent_id: 20 } });
  });

  it('addresses unicode names', () => {
    expect(r('太郎')).toMatchObject({ ok: true, agent: { agent_id: 21 } });
    expect(r('zoë')).toMatchObject({ ok: true, agent: { agent_id: 22 } });
    expect(r('ZOË')).toMatchObject({ ok: true, agent: { agent_id: 22 } });
  });

  it('addresses quoted exact names', () => {
    expect(r('Bob Smith', true)).toMatchObject({ ok: true, agent: { agent_id: 8 } });
    expect(r('Evil`x`$(id)\ttab', true)).toMatchObject({ ok: true, agent: { agent_id: 23 } });
    expect(r('bob smith', true)).toMatchObject({ ok: true, agent: { agent_id: 8 } });
  });

  it('addresses by #id (bare only)', () => {
    expect(r('#12')).toMatchObject({ ok: true, agent: { agent_id: 12 } });
    expect(r('#999')).toEqual({ ok: false, reason: 'unknown' });
    expect(r('#12', true)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('skips deregistered agents', () => {
    expect(r('carol')).toEqual({ ok: false, reason: 'unknown' });
    expect(r('#10')).toEqual({ ok: false, reason: 'unknown' });
  });

  it('can address the Administrator', () => {
    expect(r('administrator')).toMatchObject({ ok: true, agent: { agent_id: 2 } });
  });

  it('prefers an exact name over a slug collision', () => {
    const a = agent('Bob Smith', { agent_id: 30 });
    const b = agent('bob_smith', { agent_id: 31 });
    const both = [a, b];
    expect(resolveMention({ name: 'bob_smith', quoted: false }, both)).toMatchObject({
      ok: true,
      agent: { agent_id: 31 },
    });
    expect(resolveMention({ name: 'Bob Smith', quoted: true }, both)).toMatchObject({
      ok: true,
      agent: { agent_id: 30 },
    });
    const amb = resolveMention({ name: 'bob-smith', quoted: false }, both);
    expect(amb.ok).toBe(false);
    expect(!amb.ok && amb.reason).toBe('ambiguous');
  });

  it('reports two agents with the same name as ambiguous', () => {
    const twins = [agent('Twin', { agent_id: 40 }), agent('Twin', { agent_id: 41 })];
    const res = resolveMention({ name: 'Twin', quoted: true }, twins);
    expect(res).toMatchObject({ ok: false, reason: 'ambiguous' });
    expect(resolveMention({ name: '#41', quoted: false }, twins)).toMatchObject({
      ok: true,
      agent: { agent_id: 41 },
    });
  });

  it('does not match an empty slug', () => {
    expect(resolveMention({ name: '!!!', quoted: false }, [agent('???', { agent_id: 50 })])).toEqual({
      ok: false,
      reason: 'unknown',
    });
    expect(resolveMention({ name: '???', quoted: true }, [agent('???', { agent_id: 50 })])).toMatchObject({
      ok: true,
    });
  });
});

describe('parseMessage', () => {
  const p = (t: string) => parseMessage(t, fleet);

  it('sends a unicast to the resolved agent', () => {
    expect(p('@alice please review')).toMatchObject({
      ok: true,
      kind: 'unicast',
      to: 12,
      body: 'please review',
    });
  });

  it('keeps inner newlines in the body', () => {
    expect(p('@bob-smith line1\nline2\n\n')).toMatchObject({ ok: true, to: 8, body: 'line1\nline2' });
  });

  it('broadcasts with @all in any case', () => {
    expect(p('@all standup in 5')).toEqual({ ok: true, kind: 'broadcast', to: '*', body: 'standup in 5' });
    expect(p('@ALL standup')).toMatchObject({ ok: true, kind: 'broadcast' });
  });

  it('addresses an agent named "all" only when quoted', () => {
    const withAll = [...fleet, agent('all', { agent_id: 60 })];
    expect(parseMessage('@"all" hi', withAll)).toMatchObject({ ok: true, kind: 'unicast', to: 60 });
    expect(parseMessage('@all hi', withAll)).toMatchObject({ ok: true, kind: 'broadcast' });
  });

  it('requires a mention', () => {
    expect(p('hello')).toEqual({ ok: false, error: ERR_NO_MENTION });
    expect(p('')).toEqual({ ok: false, error: ERR_NO_MENTION });
    expect(p('   ')).toEqual({ ok: false, error: ERR_NO_MENTION });
    expect(p('@ hi')).toEqual({ ok: false, error: ERR_NO_MENTION });
  });

  it('refuses @all combined with other mentions', () => {
    expect(p('@all @alice hi')).toEqual({ ok: false, error: ERR_ALL_COMBINED });
    expect(p('@alice @all hi')).toEqual({ ok: false, error: ERR_ALL_COMBINED });
  });

  it('refuses an empty body', () => {
    expect(p('@all')).toEqual({ ok: false, error: ERR_EMPTY });
    expect(p('@all   \n ')).toEqual({ ok: false, error: ERR_EMPTY });
    expect(p('@alice')).toEqual({ ok: false, error: ERR_EMPTY });
    expect(p('@"Bob Smith"  ')).toEqual({ ok: false, error: ERR_EMPTY });
  });

  it('refuses several recipients', () => {
    expect(p('@alice @bob-smith hi')).toEqual({ ok: false, error: ERR_MULTI });
  });

  it('reports an unknown agent with the mention as typed', () => {
    expect(p('@nobody hi')).toEqual({ ok: false, error: "No active agent named '@nobody'" });
    expect(p('@carol hi')).toEqual({ ok: false, error: "No active agent named '@carol'" });
    expect(p('@"No Body" hi')).toEqual({ ok: false, error: `No active agent named '@"No Body"'` });
  });

  it('reports the unknown agent before an empty body', () => {
    expect(p('@nobody')).toEqual({ ok: false, error: "No active agent named '@nobody'" });
  });

  it('reports ambiguity with the candidates', () => {
    const both = [agent('Bob Smith', { agent_id: 30 }), agent('bob.smith', { agent_id: 31 })];
    const r = parseMessage('@bob-smith hi', both);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain("Ambiguous mention '@bob-smith'");
    expect(!r.ok && r.error).toContain('#30');
    expect(!r.ok && r.error).toContain('#31');
  });

  it('reports an unterminated quote', () => {
    expect(p('@"Bob Smith hi')).toEqual({ ok: false, error: ERR_UNTERMINATED });
  });

  it('addresses quoted, underscore, unicode and id mentions', () => {
    expect(p('@"Bob Smith" hi')).toMatchObject({ ok: true, to: 8, body: 'hi' });
    expect(p('@code_reviewer look')).toMatchObject({ ok: true, to: 20 });
    expect(p('@太郎 やあ')).toMatchObject({ ok: true, to: 21, body: 'やあ' });
    expect(p('@#11 wake up')).toMatchObject({ ok: true, to: 11 });
    expect(p('@evil-x-id-tab hi')).toMatchObject({ ok: true, to: 23 });
  });

  it('keeps HTML-looking text verbatim', () => {
    expect(p('@alice <img src=x onerror=alert(1)> <b>x</b>')).toMatchObject({
      body: '<img src=x onerror=alert(1)> <b>x</b>',
    });
  });

  it('keeps later @words in the body', () => {
    expect(p('@alice ask @bob-smith about it')).toMatchObject({ to: 12, body: 'ask @bob-smith about it' });
  });
});

describe('mentionToken', () => {
  it('uses the slug when it is unique', () => {
    expect(mentionToken(alice, fleet)).toBe('alice');
    expect(mentionToken(bob, fleet)).toBe('bob-smith');
    expect(mentionToken(underscore, fleet)).toBe('code-reviewer');
    expect(mentionToken(taro, fleet)).toBe('太郎');
  });

  it('quotes the name when the slug collides', () => {
    const a = agent('Bob Smith', { agent_id: 30 });
    const b = agent('bob_smith', { agent_id: 31 });
    expect(mentionToken(a, [a, b])).toBe('"Bob Smith"');
    expect(mentionToken(b, [a, b])).toBe('"bob_smith"');
  });

  it('quotes a name whose slug is "all" or empty, escaping quotes', () => {
    const all = agent('All', { agent_id: 61 });
    expect(mentionToken(all, [all])).toBe('"All"');
    const q = agent('"?"', { agent_id: 62 });
    expect(mentionToken(q, [q])).toBe('"\\"?\\""');
    expect(parseMessage(`@${mentionToken(q, [q])} hi`, [q])).toMatchObject({ ok: true, to: 62 });
  });

  it('falls back to #id for duplicate names', () => {
    const twins = [agent('Twin', { agent_id: 40 }), agent('Twin', { agent_id: 41 })];
    expect(mentionToken(twins[1], twins)).toBe('#41');
  });

  it('always produces a token that parses back to the same agent', () => {
    const crowd = [
      ...fleet,
      agent('Bob Smith', { agent_id: 70 }),
      agent('bob smith', { agent_id: 71 }),
      agent('x', { agent_id: 72 }),
      agent('X', { agent_id: 73 }),
      agent('all', { agent_id: 74 }),
      agent('#12', { agent_id: 75 }),
      agent('"', { agent_id: 76 }),
      agent('a\\b', { agent_id: 77 }),
    ];
    for (const a of crowd.filter((x) => x.status === 'active')) {
      const r = parseMessage(`@${mentionToken(a, crowd)} hello`, crowd);
      expect(r, a.name).toMatchObject({ ok: true, kind: 'unicast', to: a.agent_id });
    }
  });
});

describe('activeMention', () => {
  it('finds @partial at the caret', () => {
    expect(activeMention('@al', 3)).toEqual({ start: 0, end: 3, partial: 'al', quoted: false });
    expect(activeMention('@', 1)).toEqual({ start: 0, end: 1, partial: '', quoted: false });
    expect(activeMention('hi @bo', 6)).toEqual({ start: 3, end: 6, partial: 'bo', quoted: false });
  });

  it('extends the end over the rest of the word', () => {
    expect(activeMention('@alice hi', 3)).toEqual({ start: 0, end: 6, partial: 'al', quoted: false });
  });

  it('needs the @ at the start or after whitespace', () => {
    expect(activeMention('mail@al', 7)).toBeNull();
    expect(activeMention('x\n@al', 5)).toMatchObject({ start: 2, partial: 'al' });
  });

  it('closes after whitespace', () => {
    expect(activeMention('@alice ', 7)).toBeNull();
    expect(activeMention('@alice hello', 12)).toBeNull();
  });

  it('follows an open quote across spaces', () => {
    expect(activeMention('@"Bob Sm', 8)).toEqual({ start: 0, end: 8, partial: 'Bob Sm', quoted: true });
    expect(activeMention('@"Bob Smith" hi', 15)).toBeNull();
    expect(activeMention('@"Bo', 4)).toMatchObject({ end: 4, quoted: true });
    expect(activeMention('@"Bo"', 4)).toMatchObject({ end: 5, quoted: true });
  });

  it('accepts unicode partials and underscores', () => {
    expect(activeMention('@太', 2)).toMatchObject({ partial: '太' });
    expect(activeMention('@code_r', 7)).toMatchObject({ partial: 'code_r' });
  });

  it('returns null without an @', () => {
    expect(activeMention('hello', 5)).toBeNull();
    expect(activeMention('', 0)).toBeNull();
  });
});

describe('suggestions', () => {
  it('lists all and the active non-Administrator agents by name for an empty partial', () => {
    const s = suggestions('', false, [director, admin, alice, bob, carol, watcher]);
    expect(s.map((x) => x.token)).toEqual(['all', 'alice', 'bob-smith', 'director', 'watcher']);
  });

  it('caps the list', () => {
    expect(suggestions('', false, fleet)).toHaveLength(6);
    expect(suggestions('', false, fleet, 3)).toHaveLength(3);
  });

  it('filters by prefix of slug or name', () => {
    expect(suggestions('a', false, fleet).map((x) => x.token)).toEqual(['all', 'administrator', 'alice']);
    expect(suggestions('bob_', false, fleet).map((x) => x.token)).toEqual(['bob-smith']);
    expect(suggestions('code_', false, fleet).map((x) => x.token)).toEqual(['code-reviewer']);
    expect(suggestions('太', false, fleet).map((x) => x.token)).toEqual(['太郎']);
    expect(suggestions('zo', false, fleet).map((x) => x.token)).toEqual(['zoë']);
  });

  it('offers the Administrator only once something was typed', () => {
    expect(suggestions('', false, fleet).some((x) => x.agent?.agent_id === 2)).toBe(false);
    expect(suggestions('adm', false, fleet).map((x) => x.agent?.agent_id)).toEqual([2]);
  });

  it('omits all when it does not fit or inside quotes', () => {
    expect(suggestions('b', false, fleet).some((x) => x.kind === 'all')).toBe(false);
    expect(suggestions('', true, fleet).some((x) => x.kind === 'all')).toBe(false);
  });

  it('matches quoted partials with spaces', () => {
    expect(suggestions('Bob S', true, fleet).map((x) => x.agent?.agent_id)).toEqual([8]);
  });

  it('matches #id prefixes', () => {
    expect(suggestions('#1', false, fleet).map((x) => x.agent?.agent_id)).toEqual(
      expect.arrayContaining([1, 11, 12]),
    );
  });

  it('never suggests deregistered agents', () => {
    expect(suggestions('car', false, fleet)).toEqual([]);
  });
});

describe('applySuggestion', () => {
  it('replaces the partial with the token and a space', () => {
    const m = activeMention('@al', 3)!;
    expect(applySuggestion('@al', m, 'alice')).toEqual({ text: '@alice ', caret: 7 });
  });

  it('inserts @all on a bare @', () => {
    expect(applySuggestion('@', activeMention('@', 1)!, 'all')).toEqual({ text: '@all ', caret: 5 });
  });

  it('replaces the rest of the word and does not double the space', () => {
    const text = '@alxyz hello';
    const m = activeMention(text, 3)!;
    expect(applySuggestion(text, m, 'alice')).toEqual({ text: '@alice hello', caret: 7 });
  });

  it('replaces an open quoted mention', () => {
    const text = '@"Bob Sm';
    expect(applySuggestion(text, activeMention(text, 8)!, 'bob-smith')).toEqual({
      text: '@bob-smith ',
      caret: 11,
    });
  });

  it('works in the middle of the text', () => {
    const text = 'x @b y';
    const m = activeMention(text, 4)!;
    expect(applySuggestion(text, m, 'bob-smith')).toEqual({ text: 'x @bob-smith y', caret: 13 });
  });
});

describe('isAdministrator', () => {
  it('recognises the kind or the role', () => {
    expect(isAdministrator(admin)).toBe(true);
    expect(isAdministrator({ kind: 'user', role: 'administrator' })).toBe(true);
    expect(isAdministrator(alice)).toBe(false);
  });
});
