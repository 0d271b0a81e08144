//! Enrollment in monitoring: a fresh fleet enrolls its Director and members, an adopted
//! (0.14) database keeps its enrollment.

use super::*;

fn config_rows(env: &Env) -> Vec<Vec<String>> {
    env.query(
        "SELECT agent_id, interval_seconds, last_ping_at, enabled FROM monitor_config ORDER BY 1",
    )
}

fn row(v: &[&str]) -> Vec<String> {
    v.iter().map(std::string::ToString::to_string).collect()
}

#[test]
fn a_fresh_fleet_enrolls_the_director_at_180s_and_members_at_720s_only() {
    let team = Team::new();
    assert_eq!(
        config_rows(&team.env),
        vec![row(&["1", "180", "NULL", "1"])]
    );
    let (m1, _) = spawn_member(&team, "m1", &[]);
    let (w, _) = spawn_member(&team, "watcher", &["--role", "monitor"]);
    let (m2, _) = spawn_member(&team, "m2", &[]);
    team.env.ok(&[
        "agent",
        "register",
        "--fleet-id",
        "1",
        "--name",
        "solo",
        "--description",
        "d",
    ]);
    let other = team.env.json(&["fleet", "create", "--label", "other"]);
    let od = other["director"]["agent_id"].to_string();
    let (s1, s2) = (m1.to_string(), m2.to_string());
    assert_eq!(
        config_rows(&team.env),
        vec![
            row(&["1", "180", "NULL", "1"]),
            row(&[&s1, "720", "NULL", "1"]),
            row(&[&s2, "720", "NULL", "1"]),
            row(&[&od, "180", "NULL", "1"]),
        ],
        "the Administrators, the watcher ({w}) and the registered agent are not enrolled"
    );
    let ids: Vec<Value> = status_json(&team.env, 1)["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| json!([a["agent_id"], a["role"], a["interval_seconds"]]))
        .collect();
    assert_eq!(
        ids,
        vec![
            json!([1, "director", 180]),
            json!([m1, "member", 720]),
            json!([m2, "member", 720]),
        ]
    );
    // Retiring a member drops its row; deleting the fleet drops the rest.
    team.env.ok(&[
        "member",
        "delete",
        "--fleet-id",
        "1",
        "--member-id",
        &s1,
        "--force",
    ]);
    assert_eq!(
        config_rows(&team.env),
        vec![
            row(&["1", "180", "NULL", "1"]),
            row(&[&s2, "720", "NULL", "1"]),
            row(&[&od, "180", "NULL", "1"]),
        ]
    );
    team.env.ok(&["fleet", "delete", "1"]);
    assert_eq!(
        config_rows(&team.env),
        vec![row(&[&od, "180", "NULL", "1"])]
    );
}

fn adopted_env() -> Env {
    let env = Env::new();
    std::fs::create_dir_all(env.db_path.parent().unwrap()).unwrap();
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference-0.14.db");
    std::fs::copy(fixture, &env.db_path).expect("copy fixture");
    env
}

#[test]
fn an_adopted_database_keeps_its_enrollment_and_status_reports_it() {
    let env = adopted_env();
    let before = query_db(
        &env.dir.path().join("data").join("cafleet.db"),
        "SELECT agent_id, interval_seconds, last_ping_at, enabled FROM monitor_config ORDER BY 1",
    );
    // Director 1 and 6 at 180 s, alice at a custom 120 s, bob at 720 s; the Administrators
    // and carol (no placement) are not enrolled.
    assert_eq!(
        before,
        vec![
            row(&["1", "180", "NULL", "1"]),
            row(&["3", "120", "NULL", "1"]),
            row(&["4", "720", "NULL", "1"]),
            row(&["6", "180", "NULL", "1"]),
        ]
    );
    let st = env.json(&["monitor", "status", "--fleet-id", "1"]);
    assert_eq!(config_rows(&env), before, "adoption changed monitor_config");
    assert_eq!(st["runtime"], stopped_runtime(Value::Null));
    let agents: Vec<Value> = st["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            json!([
                a["agent_id"],
                a["name"],
                a["role"],
                a["interval_seconds"],
                a["enabled"],
                a["pane_id"],
                a["pane_alive"]
            ])
        })
        .collect();
    // The Python placements name no tmux server, so their liveness is unknown.
    assert_eq!(
        agents,
        vec![
            json!([1, "Director", "director", 180, true, "%0", null]),
            json!([3, "alice", "member", 120, true, "%1", null]),
            json!([4, "bob", "member", 720, true, "%2", null]),
        ]
    );
    // Each has one un-acked unicast in the fixture (the broadcast summary does not count).
    let text = env.cafleet("monitor status").fleet(1).ok();
    assert_output_snapshot!("status_text_adopted", text);
    for agent in ["2", "5", "8", "9"] {
        assert_eq!(
            env.fails(
                &["monitor", "config", "--fleet-id", "1", "--agent-id", agent],
                1
            ),
            format!("Error: agent {agent} is not enrolled in monitoring for fleet 1.\n")
        );
    }
    assert_eq!(
        env.ok(&["monitor", "config", "--fleet-id", "1", "--agent-id", "3"]),
        "agent 3: interval 120s, enabled, last_ping -\n"
    );
    assert_eq!(
        env.json(&["monitor", "status", "--fleet-id", "2"])["agents"],
        json!([{"agent_id": 6, "name": "Director", "role": "director",
                "interval_seconds": 180, "last_ping_at": null, "last_ping_age_seconds": null,
                "enabled": true, "pending_count": 0,
                "pane_id": "%0", "pane_alive": null,
                "activity": "unknown", "activity_seen_at": null, "activity_source": null,
                "undelivered": {"unseen": 0, "dead": 0}}])
    );
}

