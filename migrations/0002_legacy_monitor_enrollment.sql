-- Finish a Python database adopted below alembic head: revisions 0003 and 0004 together
-- delete every monitor_config row, then 0005 rebuilds the enrollment set. Every statement
-- is guarded by the old revision, so this is a no-op on fresh or head databases.
DELETE FROM monitor_config
WHERE EXISTS (SELECT 1 FROM alembic_version WHERE version_num IN ('0001', '0002', '0003', '0004'));

INSERT OR IGNORE INTO monitor_config (agent_id, interval_seconds, last_ping_at, enabled)
SELECT f.director_agent_id, 180, NULL, 1
FROM fleets f
WHERE f.deleted_at IS NULL AND f.director_agent_id IS NOT NULL
  AND EXISTS (SELECT 1 FROM alembic_version WHERE version_num IN ('0001', '0002', '0003', '0004'));

INSERT OR IGNORE INTO monitor_config (agent_id, interval_seconds, last_ping_at, enabled)
SELECT a.agent_id, 720, NULL, 1
FROM agents a
JOIN agent_placements p ON p.agent_id = a.agent_id
JOIN fleets f ON f.fleet_id = a.fleet_id
WHERE a.status = 'active'
  AND f.deleted_at IS NULL
  AND a.agent_id NOT IN (SELECT director_agent_id FROM fleets WHERE director_agent_id IS NOT NULL)
  AND coalesce(json_extract(a.agent_card_json, '$.cafleet.kind'), '') NOT IN ('monitoring-member', 'builtin-administrator')
  AND EXISTS (SELECT 1 FROM alembic_version WHERE version_num IN ('0001', '0002', '0003', '0004'));

UPDATE alembic_version SET version_num = '0005'
WHERE version_num IN ('0001', '0002', '0003', '0004');
