//! One integration-test binary: the real `cafleet` binary against real SQLite files in temp
//! dirs and real private tmux servers.

mod adoption;
mod broker;
mod cli_agent;
mod cli_db;
mod cli_fleet;
mod cli_parse;
mod concurrency;
mod crash;
mod db_copy;
mod delivery;
mod demo;
mod group_commit;
mod hooks;
mod hostile;
mod hosts;
mod hygiene;
mod idempotency;
mod isolation;
mod load;
mod members;
mod message;
mod monitor;
mod pg;
mod pg_outage;
mod real;
mod setup;
mod skills;
mod support;
mod tmux_preview;
mod web_api;
