-- Work for another host's relay (docs/postgres.md, "Pane requests"): a command that must
-- act on a pane of another host (spawn a member, capture, send keys, close) stores a
-- request here; the relay of that host carries it out and records the result. The
-- requester waits for the result; a request nobody picked up is canceled.
CREATE TABLE pane_requests (
    request_id INTEGER PRIMARY KEY AUTOINCREMENT,
    host TEXT NOT NULL,
    agent_id INTEGER NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    result TEXT,
    created_at TEXT NOT NULL,
    claimed_at TEXT,
    done_at TEXT
);
CREATE INDEX idx_pane_requests_pending ON pane_requests (host, request_id) WHERE state = 'pending';
