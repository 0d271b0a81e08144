// Messages for the unit tests, shaped like the API's (not part of the app bundle).

import { message } from './fixtures.test-helpers';
import type { Message } from './types';

/** A timestamp `n` seconds after 10:00 on a fixed day, in the API's format. */
export const ts = (n: number) =>
  `2026-11-24T${String(10 + Math.floor(n / 3600)).padStart(2, '0')}:${String(Math.floor(n / 60) % 60).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}.000000+00:00`;

/** A pending unicast from the Director (1) to Alice (3), created and changed at `ts(task_id)`. */
export const msg = (task_id: number, extra: Partial<Message> = {}): Message =>
  message({
    task_id,
    from_agent_id: 1,
    from_agent_name: 'Director',
    to_agent_id: 3,
    to_agent_name: 'Alice',
    created_at: ts(task_id),
    status_timestamp: ts(task_id),
    body: `m${task_id}`,
    ...extra,
  });

/** Tasks `from`..`to` (inclusive), newest first, as the API pages them. */
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => msg(to - i));
