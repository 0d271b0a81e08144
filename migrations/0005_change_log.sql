-- A change feed for the WebUI's live updates: every write that a page shows (messages,
-- agents, placements, monitor schedules, monitor start/stop) appends a row here, from ANY
-- process, through triggers. `seq` is assigned under SQLite's write lock, so it is
-- monotonic in commit order and a reader never misses a change by polling `seq > last`.
CREATE TABLE IF NOT EXISTS change_log (
	seq INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	fleet_id INTEGER,
	kind VARCHAR NOT NULL,
	ref_id INTEGER
);

CREATE TRIGGER IF NOT EXISTS change_log_task_insert AFTER INSERT ON tasks
WHEN NEW.type <> 'broadcast_summary'
BEGIN
	INSERT INTO change_log (fleet_id, kind, ref_id)
	VALUES ((SELECT fleet_id FROM agents WHERE agent_id = NEW.from_agent_id), 'task', NEW.task_id);
END;

CREATE TRIGGER IF NOT EXISTS change_log_task_update AFTER UPDATE OF status_state, status_timestamp ON tasks
WHEN NEW.type <> 'broadcast_summary'
BEGIN
	INSERT INTO change_log (fleet_id, kind, ref_id)
	VALUES ((SELECT fleet_id FROM agents WHERE agent_id = NEW.from_agent_id), 'task', NEW.task_id);
END;

CREATE TRIGGER IF NOT EXISTS change_log_agent_insert AFTER INSERT ON agents
BEGIN
	INSERT INTO change_log (fleet_id, kind, ref_id) VALUES (NEW.fleet_id, 'agent', NEW.agent_id);
END;

CREATE TRIGGER IF NOT EXISTS change_log_agent_update AFTER UPDATE ON agents
BEGIN
	INSERT INTO change_log (fleet_id, kind, ref_id) VALUES (NEW.fleet_id, 'agent', NEW.agent_id);
END;

CREATE TRIGGER IF NOT EXISTS change_log_schedule_insert AFTER INSERT ON monitor_config
BEGIN
	INSERT INTO change_log (fleet_id, kind, ref_id)
	VALUES ((SELECT fleet_id FROM agents WHERE agent_id = NEW.agent_id), 'agent', NEW.agent_id);
END;

CREATE TRIGGER IF NOT EXISTS change_log_schedule_update AFTER UPDATE ON monitor_config
BEGIN
	INSERT INTO change_log (fleet_id, kind, ref_id)
	VALUES ((SELECT fleet_id FROM agents WHERE agent_id = NEW.agent_id), 'agent', NEW.agent_id);
END;

CREATE TRIGGER IF NOT EXISTS change_log_schedule_delete AFTER DELETE ON monitor_config
BEGIN
	INSERT INTO change_log (fleet_id, kind, ref_id)
	VALUES ((SELECT fleet_id FROM agents WHERE agent_id = OLD.agent_id), 'agent', OLD.agent_id);
END;

-- Monitor start and stop (not every heartbeat).
CREATE TRIGGER IF NOT EXISTS change_log_runtime_insert AFTER INSERT ON monitor_runtime
BEGIN
	INSERT INTO change_log (fleet_id, kind, ref_id) VALUES (NEW.fleet_id, 'monitor', NULL);
END;

CREATE TRIGGER IF NOT EXISTS change_log_runtime_update AFTER UPDATE OF pid ON monitor_runtime
BEGIN
	INSERT INTO change_log (fleet_id, kind, ref_id) VALUES (NEW.fleet_id, 'monitor', NULL);
END;

CREATE TRIGGER IF NOT EXISTS change_log_runtime_delete AFTER DELETE ON monitor_runtime
BEGIN
	INSERT INTO change_log (fleet_id, kind, ref_id) VALUES (OLD.fleet_id, 'monitor', NULL);
END;

-- Keep the feed short: every 1000th change drops everything older than 10000 changes.
CREATE TRIGGER IF NOT EXISTS change_log_prune AFTER INSERT ON change_log
WHEN NEW.seq % 1000 = 0
BEGIN
	DELETE FROM change_log WHERE seq <= NEW.seq - 10000;
END;
