-- Baseline: the schema of CAFleet 0.14 (alembic revision 0005), byte-for-byte the same
-- tables, columns, types and indexes. Every statement is IF NOT EXISTS so that a
-- database written by the Python implementation is adopted in place (decision C3).
CREATE TABLE IF NOT EXISTS alembic_version (
	version_num VARCHAR(32) NOT NULL,
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE IF NOT EXISTS agents (
	agent_id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	fleet_id INTEGER NOT NULL,
	name VARCHAR NOT NULL,
	description VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	registered_at VARCHAR NOT NULL,
	deregistered_at VARCHAR,
	agent_card_json VARCHAR NOT NULL,
	FOREIGN KEY(fleet_id) REFERENCES fleets (fleet_id) ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS idx_agents_fleet_status ON agents (fleet_id, status);

CREATE TABLE IF NOT EXISTS fleets (
	fleet_id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	label VARCHAR,
	created_at VARCHAR NOT NULL,
	deleted_at VARCHAR,
	director_agent_id INTEGER,
	FOREIGN KEY(director_agent_id) REFERENCES agents (agent_id) ON DELETE RESTRICT
);

CREATE TABLE IF NOT EXISTS tasks (
	task_id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	context_id INTEGER NOT NULL,
	from_agent_id INTEGER NOT NULL,
	to_agent_id INTEGER NOT NULL,
	type VARCHAR NOT NULL,
	created_at VARCHAR NOT NULL,
	status_state VARCHAR NOT NULL,
	status_timestamp VARCHAR NOT NULL,
	origin_task_id INTEGER,
	text VARCHAR NOT NULL,
	FOREIGN KEY(context_id) REFERENCES agents (agent_id) ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS idx_tasks_context_status_ts ON tasks (context_id, status_timestamp);
CREATE INDEX IF NOT EXISTS idx_tasks_from_agent_status_ts ON tasks (from_agent_id, status_timestamp);

CREATE TABLE IF NOT EXISTS agent_placements (
	agent_id INTEGER NOT NULL,
	director_agent_id INTEGER,
	tmux_session VARCHAR NOT NULL,
	tmux_window_id VARCHAR NOT NULL,
	tmux_pane_id VARCHAR,
	coding_agent VARCHAR DEFAULT 'claude' NOT NULL,
	created_at VARCHAR NOT NULL,
	PRIMARY KEY (agent_id),
	FOREIGN KEY(agent_id) REFERENCES agents (agent_id) ON DELETE CASCADE,
	FOREIGN KEY(director_agent_id) REFERENCES agents (agent_id) ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS idx_placements_director ON agent_placements (director_agent_id);

CREATE TABLE IF NOT EXISTS monitor_config (
	agent_id INTEGER NOT NULL,
	interval_seconds INTEGER DEFAULT '60' NOT NULL,
	last_ping_at VARCHAR,
	enabled INTEGER DEFAULT '1' NOT NULL,
	PRIMARY KEY (agent_id),
	FOREIGN KEY(agent_id) REFERENCES agents (agent_id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS monitor_runtime (
	fleet_id INTEGER NOT NULL,
	pid INTEGER,
	started_at VARCHAR,
	last_tick_at VARCHAR,
	tick_seconds INTEGER DEFAULT '5' NOT NULL,
	PRIMARY KEY (fleet_id),
	FOREIGN KEY(fleet_id) REFERENCES fleets (fleet_id) ON DELETE RESTRICT
);

-- A fresh database is stamped like a Python-written one so either implementation can open it.
INSERT INTO alembic_version (version_num)
SELECT '0005' WHERE NOT EXISTS (SELECT 1 FROM alembic_version);
