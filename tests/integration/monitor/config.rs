//! `monitor config` (show and partially update a schedule) and the option validation of
//! `monitor config` and `monitor start` (usage errors).

use super::*;

fn usage_error(cmd: &str, msg: &str) -> String {
    format!(
        "Usage: cafleet monitor {cmd} [OPTIONS]\nTry 'cafleet monitor {cmd} --help' for help.\n\nError: {msg}\n"
    )
}

#[test]
fn monitor_config_rejects_bad_intervals_and_both_flags_as_usage_errors() {
    let team = Team::new();
    let before = team.env.query("SELECT * FROM monitor_config ORDER BY 1");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--interval", "0"],
            "Invalid value for '--interval': 0 is not in the range 1<=x<=2592000.",
        ),
        (
            &["--interval=-1"],
            "Invalid value for '--interval': -1 is not in the range 1<=x<=2592000.",
        ),
        (
            &["--interval", "2592001"],
            "Invalid value for '--interval': 2592001 is not in the range 1<=x<=2592000.",
        ),
        (
            &["--interval", "9223372036854775808"],
            "Invalid value for '--interval': '9223372036854775808' is not a valid integer range.",
        ),
        (
            &["--interval", "abc"],
            "Invalid value for '--interval': 'abc' is not a valid integer range.",
        ),
        (
            &["--interval", "2.5"],
            "Invalid value for '--interval': '2.5' is not a valid integer range.",
        ),
        (
            &["--enable", "--disable"],
            "--enable and --disable are mutually exclusive.",
        ),
        (
            &["--interval", "5", "--disable", "--enable"],
            "--enable and --disable are mutually exclusive.",
        ),
    ];
    for (extra, msg) in cases {
        let mut args = vec!["monitor", "config", "--fleet-id", "1", "--agent-id", "1"];
        args.extend_from_slice(extra);
        assert_eq!(
            team.env.fails(&args, 2),
            usage_error("config", msg),
            "{extra:?}"
        );
        // Argument errors come before the fleet lookup.
        let mut args = vec!["monitor", "config", "--fleet-id", "99", "--agent-id", "1"];
        args.extend_from_slice(extra);
        assert_eq!(team.env.fails(&args, 2), usage_error("config", msg));
    }
    assert_eq!(
        team.env.fails(&["monitor", "config", "--fleet-id", "1"], 2),
        usage_error("config", "Missing option '--agent-id'.")
    );
    assert_eq!(
        team.env.query("SELECT * FROM monitor_config ORDER BY 1"),
        before
    );
    // Both ends of the range are accepted.
    assert_eq!(
        set_schedule(&team, 1, &["--interval", "1"]),
        "agent 1: interval 1s, enabled, last_ping -\n"
    );
    assert_eq!(
        set_schedule(&team, 1, &["--interval", "2592000"]),
        "agent 1: interval 2592000s, enabled, last_ping -\n"
    );
}

#[test]
fn monitor_start_rejects_out_of_range_ticks_as_usage_errors() {
    let team = Team::new();
    for (tick, msg) in [
        // 0.14's range and wording: any whole number from 1 (no practical upper bound).
        (
            "0",
            "Invalid value for '--tick': 0 is not in the range x>=1.",
        ),
        (
            "-3",
            "Invalid value for '--tick': -3 is not in the range x>=1.",
        ),
        (
            "2147483648",
            "Invalid value for '--tick': 2147483648 is not in the range 1<=x<=2147483647.",
        ),
        (
            "2.5",
            "Invalid value for '--tick': '2.5' is not a valid integer range.",
        ),
        (
            "abc",
            "Invalid value for '--tick': 'abc' is not a valid integer range.",
        ),
    ] {
        let arg = format!("--tick={tick}");
        assert_eq!(
            team.env
                .fails(&["monitor", "start", "--fleet-id", "1", &arg], 2),
            usage_error("start", msg),
            "{tick}"
        );
    }
    assert!(
        runtime_row(&team.env, 1).is_empty(),
        "a refused start claimed the slot"
    );
}

