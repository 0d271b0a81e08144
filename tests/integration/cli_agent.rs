//! `cafleet agent register|list|show|deregister`, the caller check that also refuses
//! deregistered agents (MSG-2), `--skills` validation (CLI-3), and fleet isolation: a refused
//! command changes nothing in the database. The codes are sections of docs/decisions.md.

use crate::support::*;

fn rows(v: &[&str]) -> Vec<Vec<String>> {
    vec![v.iter().map(std::string::ToString::to_string).collect()]
}

fn register(env: &Env, fleet: &str, name: &str, description: &str) -> String {
    let v = env.json(&[
        "agent",
        "register",
        "--fleet-id",
        fleet,
        "--name",
        name,
        "--description",
        description,
    ]);
    v["agent_id"].to_string()
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
    env.ok(&["fleet", "create", "--label", "other"]);
    (server, pane)
}

#[test]
fn agent_register_prints_the_new_id_and_name() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    assert_eq!(
        env.ok(&[
            "agent",
            "register",
            "--fleet-id",
            "1",
            "--name",
            "alice",
            "--description",
            "Alice the helper",
        ]),
        "Agent registered successfully!\n  agent_id:  3\n  name:      alice\n"
    );
}

#[test]
fn agent_register_json_has_id_name_and_registration_time() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let out = env.ok(&[
        "--json",
        "agent",
        "register",
        "--fleet-id",
        "1",
        "--name",
        "bob",
        "--description",
        "Bob",
        "--skills",
        r#"[{"id":"x","name":"X"}]"#,
    ]);
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
    env.ok(&[
        "agent",
        "register",
        "--fleet-id",
        "1",
        "--name",
        "bob",
        "--description",
        "Bob",
        "--skills",
        r#"[{"id":"x","name":"X"}]"#,
    ]);
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
            env.fails(
                &[
                    "agent",
                    "register",
                    "--fleet-id",
                    "1",
                    "--name",
                    n,
                    "--description",
                    d
                ],
                1
            ),
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
        let err = env.fails(
            &[
                "agent",
                "register",
                "--fleet-id",
                "1",
                "--name",
                "a",
                "--description",
                "d",
                "--skills",
                bad,
            ],
            1,
        );
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
        let err = env.fails(
            &[
                "agent",
                "register",
                "--fleet-id",
                "1",
                "--name",
                "a",
                "--description",
                "d",
                "--skills",
                bad,
            ],
            1,
        );
        assert!(
            err.starts_with("Error: Invalid JSON in --skills: expected a JSON array"),
            "{bad:?}: {err}"
        );
    }
    assert_eq!(snapshot(&env), before);
    // An empty array is fine.
    env.ok(&[
        "agent",
        "register",
        "--fleet-id",
        "1",
        "--name",
        "a",
        "--description",
        "d",
        "--skills",
        "[]",
    ]);
}

#[test]
fn agent_register_checks_skills_before_the_fleet() {
    let env = Env::new();
    let err = env.fails(
        &[
            "agent",
            "register",
            "--fleet-id",
            "99",
            "--name",
            "a",
            "--description",
            "d",
            "--skills",
            "{",
        ],
        1,
    );
    assert!(
        err.starts_with("Error: Invalid JSON in --skills: "),
        "{err}"
    );
}

#[test]
fn agent_register_in_an_unknown_fleet_is_a_usage_error() {
    let env = Env::new();
    let err = env.fails(
        &[
            "agent",
            "register",
            "--fleet-id",
            "99",
            "--name",
            "a",
            "--description",
            "d",
        ],
        2,
    );
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
    env.ok(&["agent", "deregister", "--fleet-id", "1", "--agent-id", "8"]);
    assert_eq!(
        env.ok(&["agent", "list", "--fleet-id", "1"]),
        "1 Director active\n\n2 Administrator active\n\n5 alice active\n\n7 bob active\n"
    );
    assert_eq!(
        env.ok(&["--json", "agent", "list", "--fleet-id", "1"]),
        "[{\"id\":1,\"name\":\"Director\",\"description\":\"Root Director for this fleet\",\"status\":\"active\"},{\"id\":2,\"name\":\"Administrator\",\"description\":\"Built-in administrator agent for fleet 1\",\"status\":\"active\"},{\"id\":5,\"name\":\"alice\",\"description\":\"Alice the helper\",\"status\":\"active\"},{\"id\":7,\"name\":\"bob\",\"description\":\"Bob\",\"status\":\"active\"}]\n"
    );
    assert_eq!(
        env.ok(&["agent", "list", "--fleet-id", "2"]),
        "3 Director active\n\n4 Administrator active\n\n6 dave active\n"
    );
}

