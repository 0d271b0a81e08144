-- What each agent last reported about itself through its coding agent's hooks
-- (`cafleet hook`, docs/delivery.md "Activity"): one row per agent, replaced by every
-- report. `activity` is working|idle|waiting|exited|unknown; `source` names the CLI and its
-- event (e.g. `claude:PreToolUse`); `seen_at` is when the hook ran, in the format of every
-- other timestamp. A reading older than the freshness bound is not trusted (the pane
-- signature is read instead).
CREATE TABLE IF NOT EXISTS agent_activity (
	agent_id INTEGER NOT NULL PRIMARY KEY,
	activity VARCHAR NOT NULL,
	source VARCHAR NOT NULL,
	seen_at VARCHAR NOT NULL,
	FOREIGN KEY(agent_id) REFERENCES agents (agent_id) ON DELETE CASCADE
);

-- The WebUI's change feed hears of a change of activity, not of every report (a busy agent
-- reports on every tool call).
CREATE TRIGGER IF NOT EXISTS change_log_activity_insert AFTER INSERT ON agent_activity
BEGIN
	INSERT INTO change_log (fleet_id, kind, ref_id)
	VALUES ((SELECT fleet_id FROM agents WHERE agent_id = NEW.agent_id), 'agent', NEW.agent_id);
END;

CREATE TRIGGER IF NOT EXISTS change_log_activity_update AFTER UPDATE OF activity ON agent_activity
WHEN OLD.activity IS NOT NEW.activity
BEGIN
	INSERT INTO change_log (fleet_id, kind, ref_id)
	VALUES ((SELECT fleet_id FROM agents WHERE agent_id = NEW.agent_id), 'agent', NEW.agent_id);
END;
