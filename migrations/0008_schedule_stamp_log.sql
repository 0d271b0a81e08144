-- A monitor tick stamps `last_ping_at` on every agent it wakes. The change feed used to get
-- one row per stamped agent from this trigger (1,000 rows for a tick waking 1,000 agents);
-- the WebUI only needs to know that a fleet's agents changed, so the stamping statement now
-- logs one row per fleet itself (db::monitor::stamp) and the trigger fires only for the
-- columns a person changes (`monitor config`): the interval and the enabled flag.
DROP TRIGGER IF EXISTS change_log_schedule_update;

CREATE TRIGGER change_log_schedule_update AFTER UPDATE OF interval_seconds, enabled ON monitor_config
BEGIN
	INSERT INTO change_log (fleet_id, kind, ref_id)
	VALUES ((SELECT fleet_id FROM agents WHERE agent_id = NEW.agent_id), 'agent', NEW.agent_id);
END;