#[test]
fn agent_list_full_shows_blocks_and_untruncated_json() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let long = "D".repeat(61);
    register(&env, "1", "longdesc", &long);
    let cut = format!("{}…", "D".repeat(60));
    assert_eq!(
        env.ok(&["agent", "list", "--fleet-id", "1", "--full"]),
        format!(
            "  agent_id:    1\n  name:        Director\n  description: Root Director for this fleet\n  status:      active\n\n  agent_id:    2\n  name:        Administrator\n  description: Built-in administrator agent for fleet 1\n  status:      active\n\n  agent_id:    3\n  name:        longdesc\n  description: {cut}\n  status:      active\n"
        )
    );
    assert_eq!(
        redact_ts(&env.ok(&["--json", "agent", "list", "--fleet-id", "1", "--full"])),
        format!(
            "[{{\"agent_id\":1,\"name\":\"Director\",\"description\":\"Root Director for this fleet\",\"status\":\"active\",\"registered_at\":\"<TS>\"}},{{\"agent_id\":2,\"name\":\"Administrator\",\"description\":\"Built-in administrator agent for fleet 1\",\"status\":\"active\",\"registered_at\":\"<TS>\"}},{{\"agent_id\":3,\"name\":\"longdesc\",\"description\":\"{long}\",\"status\":\"active\",\"registered_at\":\"<TS>\"}}]\n"
        )
    );
    // Slim JSON cuts the description at 60 code points.
    let slim = env.json(&["agent", "list", "--fleet-id", "1"]);
    assert_eq!(slim[2]["description"], cut.as_str());
}

#[test]
fn agent_descriptions_of_exactly_sixty_code_points_are_not_cut() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let sixty = "é".repeat(60);
    register(&env, "1", "x", &sixty);
    let slim = env.json(&["agent", "list", "--fleet-id", "1"]);
    assert_eq!(slim[2]["description"], sixty.as_str());
    let sixty_one = "é".repeat(61);
    register(&env, "1", "y", &sixty_one);
    let slim = env.json(&["agent", "list", "--fleet-id", "1"]);
    assert_eq!(slim[3]["description"], format!("{sixty}…").as_str());
}

#[test]
fn agent_list_of_an_unknown_or_deleted_fleet_is_refused() {
    let mut env = Env::new();
    let (_server, _pane) = two_fleets(&mut env);
    env.ok(&["fleet", "delete", "2"]);
    for fleet in ["99", "2"] {
        let expected = format!(
            "Error: fleet {fleet} not found. List live fleets with 'cafleet fleet list'.\n"
        );
        assert_eq!(
            env.fails(&["agent", "list", "--fleet-id", fleet], 1),
            expected
        );
        assert_eq!(
            env.fails(
                &["--json", "agent", "list", "--fleet-id", fleet, "--full"],
                1
            ),
            expected
        );
    }
}

