//! `cafleet agent register|list|show|deregister`, the caller check that also refuses
//! deregistered agents (MSG-2), `--skills` validation (CLI-3), and fleet isolation: a refused
//! command changes nothing in the database. The codes are sections of docs/decisions.md.

use crate::support::*;
use std::fmt::Display;

fn rows(v: &[&str]) -> Vec<Vec<String>> {
    vec![v.iter().map(std::string::ToString::to_string).collect()]
}

/// `agent register` in `fleet` with `name` and `description`.
fn register_cmd<'a>(env: &'a Env, fleet: impl Display, name: &str, description: &str) -> Cli<'a> {
    env.cafleet("agent register")
        .fleet(fleet)
        .opt("--name", name)
        .opt("--description", description)
}

/// Registers a pane-less agent; returns its id.
fn register(env: &Env, fleet: &str, name: &str, description: &str) -> String {
    let v = register_cmd(env, fleet, name, description).value();
    v["agent_id"].to_string()
}

/// `agent list` of `fleet`.
fn list(env: &Env, fleet: impl Display) -> Cli<'_> {
    env.cafleet("agent list").fleet(fleet)
}

/// `agent show --id <target>` as `caller`, in fleet 1.
fn show(env: &Env, caller: impl Display, target: impl Display) -> Cli<'_> {
    env.cafleet("agent show")
        .fleet(1)
        .agent(caller)
        .opt("--id", target)
}

/// `agent deregister` of `agent` in `fleet`.
fn deregister(env: &Env, fleet: impl Display, agent: impl Display) -> Cli<'_> {
    env.cafleet("agent deregister").fleet(fleet).agent(agent)
}

/// Every table that a command could touch, for "changes nothing" checks.
fn snapshot(env: &Env) -> Vec<Vec<Vec<String>>> {
    [
        "SELECT * FROM fleets ORDER BY 1",
        "SELECT * FROM agents ORDER BY 1",
        "SELECT * FROM agent_placements ORDER BY 1",
        "SELECT * FROM tasks ORDER BY 1",
        "SELECT * FROM monitor_config ORDER BY 1",
        "SELECT * FROM monitor_runtime ORDER BY 1",
    ]
    .iter()
    .map(|q| env.query(q))
    .collect()
}

fn deregistered_msg(agent: &str, fleet: &str) -> String {
    format!(
        "Error: agent {agent} is deregistered from fleet {fleet}; a retired agent can no longer act. Register a new agent with 'cafleet agent register'.\n"
    )
}

fn usage(path: &str, msg: &str) -> String {
    format!("Usage: {path} [OPTIONS]\nTry '{path} --help' for help.\n\nError: {msg}\n")
}

/// Fleet 1 (Director 1, Administrator 2) and fleet 2 (Director 3, Administrator 4).
fn two_fleets(env: &mut Env) -> (TmuxServer, String) {
    let (server, pane, _log) = fleet_in_tmux(env);
    env.cafleet("fleet create").opt("--label", "other").ok();
    (server, pane)
}

#[test]
fn agent_register_prints_the_new_id_and_name() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let out = register_cmd(&env, 1, "alice", "Alice the helper").ok();
    assert_output_snapshot!("agent_register_text", out);
}

#[test]
fn agent_register_json_has_id_name_and_registration_time() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let out = register_cmd(&env, 1, "bob", "Bob")
        .opt("--skills", r#"[{"id":"x","name":"X"}]"#)
        .json()
        .ok();
    assert_eq!(
        redact_ts(&out),
        "{\"agent_id\":3,\"name\":\"bob\",\"registered_at\":\"<TS>\"}\n"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        env.query("SELECT registered_at FROM agents WHERE agent_id = 3")[0][0],
        v["registered_at"].as_str().unwrap()
    );
}

