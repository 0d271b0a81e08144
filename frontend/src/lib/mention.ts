// Parsing of the message input: `@<agent> text`, `@all text`, quoted names
// (`@"Bob Smith" hi`), id mentions (`@#12 hi`), and the autocomplete helpers.
//
// Pure functions, no DOM: unit-tested in mention.test.ts.

import type { Agent } from './types';

export const ADMIN_KIND = 'builtin-administrator';

export const ERR_NO_MENTION = 'Start the message with @<agent> or @all';
export const ERR_ALL_COMBINED = '@all cannot be combined with other mentions';
export const ERR_MULTI = 'Multi-recipient unicast is not supported; use @all for broadcast';
export const ERR_EMPTY = 'Message body is empty';
export const ERR_UNTERMINATED = 'Unterminated quote in mention: close the name with "';

/** True for the fleet's built-in Administrator. */
export function isAdministrator(a: Pick<Agent, 'kind' | 'role'>): boolean {
  return a.kind === ADMIN_KIND || a.role === 'administrator';
}

/** True for an agent that can receive messages. */
export function isActive(a: Pick<Agent, 'status'>): boolean {
  return a.status === 'active';
}

const WS = /\s/u;
function isWs(ch: string | undefined): boolean {
  return ch !== undefined && WS.test(ch);
}

function fold(s: string): string {
  return s.normalize('NFKC').toLowerCase();
}

/**
 * The mention form of a name: lower-cased, every run of characters that are not letters,
 * digits or combining marks (in any script) replaced by one `-`, no leading/trailing `-`.
 * `Bob Smith` → `bob-smith`, `bob_smith` → `bob-smith`, `Zoë` → `zoë`, `太郎` → `太郎`.
 */
export function slug(name: string): string {
  return fold(name)
    .replace(/[^\p{L}\p{N}\p{M}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
}

/** One leading mention as typed. */
export interface MentionToken {
  /** The name inside the quotes, or the bare word after `@`. */
  name: string;
  quoted: boolean;
  /** Text as typed, `@` included (for error messages). */
  raw: string;
}

export type ReadResult =
  | { ok: true; mentions: MentionToken[]; body: string }
  | { ok: false; error: string };

/**
 * Splits the leading mentions off a message. A mention is `@` followed by a bare word (any
 * run of non-whitespace characters) or by a double-quoted name (`\"` and `\\` escape).
 * The rest, trimmed at both ends (inner newlines kept), is the body.
 */
export function readMentions(text: string): ReadResult {
  const mentions: MentionToken[] = [];
  let i = skipWs(text, 0);
  while (text[i] === '@') {
    if (text[i + 1] === '"') {
      let j = i + 2;
      let name = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && (text[j + 1] === '"' || text[j + 1] === '\\')) {
          name += text[j + 1];
          j += 2;
          continue;
        }
        name += text[j];
        j++;
      }
      if (j >= text.length) return { ok: false, error: ERR_UNTERMINATED };
      mentions.push({ name, quoted: true, raw: text.slice(i, j + 1) });
      i = skipWs(text, j + 1);
    } else {
      let j = i + 1;
      while (j < text.length && !isWs(text[j])) j++;
      const word = text.slice(i + 1, j);
      if (word === '') break; // a lone `@` is text, not a mention
      mentions.push({ name: word, quoted: false, raw: text.slice(i, j) });
      i = skipWs(text, j);
    }
  }
  return { ok: true, mentions, body: text.slice(i).trim() };
}

function skipWs(text: string, i: number): number {
  while (i < text.length && isWs(text[i])) i++;
  return i;
}

export type Resolution =
  | { ok: true; agent: Agent }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'ambiguous'; matches: Agent[] };

/**
 * Finds the active agent a mention names. Tried in order, the first tier with any match
 * decides (one match: that agent; more: ambiguous):
 * `#<id>` (bare only), the exact name, the name ignoring case, the slug.
 * The Administrator is addressable too (a self-send).
 */
export function resolveMention(m: Pick<MentionToken, 'name' | 'quoted'>, agents: Agent[]): Resolution {
  const active = agents.filter(isActive);
  const tiers: ((a: Agent) => boolean)[] = [];
  const idMatch = /^#(\d+)$/.exec(m.name);
  if (!m.quoted && idMatch) {
    const id = Number(idMatch[1]);
    tiers.push((a) => a.agent_id === id);
  }
  const folded = fold(m.name);
  const s = slug(m.name);
  tiers.push((a) => a.name === m.name);
  tiers.push((a) => fold(a.name) === folded);
  if (s !== '') tiers.push((a) => slug(a.name) === s);
  for (const tier of tiers) {
    const matches = active.filter(tier);
    if (matches.length === 1) return { ok: true, agent: matches[0] };
    if (matches.length > 1) return { ok: false, reason: 'ambiguous', matches };
  }
  return { ok: false, reason: 'unknown' };
}

export type ParseResult =
  | { ok: true; kind: 'broadcast'; to: '*'; body: string }
  | { ok: true; kind: 'unicast'; to: number; agent: Agent; body: string }
  | { ok: false; error: string };

function isAllMention(m: MentionToken): boolean {
  return !m.quoted && m.name.toLowerCase() === 'all';
}

