-- The host a placement's pane lives on (docs/postgres.md, "Hosts and the relay"); the
-- same column as SQLite's migration 0014.
ALTER TABLE agent_placements ADD COLUMN host TEXT;
