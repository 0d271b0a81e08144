//! How message texts are printed: truncation to `CAFLEET_MAX_TEXT_LEN` code points (C1,
//! 0.14's rule: outputs are cut, `--full` and the stored text never are), control characters
//! in text output, and JSON escaping.

use super::*;

/// The variable that sets how many code points of a text the outputs show.
const MAX: &str = "CAFLEET_MAX_TEXT_LEN";

#[test]
fn send_output_truncates_text_beyond_max_text_len() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let send_max_10 = |text: &str| send(&env, 1, 3, 4, text).env(MAX, 10);
    let out = redact_ts(&send_max_10("0123456789").ok());
    assert_output_snapshot!("send_text_at_the_limit", out);
    // The delivery line (bob has no pane) is never truncated.
    let out = redact_ts(&send_max_10("0123456789A").ok());
    assert_output_snapshot!("send_text_beyond_the_limit", out);
    // Code points, not bytes.
    assert_eq!(
        redact_ts(&send_max_10("ÄÖÜ456789ABC").json().ok()),
        format!(
            "{{\"task\":{{\"id\":3,\"from\":3,\"ts\":\"<TS>\",\"text\":\"ÄÖÜ456789A…\"}},\"notification_sent\":false,\"delivery\":{}}}\n",
            no_pane_delivery_json(3)
        )
    );
    // --full is untruncated, in text and JSON.
    let full = send_max_10("0123456789ABC").arg("--full");
    let out = full.ok();
    assert_output_snapshot!("send_full_text_beyond_the_limit", out);
    assert_eq!(full.value()["task"]["text"], "0123456789ABC");
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
    send_id(&env, 1, 3, 4, "abcdefghij");
    send_id(&env, 1, 3, 4, "klmnopqrst");
    let out = redact_ts(&poll(&env, 1, 4).env(MAX, 5).ok());
    assert_output_snapshot!("poll_text_beyond_the_limit", out);
    let v = poll(&env, 1, 4).arg("--full").env(MAX, 5).value();
    assert_eq!(v[0]["text"], "klmnopqrst");
    // bob's polls above marked it seen.
    let out = redact_ts(&show(&env, 1, 3, 1).env(MAX, 5).ok());
    assert_output_snapshot!("show_text_beyond_the_limit", out);
    // White space around the number is allowed.
    let out = redact_ts(&ack(&env, 1, 4, 1).env(MAX, " 3 ").ok());
    assert_output_snapshot!("ack_text_beyond_the_limit", out);
    assert_eq!(
        redact_ts(&cancel(&env, 1, 3, 2).env(MAX, 4).json().ok()),
        "{\"task\":{\"id\":2,\"from\":3,\"ts\":\"<TS>\",\"text\":\"klmn…\"}}\n"
    );
    // The default limit is 200 code points.
    let long = "x".repeat(201);
    let id = send_id(&env, 1, 3, 4, &long);
    let v = show(&env, 1, 3, &id).value();
    assert_eq!(v["task"]["text"], format!("{}…", "x".repeat(200)).as_str());
    let v = send(&env, 1, 3, 4, &"y".repeat(200)).value();
    assert_eq!(v["task"]["text"], "y".repeat(200).as_str());
}

#[test]
fn broadcast_summary_text_is_truncated_like_any_task_text() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let v = broadcast(&env, 1, 3, "hi").env(MAX, 9).value();
    assert_eq!(v[0]["task"]["text"], "Broadcast…");
}

#[test]
fn the_preview_is_truncated_even_with_full() {
    let mut env = Env::new();
    let (_server, log) = fleet(&mut env);
    let v = send(&env, 1, 3, 1, "0123456789ABC")
        .arg("--full")
        .env(MAX, 10)
        .value();
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
    send_id(&env, 1, 3, 4, "abcdefghij");
    let out = show(&env, 1, 3, 1).env("cafleet_max_text_len", 2).run();
    // bob has no pane and never polled: stored (the delivery line is not truncated).
    let out = redact_ts(&String::from_utf8_lossy(&out.stdout));
    assert_output_snapshot!("show_text_beyond_a_lower_case_limit", out);
}

#[test]
fn invalid_max_text_len_fails_message_commands_before_storing_anything() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let before = tables(&env);
    for bad in ["0", "-2", "abc"] {
        for cli in [
            send(&env, 1, 3, 4, "x"),
            broadcast(&env, 1, 3, "x"),
            poll(&env, 1, 4),
        ] {
            let out = cli.clone().env(MAX, bad).run();
            assert_eq!(out.status.code(), Some(1), "{bad} {:?}", cli.args());
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("CAFLEET_MAX_TEXT_LEN"), "{bad}: {err}");
        }
    }
    assert_eq!(tables(&env), before);
}

#[test]
fn text_output_into_a_pipe_drops_csi_sequences() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let text = "a \x1b[Aesc \x1b[1;31mred\x1b[0m \x7fdel";
    let id = send_id(&env, 1, 3, 4, text);
    assert_eq!(
        redact_ts(&show(&env, 1, 3, &id).ok()),
        // bob has no pane and never polled: stored. DEL is kept; an escaped literal shows it
        // better than a snapshot file would.
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
    let id = send_id(&env, 1, 3, 4, text);
    let out = show(&env, 1, 3, &id).json().ok();
    assert_eq!(
        redact_ts(&out),
        "{\"task\":{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"tab\\tnl\\ncr\\resc\\u001b[A del\x7f bell\\u0007 …ÄÖ / \\\"q\\\" \\\\\"},\"delivery\":{\"task_id\":1,\"mode\":\"idle\",\"state\":\"stored\",\"attempts\":0,\"last_attempt_at\":null,\"note\":null,\"typed_at\":null,\"submitted_at\":null,\"seen_at\":null,\"acked_at\":null,\"dead_at\":null}}\n"
    );
}