#[test]
fn agent_register_writes_a_plain_agent_with_its_card() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    register(&env, "1", "alice", "Alice the helper");
    register_cmd(&env, 1, "bob", "Bob")
        .opt("--skills", r#"[{"id":"x","name":"X"}]"#)
        .ok();
    register(&env, "1", "café", "naïve ✓");
    assert_eq!(
        env.query("SELECT agent_id, fleet_id, name, description, status, deregistered_at, agent_card_json FROM agents WHERE agent_id >= 3 ORDER BY agent_id"),
        vec![
            vec!["3", "1", "alice", "Alice the helper", "active", "NULL", r#"{"name": "alice", "description": "Alice the helper", "skills": []}"#],
            vec!["4", "1", "bob", "Bob", "active", "NULL", r#"{"name": "bob", "description": "Bob", "skills": [{"id": "x", "name": "X"}]}"#],
            vec!["5", "1", "café", "naïve ✓", "active", "NULL", r#"{"name": "caf\u00e9", "description": "na\u00efve \u2713", "skills": []}"#],
        ]
    );
    // No pane, no monitor enrolment.
    assert_eq!(
        env.query("SELECT count(*) FROM agent_placements WHERE agent_id >= 3"),
        rows(&["0"])
    );
    assert_eq!(
        env.query("SELECT count(*) FROM monitor_config WHERE agent_id >= 3"),
        rows(&["0"])
    );
}

#[test]
fn agent_register_refuses_blank_names_and_descriptions() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let name = "Error: agent name may not be empty. Pass a name with --name \"...\".\n";
    let description =
        "Error: agent description may not be empty. Pass one with --description \"...\".\n";
    for (n, d, expected) in [
        ("", "d", name),
        (" \t", "d", name),
        ("x", "", description),
        ("x", "  ", description),
    ] {
        assert_eq!(
            register_cmd(&env, 1, n, d).fails(1),
            expected,
            "{n:?} {d:?}"
        );
    }
    assert_eq!(env.query("SELECT count(*) FROM agents"), rows(&["2"]));
}

#[test]
fn agent_register_refuses_skills_that_are_not_json() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let before = snapshot(&env);
    for bad in ["{", "[1,", "not json", ""] {
        let err = register_cmd(&env, 1, "a", "d")
            .opt("--skills", bad)
            .fails(1);
        assert!(
            err.starts_with("Error: Invalid JSON in --skills: "),
            "{bad:?}: {err}"
        );
    }
    assert_eq!(snapshot(&env), before);
}

#[test]
fn agent_register_refuses_skills_that_are_not_an_array() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let before = snapshot(&env);
    for bad in ["{}", r#"{"a":1}"#, "1", "\"x\"", "null", "false"] {
        let err = register_cmd(&env, 1, "a", "d")
            .opt("--skills", bad)
            .fails(1);
        assert!(
            err.starts_with("Error: Invalid JSON in --skills: expected a JSON array"),
            "{bad:?}: {err}"
        );
    }
    assert_eq!(snapshot(&env), before);
    // An empty array is fine.
    register_cmd(&env, 1, "a", "d").opt("--skills", "[]").ok();
}

#[test]
fn agent_register_checks_skills_before_the_fleet() {
    let env = Env::new();
    let err = register_cmd(&env, 99, "a", "d")
        .opt("--skills", "{")
        .fails(1);
    assert!(
        err.starts_with("Error: Invalid JSON in --skills: "),
        "{err}"
    );
}

#[test]
fn agent_register_in_an_unknown_fleet_is_a_usage_error() {
    let env = Env::new();
    let err = register_cmd(&env, 99, "a", "d").fails(2);
    assert_eq!(
        err,
        usage("cafleet agent register", "Fleet '99' not found.")
    );
    assert_eq!(env.query("SELECT count(*) FROM agents"), rows(&["0"]));
}

#[test]
fn agent_list_shows_active_agents_in_ascending_order() {
    let mut env = Env::new();
    let (_server, _pane) = two_fleets(&mut env);
    register(&env, "1", "alice", "Alice the helper");
    register(&env, "2", "dave", "other fleet");
    register(&env, "1", "bob", "Bob");
    register(&env, "1", "gone", "to be deregistered");
    deregister(&env, 1, 8).ok();
    let out = list(&env, 1).ok();
    assert_output_snapshot!("agent_list_text", out);
    assert_eq!(
        list(&env, 1).json().ok(),
        "[{\"id\":1,\"name\":\"Director\",\"description\":\"Root Director for this fleet\",\"status\":\"active\"},{\"id\":2,\"name\":\"Administrator\",\"description\":\"Built-in administrator agent for fleet 1\",\"status\":\"active\"},{\"id\":5,\"name\":\"alice\",\"description\":\"Alice the helper\",\"status\":\"active\"},{\"id\":7,\"name\":\"bob\",\"description\":\"Bob\",\"status\":\"active\"}]\n"
    );
    let out = list(&env, 2).ok();
    assert_output_snapshot!("agent_list_text_fleet_2", out);
}

