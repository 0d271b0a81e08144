//! `monitor status`: the table and its JSON, stopped and running, pending placements, and
//! its refusals.

use super::*;

#[test]
fn status_of_a_fresh_fleet_is_stopped_with_the_director_at_180s() {
    let team = Team::new();
    let dp = team.director_pane.clone();
    assert_eq!(
        status_json(&team.env, 1),
        json!({
            "runtime": stopped_runtime(Value::Null),
            "agents": [{
                "agent_id": 1, "name": "Director", "role": "director",
                "interval_seconds": 180, "last_ping_at": null, "last_ping_age_seconds": null,
                "enabled": true, "pending_count": 0, "pane_id": dp, "pane_alive": true,
                "activity": "unknown", "activity_seen_at": null, "activity_source": null,
                "undelivered": {"unseen": 0, "dead": 0}
            }]
        })
    );
    let out = team.env.cafleet("monitor status").fleet(1).ok();
    let panes = [(dp.as_str(), "<DIRECTOR_PANE>")];
    assert_output_snapshot!("status_text_stopped", redact_panes(&out, &panes));
}

#[test]
fn status_shows_a_running_monitor_schedules_pending_counts_and_panes() {
    let team = Team::new();
    let (m1, p1) = spawn_member(&team, "m1", &[]);
    let (m2, _) = spawn_member(&team, "m2", &[]);
    set_schedule(&team, m2, &["--disable", "--interval", "30"]);
    team.env
        .cafleet("message send")
        .fleet(1)
        .agent(1)
        .opt("--to", m1)
        .opt("--text", "hello")
        .ok();
    let mon = Monitor::spawn(&team.env, 1, 1, None);
    mon.wait_started(1, 1);
    mon.wait_due(2);
    let row = runtime_row(&team.env, 1);
    let st = status_json(&team.env, 1);
    let rt = &st["runtime"];
    assert_eq!(rt["running"], true);
    assert_eq!(rt["pid"], json!(mon.pid));
    assert_eq!(rt["tick_seconds"], 1);
    assert_eq!(rt["started_at"], json!(row[0][1]));
    assert_spec_ts(rt["last_tick_at"].as_str().unwrap());
    let age = rt["last_tick_age_seconds"].as_i64().unwrap();
    assert!((0..=2).contains(&age), "{rt}");
    let ts = last_ping(&team.env, 1);
    let agents = st["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 3, "the Administrator is not listed: {st}");
    let strip_age = |a: &Value| {
        let mut a = a.clone();
        let age = a["last_ping_age_seconds"].take();
        assert!(
            age.is_null() || (0..=2).contains(&age.as_i64().unwrap()),
            "{a}"
        );
        a
    };
    assert_eq!(
        agents.iter().map(strip_age).collect::<Vec<_>>(),
        vec![
            json!({"agent_id": 1, "name": "Director", "role": "director",
                   "interval_seconds": 180, "last_ping_at": ts, "last_ping_age_seconds": null,
                   "enabled": true, "pending_count": 0,
                   "pane_id": team.director_pane, "pane_alive": true,
                   "activity": "unknown", "activity_seen_at": null, "activity_source": null,
                   "undelivered": {"unseen": 0, "dead": 0}}),
            json!({"agent_id": m1, "name": "m1", "role": "member",
                   "interval_seconds": 720, "last_ping_at": ts, "last_ping_age_seconds": null,
                   "enabled": true, "pending_count": 1, "pane_id": p1, "pane_alive": true,
                   "activity": "unknown", "activity_seen_at": null, "activity_source": null,
                   // Typed into a stand-in (unverified), never polled: unseen.
                   "undelivered": {"unseen": 1, "dead": 0}}),
            json!({"agent_id": m2, "name": "m2", "role": "member",
                   "interval_seconds": 30, "last_ping_at": null, "last_ping_age_seconds": null,
                   "enabled": false, "pending_count": 0,
                   "pane_id": agents[2]["pane_id"], "pane_alive": true,
                   "activity": "unknown", "activity_seen_at": null, "activity_source": null,
                   "undelivered": {"unseen": 0, "dead": 0}}),
        ]
    );
    let text = team.env.cafleet("monitor status").fleet(1).ok();
    let first = text.lines().next().unwrap();
    assert!(
        first.ends_with(&format!(", started {})", row[0][1])),
        "{first}"
    );
    // The heartbeat's age may be any whole number of seconds by now; the last pings' ages
    // are whole seconds and may have ticked over.
    let (_, age) = first.split_once("last tick ").unwrap();
    let (age, _) = age.split_once(" ago").unwrap();
    let p2 = agents[2]["pane_id"].as_str().unwrap();
    let panes = [
        (team.director_pane.as_str(), "<DIRECTOR_PANE>"),
        (p1.as_str(), "<M1_PANE>"),
        (p2, "<M2_PANE>"),
    ];
    let text = text
        .replacen(&format!("(pid {}, ", mon.pid), "(pid <PID>, ", 1)
        .replacen(&format!("last tick {age} ago"), "last tick <AGE> ago", 1)
        .replace("1s ago", "0s ago")
        .replace("2s ago", "0s ago");
    assert_output_snapshot!(
        "status_text_running",
        redact_panes(&redact_ts(&text), &panes)
    );
}

#[test]
fn status_shows_a_pending_placement_as_pending() {
    let team = Team::new();
    let (m1, _) = spawn_member(&team, "m1", &[]);
    team.env.query(&format!(
        "UPDATE agent_placements SET tmux_pane_id = NULL WHERE agent_id = {m1}"
    ));
    let st = status_json(&team.env, 1);
    let a = &st["agents"][1];
    assert_eq!(a["agent_id"], m1);
    assert_eq!(a["pane_id"], Value::Null);
    assert_eq!(a["pane_alive"], json!(false));
    let text = team.env.cafleet("monitor status").fleet(1).ok();
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("  {m1:<8}  m1 ")) && l.ends_with("  (pending)")),
        "{text}"
    );
}

#[test]
fn status_refuses_unknown_and_deleted_fleets_and_a_missing_fleet_id() {
    let team = Team::new();
    assert_eq!(
        team.env.cafleet("monitor status").fleet(99).fails(1),
        "Error: fleet 99 not found. List live fleets with 'cafleet fleet list'.\n"
    );
    assert_eq!(
        team.env.cafleet("monitor status").fleet(99).json().fails(1),
        "Error: fleet 99 not found. List live fleets with 'cafleet fleet list'.\n"
    );
    let need = "Error: --fleet-id <int> is required for this subcommand. Create a fleet with 'cafleet fleet create' and pass its id.\n";
    assert_eq!(team.env.cafleet("monitor status").fails(1), need);
    assert_eq!(team.env.cafleet("monitor start").fails(1), need);
    assert_eq!(team.env.cafleet("monitor config").agent(1).fails(1), need);
    team.env.cafleet("fleet delete").arg(1).ok();
    assert_eq!(
        team.env.cafleet("monitor status").fleet(1).fails(1),
        "Error: fleet 1 not found. List live fleets with 'cafleet fleet list'.\n"
    );
}
