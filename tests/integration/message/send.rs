//! `message send`: what it stores and prints (text, `--json`, `--full`, `--quiet`), the
//! preview typed into a recipient's pane, empty text (O3), and who may send to whom.

use super::*;

#[test]
fn send_prints_the_stored_message() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let out = send(&env, 1, 3, 4, "hello bob").ok();
    // bob has no pane: nothing is typed, the delivery stays stored until bob polls.
    assert_output_snapshot!("send_text", redact_ts(&out));
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
        redact_ts(&send(&env, 1, 3, 4, "hello bob 2").json().ok()),
        format!(
            "{{\"task\":{{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"hello bob 2\"}},\"notification_sent\":false,\"delivery\":{}}}\n",
            no_pane_delivery_json(1)
        )
    );
    // The Director has a pane running a (non-shell) program: the preview is typed. The
    // recorder shows no input box CAFleet can read, so it cannot see the text being taken:
    // the delivery is typed (one attempt), not submitted.
    let out = send(&env, 1, 3, 1, "to the director").json().ok();
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
    let out = send(&env, 1, 3, 4, "hello bob 3").arg("--full").json().ok();
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
    let out = send(&env, 1, 3, 4, "hello bob 4").arg("--full").ok();
    // bob has no pane: stored, with the no-pane note.
    assert_output_snapshot!("send_full_text", out);
}

#[test]
fn send_quiet_prints_only_the_id_and_wins_over_full() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    assert_eq!(send(&env, 1, 3, 4, "q").arg("--quiet").ok(), "1\n");
    assert_eq!(
        send(&env, 1, 3, 4, "q").arg("--full").arg("--quiet").ok(),
        "2\n"
    );
    // --quiet is ignored in JSON mode.
    assert_eq!(
        redact_ts(&send(&env, 1, 3, 4, "q").arg("--quiet").json().ok()),
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
    let before = tables(&env);
    for text in ["", " ", "  \t\n "] {
        assert_eq!(send(&env, 1, 3, 1, text).fails(1), EMPTY_TEXT, "{text:?}");
        assert_eq!(send(&env, 1, 3, 4, text).json().fails(1), EMPTY_TEXT);
    }
    assert_eq!(tables(&env), before);
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
        let id = send_id(&env, 1, 3, 4, text);
        assert_eq!(
            env.query(&format!("SELECT text FROM tasks WHERE task_id = {id}"))[0][0],
            text
        );
    }
    // Embedded newlines are printed raw in text output.
    let out = show(&env, 1, 3, 4).ok();
    // `show` reads the stored record: bob has no pane, nothing was attempted (no note).
    assert_output_snapshot!("show_multi_line_text", redact_ts(&out));
}

#[test]
fn send_repeated_text_option_keeps_the_last_value() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    send(&env, 1, 3, 4, "first").opt("--text", "second").ok();
    assert_eq!(env.query("SELECT text FROM tasks"), rows(&["second"]));
}

#[test]
fn send_to_self_is_stored_without_preview() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let v = send(&env, 1, 1, 1, "self").value();
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
    send_id(&env, 1, 2, 3, "from admin");
    send_id(&env, 1, 3, 2, "to admin");
    let polled = poll(&env, 1, 2).value();
    assert_eq!(polled[0]["text"], "to admin");
    assert_eq!(polled.as_array().unwrap().len(), 1);
}

#[test]
fn send_refuses_a_caller_outside_the_fleet() {
    let mut env = Env::new();
    let (_server, _log) = two_fleets(&mut env);
    let before = tables(&env);
    for caller in ["7", "99"] {
        assert_eq!(
            send(&env, 1, caller, 1, "x").fails(1),
            format!("Error: agent {caller} is not a member of fleet 1.\n")
        );
    }
    assert_eq!(tables(&env), before);
}

#[test]
fn send_refuses_a_deregistered_sender() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    deregister(&env, 1, 3);
    let before = tables(&env);
    assert_eq!(
        send(&env, 1, 3, 4, "x").fails(1),
        // 0.14's text for an inactive sender (docs/decisions.md, MSG-2).
        "Error: Sender agent not found or not active in fleet: 3\n"
    );
    assert_eq!(tables(&env), before);
}

#[test]
fn send_to_an_unknown_deregistered_or_foreign_destination_is_not_found() {
    let mut env = Env::new();
    let (_server, _log) = two_fleets(&mut env);
    deregister(&env, 1, 4);
    let before = tables(&env);
    // 7 (dave) and 5 (fleet 2's Director) exist in fleet 2: reported exactly like a
    // missing id, so other fleets' ids do not leak.
    for to in ["999", "4", "7", "5"] {
        assert_eq!(
            send(&env, 1, 3, to, "x").fails(1),
            format!("Error: Destination agent not found: {to}\n"),
            "to {to}"
        );
    }
    assert_eq!(tables(&env), before);
}
