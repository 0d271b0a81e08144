//! `cafleet message send|broadcast|poll|ack|cancel|show`: text and `--json` outputs, hidden
//! `--full`/`--quiet`, every error they print, empty text (O3), the broadcast line (O1),
//! truncation (C1) and fleet isolation (a refused command changes nothing in the database).
//! The codes are sections of docs/decisions.md.

use crate::support::*;

fn rows(v: &[&str]) -> Vec<Vec<String>> {
    vec![v.iter().map(std::string::ToString::to_string).collect()]
}

/// Every table a message command could touch, for "changes nothing" checks.
fn snapshot(env: &Env) -> Vec<Vec<Vec<String>>> {
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

/// The position of a column in `SELECT * FROM tasks` (the snapshot's rows).
fn task_column(env: &Env, name: &str) -> usize {
    env.query("SELECT name FROM pragma_table_info('tasks') ORDER BY cid")
        .iter()
        .position(|r| r[0] == name)
        .unwrap_or_else(|| panic!("tasks has no column {name}"))
}

fn register(env: &Env, fleet: &str, name: &str) -> String {
    let v = env.json(&[
        "agent",
        "register",
        "--fleet-id",
        fleet,
        "--name",
        name,
        "--description",
        "helper",
    ]);
    v["agent_id"].to_string()
}

/// Fleet 1: Director 1 (a recorder pane), Administrator 2, alice 3, bob 4 (no panes).
fn fleet(env: &mut Env) -> (TmuxServer, std::path::PathBuf) {
    let (server, _pane, log) = fleet_in_tmux(env);
    assert_eq!(register(env, "1", "alice"), "3");
    assert_eq!(register(env, "1", "bob"), "4");
    (server, log)
}

/// `fleet` plus fleet 2: Director 5 (same pane), Administrator 6, dave 7.
fn two_fleets(env: &mut Env) -> (TmuxServer, std::path::PathBuf) {
    let out = fleet(env);
    env.ok(&["fleet", "create", "--label", "other"]);
    assert_eq!(register(env, "2", "dave"), "7");
    out
}

fn send(env: &Env, fleet: &str, from: &str, to: &str, text: &str) -> String {
    let v = env.json(&[
        "message",
        "send",
        "--fleet-id",
        fleet,
        "--agent-id",
        from,
        "--to",
        to,
        "--text",
        text,
    ]);
    v["task"]["id"].to_string()
}

fn msg(env: &Env, args: &[&str]) -> String {
    let mut full = vec!["message"];
    full.extend_from_slice(args);
    env.ok(&full)
}

fn msg_fails(env: &Env, args: &[&str]) -> String {
    let mut full = vec!["message"];
    full.extend_from_slice(args);
    env.fails(&full, 1)
}

fn deregistered_msg(agent: &str, fleet: &str) -> String {
    format!(
        "Error: agent {agent} is deregistered from fleet {fleet}; a retired agent can no longer act. Register a new agent with 'cafleet agent register'.\n"
    )
}

const EMPTY_TEXT: &str =
    "Error: message text may not be empty. Pass the message body with --text \"...\".\n";

/// `message send`'s last line for a recipient without a pane (alice and bob): nothing can be
/// typed, so the delivery stays stored until the recipient polls.
const NO_PANE_LINE: &str =
    "delivery: stored (idle; no pane to type into: the recipient reads it when it polls)\n";

/// `message send --json`'s `delivery` object for a recipient without a pane: stored, never
/// attempted, with the no-pane note.
fn no_pane_delivery_json(task_id: u32) -> String {
    format!(
        "{{\"task_id\":{task_id},\"mode\":\"idle\",\"state\":\"stored\",\"attempts\":0,\"last_attempt_at\":null,\"note\":\"no pane to type into: the recipient reads it when it polls\",\"typed_at\":null,\"submitted_at\":null,\"seen_at\":null,\"acked_at\":null,\"dead_at\":null}}"
    )
}

// ---------------------------------------------------------------- send

#[test]
fn send_prints_the_stored_message() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let out = msg(
        &env,
        &[
            "send",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--to",
            "4",
            "--text",
            "hello bob",
        ],
    );
    // bob has no pane: nothing is typed, the delivery stays stored until bob polls.
    assert_eq!(
        redact_ts(&out),
        format!("Message sent.\n[1 | from:3 | <TS>]\nhello bob\n{NO_PANE_LINE}")
    );
    let row = env.query(
        "SELECT task_id, context_id, from_agent_id, to_agent_id, type, status_state, origin_task_id, text, created_at = status_timestamp FROM tasks",
    );
    assert_eq!(
        row,
        rows(&[
            "1",
            "4",
            "3",
            "4",
            "unicast",
            "input_required",
            "NULL",
            "hello bob",
            "1"
        ])
    );
    // Never attempted, and no attempt time: the monitor has no pane to type it into later.
    assert_eq!(
        env.query(
            "SELECT delivery_mode, delivery_state, delivery_attempts, delivery_last_at, delivery_note, typed_at, submitted_at, seen_at, dead_at FROM tasks"
        ),
        rows(&[
            "idle", "stored", "0", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"
        ])
    );
    let ts = env.query("SELECT status_timestamp FROM tasks")[0][0].clone();
    assert!(out.contains(&ts), "{out}");
}

#[test]
fn send_json_reports_whether_the_preview_was_typed() {
    let mut env = Env::new();
    let (_server, log) = fleet(&mut env);
    assert_eq!(
        redact_ts(&env.ok(&[
            "--json",
            "message",
            "send",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--to",
            "4",
            "--text",
            "hello bob 2"
        ])),
        format!(
            "{{\"task\":{{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"hello bob 2\"}},\"notification_sent\":false,\"delivery\":{}}}\n",
            no_pane_delivery_json(1)
        )
    );
    // The Director has a pane running a (non-shell) program: the preview is typed. The
    // recorder shows no input box CAFleet can read, so it cannot see the text being taken:
    // the delivery is typed (one attempt), not submitted.
    let out = env.ok(&[
        "--json",
        "message",
        "send",
        "--fleet-id",
        "1",
        "--agent-id",
        "3",
        "--to",
        "1",
        "--text",
        "to the director",
    ]);
    assert_eq!(
        redact_ts(&out),
        "{\"task\":{\"id\":2,\"from\":3,\"ts\":\"<TS>\",\"text\":\"to the director\"},\"notification_sent\":true,\"delivery\":{\"task_id\":2,\"mode\":\"idle\",\"state\":\"typed\",\"attempts\":1,\"last_attempt_at\":\"<TS>\",\"note\":null,\"typed_at\":\"<TS>\",\"submitted_at\":null,\"seen_at\":null,\"acked_at\":null,\"dead_at\":null}}\n"
    );
    wait_for_bytes(&log, b"[cafleet msg 2 from 3 ");
    wait_for_bytes(&log, b"to the director\r");
}

