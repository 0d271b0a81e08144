// Property-based fuzzing of the message-input parser (mention.ts) with fast-check.
//
// The contract (webui.md "Parsing on submit", as our parser extends it: quoted names,
// `@#<id>`, unicode slugs, the Administrator addressable by name): parsing never throws;
// every error is one of the documented texts; a result only ever names an *active* agent of
// the list, matched by id, exact name, case-folded name or slug; `@all` is a broadcast on
// its own; the body is trimmed, non-empty and never starts with a mention; and every active
// agent can be addressed by the token the autocomplete inserts for it.
//
// Runs 1,500 cases per property by default (a few seconds); `FUZZ_RUNS=100000 npm test --
// mention.fuzz` runs longer, `FUZZ_SEED=<n>` replays a reported failure.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ERR_ALL_COMBINED,
  ERR_EMPTY,
  ERR_MULTI,
  ERR_NO_MENTION,
  ERR_UNTERMINATED,
  activeMention,
  applySuggestion,
  mentionToken,
  parseMessage,
  readMentions,
  slug,
  suggestions,
} from './mention';
import { agent, malformed } from './fixtures.test-helpers';
import type { Agent } from './types';

// The app's tsconfig has no Node types: reach the environment through globalThis.
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const RUNS = Number(env.FUZZ_RUNS ?? 1500);
const SEED = env.FUZZ_SEED === undefined ? undefined : Number(env.FUZZ_SEED);
const params = { numRuns: RUNS, seed: SEED };
/** Vitest's per-test limit, scaled with the number of runs (the machine may be loaded). */
const TIMEOUT = Math.max(60_000, RUNS * 10);

const FIXED_ERRORS = [ERR_NO_MENTION, ERR_ALL_COMBINED, ERR_MULTI, ERR_EMPTY, ERR_UNTERMINATED];

/** Characters that matter to the parser or are hostile elsewhere (controls, bidi, zero-width). */
const SPICY = [
  '@', '"', '\\', '#', ' ', '\t', '\n', '\r', '\u00a0', '\u2028', '\u3000', '-', '_', '.',
  '\u0000', '\u001b', '\u007f', '\u009b', '\u200b', '\u200d', '\u202e', '\u2066', '\ufeff',
  '\ud800', '\udfff', '<', '>', '&', '`', '$(', "'", 'all', 'ALL', 'Äll', 'ß', 'İ', 'Ｆ', 'é',
  'e\u0301', '太郎', '😀', '👨‍👩‍👧',
];

/** Strings biased towards the parser's syntax: spicy fragments mixed with arbitrary text. */
const fragment = fc.oneof(
  fc.constantFrom(...SPICY),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
);
const hostileString = fc.array(fragment, { maxLength: 12 }).map((parts) => parts.join(''));

const NAMES = ['alice', 'Alice', 'ALICE', 'bob', 'Bob Smith', 'bob_smith', 'bob-smith', 'all',
  'Administrator', 'Director', '', ' ', 'x"y', 'back\\slash', '#12', '@bob', 'Zoë', 'ZOË', '太郎',
  'Evil`x`$(id)\ttab', '<script>alert(1)</script>', 'line\nbreak', '\u202eevil', 'a\u200bb'];

const agentName = fc.oneof(fc.constantFrom(...NAMES), hostileString);

/** A fleet of 0..8 agents with distinct ids; any mix of statuses, kinds and roles. */
const fleet = fc
  .uniqueArray(
    fc.record({
      agent_id: fc.integer({ min: 1, max: 60 }),
      name: agentName,
      status: fc.constantFrom('active', 'active', 'active', 'deregistered', 'weird'),
      admin: fc.boolean(),
    }),
    { maxLength: 8, selector: (a) => a.agent_id },
  )
  .map((rows) =>
    rows.map(
      (r): Agent =>
        agent({
          agent_id: r.agent_id,
          name: r.name,
          // 'weird' is no AgentStatus: the parser must treat it as not active.
          status: r.status === 'weird' ? malformed(r.status) : r.status,
          kind: r.admin ? 'builtin-administrator' : 'user',
          role: r.admin ? 'administrator' : 'member',
        }),
    ),
  );

