-- Verified delivery (docs/delivery.md): how each message is delivered and how far it got.
-- delivery_mode: idle (type when the recipient is not working), now (type at once, no
-- Escape), queue (never type: the recipient polls). delivery_state: stored, typed (keys
-- sent, not known to be taken), submitted (the agent took the text), seen (the recipient
-- polled it), dead (given up); an acked or canceled task is reported from status_state.
-- delivery_attempts counts attempts (previews typed, or tries that found the pane gone); delivery_last_at is the last attempt (or hold),
-- from which the monitor's backoff runs. Rows written by CAFleet 0.14 get the defaults and
-- are never redelivered (their delivery_last_at is NULL and their state stored from before).
ALTER TABLE tasks ADD COLUMN delivery_mode TEXT NOT NULL DEFAULT 'idle';
ALTER TABLE tasks ADD COLUMN delivery_state TEXT NOT NULL DEFAULT 'stored';
ALTER TABLE tasks ADD COLUMN delivery_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN delivery_last_at TEXT;
ALTER TABLE tasks ADD COLUMN delivery_note TEXT;
ALTER TABLE tasks ADD COLUMN typed_at TEXT;
ALTER TABLE tasks ADD COLUMN submitted_at TEXT;
ALTER TABLE tasks ADD COLUMN seen_at TEXT;
ALTER TABLE tasks ADD COLUMN dead_at TEXT;
-- The monitor's redelivery scan: pending deliveries not yet seen, per recipient.
CREATE INDEX idx_tasks_undelivered ON tasks (context_id)
    WHERE status_state = 'input_required' AND type = 'unicast'
      AND delivery_state IN ('stored', 'typed', 'submitted')
      AND delivery_last_at IS NOT NULL;
-- The WebUI's badges follow a delivery's progress live.
CREATE TRIGGER change_log_task_delivery AFTER UPDATE OF delivery_state ON tasks
WHEN NEW.type <> 'broadcast_summary' AND NEW.delivery_state <> OLD.delivery_state
BEGIN
	INSERT INTO change_log (fleet_id, kind, ref_id)
	VALUES ((SELECT fleet_id FROM agents WHERE agent_id = NEW.from_agent_id), 'task', NEW.task_id);
END;
