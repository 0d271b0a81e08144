-- Fast WebUI timeline pages: a fleet's messages newest first (summaries excluded) can be
-- read in index order and stop after one page instead of sorting the fleet's whole history
-- (GET /api/timeline at 100,000 messages in one fleet: ~3 ms instead of ~0.3-0.5 s,
-- benches/web.rs). `from_agent_id` lets the fleet check run on the index entry before the
-- row is read.
CREATE INDEX IF NOT EXISTS idx_tasks_timeline ON tasks (status_timestamp DESC, task_id DESC, from_agent_id)
WHERE type <> 'broadcast_summary';
