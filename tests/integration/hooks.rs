//! `cafleet hook`: what the coding agents' hooks run. It records a reported activity for
//! the agent whose pane it runs in, and whatever goes wrong it exits 0 at once with nothing
//! on stdout (docs/delivery.md, "Activity").

use crate::support::*;
use std::process::Output;
use std::time::{Duration, Instant};

/// `cafleet hook <args>` with `stdin`; returns the output and how long it took.
fn hook(env: &Env, args: &[&str], stdin: &str) -> (Output, Duration) {
    let mut full = vec!["hook"];
    full.extend_from_slice(args);
    let start = Instant::now();
    let out = env
        .cmd()
        .args(&full)
        .write_stdin(stdin)
        .output()
        .expect("run cafleet hook");
    (out, start.elapsed())
}

/// Asserts the hook's contract: exit 0, nothing on stdout, done well within a second.
/// Returns stderr.
fn quiet_ok(env: &Env, args: &[&str], stdin: &str) -> String {
    let (out, took) = hook(env, args, stdin);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "hook {args:?}: {err}");
    assert!(out.stdout.is_empty(), "hook {args:?} printed on stdout");
    assert!(
        took < Duration::from_millis(1500),
        "hook {args:?} took {took:?}"
    );
    err
}

fn activity_rows(env: &Env) -> Vec<Vec<String>> {
    env.query("SELECT agent_id, activity, source FROM agent_activity ORDER BY agent_id")
}

const PRE_TOOL: &str = r#"{"session_id":"s","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}"#;

#[test]
fn every_failure_is_a_quiet_exit_0() {
    let mut env = Env::new();
    // No database at all: nothing is created.
    let err = quiet_ok(&env, &["claude"], PRE_TOOL);
    assert!(err.contains("not inside tmux"), "{err}");
    let (server, pane, _log) = fleet_in_tmux(&mut env);
    let db = env.db_path.clone();
    let hook_log = db.with_file_name("cafleet.db.hook.log");

    let err = quiet_ok(&env, &["claude"], "{not json");
    assert!(err.contains("malformed"), "{err}");
    let err = quiet_ok(&env, &["claude"], r#"{"hook_event_name":"NoSuchEvent"}"#);
    assert!(err.contains("\"NoSuchEvent\""), "{err}");
    let err = quiet_ok(&env, &["gemini"], PRE_TOOL);
    assert!(err.contains("unknown coding agent"), "{err}");
    let err = quiet_ok(&env, &["claude"], "");
    assert!(err.contains("no event"), "{err}");
    // Problems are also logged beside the database.
    let logged = std::fs::read_to_string(&hook_log).unwrap();
    assert!(
        logged.contains("malformed") && logged.contains("NoSuchEvent"),
        "{logged}"
    );

    // A pane that is no agent's.
    let stranger = server.shell_pane();
    let mut other = Env {
        dir: tempfile::tempdir().unwrap(),
        db_path: db.clone(),
        pg: env.pg.clone(),
        vars: env.vars.clone(),
    };
    server.enter(&mut other, &stranger);
    let err = quiet_ok(&other, &["claude"], PRE_TOOL);
    assert!(err.contains("no CAFleet agent's"), "{err}");

    // A database that does not exist is not created.
    let missing = env.dir.path().join("nowhere/cafleet.db");
    let mut lost = Env {
        dir: tempfile::tempdir().unwrap(),
        db_path: missing.clone(),
        pg: None,
        vars: env.vars.clone(),
    };
    server.enter(&mut lost, &pane);
    let err = quiet_ok(&lost, &["claude"], PRE_TOOL);
    assert!(err.contains("no database"), "{err}");
    assert!(!missing.parent().unwrap().exists());

    // A database another process keeps locked: given up on after the short busy timeout.
    let (tx, rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let locker = std::thread::spawn({
        let db = db.clone();
        move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
                let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
                sqlx::raw_sql("BEGIN IMMEDIATE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                tx.send(()).unwrap();
                let _ = done_rx.recv();
                sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.unwrap();
            });
        }
    });
    rx.recv().unwrap();
    let err = quiet_ok(&env, &["claude"], PRE_TOOL);
    assert!(err.contains("cannot record working"), "{err}");
    done_tx.send(()).unwrap();
    locker.join().unwrap();

    assert!(activity_rows(&env).is_empty(), "{:?}", activity_rows(&env));
}

#[test]
fn reports_are_stored_for_the_agent_of_the_pane() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    // Claude Code and Codex hooks: the event in the JSON on stdin.
    quiet_ok(&env, &["claude"], PRE_TOOL);
    assert_eq!(activity_rows(&env), [["1", "working", "claude:PreToolUse"]]);
    let seen = env.query("SELECT seen_at FROM agent_activity")[0][0].clone();
    assert!(cafleet::model::parse_ts(&seen).is_some(), "{seen}");
    assert_eq!(seen.len(), "2026-11-27T16:13:24.409817+00:00".len());
    // Codex's notify: the JSON as the last argument.
    quiet_ok(
        &env,
        &[
            "codex",
            r#"{"type":"agent-turn-complete","thread-id":"t","turn-id":"1","input-messages":["hi"],"last-assistant-message":"Ready."}"#,
        ],
        "",
    );
    assert_eq!(
        activity_rows(&env),
        [["1", "idle", "codex:agent-turn-complete"]]
    );
    // opencode's plugin: the event name as an argument, the event on stdin.
    quiet_ok(
        &env,
        &["opencode", "session.status"],
        r#"{"type":"session.status","properties":{"sessionID":"s","status":{"type":"busy"}}}"#,
    );
    assert_eq!(
        activity_rows(&env),
        [["1", "working", "opencode:session.status"]]
    );
    // An event that says nothing about the activity changes nothing.
    quiet_ok(&env, &["claude"], r#"{"hook_event_name":"PreCompact"}"#);
    assert_eq!(
        activity_rows(&env),
        [["1", "working", "opencode:session.status"]]
    );
    // A report older than the stored one (hooks finishing out of order) is dropped.
    env.query("UPDATE agent_activity SET seen_at = '2999-01-01T00:00:00.000000+00:00'");
    quiet_ok(&env, &["claude"], r#"{"hook_event_name":"Stop"}"#);
    assert_eq!(
        activity_rows(&env),
        [["1", "working", "opencode:session.status"]]
    );
    // The row goes with its agent.
    env.query("DELETE FROM agent_activity");
    quiet_ok(&env, &["claude"], r#"{"hook_event_name":"Stop"}"#);
    assert_eq!(activity_rows(&env), [["1", "idle", "claude:Stop"]]);
}

/// The hook runs on every tool call: its wall time, end to end (process start to exit),
/// against a real fleet database. Printed for docs/delivery.md; asserted loosely.
#[test]
fn hook_latency() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let mut times: Vec<Duration> = (0..30)
        .map(|_| {
            let (out, took) = hook(&env, &["claude"], PRE_TOOL);
            assert_eq!(out.status.code(), Some(0));
            took
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    let p90 = times[times.len() * 9 / 10];
    eprintln!("cafleet hook (records a report): median {median:?}, p90 {p90:?}");
    assert!(median < Duration::from_millis(500), "median {median:?}");
    assert_eq!(activity_rows(&env), [["1", "working", "claude:PreToolUse"]]);
}