#[test]
fn agent_show_prints_one_line_and_slim_json() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let a = register(&env, "1", "alice", "Alice the helper");
    assert_eq!(
        env.ok(&[
            "agent",
            "show",
            "--fleet-id",
            "1",
            "--agent-id",
            &a,
            "--id",
            "1"
        ]),
        "1 Director active\n"
    );
    assert_eq!(
        env.ok(&[
            "--json",
            "agent",
            "show",
            "--fleet-id",
            "1",
            "--agent-id",
            &a,
            "--id",
            "1"
        ]),
        "{\"id\":1,\"name\":\"Director\",\"description\":\"Root Director for this fleet\",\"status\":\"active\",\"coding_agent\":\"claude\"}\n"
    );
    // No placement, no coding_agent.
    assert_eq!(
        env.ok(&[
            "--json",
            "agent",
            "show",
            "--fleet-id",
            "1",
            "--agent-id",
            &a,
            "--id",
            &a
        ]),
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
        redact_ts(&env.ok(&[
            "--json",
            "agent",
            "show",
            "--fleet-id",
            "1",
            "--agent-id",
            &a,
            "--id",
            "1",
            "--full"
        ])),
        format!(
            "{{\"agent_id\":1,\"name\":\"Director\",\"description\":\"Root Director for this fleet\",\"status\":\"active\",\"registered_at\":\"<TS>\",\"kind\":\"user\",\"placement\":{{\"director_agent_id\":null,\"tmux_session\":\"t\",\"tmux_window_id\":\"{window}\",\"tmux_pane_id\":\"{pane}\",\"coding_agent\":\"claude\",\"created_at\":\"<TS>\"}}}}\n"
        )
    );
    assert_eq!(
        redact_ts(&env.ok(&[
            "--json",
            "agent",
            "show",
            "--fleet-id",
            "1",
            "--agent-id",
            &a,
            "--id",
            "2",
            "--full"
        ])),
        "{\"agent_id\":2,\"name\":\"Administrator\",\"description\":\"Built-in administrator agent for fleet 1\",\"status\":\"active\",\"registered_at\":\"<TS>\",\"kind\":\"builtin-administrator\",\"placement\":null}\n"
    );
    let long = "D".repeat(70);
    let l = register(&env, "1", "longdesc", &long);
    assert_eq!(
        env.ok(&[
            "agent",
            "show",
            "--fleet-id",
            "1",
            "--agent-id",
            &a,
            "--id",
            &l,
            "--full"
        ]),
        format!(
            "  agent_id:    {l}\n  name:        longdesc\n  description: {}…\n  status:      active\n",
            "D".repeat(60)
        )
    );
    // --full JSON is untruncated.
    let v = env.json(&[
        "agent",
        "show",
        "--fleet-id",
        "1",
        "--agent-id",
        &a,
        "--id",
        &l,
        "--full",
    ]);
    assert_eq!(v["description"], long.as_str());
}

#[test]
fn agent_show_of_an_inactive_unknown_or_foreign_target_is_not_found() {
    let mut env = Env::new();
    let (_server, _pane) = two_fleets(&mut env);
    let a = register(&env, "1", "alice", "a");
    let gone = register(&env, "1", "gone", "g");
    env.ok(&[
        "agent",
        "deregister",
        "--fleet-id",
        "1",
        "--agent-id",
        &gone,
    ]);
    for target in [gone.as_str(), "99", "3", "4"] {
        assert_eq!(
            env.fails(
                &[
                    "agent",
                    "show",
                    "--fleet-id",
                    "1",
                    "--agent-id",
                    &a,
                    "--id",
                    target
                ],
                1
            ),
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
            env.fails(
                &[
                    "agent",
                    "show",
                    "--fleet-id",
                    "1",
                    "--agent-id",
                    caller,
                    "--id",
                    "1"
                ],
                1
            ),
            format!("Error: agent {caller} is not a member of fleet 1.\n")
        );
    }
    // The caller check comes before the target lookup.
    assert_eq!(
        env.fails(
            &[
                "agent",
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                "3",
                "--id",
                "999"
            ],
            1
        ),
        "Error: agent 3 is not a member of fleet 1.\n"
    );
}

#[test]
fn agent_show_refuses_a_deregistered_caller() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let a = register(&env, "1", "alice", "a");
    env.ok(&["agent", "deregister", "--fleet-id", "1", "--agent-id", &a]);
    assert_eq!(
        env.fails(
            &[
                "agent",
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                &a,
                "--id",
                "1"
            ],
            1
        ),
        deregistered_msg(&a, "1")
    );
}

