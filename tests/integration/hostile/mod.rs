//! Hostile input, end to end: every control and escape class, invalid UTF-8, huge texts,
//! SQL- and shell-looking text, leading dashes and odd names, through the real CLI (with a
//! real tmux recorder pane) and the real HTTP API. Each input either fails with a clear
//! error and writes nothing, or is stored byte-exact and typed into panes only in its
//! sanitised, visible form. Also replays the fuzz seed corpora (`fuzz/corpus/`) and a few
//! thousand seeded pseudo-random inputs through the fuzz targets' property checks, so CI
//! exercises them without cargo-fuzz.
//!
//! This file holds the helpers the CLI and API halves share; each submodule covers one
//! subject.

mod api;
mod cli;
mod fuzz;

use crate::support::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cafleet::broker::Broker;
use cafleet::db::Db;
use cafleet::tmux::{Tmux, truncate};
use cafleet::web::{AppState, Security, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;
use tower::ServiceExt;

#[path = "../../../fuzz/src/props.rs"]
mod props;

/// `env.query`, also from inside a (multi-thread) tokio test.
fn sql(env: &Env, query: &str) -> Vec<Vec<String>> {
    tokio::task::block_in_place(|| env.query(query))
}

fn count(env: &Env, table: &str) -> i64 {
    sql(env, &format!("SELECT count(*) FROM {table}"))[0][0]
        .parse()
        .unwrap()
}

/// Registers an agent without a pane; returns its id.
fn register(env: &Env, name: &str) -> String {
    env.json(&[
        "agent",
        "register",
        "--fleet-id",
        "1",
        "--name",
        name,
        "--description",
        "d",
    ])["agent_id"]
        .to_string()
}

/// Waits for the next complete preview (header … Enter) after `from` bytes of the log.
fn next_preview(log: &Path, from: usize) -> Vec<u8> {
    let mut chunk = Vec::new();
    let done = wait_for(Duration::from_secs(10), || {
        let all = std::fs::read(log).unwrap_or_default();
        chunk = all.get(from..).unwrap_or_default().to_vec();
        chunk.contains(&b'\r')
    });
    assert!(
        done,
        "no preview arrived; got {:?}",
        String::from_utf8_lossy(&chunk)
    );
    chunk
}

/// Checks one typed preview: the header (no Escape), one LF, the sanitised truncated body,
/// Enter, and no other control byte or invisible code point.
fn assert_inert_preview(chunk: &[u8], header: &str, text: &str, max: usize) {
    let got = std::str::from_utf8(chunk).expect("typed bytes are UTF-8");
    let body = cafleet::tmux::sanitize(&truncate(text, max));
    // A last word starting with `$` or `@` is closed with a space (mention popups).
    let line = cafleet::tmux::close_mention(&format!("{header}\n{body}")).into_owned();
    assert_eq!(got, format!("{line}\r"), "typed for {text:?}");
    let typed = &got[..got.len() - 1];
    let bad: Vec<char> = typed
        .chars()
        .filter(|c| props::must_not_be_typed(*c))
        .collect();
    assert_eq!(bad, ['\n'], "{text:?} typed controls: {typed:?}");
}

/// `message send` from `from` to the Director (agent 1), whose pane is the recorder
/// logging into `log`; checks the typed preview and returns the JSON output.
fn send_to_director(env: &Env, log: &Path, from: &str, text: &str) -> Value {
    let before = std::fs::read(log).unwrap().len();
    let v = env.json(&[
        "message",
        "send",
        "--fleet-id",
        "1",
        "--agent-id",
        from,
        "--to",
        "1",
        "--text",
        text,
    ]);
    assert_eq!(v["notification_sent"], true, "{text:?}: {v}");
    let id = v["task"]["id"].as_i64().unwrap();
    let ts = v["task"]["ts"].as_str().unwrap();
    assert_inert_preview(
        &next_preview(log, before),
        &format!("[cafleet msg {id} from {from} {ts}]"),
        text,
        200,
    );
    v
}
