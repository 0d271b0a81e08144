-- Decision K3: remember which tmux server a placement lives on, so keystrokes never reach
-- a recycled pane id on another server. NULL for placements adopted from CAFleet 0.14.
ALTER TABLE agent_placements ADD COLUMN tmux_socket VARCHAR;