#[test]
fn send_full_json_lists_every_column_with_task_id_last() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let out = env.ok(&[
        "--json",
        "message",
        "send",
        "--fleet-id",
        "1",
        "--agent-id",
        "3",
        "--to",
        "4",
        "--text",
        "hello bob 3",
        "--full",
    ]);
    assert_eq!(
        redact_ts(&out),
        // bob has no pane: stored, with the no-pane note.
        format!(
            "{{\"task\":{{\"context_id\":4,\"from_agent_id\":3,\"to_agent_id\":4,\"type\":\"unicast\",\"created_at\":\"<TS>\",\"status_state\":\"input_required\",\"status_timestamp\":\"<TS>\",\"origin_task_id\":null,\"text\":\"hello bob 3\",\"task_id\":1}},\"notification_sent\":false,\"delivery\":{}}}\n",
            no_pane_delivery_json(1)
        )
    );
}

#[test]
fn send_full_text_prints_the_long_form() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    assert_eq!(
        msg(
            &env,
            &[
                "send",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--to",
                "4",
                "--text",
                "hello bob 4",
                "--full"
            ]
        ),
        // bob has no pane: stored, with the no-pane note.
        format!(
            "Message sent.\n  id:    1\n  state: input_required\n  from:  3\n  to:    4\n  type:  unicast\n  text:  hello bob 4\n{NO_PANE_LINE}"
        )
    );
}

#[test]
fn send_quiet_prints_only_the_id_and_wins_over_full() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    assert_eq!(
        msg(
            &env,
            &[
                "send",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--to",
                "4",
                "--text",
                "q",
                "--quiet"
            ]
        ),
        "1\n"
    );
    assert_eq!(
        msg(
            &env,
            &[
                "send",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--to",
                "4",
                "--text",
                "q",
                "--full",
                "--quiet"
            ]
        ),
        "2\n"
    );
    // --quiet is ignored in JSON mode.
    assert_eq!(
        redact_ts(&env.ok(&[
            "--json",
            "message",
            "send",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--to",
            "4",
            "--text",
            "q",
            "--quiet"
        ])),
        format!(
            "{{\"task\":{{\"id\":3,\"from\":3,\"ts\":\"<TS>\",\"text\":\"q\"}},\"notification_sent\":false,\"delivery\":{}}}\n",
            no_pane_delivery_json(3)
        )
    );
}

#[test]
fn send_refuses_empty_or_blank_text_and_stores_nothing() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let before = snapshot(&env);
    for text in ["", " ", "  \t\n "] {
        assert_eq!(
            msg_fails(
                &env,
                &[
                    "send",
                    "--fleet-id",
                    "1",
                    "--agent-id",
                    "3",
                    "--to",
                    "1",
                    "--text",
                    text
                ]
            ),
            EMPTY_TEXT,
            "{text:?}"
        );
        assert_eq!(
            env.fails(
                &[
                    "--json",
                    "message",
                    "send",
                    "--fleet-id",
                    "1",
                    "--agent-id",
                    "3",
                    "--to",
                    "4",
                    "--text",
                    text
                ],
                1
            ),
            EMPTY_TEXT
        );
    }
    assert_eq!(snapshot(&env), before);
}

#[test]
fn send_stores_text_exactly_as_given() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    for text in [
        "-R",
        "--full",
        " padded ",
        "line1\nline2",
        "ÄÖÜ ✓ \u{1F680}",
    ] {
        let id = send(&env, "1", "3", "4", text);
        assert_eq!(
            env.query(&format!("SELECT text FROM tasks WHERE task_id = {id}"))[0][0],
            text
        );
    }
    // Embedded newlines are printed raw in text output.
    let out = msg(
        &env,
        &[
            "show",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--task-id",
            "4",
        ],
    );
    // `show` reads the stored record: bob has no pane, nothing was attempted (no note).
    assert_eq!(
        redact_ts(&out),
        "[4 | from:3 | <TS>]\nline1\nline2\ndelivery: stored (idle)\n"
    );
}

#[test]
fn send_repeated_text_option_keeps_the_last_value() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    msg(
        &env,
        &[
            "send",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--to",
            "4",
            "--text",
            "first",
            "--text",
            "second",
        ],
    );
    assert_eq!(env.query("SELECT text FROM tasks"), rows(&["second"]));
}

#[test]
fn send_to_self_is_stored_without_preview() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let v = env.json(&[
        "message",
        "send",
        "--fleet-id",
        "1",
        "--agent-id",
        "1",
        "--to",
        "1",
        "--text",
        "self",
    ]);
    assert_eq!(v["notification_sent"], false);
    assert_eq!(
        env.query("SELECT context_id, from_agent_id, to_agent_id FROM tasks"),
        rows(&["1", "1", "1"])
    );
}

#[test]
fn administrator_can_send_and_receive() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    send(&env, "1", "2", "3", "from admin");
    send(&env, "1", "3", "2", "to admin");
    let polled = env.json(&["message", "poll", "--fleet-id", "1", "--agent-id", "2"]);
    assert_eq!(polled[0]["text"], "to admin");
    assert_eq!(polled.as_array().unwrap().len(), 1);
}

#[test]
fn send_refuses_a_caller_outside_the_fleet() {
    let mut env = Env::new();
    let (_server, _log) = two_fleets(&mut env);
    let before = snapshot(&env);
    for caller in ["7", "99"] {
        assert_eq!(
            msg_fails(
                &env,
                &[
                    "send",
                    "--fleet-id",
                    "1",
                    "--agent-id",
                    caller,
                    "--to",
                    "1",
                    "--text",
                    "x"
                ]
            ),
            format!("Error: agent {caller} is not a member of fleet 1.\n")
        );
    }
    assert_eq!(snapshot(&env), before);
}

#[test]
fn send_refuses_a_deregistered_sender() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    env.ok(&["agent", "deregister", "--fleet-id", "1", "--agent-id", "3"]);
    let before = snapshot(&env);
    assert_eq!(
        msg_fails(
            &env,
            &[
                "send",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--to",
                "4",
                "--text",
                "x"
            ]
        ),
        // 0.14's text for an inactive sender (docs/decisions.md, MSG-2).
        "Error: Sender agent not found or not active in fleet: 3\n"
    );
    assert_eq!(snapshot(&env), before);
}

#[test]
fn send_to_an_unknown_deregistered_or_foreign_destination_is_not_found() {
    let mut env = Env::new();
    let (_server, _log) = two_fleets(&mut env);
    env.ok(&["agent", "deregister", "--fleet-id", "1", "--agent-id", "4"]);
    let before = snapshot(&env);
    // 7 (dave) and 5 (fleet 2's Director) exist in fleet 2: reported exactly like a
    // missing id, so other fleets' ids do not leak.
    for to in ["999", "4", "7", "5"] {
        assert_eq!(
            msg_fails(
                &env,
                &[
                    "send",
                    "--fleet-id",
                    "1",
                    "--agent-id",
                    "3",
                    "--to",
                    to,
                    "--text",
                    "x"
                ]
            ),
            format!("Error: Destination agent not found: {to}\n"),
            "to {to}"
        );
    }
    assert_eq!(snapshot(&env), before);
}

