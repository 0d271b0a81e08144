// One agent's Inbox or Sent list in the detail panel: the newest page from the server, older
// pages on demand (`?before=<oldest task id>`, like the timeline), and the changes the event
// stream pushes merged in without refetching (defect 11: 0.14 fetched the whole unbounded
// list on every refresh).

import { untrack } from 'svelte';
import { api, messageOf } from './api';
import { Scrollback } from './scrollback.svelte';
import { mergeMessages } from './timeline';
import type { Message } from './types';

/** One inbox or sent page: the server's page size, generated from its Rust code. */
export { PAGE as MAIL_PAGE } from './wire';
import { PAGE as MAIL_PAGE } from './wire';

export type MailKind = 'inbox' | 'sent';

/** Whether a message belongs in `agentId`'s inbox (addressed to it) or sent list (from it). */
export function belongsTo(m: Message, agentId: number, kind: MailKind): boolean {
  return kind === 'inbox' ? m.to_agent_id === agentId : m.from_agent_id === agentId;
}

export class Mailbox {
  readonly agentId: number;
  readonly kind: MailKind;
  /** Loaded messages in API order (newest state change first); null before the first load. */
  messages = $state.raw<Message[] | null>(null);
  /** Why the last refresh failed (null when it succeeded). */
  error = $state<string | null>(null);
  /** Older pages ("load older"): whether more exist, the one loading, its error. */
  readonly scrollback = new Scrollback({
    pageSize: MAIL_PAGE,
    fetchPage: (before) => api.mailbox(this.agentId, this.kind, before),
    loaded: () => this.messages,
    merge: (page) => {
      this.messages = mergeMessages(this.messages ?? [], page);
    },
    alive: () => !this.disposed,
  });

  private refreshing = false;
  private disposed = false;

  constructor(agentId: number, kind: MailKind) {
    this.agentId = agentId;
    this.kind = kind;
  }

  dispose(): void {
    this.disposed = true;
  }

  /** Fetches the newest page and merges it in (older pages already loaded are kept). */
  async refresh(): Promise<void> {
    if (this.refreshing || this.disposed) return;
    this.refreshing = true;
    try {
      const page = await api.mailbox(this.agentId, this.kind);
      if (this.disposed) return;
      const first = this.messages === null;
      this.messages = mergeMessages(this.messages ?? [], page);
      if (first) this.scrollback.firstPage(page);
      this.error = null;
    } catch (e) {
      if (!this.disposed) this.error = messageOf(e, 'Could not load messages');
    } finally {
      this.refreshing = false;
    }
  }

  /**
   * Merges new and changed messages pushed by the event stream (any agent's; only this
   * list's are kept). Nothing happens before the first load: that load brings them anyway.
   */
  applyLive(incoming: readonly Message[]): void {
    if (this.messages === null || this.disposed) return;
    const mine = incoming.filter((m) => belongsTo(m, this.agentId, this.kind));
    if (mine.length > 0) this.messages = mergeMessages(this.messages, mine);
  }
}

/** What a panel follows: the session's refresh counter and its live message batches. */
export interface MailSource {
  readonly version: number;
  readonly liveBatch: Message[] | null;
}

/**
 * Keeps `boxes` current (call during component initialisation, or inside `$effect.root`):
 * the newest page on start and after every refresh of `source` (poll, refresh button,
 * send), and each batch the event stream pushes merged in without a request. The lists'
 * own reads and writes are untracked, so they never re-run these effects.
 */
export function followSession(source: () => MailSource, boxes: readonly Mailbox[]): void {
  $effect(() => {
    void source().version;
    untrack(() => {
      for (const b of boxes) void b.refresh();
    });
  });
  $effect(() => {
    const batch = source().liveBatch;
    if (batch) {
      untrack(() => {
        for (const b of boxes) b.applyLive(batch);
      });
    }
  });
}