#[test]
fn a_new_fleet_and_member_on_an_adopted_database_are_enrolled_like_fresh_ones() {
    // Adopt the Python file, then run a Team-style fleet on it.
    let mut team = Team::new();
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference-0.14.db");
    let adopted = team.env.dir.path().join("adopted").join("cafleet.db");
    std::fs::create_dir_all(adopted.parent().unwrap()).unwrap();
    std::fs::copy(fixture, &adopted).unwrap();
    team.env.db_path = adopted;
    let v = team.env.json(&["fleet", "create", "--label", "new"]);
    let fleet = v["fleet_id"].as_i64().unwrap();
    let director = v["director"]["agent_id"].as_i64().unwrap();
    let admin = v["administrator_agent_id"].as_i64().unwrap();
    assert_eq!(fleet, 3);
    let mut args = vec![
        "member".to_string(),
        "create".into(),
        "--fleet-id".into(),
        fleet.to_string(),
        "--agent-id".into(),
        director.to_string(),
        "--name".into(),
        "eve".into(),
        "--description".into(),
        "d".into(),
    ];
    let m = team
        .env
        .json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let eve = m["agent_id"].as_i64().unwrap();
    args[7] = "watch".into();
    args.extend(["--role".to_string(), "monitor".to_string()]);
    let watcher = team
        .env
        .json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let w = watcher["agent_id"].as_i64().unwrap();
    // Its coding agent must be up before the first tick, or the wake falls back to
    // poll triggers.
    let pw = watcher["placement"]["tmux_pane_id"].as_str().unwrap();
    assert!(wait_for(DEADLINE, || team
        .server
        .tmux(&["capture-pane", "-p", "-t", pw])
        .contains("stand-in ready")));
    let rows = team.env.query(&format!(
        "SELECT agent_id, interval_seconds FROM monitor_config WHERE agent_id >= {director} ORDER BY 1"
    ));
    assert_eq!(
        rows,
        vec![
            row(&[&director.to_string(), "180"]),
            row(&[&eve.to_string(), "720"]),
        ],
        "Administrator {admin} and watcher {w} are not enrolled"
    );
    // The old rows are untouched.
    assert_eq!(
        team.env.query(&format!(
            "SELECT agent_id, interval_seconds FROM monitor_config WHERE agent_id < {director} ORDER BY 1"
        )),
        vec![row(&["1", "180"]), row(&["3", "120"]), row(&["4", "720"]), row(&["6", "180"])]
    );
    // And the monitor runs on it: the new fleet's watcher is woken for both.
    let mon = Monitor::spawn(&team.env, fleet, 1, None);
    mon.wait_started(fleet, 1);
    let due = mon.wait_due(2);
    assert_eq!(
        due.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
        vec![
            format!("due agent {director} (Director) -> wake monitor"),
            format!("due agent {eve} (eve) -> wake monitor"),
        ]
    );
}
