-- Fast monitor ticks: the agents whose interval has elapsed are a range of this index
-- ("next due" in seconds; never woken or unparsable sorts first), so a tick over a fleet
-- of 1,000 watched agents reads the few due rows instead of every schedule
-- (benches/monitor.rs). julianday() exists in every SQLite, so older writers of this file
-- can still maintain the index.
CREATE INDEX IF NOT EXISTS idx_monitor_config_due
ON monitor_config (coalesce(julianday(last_ping_at) * 86400 + interval_seconds, 0));