#[test]
fn monitor_config_refuses_unknown_fleets_and_agents_not_enrolled_in_the_fleet() {
    let team = Team::new();
    let (m1, _) = spawn_member(&team, "m1", &[]);
    let (m2, _) = spawn_member(&team, "m2", &[]);
    let (w, _) = spawn_member(&team, "watcher", &["--role", "monitor"]);
    let reg = team.env.json(&[
        "agent",
        "register",
        "--fleet-id",
        "1",
        "--name",
        "solo",
        "--description",
        "d",
    ])["agent_id"]
        .as_i64()
        .unwrap();
    let other = team.env.json(&["fleet", "create", "--label", "other"]);
    let other_director = other["director"]["agent_id"].as_i64().unwrap();
    team.env.ok(&[
        "member",
        "delete",
        "--fleet-id",
        "1",
        "--member-id",
        &m2.to_string(),
        "--force",
    ]);
    assert_eq!(
        team.env.fails(
            &["monitor", "config", "--fleet-id", "99", "--agent-id", "1"],
            1
        ),
        "Error: fleet 99 not found. List live fleets with 'cafleet fleet list'.\n"
    );
    assert_eq!(
        team.env.fails(
            &[
                "monitor",
                "config",
                "--fleet-id",
                "99",
                "--agent-id",
                "1",
                "--interval",
                "5"
            ],
            1
        ),
        "Error: fleet 99 not found. List live fleets with 'cafleet fleet list'.\n"
    );
    let before = team.env.query("SELECT * FROM monitor_config ORDER BY 1");
    // Administrator, monitoring member, registered-only agent, deregistered member,
    // another fleet's Director, an unknown agent.
    for agent in [2, w, reg, m2, other_director, 999] {
        let id = agent.to_string();
        for extra in [&[][..], &["--interval", "5"][..], &["--disable"][..]] {
            let mut args = vec!["monitor", "config", "--fleet-id", "1", "--agent-id", &id];
            args.extend_from_slice(extra);
            assert_eq!(
                team.env.fails(&args, 1),
                format!("Error: agent {agent} is not enrolled in monitoring for fleet 1.\n"),
                "{args:?}"
            );
        }
    }
    // The other fleet's Director is enrolled there, not here.
    assert_eq!(
        team.env.json(&[
            "monitor",
            "config",
            "--fleet-id",
            &other["fleet_id"].to_string(),
            "--agent-id",
            &other_director.to_string(),
        ])["interval_seconds"],
        180
    );
    assert_eq!(
        team.env.query("SELECT * FROM monitor_config ORDER BY 1"),
        before
    );
    assert_eq!(
        set_schedule(&team, m1, &[]),
        format!("agent {m1}: interval 720s, enabled, last_ping -\n")
    );
}

#[test]
fn monitor_config_shows_and_partially_updates_a_schedule_keeping_last_ping() {
    let team = Team::new();
    let (m1, _) = spawn_member(&team, "m1", &[]);
    let id = m1.to_string();
    let cfg = |extra: &[&str]| {
        let mut args = vec![
            "--json",
            "monitor",
            "config",
            "--fleet-id",
            "1",
            "--agent-id",
            &id,
        ];
        args.extend_from_slice(extra);
        let out = team.env.ok(&args);
        serde_json::from_str::<Value>(out.trim()).unwrap()
    };
    assert_eq!(
        cfg(&[]),
        json!({"agent_id": m1, "interval_seconds": 720, "last_ping_at": null, "enabled": true})
    );
    assert_eq!(
        cfg(&["--interval", "20"]),
        json!({"agent_id": m1, "interval_seconds": 20, "last_ping_at": null, "enabled": true})
    );
    assert_eq!(
        set_schedule(&team, m1, &["--disable"]),
        format!("agent {m1}: interval 20s, disabled, last_ping -\n")
    );
    // Woken once by a real monitor, then reconfigured: the stamp stays.
    set_schedule(&team, m1, &["--enable"]);
    let mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    mon.wait_due(2);
    drop(mon);
    let stamp = last_ping(&team.env, m1);
    assert_spec_ts(&stamp);
    assert_eq!(
        set_schedule(&team, m1, &["--interval", "30", "--disable"]),
        format!("agent {m1}: interval 30s, disabled, last_ping {stamp}\n")
    );
    assert_eq!(
        cfg(&["--enable"]),
        json!({"agent_id": m1, "interval_seconds": 30, "last_ping_at": stamp, "enabled": true})
    );
    assert_eq!(
        team.env.query(&format!(
            "SELECT interval_seconds, last_ping_at, enabled FROM monitor_config WHERE agent_id = {m1}"
        )),
        vec![vec!["30".to_string(), stamp, "1".to_string()]]
    );
}