#[test]
fn agent_deregister_retires_the_agent() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let a = register(&env, "1", "alice", "a");
    let b = register(&env, "1", "bob", "b");
    assert_eq!(
        env.ok(&["agent", "deregister", "--fleet-id", "1", "--agent-id", &a]),
        "Agent deregistered successfully.\n"
    );
    assert_eq!(
        env.ok(&[
            "--json",
            "agent",
            "deregister",
            "--fleet-id",
            "1",
            "--agent-id",
            &b
        ]),
        "{\"status\":\"deregistered\"}\n"
    );
    let r = env.query("SELECT status, deregistered_at FROM agents WHERE agent_id IN (3, 4)");
    for row in &r {
        assert_eq!(row[0], "deregistered");
        assert_ne!(row[1], "NULL");
    }
    assert_eq!(
        env.ok(&["agent", "list", "--fleet-id", "1"]),
        "1 Director active\n\n2 Administrator active\n"
    );
}

#[test]
fn agent_deregister_of_the_director_is_a_usage_error() {
    let mut env = Env::new();
    let (_server, _pane) = two_fleets(&mut env);
    let before = snapshot(&env);
    for (fleet, director) in [("1", "1"), ("2", "3")] {
        assert_eq!(
            env.fails(
                &[
                    "agent",
                    "deregister",
                    "--fleet-id",
                    fleet,
                    "--agent-id",
                    director
                ],
                2
            ),
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
        env.fails(
            &["agent", "deregister", "--fleet-id", "1", "--agent-id", "2"],
            1
        ),
        "Error: Administrator cannot be deregistered\n"
    );
    assert_eq!(snapshot(&env), before);
}

#[test]
fn agent_deregister_twice_fails_the_second_time() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let a = register(&env, "1", "alice", "a");
    env.ok(&["agent", "deregister", "--fleet-id", "1", "--agent-id", &a]);
    let before = snapshot(&env);
    assert_eq!(
        env.fails(
            &["agent", "deregister", "--fleet-id", "1", "--agent-id", &a],
            1
        ),
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
    assert_eq!(
        env.fails(
            &[
                "agent",
                "deregister",
                "--fleet-id",
                "1",
                "--agent-id",
                &dave
            ],
            1
        ),
        not_member
    );
    assert_eq!(
        env.fails(
            &[
                "agent",
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                &dave,
                "--id",
                "1"
            ],
            1
        ),
        not_member
    );
    assert_eq!(
        env.fails(
            &[
                "agent",
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                "1",
                "--id",
                &dave
            ],
            1
        ),
        format!("Error: Agent {dave} not found\n")
    );
    // Unknown ids are refused the same way.
    assert_eq!(
        env.fails(
            &["agent", "deregister", "--fleet-id", "1", "--agent-id", "99"],
            1
        ),
        "Error: agent 99 is not a member of fleet 1.\n"
    );
    // The Director of fleet 2 through fleet 1: not a member (not the Director error).
    assert_eq!(
        env.fails(
            &["agent", "deregister", "--fleet-id", "1", "--agent-id", "3"],
            1
        ),
        "Error: agent 3 is not a member of fleet 1.\n"
    );
    assert!(
        !env.ok(&["agent", "list", "--fleet-id", "1"])
            .contains("dave")
    );
    assert_eq!(snapshot(&env), before);
}

#[test]
fn agent_deregister_of_a_deleted_fleets_director_and_administrator_still_refuses() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    env.ok(&["fleet", "delete", "1"]);
    let before = snapshot(&env);
    // The Director check covers deleted fleets, and comes before the "already deregistered"
    // check; so does the Administrator check.
    assert_eq!(
        env.fails(
            &["agent", "deregister", "--fleet-id", "1", "--agent-id", "1"],
            2
        ),
        usage(
            "cafleet agent deregister",
            "cannot deregister the root Director; use 'cafleet fleet delete' instead"
        )
    );
    assert_eq!(
        env.fails(
            &["agent", "deregister", "--fleet-id", "1", "--agent-id", "2"],
            1
        ),
        "Error: Administrator cannot be deregistered\n"
    );
    assert_eq!(snapshot(&env), before);
}
