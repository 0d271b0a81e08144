//! `cafleet fleet create|list|show|delete`: outputs, the rows a fleet starts with, soft
//! deletion, and `fleet delete --json` (docs/decisions.md, O2).

use crate::support::*;

const FLEET_CREATE_OUTSIDE: &str =
    "Error: cafleet fleet create must be run inside a tmux session\n";

fn rows(v: &[&str]) -> Vec<Vec<String>> {
    vec![v.iter().map(std::string::ToString::to_string).collect()]
}

fn window_of(server: &TmuxServer, pane: &str) -> String {
    server.tmux(&["display-message", "-p", "-t", pane, "#{window_id}"])
}

/// `agent register` of a pane-less agent `name` in `fleet`.
fn register_cmd<'a>(env: &'a Env, fleet: impl std::fmt::Display, name: &str) -> Cli<'a> {
    env.cafleet("agent register")
        .fleet(fleet)
        .opt("--name", name)
        .opt("--description", "d")
}

/// Registers a pane-less agent; returns its id.
fn register(env: &Env, fleet: &str, name: &str) -> String {
    register_cmd(env, fleet, name).value()["agent_id"].to_string()
}

#[test]
fn fleet_create_prints_fleet_director_and_admin_ids() {
    let mut env = Env::new();
    let server = TmuxServer::start(env.dir.path(), &["sleep", "100000"]);
    let (pane, _log) = server.recorder_pane("director");
    server.enter(&mut env, &pane);
    assert_eq!(
        env.cafleet("fleet create").opt("--label", "alpha").ok(),
        "1 director=1 admin=2\n"
    );
    // Several fleets from one pane are independent fleets (docs/decisions.md, L1).
    assert_eq!(env.cafleet("fleet create").ok(), "2 director=3 admin=4\n");
}

#[test]
fn fleet_create_json_has_the_documented_shape() {
    let mut env = Env::new();
    let server = TmuxServer::start(env.dir.path(), &["sleep", "100000"]);
    let (pane, _log) = server.recorder_pane("director");
    let window = window_of(&server, &pane);
    server.enter(&mut env, &pane);
    let expected = |fleet: u32, director: u32, admin: u32, label: &str, agent: &str| {
        format!(
            "{{\"fleet_id\":{fleet},\"label\":{label},\"created_at\":\"<TS>\",\"administrator_agent_id\":{admin},\"director\":{{\"agent_id\":{director},\"name\":\"Director\",\"description\":\"Root Director for this fleet\",\"registered_at\":\"<TS>\",\"placement\":{{\"director_agent_id\":null,\"tmux_session\":\"t\",\"tmux_window_id\":\"{window}\",\"tmux_pane_id\":\"{pane}\",\"coding_agent\":\"{agent}\",\"created_at\":\"<TS>\",\"host\":\"{host}\"}}}}}}\n",
            host = cafleet::host::machine_name()
        )
    };
    let global = env
        .cafleet("fleet create")
        .opt("--label", "beta")
        .json()
        .ok();
    assert_eq!(redact_ts(&global), expected(1, 1, 2, "\"beta\"", "claude"));
    let local = env
        .cafleet("fleet create")
        .arg("--json")
        .opt("--coding-agent", "codex")
        .ok();
    assert_eq!(redact_ts(&local), expected(2, 3, 4, "null", "codex"));
    // --full changes nothing in JSON.
    let full = env
        .cafleet("fleet create")
        .arg("--full")
        .opt("--label", "g")
        .json()
        .ok();
    assert_eq!(redact_ts(&full), expected(3, 5, 6, "\"g\"", "claude"));
    // One "now" for the fleet, the Director and its placement.
    let v: serde_json::Value = serde_json::from_str(&global).unwrap();
    assert_eq!(v["created_at"], v["director"]["registered_at"]);
    assert_eq!(v["created_at"], v["director"]["placement"]["created_at"]);
}