// ---------------------------------------------------------------- broadcast

#[test]
fn broadcast_prints_id_recipients_and_previews_typed() {
    let mut env = Env::new();
    let (_server, log) = fleet(&mut env);
    // Recipients: Director 1 (pane) and bob 4 (no pane); not the Administrator, not alice.
    assert_eq!(
        msg(
            &env,
            &[
                "broadcast",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--text",
                "hello all"
            ]
        ),
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
        redact_ts(&env.ok(&[
            "--json",
            "message",
            "broadcast",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--text",
            "hello all 2"
        ])),
        // The Director's recorder pane gets the preview but shows no input box CAFleet can
        // read (typed, not known to be submitted); bob has no pane (stored).
        "[{\"task\":{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"Broadcast sent to 2 recipients\",\"kind\":\"broadcast_summary\",\"origin\":1},\"notifications_sent_count\":1,\"delivery\":{\"mode\":\"idle\",\"states\":{\"stored\":1,\"typed\":1,\"submitted\":0}}}]\n"
    );
    assert_eq!(
        redact_ts(&env.ok(&[
            "--json",
            "message",
            "broadcast",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--text",
            "hello all 3",
            "--full"
        ])),
        "[{\"task\":{\"context_id\":3,\"from_agent_id\":3,\"to_agent_id\":0,\"type\":\"broadcast_summary\",\"created_at\":\"<TS>\",\"status_state\":\"completed\",\"status_timestamp\":\"<TS>\",\"origin_task_id\":4,\"text\":\"Broadcast sent to 2 recipients\",\"task_id\":4},\"notifications_sent_count\":1,\"delivery\":{\"mode\":\"idle\",\"states\":{\"stored\":1,\"typed\":1,\"submitted\":0}}}]\n"
    );
}

#[test]
fn broadcast_full_text_prints_the_summary_block() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    assert_eq!(
        msg(
            &env,
            &[
                "broadcast",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--text",
                "hello all 4",
                "--full"
            ]
        ),
        "  id:    1\n  state: completed\n  from:  3\n  type:  broadcast_summary\n  text:  Broadcast sent to 2 recipients\n"
    );
}

#[test]
fn broadcast_skips_the_administrator_deregistered_agents_and_other_fleets() {
    let mut env = Env::new();
    let (_server, _log) = two_fleets(&mut env);
    let carol = register(&env, "1", "carol");
    env.ok(&[
        "agent",
        "deregister",
        "--fleet-id",
        "1",
        "--agent-id",
        &carol,
    ]);
    // From the Administrator: Director 1, alice 3, bob 4.
    assert_eq!(
        msg(
            &env,
            &[
                "broadcast",
                "--fleet-id",
                "1",
                "--agent-id",
                "2",
                "--text",
                "all"
            ]
        ),
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
        msg(
            &env,
            &[
                "broadcast",
                "--fleet-id",
                "1",
                "--agent-id",
                "1",
                "--text",
                "all"
            ]
        ),
        "broadcast id=5 recipients=2 notified=0\n"
    );
}

#[test]
fn broadcast_with_no_recipients_stores_only_the_summary() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    assert_eq!(
        msg(
            &env,
            &[
                "broadcast",
                "--fleet-id",
                "1",
                "--agent-id",
                "1",
                "--text",
                "anyone?"
            ]
        ),
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
    env.ok(&["agent", "deregister", "--fleet-id", "1", "--agent-id", "4"]);
    let before = snapshot(&env);
    // broadcast is not caller-checked: every case is the sender error.
    for sender in ["4", "7", "5", "99"] {
        assert_eq!(
            msg_fails(
                &env,
                &[
                    "broadcast",
                    "--fleet-id",
                    "1",
                    "--agent-id",
                    sender,
                    "--text",
                    "x"
                ]
            ),
            format!("Error: Sender agent not found or not active in fleet: {sender}\n"),
            "sender {sender}"
        );
    }
    assert_eq!(snapshot(&env), before);
}

#[test]
fn broadcast_refuses_empty_or_blank_text() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let before = snapshot(&env);
    for text in ["", "   ", "\n"] {
        assert_eq!(
            msg_fails(
                &env,
                &[
                    "broadcast",
                    "--fleet-id",
                    "1",
                    "--agent-id",
                    "3",
                    "--text",
                    text
                ]
            ),
            EMPTY_TEXT
        );
    }
    assert_eq!(snapshot(&env), before);
}

// ---------------------------------------------------------------- poll

#[test]
fn poll_lists_pending_deliveries_newest_first() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    send(&env, "1", "3", "4", "first");
    msg(
        &env,
        &[
            "broadcast",
            "--fleet-id",
            "1",
            "--agent-id",
            "1",
            "--text",
            "to all",
        ],
    );
    send(&env, "1", "2", "4", "from admin");
    // bob's inbox: 5 (from admin), 4 (broadcast delivery, origin 2), 1.
    assert_eq!(
        redact_ts(&msg(&env, &["poll", "--fleet-id", "1", "--agent-id", "4"])),
        "[5 | from:2 | <TS>]\nfrom admin\n\n[4 | from:1 | <TS> | origin:2]\nto all\n\n[1 | from:3 | <TS>]\nfirst\n"
    );
    assert_eq!(
        redact_ts(&env.ok(&[
            "--json",
            "message",
            "poll",
            "--fleet-id",
            "1",
            "--agent-id",
            "4"
        ])),
        "[{\"id\":5,\"from\":2,\"ts\":\"<TS>\",\"text\":\"from admin\"},{\"id\":4,\"from\":1,\"ts\":\"<TS>\",\"text\":\"to all\",\"origin\":2},{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"first\"}]\n"
    );
    // The broadcaster's summary is never in its inbox.
    assert_eq!(
        msg(&env, &["poll", "--fleet-id", "1", "--agent-id", "1"]),
        "No messages found.\n"
    );
}

#[test]
fn poll_orders_by_status_timestamp_then_by_newest_id() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    for t in ["a", "b", "c"] {
        send(&env, "1", "3", "4", t);
    }
    // Task 1 becomes the newest; tasks 2 and 3 share one timestamp.
    query_db(
        &env.db_path,
        "UPDATE tasks SET status_timestamp = '2030-01-01T00:00:00.000000+00:00' WHERE task_id = 1",
    );
    query_db(
        &env.db_path,
        "UPDATE tasks SET status_timestamp = '2029-01-01T00:00:00.000000+00:00' WHERE task_id IN (2, 3)",
    );
    let v = env.json(&["message", "poll", "--fleet-id", "1", "--agent-id", "4"]);
    let ids: Vec<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![1, 3, 2]);
}

