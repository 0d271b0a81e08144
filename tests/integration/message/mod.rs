//! `cafleet message send|broadcast|poll|ack|cancel|show`: text and `--json` outputs, hidden
//! `--full`/`--quiet`, every error they print, empty text (O3), the broadcast line (O1),
//! truncation (C1) and fleet isolation (a refused command changes nothing in the database).
//! The codes are sections of docs/decisions.md.
//!
//! This file holds the shared fixtures (fleets of registered agents) and one command
//! builder per subcommand; each submodule covers one subject.

mod ack_cancel;
mod broadcast;
mod fleet_isolation;
mod output;
mod poll;
mod send;
mod show;

use crate::support::*;
use std::fmt::Display;
use std::path::PathBuf;

/// One result row of `env.query`, from string slices.
fn rows(v: &[&str]) -> Vec<Vec<String>> {
    vec![v.iter().map(std::string::ToString::to_string).collect()]
}

/// Every table a message command could touch, for "changes nothing" checks.
fn tables(env: &Env) -> Vec<Vec<Vec<String>>> {
    [
        "SELECT * FROM fleets ORDER BY 1",
        "SELECT * FROM agents ORDER BY 1",
        "SELECT * FROM agent_placements ORDER BY 1",
        "SELECT * FROM tasks ORDER BY 1",
        "SELECT * FROM monitor_config ORDER BY 1",
    ]
    .iter()
    .map(|q| env.query(q))
    .collect()
}

/// Every change_log row, oldest first.
fn change_log(env: &Env) -> Vec<Vec<String>> {
    env.query("SELECT seq, fleet_id, kind, ref_id FROM change_log ORDER BY seq")
}

/// The position of a column in `SELECT * FROM tasks` (the rows of [`tables`]).
fn task_column(env: &Env, name: &str) -> usize {
    let sql = if on_pg() {
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'tasks' ORDER BY ordinal_position"
    } else {
        "SELECT name FROM pragma_table_info('tasks') ORDER BY cid"
    };
    env.query(sql)
        .iter()
        .position(|r| r[0] == name)
        .unwrap_or_else(|| panic!("tasks has no column {name}"))
}

/// Registers a pane-less agent in `fleet`; returns its id.
fn register(env: &Env, fleet: &str, name: &str) -> String {
    let v = env
        .cafleet("agent register")
        .fleet(fleet)
        .opt("--name", name)
        .opt("--description", "helper")
        .value();
    v["agent_id"].to_string()
}

/// `agent deregister` of `agent` in `fleet`.
fn deregister(env: &Env, fleet: impl Display, agent: impl Display) {
    env.cafleet("agent deregister")
        .fleet(fleet)
        .agent(agent)
        .ok();
}

/// Fleet 1: Director 1 (a recorder pane), Administrator 2, alice 3, bob 4 (no panes).
fn fleet(env: &mut Env) -> (TmuxServer, PathBuf) {
    let (server, _pane, log) = fleet_in_tmux(env);
    assert_eq!(register(env, "1", "alice"), "3");
    assert_eq!(register(env, "1", "bob"), "4");
    (server, log)
}

/// `fleet` plus fleet 2: Director 5 (same pane), Administrator 6, dave 7.
fn two_fleets(env: &mut Env) -> (TmuxServer, PathBuf) {
    let out = fleet(env);
    env.ok(&["fleet", "create", "--label", "other"]);
    assert_eq!(register(env, "2", "dave"), "7");
    out
}

/// `message send` in `fleet` as `from`, to `to`, with `text`.
fn send<'a>(
    env: &'a Env,
    fleet: impl Display,
    from: impl Display,
    to: impl Display,
    text: &str,
) -> Cli<'a> {
    env.cafleet("message send")
        .fleet(fleet)
        .agent(from)
        .opt("--to", to)
        .opt("--text", text)
}

/// Sends one message (as [`send`] does) and returns its task id.
fn send_id(
    env: &Env,
    fleet: impl Display,
    from: impl Display,
    to: impl Display,
    text: &str,
) -> String {
    send(env, fleet, from, to, text).value()["task"]["id"].to_string()
}

/// `message broadcast` in `fleet` as `from`, with `text`.
fn broadcast<'a>(env: &'a Env, fleet: impl Display, from: impl Display, text: &str) -> Cli<'a> {
    env.cafleet("message broadcast")
        .fleet(fleet)
        .agent(from)
        .opt("--text", text)
}

/// `message poll` of `agent`'s inbox in `fleet`.
fn poll(env: &Env, fleet: impl Display, agent: impl Display) -> Cli<'_> {
    env.cafleet("message poll").fleet(fleet).agent(agent)
}

/// `message <verb>` (`ack`, `cancel` or `show`) of `task` as `agent` in `fleet`.
fn on_task<'a>(
    env: &'a Env,
    verb: &str,
    fleet: impl Display,
    agent: impl Display,
    task: impl Display,
) -> Cli<'a> {
    env.cafleet("message")
        .arg(verb)
        .fleet(fleet)
        .agent(agent)
        .task(task)
}

/// `message ack` of `task` as `agent` (its recipient) in `fleet`.
fn ack(env: &Env, fleet: impl Display, agent: impl Display, task: impl Display) -> Cli<'_> {
    on_task(env, "ack", fleet, agent, task)
}

/// `message cancel` of `task` as `agent` (its sender) in `fleet`.
fn cancel(env: &Env, fleet: impl Display, agent: impl Display, task: impl Display) -> Cli<'_> {
    on_task(env, "cancel", fleet, agent, task)
}

/// `message show` of `task` as `agent` in `fleet`.
fn show(env: &Env, fleet: impl Display, agent: impl Display, task: impl Display) -> Cli<'_> {
    on_task(env, "show", fleet, agent, task)
}

fn deregistered_msg(agent: &str, fleet: &str) -> String {
    format!(
        "Error: agent {agent} is deregistered from fleet {fleet}; a retired agent can no longer act. Register a new agent with 'cafleet agent register'.\n"
    )
}

const EMPTY_TEXT: &str =
    "Error: message text may not be empty. Pass the message body with --text \"...\".\n";

/// `message send --json`'s `delivery` object for a recipient without a pane: stored, never
/// attempted, with the no-pane note.
fn no_pane_delivery_json(task_id: u32) -> String {
    format!(
        "{{\"task_id\":{task_id},\"mode\":\"idle\",\"state\":\"stored\",\"attempts\":0,\"last_attempt_at\":null,\"note\":\"no pane to type into: the recipient reads it when it polls\",\"typed_at\":null,\"submitted_at\":null,\"seen_at\":null,\"acked_at\":null,\"dead_at\":null}}"
    )
}
