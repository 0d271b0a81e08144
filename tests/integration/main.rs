//! One integration-test binary: the real `cafleet` binary against real SQLite files in temp
//! dirs and real private tmux servers.

mod cli_db;
mod cli_parse;
mod support;
mod tmux_preview;
mod adoption;
mod concurrency;