#[test]
fn fleet_create_full_prints_the_long_form() {
    let mut env = Env::new();
    let server = TmuxServer::start(env.dir.path(), &["sleep", "100000"]);
    let (pane, _log) = server.recorder_pane("director");
    let window = window_of(&server, &pane);
    server.enter(&mut env, &pane);
    let out = env
        .cafleet("fleet create")
        .arg("--full")
        .opt("--label", "delta")
        .opt("--coding-agent", "codex")
        .ok();
    let text = redact_ts(&out)
        .replace(&format!(":{window}:"), ":<WINDOW>:")
        .replace(&format!(":{pane}\n"), ":<PANE>\n");
    assert_output_snapshot!("fleet_create_full_text", text);
    // A NULL label leaves the trailing spaces.
    let out = env.cafleet("fleet create").arg("--full").ok();
    assert!(out.contains("\nlabel:            \ncreated_at:"), "{out:?}");
}

#[test]
fn fleet_create_writes_director_placement_monitor_row_and_administrator() {
    let mut env = Env::new();
    let server = TmuxServer::start(env.dir.path(), &["sleep", "100000"]);
    let (pane, _log) = server.recorder_pane("director");
    let window = window_of(&server, &pane);
    server.enter(&mut env, &pane);
    env.cafleet("fleet create")
        .opt("--label", "main")
        .opt("--coding-agent", "opencode")
        .ok();
    let fleet = env.query("SELECT fleet_id, label, deleted_at, director_agent_id FROM fleets");
    assert_eq!(fleet, rows(&["1", "main", "NULL", "1"]));
    let agents = env.query(
        "SELECT agent_id, fleet_id, name, description, status, deregistered_at, agent_card_json FROM agents ORDER BY agent_id",
    );
    assert_eq!(
        agents,
        vec![
            vec![
                "1",
                "1",
                "Director",
                "Root Director for this fleet",
                "active",
                "NULL",
                r#"{"name": "Director", "description": "Root Director for this fleet", "skills": []}"#
            ],
            vec![
                "2",
                "1",
                "Administrator",
                "Built-in administrator agent for fleet 1",
                "active",
                "NULL",
                r#"{"name": "Administrator", "description": "Built-in administrator agent for fleet 1", "skills": [], "cafleet": {"kind": "builtin-administrator"}}"#
            ],
        ]
    );
    let placements = env.query(
        "SELECT agent_id, director_agent_id, tmux_session, tmux_window_id, tmux_pane_id, coding_agent FROM agent_placements",
    );
    assert_eq!(
        placements,
        rows(&["1", "NULL", "t", &window, &pane, "opencode"])
    );
    assert_eq!(
        env.query("SELECT agent_id, interval_seconds, last_ping_at, enabled FROM monitor_config"),
        rows(&["1", "180", "NULL", "1"])
    );
    // One timestamp for everything the bootstrap wrote.
    let ts = env.query(
        "SELECT count(DISTINCT t) FROM (SELECT created_at AS t FROM fleets UNION ALL SELECT registered_at FROM agents UNION ALL SELECT created_at FROM agent_placements) AS stamps",
    );
    assert_eq!(ts, rows(&["1"]));
}

#[test]
fn fleet_create_stores_an_empty_label_as_empty_and_none_as_null() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    env.cafleet("fleet create").opt("--label", "").ok();
    env.cafleet("fleet create").ok();
    assert_eq!(
        env.query("SELECT fleet_id, coalesce(label, 'NULL') FROM fleets ORDER BY fleet_id"),
        vec![
            vec!["1".to_string(), "main".to_string()],
            vec!["2".to_string(), "".to_string()],
            vec!["3".to_string(), "NULL".to_string()],
        ]
    );
}

