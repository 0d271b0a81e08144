//! `--idempotency-key` on `message send` and `message broadcast` (CLI and API): a repeated
//! command stores and types nothing and returns the original task; a key reused for another
//! message, a blank or an overlong key is refused with nothing written; concurrent repeats
//! store exactly one message.

use crate::support::*;
use std::sync::Arc;
use std::time::Duration;

fn register(env: &Env, name: &str) -> String {
    env.json(&[
        "agent",
        "register",
        "--fleet-id",
        "1",
        "--name",
        name,
        "--description",
        "helper",
    ])["agent_id"]
        .to_string()
}

fn send_args<'a>(from: &'a str, to: &'a str, text: &'a str, key: &'a str) -> Vec<&'a str> {
    vec![
        "message",
        "send",
        "--fleet-id",
        "1",
        "--agent-id",
        from,
        "--to",
        to,
        "--text",
        text,
        "--idempotency-key",
        key,
    ]
}

fn task_count(env: &Env) -> String {
    env.query("SELECT COUNT(*) FROM tasks")[0][0].clone()
}

#[test]
fn a_repeated_send_stores_and_types_nothing_and_prints_the_original() {
    let mut env = Env::new();
    let (_server, _pane, log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    let first = env.ok(&send_args(&alice, "1", "deploy done", "k-1"));
    assert!(
        first.starts_with("Message sent.\n[1 | from:3 | "),
        "{first}"
    );
    wait_for_bytes(&log, b"deploy done\r");
    let again = env.ok(&send_args(&alice, "1", "deploy done", "k-1"));
    assert_eq!(
        again.replace(
            "Message already sent with this --idempotency-key; nothing stored or typed.",
            "Message sent."
        ),
        first
    );
    let v = env.json(&send_args(&alice, "1", "deploy done", "k-1"));
    assert_eq!(v["task"]["id"], 1, "{v}");
    assert_eq!(v["repeated"], true, "{v}");
    assert_eq!(v["notification_sent"], false, "{v}");
    assert_eq!(task_count(&env), "1");
    std::thread::sleep(Duration::from_millis(500));
    let typed = std::fs::read(&log).unwrap();
    assert_eq!(
        typed.windows(11).filter(|w| w == b"deploy done").count(),
        1,
        "the preview was typed again: {}",
        String::from_utf8_lossy(&typed)
    );
    // Without a key the JSON has no `repeated` field; another key is another message.
    let v = env.json(&send_args(&alice, "1", "deploy done", "k-2"));
    assert_eq!(v["task"]["id"], 2, "{v}");
    assert!(v.get("repeated").is_none(), "{v}");
    // Keys are per sender: the Director may use the same key for its own message.
    let v = env.json(&send_args("1", &alice, "ack", "k-1"));
    assert_eq!(v["task"]["id"], 3, "{v}");
}

#[test]
fn a_key_reused_for_another_message_or_a_bad_key_is_refused_with_nothing_written() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    let bob = register(&env, "bob");
    env.ok(&send_args(&alice, "1", "first", "k"));
    let before = env.query("SELECT * FROM tasks ORDER BY 1");
    for (to, text) in [("1", "second"), (bob.as_str(), "first")] {
        let err = env.fails(&send_args(&alice, to, text, "k"), 1);
        assert_eq!(
            err,
            "Error: idempotency key 'k' was already used by agent 3 for task 1, a different message. Use a new key for a new message; repeat the same message to get task 1 back.\n"
        );
    }
    let long = "x".repeat(201);
    for (key, want) in [
        ("  ", "--idempotency-key may not be blank"),
        (
            long.as_str(),
            "--idempotency-key is 201 characters long; the limit is 200",
        ),
        (
            "a\u{7}b",
            "--idempotency-key may not contain control characters",
        ),
    ] {
        let out = env.run(&send_args(&alice, "1", "third", key));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(want), "{err}");
    }
    // A broadcast may not reuse a unicast's key either.
    let err = env.fails(
        &[
            "message",
            "broadcast",
            "--fleet-id",
            "1",
            "--agent-id",
            &alice,
            "--text",
            "first",
            "--idempotency-key",
            "k",
        ],
        1,
    );
    assert!(
        err.contains("was already used by agent 3 for task 1"),
        "{err}"
    );
    assert_eq!(env.query("SELECT * FROM tasks ORDER BY 1"), before);
}

#[test]
fn a_repeated_broadcast_stores_nothing_and_reports_the_original_summary() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    register(&env, "bob");
    let args = [
        "message",
        "broadcast",
        "--fleet-id",
        "1",
        "--agent-id",
        &alice,
        "--text",
        "standup",
        "--idempotency-key",
        "b-1",
    ];
    let first = env.ok(&args);
    let count = task_count(&env);
    let again = env.ok(&args);
    let head = first.split(" recipients").next().unwrap().to_string();
    assert!(head.starts_with("broadcast id="), "{first}");
    assert!(
        again.starts_with(&format!("{head} recipients=2 notified=0 (already sent")),
        "{again}\n{first}"
    );
    assert_eq!(task_count(&env), count);
    let v = env.json(&args);
    assert_eq!(v[0]["repeated"], true, "{v}");
    assert_eq!(v[0]["notifications_sent_count"], 0, "{v}");
}

#[test]
fn concurrent_repeats_store_exactly_one_message() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let alice = register(&env, "alice");
    let env = Arc::new(env);
    let runs: Vec<_> = (0..10)
        .map(|_| {
            let env = env.clone();
            let alice = alice.clone();
            std::thread::spawn(move || {
                env.json(&send_args(&alice, "1", "once only", "race"))["task"]["id"].clone()
            })
        })
        .collect();
    let ids: Vec<_> = runs.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(task_count(&env), "1");
}