#[test]
fn agent_list_full_shows_blocks_and_untruncated_json() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let long = "D".repeat(61);
    register(&env, "1", "longdesc", &long);
    let cut = format!("{}…", "D".repeat(60));
    let out = list(&env, 1).arg("--full").ok();
    assert_output_snapshot!("agent_list_full_text", out);
    assert_eq!(
        redact_ts(&list(&env, 1).arg("--full").json().ok()),
        format!(
            "[{{\"agent_id\":1,\"name\":\"Director\",\"description\":\"Root Director for this fleet\",\"status\":\"active\",\"registered_at\":\"<TS>\"}},{{\"agent_id\":2,\"name\":\"Administrator\",\"description\":\"Built-in administrator agent for fleet 1\",\"status\":\"active\",\"registered_at\":\"<TS>\"}},{{\"agent_id\":3,\"name\":\"longdesc\",\"description\":\"{long}\",\"status\":\"active\",\"registered_at\":\"<TS>\"}}]\n"
        )
    );
    // Slim JSON cuts the description at 60 code points.
    let slim = list(&env, 1).value();
    assert_eq!(slim[2]["description"], cut.as_str());
}

#[test]
fn agent_descriptions_of_exactly_sixty_code_points_are_not_cut() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let sixty = "é".repeat(60);
    register(&env, "1", "x", &sixty);
    let slim = list(&env, 1).value();
    assert_eq!(slim[2]["description"], sixty.as_str());
    let sixty_one = "é".repeat(61);
    register(&env, "1", "y", &sixty_one);
    let slim = list(&env, 1).value();
    assert_eq!(slim[3]["description"], format!("{sixty}…").as_str());
}

#[test]
fn agent_list_of_an_unknown_or_deleted_fleet_is_refused() {
    let mut env = Env::new();
    let (_server, _pane) = two_fleets(&mut env);
    env.cafleet("fleet delete").arg(2).ok();
    for fleet in ["99", "2"] {
        let expected = format!(
            "Error: fleet {fleet} not found. List live fleets with 'cafleet fleet list'.\n"
        );
        assert_eq!(list(&env, fleet).fails(1), expected);
        assert_eq!(list(&env, fleet).arg("--full").json().fails(1), expected);
    }
}

#[test]
fn agent_show_prints_one_line_and_slim_json() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let a = register(&env, "1", "alice", "Alice the helper");
    assert_eq!(show(&env, &a, 1).ok(), "1 Director active\n");
    assert_eq!(
        show(&env, &a, 1).json().ok(),
        "{\"id\":1,\"name\":\"Director\",\"description\":\"Root Director for this fleet\",\"status\":\"active\",\"coding_agent\":\"claude\"}\n"
    );
    // No placement, no coding_agent.
    assert_eq!(
        show(&env, &a, &a).json().ok(),
        "{\"id\":3,\"name\":\"alice\",\"description\":\"Alice the helper\",\"status\":\"active\"}\n"
    );
}

#[test]
fn agent_show_full_has_kind_and_placement() {
    let mut env = Env::new();
    let (server, pane, _log) = fleet_in_tmux(&mut env);
    let window = server.tmux(&["display-message", "-p", "-t", &pane, "#{window_id}"]);
    let a = register(&env, "1", "alice", "Alice the helper");
    assert_eq!(
        redact_ts(&show(&env, &a, 1).arg("--full").json().ok()),
        format!(
            "{{\"agent_id\":1,\"name\":\"Director\",\"description\":\"Root Director for this fleet\",\"status\":\"active\",\"registered_at\":\"<TS>\",\"kind\":\"user\",\"placement\":{{\"director_agent_id\":null,\"tmux_session\":\"t\",\"tmux_window_id\":\"{window}\",\"tmux_pane_id\":\"{pane}\",\"coding_agent\":\"claude\",\"created_at\":\"<TS>\",\"host\":\"{host}\"}}}}\n",
            host = cafleet::host::machine_name()
        )
    );
    assert_eq!(
        redact_ts(&show(&env, &a, 2).arg("--full").json().ok()),
        "{\"agent_id\":2,\"name\":\"Administrator\",\"description\":\"Built-in administrator agent for fleet 1\",\"status\":\"active\",\"registered_at\":\"<TS>\",\"kind\":\"builtin-administrator\",\"placement\":null}\n"
    );
    let long = "D".repeat(70);
    let l = register(&env, "1", "longdesc", &long);
    let out = show(&env, &a, &l).arg("--full").ok();
    assert_output_snapshot!("agent_show_full_text", out);
    // --full JSON is untruncated.
    let v = show(&env, &a, &l).arg("--full").value();
    assert_eq!(v["description"], long.as_str());
}

#[test]
fn agent_show_of_an_inactive_unknown_or_foreign_target_is_not_found() {
    let mut env = Env::new();
    let (_server, _pane) = two_fleets(&mut env);
    let a = register(&env, "1", "alice", "a");
    let gone = register(&env, "1", "gone", "g");
    deregister(&env, 1, &gone).ok();
    for target in [gone.as_str(), "99", "3", "4"] {
        assert_eq!(
            show(&env, &a, target).fails(1),
            format!("Error: Agent {target} not found\n"),
            "target {target}"
        );
    }
}