#[test]
fn fleet_create_outside_tmux_fails_and_creates_nothing() {
    let env = Env::new();
    assert_eq!(
        env.cafleet("fleet create").opt("--label", "x").fails(1),
        FLEET_CREATE_OUTSIDE
    );
    assert_eq!(
        env.cafleet("fleet create").json().fails(1),
        FLEET_CREATE_OUTSIDE
    );
    assert_eq!(env.cafleet("fleet list").ok(), "No fleets found.\n");
}

#[test]
fn fleet_create_without_a_usable_pane_fails_with_the_same_message() {
    let mut env = Env::new();
    let server = TmuxServer::start(env.dir.path(), &["sleep", "100000"]);
    // TMUX set, TMUX_PANE missing.
    assert_eq!(
        env.cafleet("fleet create")
            .env("TMUX", server.tmux_env())
            .fails(1),
        FLEET_CREATE_OUTSIDE
    );
    // A pane that does not exist is refused, not stored with empty fields.
    server.enter(&mut env, "%99");
    assert_eq!(env.cafleet("fleet create").fails(1), FLEET_CREATE_OUTSIDE);
    // tmux not on PATH.
    server.enter(&mut env, "%0");
    let empty = env.dir.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    assert_eq!(
        env.cafleet("fleet create")
            .env("PATH", empty.display())
            .fails(1),
        FLEET_CREATE_OUTSIDE
    );
    assert_eq!(env.cafleet("fleet list").ok(), "No fleets found.\n");
}

#[test]
fn fleet_list_is_empty_on_a_fresh_database() {
    let env = Env::new();
    assert_eq!(env.cafleet("fleet list").ok(), "No fleets found.\n");
    assert_eq!(env.cafleet("fleet list").json().ok(), "[]\n");
}

#[test]
fn fleet_list_shows_live_fleets_newest_first_with_active_agent_counts() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    env.cafleet("fleet create").ok();
    let alice = register(&env, "1", "alice");
    assert_eq!(alice, "5");
    register(&env, "1", "bob");
    env.cafleet("agent deregister").fleet(1).agent(6).ok();
    assert_output_snapshot!(
        "fleet_list_text",
        redact_ts(&env.cafleet("fleet list").ok())
    );
    assert_eq!(
        redact_ts(&env.cafleet("fleet list").json().ok()),
        "[{\"fleet_id\":2,\"director_agent_id\":3,\"label\":null,\"created_at\":\"<TS>\",\"agent_count\":2},{\"fleet_id\":1,\"director_agent_id\":1,\"label\":\"main\",\"created_at\":\"<TS>\",\"agent_count\":3}]\n"
    );
    assert_eq!(
        redact_ts(&env.cafleet("fleet list").arg("--json").ok()),
        redact_ts(&env.cafleet("fleet list").json().ok())
    );
}

#[test]
fn fleet_list_widens_a_column_for_a_long_label_instead_of_shifting_the_rest() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let label = "a-label-well-beyond-the-twenty-characters";
    env.cafleet("fleet create").opt("--label", label).ok();
    let text = redact_ts(&env.cafleet("fleet list").ok());
    let lines: Vec<&str> = text.lines().collect();
    // Every row's AGENTS and CREATED_AT start where the header's do.
    let agents_at = lines[0].find("AGENTS").unwrap();
    let created_at = lines[0].find("CREATED_AT").unwrap();
    assert_eq!(created_at - agents_at, 9, "{text}");
    assert!(agents_at > 40 + 1 + 40 + 1 + label.len(), "{text}");
    for row in &lines[1..] {
        assert_eq!(&row[created_at..], "<TS>", "{text}");
        assert_ne!(row.as_bytes()[agents_at], b' ', "{text}");
        assert_eq!(row.as_bytes()[agents_at - 1], b' ', "{text}");
    }
}

#[test]
fn fleet_list_omits_deleted_fleets() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    env.cafleet("fleet create").opt("--label", "second").ok();
    env.cafleet("fleet delete").arg(1).ok();
    let v = env.cafleet("fleet list").value();
    let ids: Vec<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fleet_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![2]);
    env.cafleet("fleet delete").arg(2).ok();
    assert_eq!(env.cafleet("fleet list").ok(), "No fleets found.\n");
}