/** Message inputs: mostly a run of mentions (names and slugs of the fleet's agents) and a body. */
function messageFor(agents: Agent[]): fc.Arbitrary<string> {
  const known = agents.flatMap((a) => [a.name, slug(a.name), `#${a.agent_id}`, `"${a.name}"`]);
  const word = known.length > 0 ? fc.oneof(fc.constantFrom(...known), hostileString) : hostileString;
  const mention = fc.tuple(fc.constantFrom('@', '@', ' @', '\n@', '@"'), word, fc.constantFrom(' ', '', '\t', '"'))
    .map(([a, w, b]) => a + w + b);
  return fc.oneof(
    hostileString,
    fc.tuple(fc.array(mention, { maxLength: 3 }), hostileString).map(([ms, body]) => ms.join('') + body),
  );
}

const fleetAndText = fleet.chain((agents) => fc.tuple(fc.constant(agents), messageFor(agents)));

/** The fold of mention.ts (NFKC, lower case), restated so the test does not trust it. */
function fold(s: string): string {
  return s.normalize('NFKC').toLowerCase();
}

describe('parseMessage under fuzzing', () => {
  it('never throws and returns only documented errors or a well-formed request', () => {
    fc.assert(
      fc.property(fleetAndText, ([agents, text]) => {
        const r = parseMessage(text, agents);
        if (!r.ok) {
          const ok =
            FIXED_ERRORS.includes(r.error) ||
            /^No active agent named '@.*'$/su.test(r.error) ||
            /^Ambiguous mention '@.*': it matches .+; use the full name in quotes or @#<id>$/su.test(r.error);
          expect(ok, `unexpected error text ${JSON.stringify(r.error)}`).toBe(true);
          return;
        }
        // The body: trimmed, non-empty, a suffix of the input, never itself a mention.
        expect(r.body).toBe(r.body.trim());
        expect(r.body).not.toBe('');
        expect(text.trimEnd().endsWith(r.body)).toBe(true);
        expect(r.body).not.toMatch(/^@\S/u);
        const read = readMentions(text);
        expect(read.ok).toBe(true);
        if (!read.ok) return;
        expect(read.body).toBe(r.body);
        // Everything before the body is exactly the mentions as typed, separated by whitespace.
        const head = text.slice(0, text.trimEnd().length - r.body.length);
        expect(head.replace(/\s+/gu, '')).toBe(read.mentions.map((m) => m.raw).join('').replace(/\s+/gu, ''));
        if (r.kind === 'broadcast') {
          expect(r.to).toBe('*');
          expect(read.mentions).toHaveLength(1);
          expect(read.mentions[0].quoted).toBe(false);
          expect(read.mentions[0].name.toLowerCase()).toBe('all');
          return;
        }
        // A unicast names one active agent of the list, by id, name, folded name or slug.
        expect(read.mentions).toHaveLength(1);
        const m = read.mentions[0];
        const target = agents.find((a) => a.agent_id === r.to);
        expect(target).toBeDefined();
        expect(r.agent).toBe(target);
        expect(target?.status).toBe('active');
        const a = target as Agent;
        const byId = !m.quoted && m.name === `#${a.agent_id}`;
        const bySlug = slug(m.name) !== '' && slug(m.name) === slug(a.name);
        expect(byId || a.name === m.name || fold(a.name) === fold(m.name) || bySlug).toBe(true);
      }),
      params,
    );
  }, TIMEOUT);

  it('does not depend on the order of the agent list', () => {
    fc.assert(
      fc.property(fleetAndText, fc.integer(), ([agents, text], seed) => {
        const shuffled = [...agents];
        let s = seed | 1;
        for (let i = shuffled.length - 1; i > 0; i--) {
          s ^= s << 13;
          s ^= s >>> 17;
          s ^= s << 5;
          const j = Math.abs(s) % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
        }
        const a = parseMessage(text, agents);
        const b = parseMessage(text, shuffled);
        if (!a.ok && a.error.startsWith('Ambiguous mention')) {
          // The same ambiguity; the listed matches may come in another order.
          expect(!b.ok && b.error.startsWith(a.error.slice(0, a.error.indexOf(': it matches')))).toBe(true);
        } else {
          expect(b).toEqual(a);
        }
      }),
      params,
    );
  }, TIMEOUT);

  it('never resolves an inactive agent, nor one missing from the list', () => {
    fc.assert(
      fc.property(fleetAndText, ([agents, text]) => {
        const active = agents.filter((a) => a.status === 'active');
        const r = parseMessage(text, agents);
        if (r.ok && r.kind === 'unicast') {
          expect(active.map((a) => a.agent_id)).toContain(r.to);
        }
        // With only inactive agents nothing can be a unicast.
        const r2 = parseMessage(text, agents.filter((a) => a.status !== 'active'));
        expect(r2.ok && r2.kind === 'unicast').toBe(false);
      }),
      params,
    );
  }, TIMEOUT);

  it('reads @all (any case, unquoted) as a broadcast that takes no other mention', () => {
    fc.assert(
      fc.property(
        fleet,
        fc.constantFrom('all', 'ALL', 'All', 'aLl'),
        hostileString,
        fc.option(fc.constantFrom('alice', 'bob', '#1', '"x"', 'all'), { nil: undefined }),
        (agents, all, body, other) => {
          const text = other === undefined ? `@${all} ${body}` : `@${all} @${other} ${body}`;
          const r = parseMessage(text, agents);
          const read = readMentions(text);
          if (!read.ok) {
            expect(r).toEqual({ ok: false, error: ERR_UNTERMINATED });
          } else if (read.mentions.length > 1) {
            expect(r).toEqual({ ok: false, error: ERR_ALL_COMBINED });
          } else if (read.body === '') {
            expect(r).toEqual({ ok: false, error: ERR_EMPTY });
          } else {
            expect(r).toEqual({ ok: true, kind: 'broadcast', to: '*', body: read.body });
          }
        },
      ),
      params,
    );
  }, TIMEOUT);

  it('addresses every active agent with the token autocomplete inserts for it', () => {
    fc.assert(
      fc.property(fleet, hostileString, (agents, body) => {
        const visible = body.trim() === '' || /^@\S/u.test(body.trim()) ? 'hello' : body;
        for (const a of agents.filter((x) => x.status === 'active')) {
          const token = mentionToken(a, agents);
          const r = parseMessage(`@${token} ${visible}`, agents);
          expect(r, `@${token} for ${JSON.stringify(a.name)} (#${a.agent_id})`).toEqual({
            ok: true,
            kind: 'unicast',
            to: a.agent_id,
            agent: a,
            body: visible.trim(),
          });
        }
      }),
      params,
    );
  }, TIMEOUT);
});

