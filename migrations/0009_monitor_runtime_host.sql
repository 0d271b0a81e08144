-- The host (and pid namespace) a monitor runs in, so liveness can tell a pid it can probe
-- from one it cannot (monitor.md defect 3). NULL for slots claimed before this migration:
-- those are probed as before.
ALTER TABLE monitor_runtime ADD COLUMN host TEXT;