#[test]
fn poll_full_lists_every_column_with_task_id_first() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    send(&env, "1", "3", "4", "hello");
    assert_eq!(
        redact_ts(&env.ok(&[
            "--json",
            "message",
            "poll",
            "--fleet-id",
            "1",
            "--agent-id",
            "4",
            "--full"
        ])),
        "[{\"task_id\":1,\"context_id\":4,\"from_agent_id\":3,\"to_agent_id\":4,\"type\":\"unicast\",\"created_at\":\"<TS>\",\"status_state\":\"input_required\",\"status_timestamp\":\"<TS>\",\"origin_task_id\":null,\"text\":\"hello\"}]\n"
    );
    assert_eq!(
        msg(
            &env,
            &["poll", "--fleet-id", "1", "--agent-id", "4", "--full"]
        ),
        "  id:    1\n  state: input_required\n  from:  3\n  to:    4\n  type:  unicast\n  text:  hello\n"
    );
}

#[test]
fn poll_of_an_empty_inbox() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    assert_eq!(
        msg(&env, &["poll", "--fleet-id", "1", "--agent-id", "3"]),
        "No messages found.\n"
    );
    assert_eq!(
        env.ok(&[
            "--json",
            "message",
            "poll",
            "--fleet-id",
            "1",
            "--agent-id",
            "3"
        ]),
        "[]\n"
    );
}

#[test]
fn poll_hides_acked_and_canceled_messages_and_changes_only_the_seen_marks() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let a = send(&env, "1", "3", "4", "to ack");
    let c = send(&env, "1", "3", "4", "to cancel");
    let k = send(&env, "1", "3", "4", "kept");
    msg(
        &env,
        &["ack", "--fleet-id", "1", "--agent-id", "4", "--task-id", &a],
    );
    msg(
        &env,
        &[
            "cancel",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--task-id",
            &c,
        ],
    );
    let before = snapshot(&env);
    let log_before = change_log(&env);
    let v = env.json(&["message", "poll", "--fleet-id", "1", "--agent-id", "4"]);
    let ids: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].to_string())
        .collect();
    assert_eq!(ids, vec![k.clone()]);
    // The poll marks the one delivery it showed seen (delivery_state and seen_at) and
    // nothing else: every other column of every row, and every other table, is unchanged.
    let after = snapshot(&env);
    let (state, seen_at) = (
        task_column(&env, "delivery_state"),
        task_column(&env, "seen_at"),
    );
    let mut expected = before.clone();
    let row = expected[3].iter_mut().find(|r| r[0] == k).unwrap();
    assert_eq!(
        (row[state].as_str(), row[seen_at].as_str()),
        ("stored", "NULL")
    );
    let stamp = after[3].iter().find(|r| r[0] == k).unwrap()[seen_at].clone();
    row[state] = "seen".into();
    row[seen_at] = stamp.clone();
    assert_eq!(after, expected);
    // Marked at the poll: after every earlier write (the cancel is the latest).
    let latest = env.query("SELECT max(status_timestamp) FROM tasks")[0][0].clone();
    assert!(stamp > latest, "seen_at {stamp} is not after {latest}");
    // One change_log row for the WebUI (fleet 1, the task); none for the acked or canceled.
    let log_after = change_log(&env);
    assert_eq!(log_after[..log_before.len()], log_before[..]);
    let added: Vec<&[String]> = log_after[log_before.len()..]
        .iter()
        .map(|r| &r[1..])
        .collect();
    assert_eq!(added, vec![&["1".to_string(), "task".into(), k][..]]);
    // Polling again returns the same and, everything being seen already, writes nothing.
    assert_eq!(
        env.json(&["message", "poll", "--fleet-id", "1", "--agent-id", "4"]),
        v
    );
    assert_eq!(snapshot(&env), after);
    assert_eq!(change_log(&env), log_after);
}

#[test]
fn poll_refuses_outsiders_and_deregistered_callers() {
    let mut env = Env::new();
    let (_server, _log) = two_fleets(&mut env);
    send(&env, "1", "3", "4", "for bob");
    assert_eq!(
        msg_fails(&env, &["poll", "--fleet-id", "2", "--agent-id", "4"]),
        "Error: agent 4 is not a member of fleet 2.\n"
    );
    assert_eq!(
        msg_fails(&env, &["poll", "--fleet-id", "1", "--agent-id", "99"]),
        "Error: agent 99 is not a member of fleet 1.\n"
    );
    env.ok(&["agent", "deregister", "--fleet-id", "1", "--agent-id", "4"]);
    assert_eq!(
        msg_fails(&env, &["poll", "--fleet-id", "1", "--agent-id", "4"]),
        deregistered_msg("4", "1")
    );
}

// ---------------------------------------------------------------- ack

#[test]
fn ack_completes_the_message_and_prints_it_with_the_ack_time() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let id = send(&env, "1", "3", "4", "hello bob");
    let sent_ts = env.query("SELECT status_timestamp FROM tasks")[0][0].clone();
    let out = msg(
        &env,
        &[
            "ack",
            "--fleet-id",
            "1",
            "--agent-id",
            "4",
            "--task-id",
            &id,
        ],
    );
    assert_eq!(
        redact_ts(&out),
        "Message acknowledged.\n[1 | from:3 | <TS>]\nhello bob\n"
    );
    let r = env.query("SELECT status_state, created_at, status_timestamp FROM tasks")[0].clone();
    assert_eq!(r[0], "completed");
    assert_eq!(r[1], sent_ts, "created_at never changes");
    assert!(r[2] > sent_ts, "status_timestamp is the ack time");
    assert!(out.contains(&r[2]), "the output shows the ack time: {out}");
}

#[test]
fn ack_json_full_and_quiet_forms() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    for t in ["one", "two", "three", "four"] {
        send(&env, "1", "3", "4", t);
    }
    assert_eq!(
        redact_ts(&env.ok(&[
            "--json",
            "message",
            "ack",
            "--fleet-id",
            "1",
            "--agent-id",
            "4",
            "--task-id",
            "1"
        ])),
        "{\"task\":{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"one\"}}\n"
    );
    assert_eq!(
        redact_ts(&env.ok(&[
            "--json",
            "message",
            "ack",
            "--fleet-id",
            "1",
            "--agent-id",
            "4",
            "--task-id",
            "2",
            "--full"
        ])),
        "{\"task\":{\"task_id\":2,\"context_id\":4,\"from_agent_id\":3,\"to_agent_id\":4,\"type\":\"unicast\",\"created_at\":\"<TS>\",\"status_state\":\"completed\",\"status_timestamp\":\"<TS>\",\"origin_task_id\":null,\"text\":\"two\"}}\n"
    );
    assert_eq!(
        msg(
            &env,
            &[
                "ack",
                "--fleet-id",
                "1",
                "--agent-id",
                "4",
                "--task-id",
                "3",
                "--quiet"
            ]
        ),
        "3\n"
    );
    assert_eq!(
        msg(
            &env,
            &[
                "ack",
                "--fleet-id",
                "1",
                "--agent-id",
                "4",
                "--task-id",
                "4",
                "--full"
            ]
        ),
        "Message acknowledged.\n  id:    4\n  state: completed\n  from:  3\n  to:    4\n  type:  unicast\n  text:  four\n"
    );
    assert_eq!(
        env.query("SELECT count(*) FROM tasks WHERE status_state = 'completed'"),
        rows(&["4"])
    );
    // --quiet only affects text mode.
    send(&env, "1", "3", "4", "five");
    let v = env.json(&[
        "message",
        "ack",
        "--fleet-id",
        "1",
        "--agent-id",
        "4",
        "--task-id",
        "5",
        "--quiet",
    ]);
    assert_eq!(v["task"]["id"], 5);
    assert_eq!(v["task"]["text"], "five");
}

