//! `message broadcast`: the one-line summary (O1), `--json` and `--full` forms, who receives
//! it (never the sender, the Administrator when it is not the sender, deregistered agents or
//! other fleets), and its refusals.

use super::*;

#[test]
fn broadcast_prints_id_recipients_and_previews_typed() {
    let mut env = Env::new();
    let (_server, log) = fleet(&mut env);
    // Recipients: Director 1 (pane) and bob 4 (no pane); not the Administrator, not alice.
    assert_eq!(
        broadcast(&env, 1, 3, "hello all").ok(),
        "broadcast id=1 recipients=2 notified=1\n"
    );
    wait_for_bytes(&log, b"[cafleet msg 2 from 3 ");
    wait_for_bytes(&log, b"hello all\r");
    assert_eq!(
        env.query(
            "SELECT task_id, context_id, from_agent_id, to_agent_id, type, status_state, origin_task_id, text FROM tasks ORDER BY task_id"
        ),
        vec![
            vec!["1", "3", "3", "0", "broadcast_summary", "completed", "1", "Broadcast sent to 2 recipients"],
            vec!["2", "1", "3", "1", "unicast", "input_required", "1", "hello all"],
            vec!["3", "4", "3", "4", "unicast", "input_required", "1", "hello all"],
        ]
    );
    // One "now" for the summary and every delivery.
    assert_eq!(
        env.query("SELECT count(DISTINCT created_at), count(DISTINCT status_timestamp) FROM tasks"),
        rows(&["1", "1"])
    );
}

#[test]
fn broadcast_json_returns_the_summary_and_preview_count() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    assert_eq!(
        redact_ts(&broadcast(&env, 1, 3, "hello all 2").json().ok()),
        // The Director's recorder pane gets the preview but shows no input box CAFleet can
        // read (typed, not known to be submitted); bob has no pane (stored).
        "[{\"task\":{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"Broadcast sent to 2 recipients\",\"kind\":\"broadcast_summary\",\"origin\":1},\"notifications_sent_count\":1,\"delivery\":{\"mode\":\"idle\",\"states\":{\"stored\":1,\"typed\":1,\"submitted\":0}}}]\n"
    );
    assert_eq!(
        redact_ts(
            &broadcast(&env, 1, 3, "hello all 3")
                .arg("--full")
                .json()
                .ok()
        ),
        "[{\"task\":{\"context_id\":3,\"from_agent_id\":3,\"to_agent_id\":0,\"type\":\"broadcast_summary\",\"created_at\":\"<TS>\",\"status_state\":\"completed\",\"status_timestamp\":\"<TS>\",\"origin_task_id\":4,\"text\":\"Broadcast sent to 2 recipients\",\"task_id\":4},\"notifications_sent_count\":1,\"delivery\":{\"mode\":\"idle\",\"states\":{\"stored\":1,\"typed\":1,\"submitted\":0}}}]\n"
    );
}

#[test]
fn broadcast_full_text_prints_the_summary_block() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let out = broadcast(&env, 1, 3, "hello all 4").arg("--full").ok();
    assert_output_snapshot!("broadcast_full_text", out);
}

#[test]
fn broadcast_skips_the_administrator_deregistered_agents_and_other_fleets() {
    let mut env = Env::new();
    let (_server, _log) = two_fleets(&mut env);
    let carol = register(&env, "1", "carol");
    deregister(&env, 1, &carol);
    // From the Administrator: Director 1, alice 3, bob 4.
    assert_eq!(
        broadcast(&env, 1, 2, "all").ok(),
        "broadcast id=1 recipients=3 notified=1\n"
    );
    assert_eq!(
        env.query("SELECT to_agent_id FROM tasks WHERE type = 'unicast' ORDER BY task_id"),
        vec![
            vec!["1".to_string()],
            vec!["3".to_string()],
            vec!["4".to_string()]
        ]
    );
    // From the Director: its own pane is not notified, nobody else has one.
    assert_eq!(
        broadcast(&env, 1, 1, "all").ok(),
        "broadcast id=5 recipients=2 notified=0\n"
    );
}

#[test]
fn broadcast_with_no_recipients_stores_only_the_summary() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    assert_eq!(
        broadcast(&env, 1, 1, "anyone?").ok(),
        "broadcast id=1 recipients=0 notified=0\n"
    );
    assert_eq!(
        env.query("SELECT type, text FROM tasks"),
        rows(&["broadcast_summary", "Broadcast sent to 0 recipients"])
    );
}

#[test]
fn broadcast_refuses_inactive_unknown_or_foreign_senders() {
    let mut env = Env::new();
    let (_server, _log) = two_fleets(&mut env);
    deregister(&env, 1, 4);
    let before = tables(&env);
    // broadcast is not caller-checked: every case is the sender error.
    for sender in ["4", "7", "5", "99"] {
        assert_eq!(
            broadcast(&env, 1, sender, "x").fails(1),
            format!("Error: Sender agent not found or not active in fleet: {sender}\n"),
            "sender {sender}"
        );
    }
    assert_eq!(tables(&env), before);
}

#[test]
fn broadcast_refuses_empty_or_blank_text() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let before = tables(&env);
    for text in ["", "   ", "\n"] {
        assert_eq!(broadcast(&env, 1, 3, text).fails(1), EMPTY_TEXT);
    }
    assert_eq!(tables(&env), before);
}
