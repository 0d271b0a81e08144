//! `message ack` (the recipient completes a message) and `message cancel` (the sender
//! withdraws it): their outputs, and the refusals the two commands share.

use super::*;

#[test]
fn ack_completes_the_message_and_prints_it_with_the_ack_time() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let id = send_id(&env, 1, 3, 4, "hello bob");
    let sent_ts = env.query("SELECT status_timestamp FROM tasks")[0][0].clone();
    let out = ack(&env, 1, 4, &id).ok();
    assert_output_snapshot!("ack_text", redact_ts(&out));
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
        send_id(&env, 1, 3, 4, t);
    }
    assert_eq!(
        redact_ts(&ack(&env, 1, 4, 1).json().ok()),
        "{\"task\":{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"one\"}}\n"
    );
    assert_eq!(
        redact_ts(&ack(&env, 1, 4, 2).arg("--full").json().ok()),
        "{\"task\":{\"task_id\":2,\"context_id\":4,\"from_agent_id\":3,\"to_agent_id\":4,\"type\":\"unicast\",\"created_at\":\"<TS>\",\"status_state\":\"completed\",\"status_timestamp\":\"<TS>\",\"origin_task_id\":null,\"text\":\"two\"}}\n"
    );
    assert_eq!(ack(&env, 1, 4, 3).arg("--quiet").ok(), "3\n");
    let out = ack(&env, 1, 4, 4).arg("--full").ok();
    assert_output_snapshot!("ack_full_text", out);
    assert_eq!(
        env.query("SELECT count(*) FROM tasks WHERE status_state = 'completed'"),
        rows(&["4"])
    );
    // --quiet only affects text mode.
    send_id(&env, 1, 3, 4, "five");
    let v = ack(&env, 1, 4, 5).arg("--quiet").value();
    assert_eq!(v["task"]["id"], 5);
    assert_eq!(v["task"]["text"], "five");
}

#[test]
fn ack_of_a_self_addressed_message_by_its_agent() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let id = send_id(&env, 1, 3, 3, "note to self");
    ack(&env, 1, 3, &id).ok();
    assert_eq!(
        env.query("SELECT status_state FROM tasks"),
        rows(&["completed"])
    );
}

#[test]
fn cancel_withdraws_a_pending_message() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let id = send_id(&env, 1, 3, 4, "q");
    let out = redact_ts(&cancel(&env, 1, 3, &id).ok());
    assert_output_snapshot!("cancel_text", out);
    let r = env.query("SELECT status_state, created_at < status_timestamp FROM tasks");
    assert_eq!(r, rows(&["canceled", "1"]));
    assert_eq!(poll(&env, 1, 4).ok(), "No messages found.\n");
}

#[test]
fn cancel_json_and_full_forms() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    send_id(&env, 1, 3, 4, "a");
    send_id(&env, 1, 3, 3, "self");
    send_id(&env, 1, 3, 4, "c");
    assert_eq!(
        redact_ts(&cancel(&env, 1, 3, 1).json().ok()),
        "{\"task\":{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"a\"}}\n"
    );
    let out = cancel(&env, 1, 3, 2).arg("--full").ok();
    assert_output_snapshot!("cancel_full_text", out);
    assert_eq!(
        redact_ts(&cancel(&env, 1, 3, 3).arg("--full").json().ok()),
        "{\"task\":{\"task_id\":3,\"context_id\":4,\"from_agent_id\":3,\"to_agent_id\":4,\"type\":\"unicast\",\"created_at\":\"<TS>\",\"status_state\":\"canceled\",\"status_timestamp\":\"<TS>\",\"origin_task_id\":null,\"text\":\"c\"}}\n"
    );
}

#[test]
fn cancel_of_one_broadcast_delivery_leaves_the_others_pending() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    broadcast(&env, 1, 3, "b").ok();
    // Deliveries: 2 → Director 1, 3 → bob 4.
    cancel(&env, 1, 3, 3).ok();
    assert_eq!(
        env.query("SELECT task_id, status_state FROM tasks ORDER BY task_id"),
        vec![
            vec!["1".to_string(), "completed".to_string()],
            vec!["2".to_string(), "input_required".to_string()],
            vec!["3".to_string(), "canceled".to_string()],
        ]
    );
}

/// ack and cancel refuse alike, each in its own words, and change nothing: an unknown task,
/// a caller who is not the party the command belongs to (the recipient acks, the sender
/// cancels; the Director is neither), and a task that is no longer pending.
#[test]
fn ack_and_cancel_errors_change_nothing() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let pending = send_id(&env, 1, 3, 4, "pending");
    let acked = send_id(&env, 1, 3, 4, "acked");
    let canceled = send_id(&env, 1, 3, 4, "canceled");
    ack(&env, 1, 4, &acked).ok();
    cancel(&env, 1, 3, &canceled).ok();
    broadcast(&env, 1, 3, "b").ok();
    // The broadcast summary (task 4) belongs to its sender (alice 3) and is born completed.
    let summary = "4";
    let before = tables(&env);
    // (verb, its word in the errors, its party, the other party, the party's role)
    for (verb, word, party, other, role) in [
        ("ack", "ACK", "4", "3", "recipient"),
        ("cancel", "cancel", "3", "4", "sender"),
    ] {
        let not_yours = format!("Error: Only the {role} can {word} a task\n");
        let not_pending = |state: &str| format!("Error: Cannot {word} task in state {state}\n");
        let cases: [(&str, &str, String); 6] = [
            (party, "99", "Error: Task 99 not found\n".to_string()),
            (other, &pending, not_yours.clone()),
            ("1", &pending, not_yours),
            (party, &acked, not_pending("completed")),
            (party, &canceled, not_pending("canceled")),
            ("3", summary, not_pending("completed")),
        ];
        for (agent, task, expected) in cases {
            assert_eq!(
                on_task(&env, verb, 1, agent, task).fails(1),
                expected,
                "{verb} as agent {agent} of task {task}"
            );
        }
        assert_eq!(tables(&env), before, "{verb}");
    }
}

/// A deregistered party (the recipient for ack, the sender for cancel) is refused, and
/// nothing changes.
#[test]
fn ack_and_cancel_refuse_a_deregistered_party() {
    for (verb, party) in [("ack", "4"), ("cancel", "3")] {
        let mut env = Env::new();
        let (_server, _log) = fleet(&mut env);
        let id = send_id(&env, 1, 3, 4, "x");
        deregister(&env, 1, party);
        let before = tables(&env);
        assert_eq!(
            on_task(&env, verb, 1, party, &id).fails(1),
            deregistered_msg(party, "1"),
            "{verb}"
        );
        assert_eq!(tables(&env), before, "{verb}");
    }
}