#[test]
fn ack_of_a_self_addressed_message_by_its_agent() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let id = send(&env, "1", "3", "3", "note to self");
    msg(
        &env,
        &[
            "ack",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--task-id",
            &id,
        ],
    );
    assert_eq!(
        env.query("SELECT status_state FROM tasks"),
        rows(&["completed"])
    );
}

#[test]
fn ack_errors_change_nothing() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let pending = send(&env, "1", "3", "4", "pending");
    let acked = send(&env, "1", "3", "4", "acked");
    let canceled = send(&env, "1", "3", "4", "canceled");
    msg(
        &env,
        &[
            "ack",
            "--fleet-id",
            "1",
            "--agent-id",
            "4",
            "--task-id",
            &acked,
        ],
    );
    msg(
        &env,
        &[
            "cancel",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--task-id",
            &canceled,
        ],
    );
    msg(
        &env,
        &[
            "broadcast",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--text",
            "b",
        ],
    );
    let before = snapshot(&env);
    let cases: &[(&str, &str, String)] = &[
        ("4", "99", "Error: Task 99 not found\n".to_string()),
        (
            "3",
            &pending,
            "Error: Only the recipient can ACK a task\n".to_string(),
        ),
        (
            "1",
            &pending,
            "Error: Only the recipient can ACK a task\n".to_string(),
        ),
        (
            "4",
            &acked,
            "Error: Cannot ACK task in state completed\n".to_string(),
        ),
        (
            "4",
            &canceled,
            "Error: Cannot ACK task in state canceled\n".to_string(),
        ),
        // The broadcast summary (task 4) belongs to its sender and is born completed.
        (
            "3",
            "4",
            "Error: Cannot ACK task in state completed\n".to_string(),
        ),
    ];
    for (agent, task, expected) in cases {
        assert_eq!(
            &msg_fails(
                &env,
                &[
                    "ack",
                    "--fleet-id",
                    "1",
                    "--agent-id",
                    agent,
                    "--task-id",
                    task
                ]
            ),
            expected,
            "agent {agent} task {task}"
        );
    }
    assert_eq!(snapshot(&env), before);
}

#[test]
fn ack_refuses_a_deregistered_recipient() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let id = send(&env, "1", "3", "4", "x");
    env.ok(&["agent", "deregister", "--fleet-id", "1", "--agent-id", "4"]);
    let before = snapshot(&env);
    assert_eq!(
        msg_fails(
            &env,
            &[
                "ack",
                "--fleet-id",
                "1",
                "--agent-id",
                "4",
                "--task-id",
                &id
            ]
        ),
        deregistered_msg("4", "1")
    );
    assert_eq!(snapshot(&env), before);
}

// ---------------------------------------------------------------- cancel

#[test]
fn cancel_withdraws_a_pending_message() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let id = send(&env, "1", "3", "4", "q");
    assert_eq!(
        redact_ts(&msg(
            &env,
            &[
                "cancel",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--task-id",
                &id
            ]
        )),
        "Task canceled.\n[1 | from:3 | <TS>]\nq\n"
    );
    let r = env.query("SELECT status_state, created_at < status_timestamp FROM tasks");
    assert_eq!(r, rows(&["canceled", "1"]));
    assert_eq!(
        msg(&env, &["poll", "--fleet-id", "1", "--agent-id", "4"]),
        "No messages found.\n"
    );
}

#[test]
fn cancel_json_and_full_forms() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    send(&env, "1", "3", "4", "a");
    send(&env, "1", "3", "3", "self");
    send(&env, "1", "3", "4", "c");
    assert_eq!(
        redact_ts(&env.ok(&[
            "--json",
            "message",
            "cancel",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--task-id",
            "1"
        ])),
        "{\"task\":{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"a\"}}\n"
    );
    assert_eq!(
        msg(
            &env,
            &[
                "cancel",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--task-id",
                "2",
                "--full"
            ]
        ),
        "Task canceled.\n  id:    2\n  state: canceled\n  from:  3\n  to:    3\n  type:  unicast\n  text:  self\n"
    );
    assert_eq!(
        redact_ts(&env.ok(&[
            "--json",
            "message",
            "cancel",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--task-id",
            "3",
            "--full"
        ])),
        "{\"task\":{\"task_id\":3,\"context_id\":4,\"from_agent_id\":3,\"to_agent_id\":4,\"type\":\"unicast\",\"created_at\":\"<TS>\",\"status_state\":\"canceled\",\"status_timestamp\":\"<TS>\",\"origin_task_id\":null,\"text\":\"c\"}}\n"
    );
}

#[test]
fn cancel_of_one_broadcast_delivery_leaves_the_others_pending() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    msg(
        &env,
        &[
            "broadcast",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--text",
            "b",
        ],
    );
    // Deliveries: 2 → Director 1, 3 → bob 4.
    msg(
        &env,
        &[
            "cancel",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--task-id",
            "3",
        ],
    );
    assert_eq!(
        env.query("SELECT task_id, status_state FROM tasks ORDER BY task_id"),
        vec![
            vec!["1".to_string(), "completed".to_string()],
            vec!["2".to_string(), "input_required".to_string()],
            vec!["3".to_string(), "canceled".to_string()],
        ]
    );
}

#[test]
fn cancel_errors_change_nothing() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let pending = send(&env, "1", "3", "4", "pending");
    let acked = send(&env, "1", "3", "4", "acked");
    let canceled = send(&env, "1", "3", "4", "canceled");
    msg(
        &env,
        &[
            "ack",
            "--fleet-id",
            "1",
            "--agent-id",
            "4",
            "--task-id",
            &acked,
        ],
    );
    msg(
        &env,
        &[
            "cancel",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--task-id",
            &canceled,
        ],
    );
    msg(
        &env,
        &[
            "broadcast",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--text",
            "b",
        ],
    );
    let before = snapshot(&env);
    let cases: &[(&str, &str, String)] = &[
        ("3", "99", "Error: Task 99 not found\n".to_string()),
        (
            "4",
            &pending,
            "Error: Only the sender can cancel a task\n".to_string(),
        ),
        (
            "1",
            &pending,
            "Error: Only the sender can cancel a task\n".to_string(),
        ),
        (
            "3",
            &acked,
            "Error: Cannot cancel task in state completed\n".to_string(),
        ),
        (
            "3",
            &canceled,
            "Error: Cannot cancel task in state canceled\n".to_string(),
        ),
        (
            "3",
            "4",
            "Error: Cannot cancel task in state completed\n".to_string(),
        ),
    ];
    for (agent, task, expected) in cases {
        assert_eq!(
            &msg_fails(
                &env,
                &[
                    "cancel",
                    "--fleet-id",
                    "1",
                    "--agent-id",
                    agent,
                    "--task-id",
                    task
                ]
            ),
            expected,
            "agent {agent} task {task}"
        );
    }
    assert_eq!(snapshot(&env), before);
}

