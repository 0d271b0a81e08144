// "Load older" paging for a message list the server serves a page at a time, newest first
// (`?before=<oldest task id>`): the timeline and each Inbox/Sent list of the detail panel.
// It owns the paging state; the list itself stays with its owner, which says how to read
// it, how to merge a page in and whether it is still wanted.

import { messageOf } from './api';
import { oldestCursor } from './timeline';
import type { Message } from './types';

/** What a list gives its scrollback. */
export interface ScrollbackSource {
  /** How many messages a full page holds (a shorter one is the last). */
  readonly pageSize: number;
  /** The page before task `before`, newest first. */
  fetchPage(before: number): Promise<Message[]>;
  /** The messages loaded so far (null before the first load). */
  loaded(): readonly Message[] | null;
  /** Merges an older page into the list. */
  merge(page: Message[]): void;
  /** False once the list's owner is gone: a page arriving then is dropped. */
  alive(): boolean;
}

export class Scrollback {
  /** Older pages may exist on the server. */
  hasMore = $state(false);
  loading = $state(false);
  /** Why the last older page failed (null when it did not). */
  error = $state<string | null>(null);

  private readonly source: ScrollbackSource;

  constructor(source: ScrollbackSource) {
    this.source = source;
  }

  /** The newest page arrived for the first time: a full one means more may exist. */
  firstPage(page: readonly Message[]): void {
    this.hasMore = page.length >= this.source.pageSize;
  }

  /** Fetches and merges the page before the oldest loaded message; one at a time. */
  async loadOlder(): Promise<void> {
    const loaded = this.source.loaded();
    if (this.loading || !this.hasMore || !this.source.alive() || loaded === null) return;
    const before = oldestCursor(loaded);
    if (before === null) {
      this.hasMore = false;
      return;
    }
    this.loading = true;
    this.error = null;
    try {
      const page = await this.source.fetchPage(before);
      if (!this.source.alive()) return;
      this.source.merge(page);
      this.hasMore = page.length >= this.source.pageSize;
    } catch (e) {
      this.error = messageOf(e, 'Could not load older messages');
    } finally {
      this.loading = false;
    }
  }
}