/** Decides what the input asks for: a broadcast, a unicast to one agent, or an error. */
export function parseMessage(text: string, agents: Agent[]): ParseResult {
  const read = readMentions(text);
  if (!read.ok) return read;
  const { mentions, body } = read;
  if (mentions.length === 0) return { ok: false, error: ERR_NO_MENTION };
  if (mentions.some(isAllMention)) {
    if (mentions.length > 1) return { ok: false, error: ERR_ALL_COMBINED };
    if (body === '') return { ok: false, error: ERR_EMPTY };
    return { ok: true, kind: 'broadcast', to: '*', body };
  }
  if (mentions.length > 1) return { ok: false, error: ERR_MULTI };
  const m = mentions[0];
  const r = resolveMention(m, agents);
  if (!r.ok) {
    if (r.reason === 'unknown') return { ok: false, error: `No active agent named '${m.raw}'` };
    const names = r.matches.map((a) => `${a.name} (#${a.agent_id})`).join(', ');
    return {
      ok: false,
      error: `Ambiguous mention '${m.raw}': it matches ${names}; use the full name in quotes or @#<id>`,
    };
  }
  if (body === '') return { ok: false, error: ERR_EMPTY };
  return { ok: true, kind: 'unicast', to: r.agent.agent_id, agent: r.agent, body };
}

function quote(name: string): string {
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function resolvesTo(token: string, agent: Agent, agents: Agent[]): boolean {
  const read = readMentions(`@${token} x`);
  if (!read.ok || read.mentions.length !== 1) return false;
  const m = read.mentions[0];
  if (isAllMention(m)) return false;
  const r = resolveMention(m, agents);
  return r.ok && r.agent.agent_id === agent.agent_id;
}

/**
 * The shortest mention (without `@`) that addresses exactly this agent: its slug when that
 * is unique, else its quoted name, else `#<id>`.
 */
export function mentionToken(agent: Agent, agents: Agent[]): string {
  const s = slug(agent.name);
  if (s !== '' && resolvesTo(s, agent, agents)) return s;
  const q = quote(agent.name);
  if (agent.name !== '' && resolvesTo(q, agent, agents)) return q;
  return `#${agent.agent_id}`;
}

/** The `@…` being typed at the caret, if any. */
export interface ActiveMention {
  /** Index of the `@`. */
  start: number;
  /** End of the mention text to replace (past the caret over the rest of the word). */
  end: number;
  /** What was typed between `@` (and the opening quote) and the caret. */
  partial: string;
  quoted: boolean;
}

/**
 * The mention being typed when the caret sits right after `@<partial>` (the `@` at the
 * start or after whitespace) or inside an unclosed `@"<partial>`.
 */
export function activeMention(text: string, caret: number): ActiveMention | null {
  for (let at = caret - 1; at >= 0; at--) {
    if (text[at] !== '@' || (at > 0 && !isWs(text[at - 1]))) continue;
    if (text[at + 1] === '"' && caret >= at + 2) {
      const partial = text.slice(at + 2, caret);
      if (partial.includes('"') || partial.includes('\n')) return null;
      let end = caret;
      while (end < text.length && text[end] !== '"' && !isWs(text[end])) end++;
      if (text[end] === '"') end++;
      return { start: at, end, partial, quoted: true };
    }
    const partial = text.slice(at + 1, caret);
    if (/\s/u.test(partial) || partial.startsWith('"')) return null;
    let end = caret;
    while (end < text.length && !isWs(text[end])) end++;
    return { start: at, end, partial, quoted: false };
  }
  return null;
}

export interface Suggestion {
  kind: 'all' | 'agent';
  /** Inserted after `@`. */
  token: string;
  agent?: Agent;
}

/**
 * Autocomplete entries for a partial mention (max `limit`): `all` first when it fits, then
 * active agents whose slug, name or `#id` starts with the partial, by name. The
 * Administrator is offered only once something was typed.
 */
export function suggestions(
  partial: string,
  quoted: boolean,
  agents: Agent[],
  limit = 6,
): Suggestion[] {
  const p = fold(partial);
  const ps = slug(partial);
  const out: Suggestion[] = [];
  if (!quoted && 'all'.startsWith(p)) out.push({ kind: 'all', token: 'all' });
  const matching = agents
    .filter(isActive)
    .filter((a) => p !== '' || !isAdministrator(a))
    .filter((a) => {
      if (p === '') return true;
      if (fold(a.name).startsWith(p)) return true;
      if (ps !== '' && slug(a.name).startsWith(ps)) return true;
      return !quoted && p.startsWith('#') && p.length > 1 && String(a.agent_id).startsWith(p.slice(1));
    })
    .sort((a, b) => a.name.localeCompare(b.name) || a.agent_id - b.agent_id);
  for (const a of matching) {
    out.push({ kind: 'agent', token: mentionToken(a, agents), agent: a });
  }
  return out.slice(0, limit);
}

/**
 * Replaces the mention being typed with `@<token> ` and returns the new text and caret
 * (after the inserted space).
 */
export function applySuggestion(
  text: string,
  m: Pick<ActiveMention, 'start' | 'end'>,
  token: string,
): { text: string; caret: number } {
  const inserted = `@${token} `;
  let rest = text.slice(m.end);
  if (rest.startsWith(' ')) rest = rest.slice(1);
  return { text: text.slice(0, m.start) + inserted + rest, caret: m.start + inserted.length };
}
