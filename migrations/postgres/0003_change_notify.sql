-- The WebUI's pushed change feed (docs/postgres.md, "Live WebUI"): appending to change_log
-- also notifies channel `cafleet_changes` with the fleet's id. A notification is delivered
-- when its transaction commits, so a server woken by it reads the new rows; the table stays
-- the truth and a lost notification costs only latency (the servers' streams also tick).
-- PostgreSQL sends identical notifications of one transaction once: a broadcast that logs
-- a row per recipient wakes each listener once. Rows without a fleet are never streamed.
-- Tables and columns are unchanged (SQLite parity).
CREATE OR REPLACE FUNCTION change_log_append(p_fleet BIGINT, p_kind TEXT, p_ref BIGINT) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
	new_seq BIGINT;
BEGIN
	INSERT INTO change_log (fleet_id, kind, ref_id) VALUES (p_fleet, p_kind, p_ref)
		RETURNING seq INTO new_seq;
	IF new_seq % 1000 = 0 THEN
		DELETE FROM change_log WHERE seq <= new_seq - 10000;
	END IF;
	IF p_fleet IS NOT NULL THEN
		PERFORM pg_notify('cafleet_changes', p_fleet::text);
	END IF;
END;
$$;
