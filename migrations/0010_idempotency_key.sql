-- An optional key a sender gives a message (`--idempotency-key`), so that a retried send
-- (an agent's tool call that timed out and ran again) stores nothing new. Unique per
-- sender; only the stored row a send returns carries it (a broadcast's summary).
ALTER TABLE tasks ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX idx_tasks_idempotency_key ON tasks (from_agent_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
