-- Fast inbox polls: only un-acked deliveries of one agent, newest first.
CREATE INDEX IF NOT EXISTS idx_tasks_inbox_pending ON tasks (context_id, status_timestamp DESC, task_id DESC)
WHERE status_state = 'input_required' AND type <> 'broadcast_summary';
