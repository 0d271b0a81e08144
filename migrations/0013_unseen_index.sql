-- The lists' undelivered counts (`member list`, `monitor status`, GET /api/agents) read only
-- each agent's pending deliveries not yet seen, instead of walking its whole history.
CREATE INDEX idx_tasks_unseen ON tasks (context_id, delivery_state)
    WHERE status_state = 'input_required' AND type = 'unicast' AND delivery_state <> 'seen';