#[test]
fn fleet_list_does_not_cut_long_labels() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let label = "a-label-much-longer-than-twenty-columns";
    env.cafleet("fleet create").opt("--label", label).ok();
    let out = env.cafleet("fleet list").ok();
    assert!(out.contains(&format!(" {label} 2")), "{out}");
}

#[test]
fn fleet_show_prints_text_and_json() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    assert_output_snapshot!(
        "fleet_show_text",
        redact_ts(&env.cafleet("fleet show").arg(1).ok())
    );
    let json = "{\"fleet_id\":1,\"label\":\"main\",\"created_at\":\"<TS>\",\"deleted_at\":null,\"director_agent_id\":1}\n";
    assert_eq!(
        redact_ts(&env.cafleet("fleet show").arg(1).arg("--json").ok()),
        json
    );
    assert_eq!(
        redact_ts(&env.cafleet("fleet show").arg(1).json().ok()),
        json
    );
    let created = env.query("SELECT created_at FROM fleets WHERE fleet_id = 1");
    assert!(
        env.cafleet("fleet show")
            .arg(1)
            .ok()
            .contains(&created[0][0])
    );
}

#[test]
fn fleet_show_of_a_null_label_keeps_the_trailing_spaces() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    env.cafleet("fleet create").ok();
    assert_eq!(
        redact_ts(&env.cafleet("fleet show").arg(2).ok()),
        "fleet_id: 2\nlabel:      \ncreated_at: <TS>\n"
    );
}

#[test]
fn fleet_show_includes_deleted_fleets_with_their_deletion_time() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    env.cafleet("fleet delete").arg(1).ok();
    assert_output_snapshot!(
        "fleet_show_deleted_text",
        redact_ts(&env.cafleet("fleet show").arg(1).ok())
    );
    let v = env.cafleet("fleet show").arg(1).value();
    let deleted = env.query("SELECT deleted_at FROM fleets WHERE fleet_id = 1");
    assert_eq!(v["deleted_at"], deleted[0][0].as_str());
}

#[test]
fn fleet_show_of_an_unknown_fleet_fails() {
    let env = Env::new();
    assert_eq!(
        env.cafleet("fleet show").arg(99).fails(1),
        "Error: fleet '99' not found.\n"
    );
    assert_eq!(
        env.cafleet("fleet show").arg(99).json().fails(1),
        "Error: fleet '99' not found.\n"
    );
    assert_eq!(
        env.cafleet("fleet show").arg(99).arg("--json").fails(1),
        "Error: fleet '99' not found.\n"
    );
}

#[test]
fn fleet_delete_deregisters_every_active_agent_and_is_idempotent() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    register(&env, "1", "alice");
    assert_eq!(
        env.cafleet("fleet delete").arg(1).ok(),
        "Deleted fleet 1. Deregistered 3 agents.\n"
    );
    let deleted_at = env.query("SELECT deleted_at FROM fleets WHERE fleet_id = 1")[0][0].clone();
    assert_ne!(deleted_at, "NULL");
    assert_eq!(
        env.query("SELECT agent_id, status, deregistered_at FROM agents ORDER BY agent_id"),
        vec![
            vec![
                "1".to_string(),
                "deregistered".to_string(),
                deleted_at.clone()
            ],
            vec![
                "2".to_string(),
                "deregistered".to_string(),
                deleted_at.clone()
            ],
            vec![
                "3".to_string(),
                "deregistered".to_string(),
                deleted_at.clone()
            ],
        ]
    );
    assert_eq!(
        env.cafleet("fleet delete").arg(1).ok(),
        "Deleted fleet 1. Deregistered 0 agents.\n"
    );
    // The second delete keeps the first deletion time.
    assert_eq!(
        env.query("SELECT deleted_at FROM fleets WHERE fleet_id = 1")[0][0],
        deleted_at
    );
}