#[test]
fn cancel_refuses_a_deregistered_sender() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let id = send(&env, "1", "3", "4", "x");
    env.ok(&["agent", "deregister", "--fleet-id", "1", "--agent-id", "3"]);
    let before = snapshot(&env);
    assert_eq!(
        msg_fails(
            &env,
            &[
                "cancel",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--task-id",
                &id
            ]
        ),
        deregistered_msg("3", "1")
    );
    assert_eq!(snapshot(&env), before);
}

// ---------------------------------------------------------------- show

#[test]
fn show_prints_any_message_of_the_fleet_to_any_member() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    send(&env, "1", "3", "1", "hello director");
    // The preview went into the Director's recorder pane, whose input box CAFleet cannot
    // read: typed once, not known to be submitted. Unicast, so `show` reports it.
    // bob is neither sender nor recipient, and the Administrator can read it too.
    for reader in ["4", "2"] {
        assert_eq!(
            redact_ts(&msg(
                &env,
                &[
                    "show",
                    "--fleet-id",
                    "1",
                    "--agent-id",
                    reader,
                    "--task-id",
                    "1"
                ]
            )),
            "[1 | from:3 | <TS>]\nhello director\ndelivery: typed (idle)\n"
        );
    }
    assert_eq!(
        redact_ts(&env.ok(&[
            "--json",
            "message",
            "show",
            "--fleet-id",
            "1",
            "--agent-id",
            "4",
            "--task-id",
            "1"
        ])),
        "{\"task\":{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"hello director\"},\"delivery\":{\"task_id\":1,\"mode\":\"idle\",\"state\":\"typed\",\"attempts\":1,\"last_attempt_at\":\"<TS>\",\"note\":null,\"typed_at\":\"<TS>\",\"submitted_at\":null,\"seen_at\":null,\"acked_at\":null,\"dead_at\":null}}\n"
    );
    assert_eq!(
        redact_ts(&env.ok(&[
            "--json",
            "message",
            "show",
            "--fleet-id",
            "1",
            "--agent-id",
            "4",
            "--task-id",
            "1",
            "--full"
        ])),
        "{\"task\":{\"task_id\":1,\"context_id\":1,\"from_agent_id\":3,\"to_agent_id\":1,\"type\":\"unicast\",\"created_at\":\"<TS>\",\"status_state\":\"input_required\",\"status_timestamp\":\"<TS>\",\"origin_task_id\":null,\"text\":\"hello director\"},\"delivery\":{\"task_id\":1,\"mode\":\"idle\",\"state\":\"typed\",\"attempts\":1,\"last_attempt_at\":\"<TS>\",\"note\":null,\"typed_at\":\"<TS>\",\"submitted_at\":null,\"seen_at\":null,\"acked_at\":null,\"dead_at\":null}}\n"
    );
    // --full adds the delivery block: one preview typed, and when.
    assert_eq!(
        redact_ts(&msg(
            &env,
            &[
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                "4",
                "--task-id",
                "1",
                "--full"
            ]
        )),
        "  id:    1\n  state: input_required\n  from:  3\n  to:    1\n  type:  unicast\n  text:  hello director\ndelivery: typed (idle)\n  attempts: 1\n  typed: <TS>\n"
    );
}

#[test]
fn show_of_a_broadcast_summary_names_its_kind_and_origin() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    msg(
        &env,
        &[
            "broadcast",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--text",
            "hello all",
        ],
    );
    assert_eq!(
        redact_ts(&msg(
            &env,
            &[
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                "4",
                "--task-id",
                "1"
            ]
        )),
        "[1 | from:3 | <TS> | kind:broadcast_summary | origin:1]\nBroadcast sent to 2 recipients\n"
    );
    assert_eq!(
        redact_ts(&env.ok(&[
            "--json",
            "message",
            "show",
            "--fleet-id",
            "1",
            "--agent-id",
            "4",
            "--task-id",
            "1"
        ])),
        "{\"task\":{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"Broadcast sent to 2 recipients\",\"kind\":\"broadcast_summary\",\"origin\":1}}\n"
    );
    // The summary's --full text has no "to:" line (to_agent_id is 0).
    assert_eq!(
        msg(
            &env,
            &[
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                "4",
                "--task-id",
                "1",
                "--full"
            ]
        ),
        "  id:    1\n  state: completed\n  from:  3\n  type:  broadcast_summary\n  text:  Broadcast sent to 2 recipients\n"
    );
    assert_eq!(
        redact_ts(&msg(
            &env,
            &[
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                "4",
                "--task-id",
                "3"
            ]
        )),
        // bob's delivery of the broadcast (bob has no pane: stored, nothing attempted);
        // the summary above has no delivery line.
        "[3 | from:3 | <TS> | origin:1]\nhello all\ndelivery: stored (idle)\n"
    );
}

#[test]
fn show_works_in_every_state() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let a = send(&env, "1", "3", "4", "a");
    let c = send(&env, "1", "3", "4", "c");
    msg(
        &env,
        &["ack", "--fleet-id", "1", "--agent-id", "4", "--task-id", &a],
    );
    msg(
        &env,
        &[
            "cancel",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--task-id",
            &c,
        ],
    );
    let v = env.json(&[
        "message",
        "show",
        "--fleet-id",
        "1",
        "--agent-id",
        "1",
        "--task-id",
        &a,
        "--full",
    ]);
    assert_eq!(v["task"]["status_state"], "completed");
    let v = env.json(&[
        "message",
        "show",
        "--fleet-id",
        "1",
        "--agent-id",
        "1",
        "--task-id",
        &c,
        "--full",
    ]);
    assert_eq!(v["task"]["status_state"], "canceled");
}

#[test]
fn show_errors() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let id = send(&env, "1", "3", "4", "x");
    assert_eq!(
        msg_fails(
            &env,
            &[
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--task-id",
                "99"
            ]
        ),
        "Error: Task 99 not found\n"
    );
    assert_eq!(
        msg_fails(
            &env,
            &[
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                "99",
                "--task-id",
                &id
            ]
        ),
        "Error: agent 99 is not a member of fleet 1.\n"
    );
    env.ok(&["agent", "deregister", "--fleet-id", "1", "--agent-id", "4"]);
    assert_eq!(
        msg_fails(
            &env,
            &[
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                "4",
                "--task-id",
                &id
            ]
        ),
        deregistered_msg("4", "1")
    );
    // A message whose endpoint was deregistered is still visible to the fleet.
    msg(
        &env,
        &[
            "show",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--task-id",
            &id,
        ],
    );
}

