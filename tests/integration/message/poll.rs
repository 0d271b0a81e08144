//! `message poll`: an agent's pending deliveries, newest first, in text, `--json` and
//! `--full` forms; what a poll writes (only the seen marks) and who may poll.

use super::*;

#[test]
fn poll_lists_pending_deliveries_newest_first() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    send_id(&env, 1, 3, 4, "first");
    broadcast(&env, 1, 1, "to all").ok();
    send_id(&env, 1, 2, 4, "from admin");
    // bob's inbox: 5 (from admin), 4 (broadcast delivery, origin 2), 1.
    let out = redact_ts(&poll(&env, 1, 4).ok());
    assert_output_snapshot!("poll_text", out);
    assert_eq!(
        redact_ts(&poll(&env, 1, 4).json().ok()),
        "[{\"id\":5,\"from\":2,\"ts\":\"<TS>\",\"text\":\"from admin\"},{\"id\":4,\"from\":1,\"ts\":\"<TS>\",\"text\":\"to all\",\"origin\":2},{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"first\"}]\n"
    );
    // The broadcaster's summary is never in its inbox.
    assert_eq!(poll(&env, 1, 1).ok(), "No messages found.\n");
}

#[test]
fn poll_orders_by_status_timestamp_then_by_newest_id() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    for t in ["a", "b", "c"] {
        send_id(&env, 1, 3, 4, t);
    }
    // Task 1 becomes the newest; tasks 2 and 3 share one timestamp.
    env.query(
        "UPDATE tasks SET status_timestamp = '2030-01-01T00:00:00.000000+00:00' WHERE task_id = 1",
    );
    env.query(
        "UPDATE tasks SET status_timestamp = '2029-01-01T00:00:00.000000+00:00' WHERE task_id IN (2, 3)",
    );
    let v = poll(&env, 1, 4).value();
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
    send_id(&env, 1, 3, 4, "hello");
    assert_eq!(
        redact_ts(&poll(&env, 1, 4).arg("--full").json().ok()),
        "[{\"task_id\":1,\"context_id\":4,\"from_agent_id\":3,\"to_agent_id\":4,\"type\":\"unicast\",\"created_at\":\"<TS>\",\"status_state\":\"input_required\",\"status_timestamp\":\"<TS>\",\"origin_task_id\":null,\"text\":\"hello\"}]\n"
    );
    let out = poll(&env, 1, 4).arg("--full").ok();
    assert_output_snapshot!("poll_full_text", out);
}

#[test]
fn poll_of_an_empty_inbox() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    assert_eq!(poll(&env, 1, 3).ok(), "No messages found.\n");
    assert_eq!(poll(&env, 1, 3).json().ok(), "[]\n");
}

#[test]
fn poll_hides_acked_and_canceled_messages_and_changes_only_the_seen_marks() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let a = send_id(&env, 1, 3, 4, "to ack");
    let c = send_id(&env, 1, 3, 4, "to cancel");
    let k = send_id(&env, 1, 3, 4, "kept");
    ack(&env, 1, 4, &a).ok();
    cancel(&env, 1, 3, &c).ok();
    let before = tables(&env);
    let log_before = change_log(&env);
    let v = poll(&env, 1, 4).value();
    let ids: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].to_string())
        .collect();
    assert_eq!(ids, vec![k.clone()]);
    // The poll marks the one delivery it showed seen (delivery_state and seen_at) and
    // nothing else: every other column of every row, and every other table, is unchanged.
    let after = tables(&env);
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
    assert_eq!(poll(&env, 1, 4).value(), v);
    assert_eq!(tables(&env), after);
    assert_eq!(change_log(&env), log_after);
}

#[test]
fn poll_refuses_outsiders_and_deregistered_callers() {
    let mut env = Env::new();
    let (_server, _log) = two_fleets(&mut env);
    send_id(&env, 1, 3, 4, "for bob");
    assert_eq!(
        poll(&env, 2, 4).fails(1),
        "Error: agent 4 is not a member of fleet 2.\n"
    );
    assert_eq!(
        poll(&env, 1, 99).fails(1),
        "Error: agent 99 is not a member of fleet 1.\n"
    );
    deregister(&env, 1, 4);
    assert_eq!(poll(&env, 1, 4).fails(1), deregistered_msg("4", "1"));
}
