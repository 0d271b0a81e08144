-- The host a placement's pane lives on (docs/postgres.md, "Hosts and the relay"): a
-- command types only into panes of its own host; the relay of the pane's host types the
-- rest. NULL for placements written before this migration: they count as local to
-- whichever host reads them, as before.
ALTER TABLE agent_placements ADD COLUMN host TEXT;