// ---------------------------------------------------------------- fleet isolation

#[test]
fn message_commands_refuse_ids_of_another_fleet_and_change_nothing() {
    let mut env = Env::new();
    let (_server, _log) = two_fleets(&mut env);
    // t1: alice 3 → bob 4 in fleet 1; t2: dave 7 → fleet 2's Director 5.
    let t1 = send(&env, "1", "3", "4", "fleet one");
    let t2 = send(&env, "2", "7", "5", "fleet two");
    let before = snapshot(&env);
    let not_found = |t: &str| format!("Error: Task {t} not found\n");
    let cases: Vec<(Vec<&str>, String)> = vec![
        // A fleet-2 agent acting in fleet 1, and a fleet-1 agent acting in fleet 2.
        (
            vec![
                "send",
                "--fleet-id",
                "1",
                "--agent-id",
                "7",
                "--to",
                "3",
                "--text",
                "x",
            ],
            "Error: agent 7 is not a member of fleet 1.\n".into(),
        ),
        (
            vec![
                "send",
                "--fleet-id",
                "2",
                "--agent-id",
                "3",
                "--to",
                "7",
                "--text",
                "x",
            ],
            "Error: agent 3 is not a member of fleet 2.\n".into(),
        ),
        // A destination in the other fleet does not exist for the sender.
        (
            vec![
                "send",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--to",
                "7",
                "--text",
                "x",
            ],
            "Error: Destination agent not found: 7\n".into(),
        ),
        (
            vec![
                "broadcast",
                "--fleet-id",
                "1",
                "--agent-id",
                "7",
                "--text",
                "x",
            ],
            "Error: Sender agent not found or not active in fleet: 7\n".into(),
        ),
        (
            vec!["poll", "--fleet-id", "2", "--agent-id", "4"],
            "Error: agent 4 is not a member of fleet 2.\n".into(),
        ),
        // Another fleet's task ids do not exist, whoever asks.
        (
            vec![
                "ack",
                "--fleet-id",
                "1",
                "--agent-id",
                "4",
                "--task-id",
                &t2,
            ],
            not_found(&t2),
        ),
        (
            vec![
                "ack",
                "--fleet-id",
                "2",
                "--agent-id",
                "5",
                "--task-id",
                &t1,
            ],
            not_found(&t1),
        ),
        (
            vec![
                "ack",
                "--fleet-id",
                "2",
                "--agent-id",
                "4",
                "--task-id",
                &t1,
            ],
            "Error: agent 4 is not a member of fleet 2.\n".into(),
        ),
        (
            vec![
                "cancel",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--task-id",
                &t2,
            ],
            not_found(&t2),
        ),
        (
            vec![
                "cancel",
                "--fleet-id",
                "2",
                "--agent-id",
                "7",
                "--task-id",
                &t1,
            ],
            not_found(&t1),
        ),
        (
            vec![
                "cancel",
                "--fleet-id",
                "2",
                "--agent-id",
                "3",
                "--task-id",
                &t1,
            ],
            "Error: agent 3 is not a member of fleet 2.\n".into(),
        ),
        (
            vec![
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--task-id",
                &t2,
            ],
            not_found(&t2),
        ),
        (
            vec![
                "show",
                "--fleet-id",
                "2",
                "--agent-id",
                "7",
                "--task-id",
                &t1,
            ],
            not_found(&t1),
        ),
        (
            vec![
                "show",
                "--fleet-id",
                "2",
                "--agent-id",
                "3",
                "--task-id",
                &t1,
            ],
            "Error: agent 3 is not a member of fleet 2.\n".into(),
        ),
    ];
    for (args, expected) in &cases {
        assert_eq!(&msg_fails(&env, args), expected, "message {args:?}");
        let mut json = vec!["--json", "message"];
        json.extend_from_slice(args);
        assert_eq!(&env.fails(&json, 1), expected, "--json message {args:?}");
    }
    assert_eq!(snapshot(&env), before);
}

#[test]
fn broadcast_and_poll_stay_inside_the_fleet() {
    let mut env = Env::new();
    let (_server, _log) = two_fleets(&mut env);
    msg(
        &env,
        &[
            "broadcast",
            "--fleet-id",
            "2",
            "--agent-id",
            "7",
            "--text",
            "fleet two only",
        ],
    );
    // Only fleet 2's Director (5) receives it.
    assert_eq!(
        env.query("SELECT to_agent_id FROM tasks WHERE type = 'unicast'"),
        rows(&["5"])
    );
    for agent in ["1", "3", "4"] {
        assert_eq!(
            msg(&env, &["poll", "--fleet-id", "1", "--agent-id", agent]),
            "No messages found.\n"
        );
    }
    let v = env.json(&["message", "poll", "--fleet-id", "2", "--agent-id", "5"]);
    assert_eq!(v[0]["text"], "fleet two only");
}

// ---------------------------------------------------------------- truncation (0.14's rule)

fn with_max(env: &Env, max: &str, args: &[&str]) -> String {
    let out = env
        .cmd()
        .env("CAFLEET_MAX_TEXT_LEN", max)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn send_output_truncates_text_beyond_max_text_len() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let send_args = |text: &'static str| {
        vec![
            "message",
            "send",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--to",
            "4",
            "--text",
            text,
        ]
    };
    assert_eq!(
        redact_ts(&with_max(&env, "10", &send_args("0123456789"))),
        format!("Message sent.\n[1 | from:3 | <TS>]\n0123456789\n{NO_PANE_LINE}")
    );
    // The delivery line (bob has no pane) is never truncated.
    assert_eq!(
        redact_ts(&with_max(&env, "10", &send_args("0123456789A"))),
        format!("Message sent.\n[2 | from:3 | <TS>]\n0123456789…\n{NO_PANE_LINE}")
    );
    // Code points, not bytes.
    let mut json = vec!["--json"];
    json.extend(send_args("ÄÖÜ456789ABC"));
    assert_eq!(
        redact_ts(&with_max(&env, "10", &json)),
        format!(
            "{{\"task\":{{\"id\":3,\"from\":3,\"ts\":\"<TS>\",\"text\":\"ÄÖÜ456789A…\"}},\"notification_sent\":false,\"delivery\":{}}}\n",
            no_pane_delivery_json(3)
        )
    );
    // --full is untruncated, in text and JSON.
    let mut full = send_args("0123456789ABC");
    full.push("--full");
    assert_eq!(
        with_max(&env, "10", &full),
        format!(
            "Message sent.\n  id:    4\n  state: input_required\n  from:  3\n  to:    4\n  type:  unicast\n  text:  0123456789ABC\n{NO_PANE_LINE}"
        )
    );
    let mut full_json = vec!["--json"];
    full_json.extend(full.iter());
    let v: serde_json::Value =
        serde_json::from_str(with_max(&env, "10", &full_json).trim()).unwrap();
    assert_eq!(v["task"]["text"], "0123456789ABC");
    // The stored text is never truncated.
    assert_eq!(
        env.query("SELECT text FROM tasks WHERE task_id IN (2, 3) ORDER BY task_id"),
        vec![
            vec!["0123456789A".to_string()],
            vec!["ÄÖÜ456789ABC".to_string()]
        ]
    );
}

