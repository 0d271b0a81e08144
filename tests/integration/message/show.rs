//! `message show`: any message of the fleet, to any member, in every state, with its
//! delivery record; broadcast summaries; and its refusals.

use super::*;

#[test]
fn show_prints_any_message_of_the_fleet_to_any_member() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    send_id(&env, 1, 3, 1, "hello director");
    // The preview went into the Director's recorder pane, whose input box CAFleet cannot
    // read: typed once, not known to be submitted. Unicast, so `show` reports it.
    // bob is neither sender nor recipient, and the Administrator can read it too.
    for reader in ["4", "2"] {
        let out = redact_ts(&show(&env, 1, reader, 1).ok());
        assert_output_snapshot!("show_typed_text", out);
    }
    assert_eq!(
        redact_ts(&show(&env, 1, 4, 1).json().ok()),
        "{\"task\":{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"hello director\"},\"delivery\":{\"task_id\":1,\"mode\":\"idle\",\"state\":\"typed\",\"attempts\":1,\"last_attempt_at\":\"<TS>\",\"note\":null,\"typed_at\":\"<TS>\",\"submitted_at\":null,\"seen_at\":null,\"acked_at\":null,\"dead_at\":null}}\n"
    );
    assert_eq!(
        redact_ts(&show(&env, 1, 4, 1).arg("--full").json().ok()),
        "{\"task\":{\"task_id\":1,\"context_id\":1,\"from_agent_id\":3,\"to_agent_id\":1,\"type\":\"unicast\",\"created_at\":\"<TS>\",\"status_state\":\"input_required\",\"status_timestamp\":\"<TS>\",\"origin_task_id\":null,\"text\":\"hello director\"},\"delivery\":{\"task_id\":1,\"mode\":\"idle\",\"state\":\"typed\",\"attempts\":1,\"last_attempt_at\":\"<TS>\",\"note\":null,\"typed_at\":\"<TS>\",\"submitted_at\":null,\"seen_at\":null,\"acked_at\":null,\"dead_at\":null}}\n"
    );
    // --full adds the delivery block: one preview typed, and when.
    let out = redact_ts(&show(&env, 1, 4, 1).arg("--full").ok());
    assert_output_snapshot!("show_typed_full_text", out);
}

#[test]
fn show_of_a_broadcast_summary_names_its_kind_and_origin() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    broadcast(&env, 1, 3, "hello all").ok();
    let out = redact_ts(&show(&env, 1, 4, 1).ok());
    assert_output_snapshot!("show_summary_text", out);
    assert_eq!(
        redact_ts(&show(&env, 1, 4, 1).json().ok()),
        "{\"task\":{\"id\":1,\"from\":3,\"ts\":\"<TS>\",\"text\":\"Broadcast sent to 2 recipients\",\"kind\":\"broadcast_summary\",\"origin\":1}}\n"
    );
    // The summary's --full text has no "to:" line (to_agent_id is 0).
    let out = show(&env, 1, 4, 1).arg("--full").ok();
    assert_output_snapshot!("show_summary_full_text", out);
    // bob's delivery of the broadcast (bob has no pane: stored, nothing attempted); the
    // summary above has no delivery line.
    let out = redact_ts(&show(&env, 1, 4, 3).ok());
    assert_output_snapshot!("show_broadcast_delivery_text", out);
}

#[test]
fn show_works_in_every_state() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let a = send_id(&env, 1, 3, 4, "a");
    let c = send_id(&env, 1, 3, 4, "c");
    ack(&env, 1, 4, &a).ok();
    cancel(&env, 1, 3, &c).ok();
    let v = show(&env, 1, 1, &a).arg("--full").value();
    assert_eq!(v["task"]["status_state"], "completed");
    let v = show(&env, 1, 1, &c).arg("--full").value();
    assert_eq!(v["task"]["status_state"], "canceled");
}

#[test]
fn show_errors() {
    let mut env = Env::new();
    let (_server, _log) = fleet(&mut env);
    let id = send_id(&env, 1, 3, 4, "x");
    assert_eq!(show(&env, 1, 3, 99).fails(1), "Error: Task 99 not found\n");
    assert_eq!(
        show(&env, 1, 99, &id).fails(1),
        "Error: agent 99 is not a member of fleet 1.\n"
    );
    deregister(&env, 1, 4);
    assert_eq!(show(&env, 1, 4, &id).fails(1), deregistered_msg("4", "1"));
    // A message whose endpoint was deregistered is still visible to the fleet.
    show(&env, 1, 3, &id).ok();
}