describe('autocomplete under fuzzing', () => {
  it('never throws, stays in bounds, suggests only active agents, and inserts "@<token> "', () => {
    fc.assert(
      fc.property(fleetAndText, fc.nat(), fc.boolean(), ([agents, text], at, quoted) => {
        const caret = text.length === 0 ? 0 : at % (text.length + 1);
        const m = activeMention(text, caret);
        if (m !== null) {
          expect(m.start).toBeGreaterThanOrEqual(0);
          expect(m.start).toBeLessThan(caret);
          expect(m.end).toBeGreaterThanOrEqual(caret);
          expect(m.end).toBeLessThanOrEqual(text.length);
          expect(text[m.start]).toBe('@');
        }
        const partial = m?.partial ?? text.slice(0, 8);
        const list = suggestions(partial, m?.quoted ?? quoted, agents);
        expect(list.length).toBeLessThanOrEqual(6);
        for (const s of list) {
          if (s.kind === 'all') {
            expect(s.token).toBe('all');
          } else {
            expect(s.agent?.status).toBe('active');
            expect(agents).toContain(s.agent);
          }
        }
        if (m !== null && list.length > 0) {
          const applied = applySuggestion(text, m, list[0].token);
          expect(applied.text.slice(m.start, applied.caret)).toBe(`@${list[0].token} `);
          expect(applied.text.startsWith(text.slice(0, m.start))).toBe(true);
        }
      }),
      params,
    );
  }, TIMEOUT);
});