#[test]
fn read_outputs_truncate_text_unless_full() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    send(&env, "1", "3", "4", "abcdefghij");
    send(&env, "1", "3", "4", "klmnopqrst");
    assert_eq!(
        redact_ts(&with_max(
            &env,
            "5",
            &["message", "poll", "--fleet-id", "1", "--agent-id", "4"]
        )),
        "[2 | from:3 | <TS>]\nklmno…\n\n[1 | from:3 | <TS>]\nabcde…\n"
    );
    let v: serde_json::Value = serde_json::from_str(
        with_max(
            &env,
            "5",
            &[
                "--json",
                "message",
                "poll",
                "--fleet-id",
                "1",
                "--agent-id",
                "4",
                "--full",
            ],
        )
        .trim(),
    )
    .unwrap();
    assert_eq!(v[0]["text"], "klmnopqrst");
    assert_eq!(
        redact_ts(&with_max(
            &env,
            "5",
            &[
                "message",
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--task-id",
                "1"
            ]
        )),
        // bob's polls above marked it seen.
        "[1 | from:3 | <TS>]\nabcde…\ndelivery: seen (idle)\n"
    );
    assert_eq!(
        redact_ts(&with_max(
            &env,
            " 3 ",
            &[
                "message",
                "ack",
                "--fleet-id",
                "1",
                "--agent-id",
                "4",
                "--task-id",
                "1"
            ]
        )),
        "Message acknowledged.\n[1 | from:3 | <TS>]\nabc…\n"
    );
    assert_eq!(
        redact_ts(&with_max(
            &env,
            "4",
            &[
                "--json",
                "message",
                "cancel",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--task-id",
                "2"
            ]
        )),
        "{\"task\":{\"id\":2,\"from\":3,\"ts\":\"<TS>\",\"text\":\"klmn…\"}}\n"
    );
    // The default limit is 200 code points.
    let long = "x".repeat(201);
    let id = send(&env, "1", "3", "4", &long);
    let v = env.json(&[
        "message",
        "show",
        "--fleet-id",
        "1",
        "--agent-id",
        "3",
        "--task-id",
        &id,
    ]);
    assert_eq!(v["task"]["text"], format!("{}…", "x".repeat(200)).as_str());
    let v = env.json(&[
        "message",
        "send",
        "--fleet-id",
        "1",
        "--agent-id",
        "3",
        "--to",
        "4",
        "--text",
        &"y".repeat(200),
    ]);
    assert_eq!(v["task"]["text"], "y".repeat(200).as_str());
}

#[test]
fn broadcast_summary_text_is_truncated_like_any_task_text() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let out = with_max(
        &env,
        "9",
        &[
            "--json",
            "message",
            "broadcast",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--text",
            "hi",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v[0]["task"]["text"], "Broadcast…");
}

#[test]
fn the_preview_is_truncated_even_with_full() {
    let mut env = Env::new();
    let (_server, log) = fleet(&mut env);
    let out = with_max(
        &env,
        "10",
        &[
            "--json",
            "message",
            "send",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--to",
            "1",
            "--text",
            "0123456789ABC",
            "--full",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["notification_sent"], true);
    assert_eq!(v["task"]["text"], "0123456789ABC");
    let ts = v["task"]["status_timestamp"].as_str().unwrap();
    let got = wait_for_bytes(&log, b"\r");
    assert_eq!(
        String::from_utf8_lossy(&got),
        format!("[cafleet msg 1 from 3 {ts}]\n0123456789…\r")
    );
}

#[test]
fn max_text_len_name_is_matched_case_insensitively() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    send(&env, "1", "3", "4", "abcdefghij");
    let out = env
        .cmd()
        .env("cafleet_max_text_len", "2")
        .args([
            "message",
            "show",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--task-id",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(
        redact_ts(&String::from_utf8_lossy(&out.stdout)),
        // bob has no pane and never polled: stored (the delivery line is not truncated).
        "[1 | from:3 | <TS>]\nab…\ndelivery: stored (idle)\n"
    );
}

#[test]
fn invalid_max_text_len_fails_message_commands_before_storing_anything() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let before = snapshot(&env);
    for bad in ["0", "-2", "abc"] {
        for args in [
            &[
                "message",
                "send",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--to",
                "4",
                "--text",
                "x",
            ][..],
            &[
                "message",
                "broadcast",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--text",
                "x",
            ],
            &["message", "poll", "--fleet-id", "1", "--agent-id", "4"],
        ] {
            let out = env
                .cmd()
                .env("CAFLEET_MAX_TEXT_LEN", bad)
                .args(args)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1), "{bad} {args:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("CAFLEET_MAX_TEXT_LEN"), "{bad}: {err}");
        }
    }
    assert_eq!(snapshot(&env), before);
}

// ---------------------------------------------------------------- output formats (as 0.14)

#[test]
fn text_output_into_a_pipe_drops_csi_sequences() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let text = "a \x1b[Aesc \x1b[1;31mred\x1b[0m \x7fdel";
    let id = send(&env, "1", "3", "4", text);
    assert_eq!(
        redact_ts(&msg(
            &env,
            &[
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--task-id",
                &id
            ]
        )),
        // bob has no pane and never polled: stored.
        "[1 | from:3 | <TS>]\na esc red \x7fdel\ndelivery: stored (idle)\n"
    );
    // The stored text keeps them.
    assert_eq!(env.query("SELECT text FROM tasks")[0][0], text);
}

#[test]
fn json_output_escapes_controls_and_keeps_unicode_raw() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let text = "tab\tnl\ncr\resc\x1b[A del\x7f bell\x07 …ÄÖ / \"q\" \\";
    let id = send(&env, "1", "3", "4", text);
    let out = env.ok(&[
        "--json",
        "message",
        "show",
        "--fleet-id",
        "1",
        "--agent-id",
        "3",
        "--task-id",
        &id,
    ]);
    assert_eq!(
        redact_ts(&out),
        "{\"task\":{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"tab\\tnl\\ncr\\resc\\u001b[A del\x7f bell\\u0007 …ÄÖ / \\\"q\\\" \\\\\"},\"delivery\":{\"task_id\":1,\"mode\":\"idle\",\"state\":\"stored\",\"attempts\":0,\"last_attempt_at\":null,\"note\":null,\"typed_at\":null,\"submitted_at\":null,\"seen_at\":null,\"acked_at\":null,\"dead_at\":null}}\n"
    );
}