#[test]
fn fleet_delete_json_reports_the_deregistered_count() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    assert_eq!(
        env.cafleet("fleet delete").arg(1).json().ok(),
        "{\"fleet_id\":1,\"deregistered_agents\":2,\"closed_panes\":0}\n"
    );
    assert_eq!(
        env.cafleet("fleet delete").arg(1).json().ok(),
        "{\"fleet_id\":1,\"deregistered_agents\":0,\"closed_panes\":0}\n"
    );
}

#[test]
fn fleet_delete_removes_placements_and_monitor_rows_but_keeps_messages_and_panes() {
    let mut env = Env::new();
    let (server, pane, _log) = fleet_in_tmux(&mut env);
    env.cafleet("fleet create").opt("--label", "other").ok();
    let a = register(&env, "1", "alice");
    env.cafleet("message send")
        .fleet(1)
        .agent(&a)
        .opt("--to", 1)
        .opt("--text", "hi")
        .ok();
    env.query(
        "INSERT INTO monitor_runtime (fleet_id, pid, started_at, last_tick_at, tick_seconds) VALUES (1, NULL, NULL, NULL, 5), (2, NULL, NULL, NULL, 5)",
    );
    let tasks_before = env.query("SELECT * FROM tasks ORDER BY task_id");
    env.cafleet("fleet delete").arg(1).ok();
    assert_eq!(
        env.query("SELECT agent_id FROM agent_placements"),
        rows(&["3"]),
        "only fleet 2's Director keeps its placement"
    );
    assert_eq!(
        env.query("SELECT agent_id FROM monitor_config"),
        rows(&["3"])
    );
    assert_eq!(
        env.query("SELECT fleet_id FROM monitor_runtime"),
        rows(&["2"])
    );
    assert_eq!(
        env.query("SELECT * FROM tasks ORDER BY task_id"),
        tasks_before
    );
    // No tmux action: the Director's pane keeps running.
    assert!(server.panes().contains(&pane));
    // Fleet 2 is untouched.
    assert_eq!(
        env.query("SELECT count(*) FROM agents WHERE fleet_id = 2 AND status = 'active'"),
        rows(&["2"])
    );
}

#[test]
fn fleet_delete_of_an_unknown_fleet_fails_and_changes_nothing() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let before = env.query("SELECT * FROM fleets");
    assert_eq!(
        env.cafleet("fleet delete").arg(99).fails(1),
        "Error: fleet '99' not found.\n"
    );
    assert_eq!(
        env.cafleet("fleet delete").arg(99).json().fails(1),
        "Error: fleet '99' not found.\n"
    );
    assert_eq!(env.query("SELECT * FROM fleets"), before);
}

#[test]
fn a_deleted_fleet_accepts_no_new_agents_and_its_agents_can_no_longer_act() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let a = register(&env, "1", "alice");
    env.cafleet("fleet delete").arg(1).ok();
    assert_eq!(
        register_cmd(&env, 1, "late").fails(2),
        "Usage: cafleet agent register [OPTIONS]\nTry 'cafleet agent register --help' for help.\n\nError: fleet 1 is deleted\n"
    );
    assert_eq!(
        env.cafleet("message send")
            .fleet(1)
            .agent(&a)
            .opt("--to", 1)
            .opt("--text", "x")
            .fails(1),
        format!("Error: Sender agent not found or not active in fleet: {a}\n")
    );
    assert_eq!(
        env.cafleet("agent list").fleet(1).fails(1),
        "Error: fleet 1 not found. List live fleets with 'cafleet fleet list'.\n"
    );
    assert_eq!(env.query("SELECT count(*) FROM agents"), rows(&["3"]));
    assert_eq!(env.query("SELECT count(*) FROM tasks"), rows(&["0"]));
}
