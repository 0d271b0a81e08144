//! Fleet isolation of the message commands: ids of another fleet are refused exactly like
//! ids that do not exist, and a refused command changes nothing (docs/decisions.md, MSG-1).

use super::*;

#[test]
fn message_commands_refuse_ids_of_another_fleet_and_change_nothing() {
    let mut env = Env::new();
    let (_server, _log) = two_fleets(&mut env);
    // t1: alice 3 → bob 4 in fleet 1; t2: dave 7 → fleet 2's Director 5.
    let t1 = send_id(&env, 1, 3, 4, "fleet one");
    let t2 = send_id(&env, 2, 7, 5, "fleet two");
    let before = tables(&env);
    let not_found = |t: &str| format!("Error: Task {t} not found\n");
    let not_member = |agent: u32, fleet: u32| {
        format!("Error: agent {agent} is not a member of fleet {fleet}.\n")
    };
    let cases = [
        // A fleet-2 agent acting in fleet 1, and a fleet-1 agent acting in fleet 2.
        (send(&env, 1, 7, 3, "x"), not_member(7, 1)),
        (send(&env, 2, 3, 7, "x"), not_member(3, 2)),
        // A destination in the other fleet does not exist for the sender.
        (
            send(&env, 1, 3, 7, "x"),
            "Error: Destination agent not found: 7\n".into(),
        ),
        (
            broadcast(&env, 1, 7, "x"),
            "Error: Sender agent not found or not active in fleet: 7\n".into(),
        ),
        (poll(&env, 2, 4), not_member(4, 2)),
        // Another fleet's task ids do not exist, whoever asks.
        (ack(&env, 1, 4, &t2), not_found(&t2)),
        (ack(&env, 2, 5, &t1), not_found(&t1)),
        (ack(&env, 2, 4, &t1), not_member(4, 2)),
        (cancel(&env, 1, 3, &t2), not_found(&t2)),
        (cancel(&env, 2, 7, &t1), not_found(&t1)),
        (cancel(&env, 2, 3, &t1), not_member(3, 2)),
        (show(&env, 1, 3, &t2), not_found(&t2)),
        (show(&env, 2, 7, &t1), not_found(&t1)),
        (show(&env, 2, 3, &t1), not_member(3, 2)),
    ];
    for (cli, expected) in &cases {
        assert_eq!(&cli.fails(1), expected, "{:?}", cli.args());
        assert_eq!(
            &cli.clone().json().fails(1),
            expected,
            "--json {:?}",
            cli.args()
        );
    }
    assert_eq!(tables(&env), before);
}

#[test]
fn broadcast_and_poll_stay_inside_the_fleet() {
    let mut env = Env::new();
    let (_server, _log) = two_fleets(&mut env);
    broadcast(&env, 2, 7, "fleet two only").ok();
    // Only fleet 2's Director (5) receives it.
    assert_eq!(
        env.query("SELECT to_agent_id FROM tasks WHERE type = 'unicast'"),
        rows(&["5"])
    );
    for agent in ["1", "3", "4"] {
        assert_eq!(poll(&env, 1, agent).ok(), "No messages found.\n");
    }
    let v = poll(&env, 2, 5).value();
    assert_eq!(v[0]["text"], "fleet two only");
}