#[test]
fn agent_show_refuses_a_caller_outside_the_fleet() {
    let mut env = Env::new();
    let (_server, _pane) = two_fleets(&mut env);
    for caller in ["3", "99"] {
        assert_eq!(
            show(&env, caller, 1).fails(1),
            format!("Error: agent {caller} is not a member of fleet 1.\n")
        );
    }
    // The caller check comes before the target lookup.
    assert_eq!(
        show(&env, 3, 999).fails(1),
        "Error: agent 3 is not a member of fleet 1.\n"
    );
}

#[test]
fn agent_show_refuses_a_deregistered_caller() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let a = register(&env, "1", "alice", "a");
    deregister(&env, 1, &a).ok();
    assert_eq!(show(&env, &a, 1).fails(1), deregistered_msg(&a, "1"));
}

#[test]
fn agent_deregister_retires_the_agent() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let a = register(&env, "1", "alice", "a");
    let b = register(&env, "1", "bob", "b");
    assert_eq!(
        deregister(&env, 1, &a).ok(),
        "Agent deregistered successfully.\n"
    );
    assert_eq!(
        deregister(&env, 1, &b).json().ok(),
        "{\"status\":\"deregistered\"}\n"
    );
    let r = env.query("SELECT status, deregistered_at FROM agents WHERE agent_id IN (3, 4)");
    for row in &r {
        assert_eq!(row[0], "deregistered");
        assert_ne!(row[1], "NULL");
    }
    let out = list(&env, 1).ok();
    assert_output_snapshot!("agent_list_after_deregister", out);
}

#[test]
fn agent_deregister_of_the_director_is_a_usage_error() {
    let mut env = Env::new();
    let (_server, _pane) = two_fleets(&mut env);
    let before = snapshot(&env);
    for (fleet, director) in [("1", "1"), ("2", "3")] {
        assert_eq!(
            deregister(&env, fleet, director).fails(2),
            usage(
                "cafleet agent deregister",
                "cannot deregister the root Director; use 'cafleet fleet delete' instead"
            )
        );
    }
    assert_eq!(snapshot(&env), before);
}

#[test]
fn agent_deregister_of_the_administrator_fails() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let before = snapshot(&env);
    assert_eq!(
        deregister(&env, 1, 2).fails(1),
        "Error: Administrator cannot be deregistered\n"
    );
    assert_eq!(snapshot(&env), before);
}

#[test]
fn agent_deregister_twice_fails_the_second_time() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let a = register(&env, "1", "alice", "a");
    deregister(&env, 1, &a).ok();
    let before = snapshot(&env);
    assert_eq!(
        deregister(&env, 1, &a).fails(1),
        format!("Error: agent {a} not found or already deregistered.\n")
    );
    assert_eq!(snapshot(&env), before);
}

#[test]
fn agent_commands_refuse_agents_of_another_fleet_and_change_nothing() {
    let mut env = Env::new();
    let (_server, _pane) = two_fleets(&mut env);
    let dave = register(&env, "2", "dave", "fleet 2");
    let before = snapshot(&env);
    let not_member = format!("Error: agent {dave} is not a member of fleet 1.\n");
    assert_eq!(deregister(&env, 1, &dave).fails(1), not_member);
    assert_eq!(show(&env, &dave, 1).fails(1), not_member);
    assert_eq!(
        show(&env, 1, &dave).fails(1),
        format!("Error: Agent {dave} not found\n")
    );
    // Unknown ids are refused the same way.
    assert_eq!(
        deregister(&env, 1, 99).fails(1),
        "Error: agent 99 is not a member of fleet 1.\n"
    );
    // The Director of fleet 2 through fleet 1: not a member (not the Director error).
    assert_eq!(
        deregister(&env, 1, 3).fails(1),
        "Error: agent 3 is not a member of fleet 1.\n"
    );
    assert!(!list(&env, 1).ok().contains("dave"));
    assert_eq!(snapshot(&env), before);
}

#[test]
fn agent_deregister_of_a_deleted_fleets_director_and_administrator_still_refuses() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    env.cafleet("fleet delete").arg(1).ok();
    let before = snapshot(&env);
    // The Director check covers deleted fleets, and comes before the "already deregistered"
    // check; so does the Administrator check.
    assert_eq!(
        deregister(&env, 1, 1).fails(2),
        usage(
            "cafleet agent deregister",
            "cannot deregister the root Director; use 'cafleet fleet delete' instead"
        )
    );
    assert_eq!(
        deregister(&env, 1, 2).fails(1),
        "Error: Administrator cannot be deregistered\n"
    );
    assert_eq!(snapshot(&env), before);
}
