//! The parser and the global conventions kept from 0.14 (docs/decisions.md, C1):
//! `--version`, help, groups without a subcommand, the click-style parse errors (exact
//! texts, exit 2, Usage/Try banner), the option rules and the `--fleet-id` rule.

use crate::support::Env;

/// The Usage/Try banner of a usage error followed by its message.
fn banner(usage: &str, path: &str, msg: &str) -> String {
    format!("Usage: {usage}\nTry '{path} --help' for help.\n\nError: {msg}\n")
}

/// Runs a command that must fail with a usage error; checks stderr exactly and stdout empty.
fn usage_error(env: &Env, args: &[&str], usage: &str, path: &str, msg: &str) {
    let out = env.run(args);
    assert_eq!(out.status.code(), Some(2), "cafleet {args:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        banner(usage, path, msg)
    );
    assert!(
        out.stdout.is_empty(),
        "stdout of {args:?}: {:?}",
        out.stdout
    );
}

const FLEET_ID_REQUIRED: &str = "Error: --fleet-id <int> is required for this subcommand. Create a fleet with 'cafleet fleet create' and pass its id.\n";

#[test]
fn version_prints_cafleet_and_the_crate_version() {
    let env = Env::new();
    assert_eq!(
        env.ok(&["--version"]),
        format!("cafleet {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_goes_to_stdout_with_exit_zero_at_every_level() {
    let env = Env::new();
    for args in [
        &["--help"][..],
        &["fleet", "--help"],
        &["agent", "register", "--help"],
        &["message", "send", "--help"],
        &["db", "init", "--help"],
        &["doctor", "--help"],
    ] {
        let out = env.ok(args);
        assert!(out.contains("Usage"), "{args:?}: {out}");
    }
    let register = env.ok(&["agent", "register", "--help"]);
    for opt in ["--fleet-id", "--name", "--description", "--skills"] {
        assert!(register.contains(opt), "{opt} missing from {register}");
    }
}

#[test]
fn hidden_flags_are_not_shown_in_help() {
    let env = Env::new();
    for args in [
        &["message", "send", "--help"][..],
        &["message", "ack", "--help"],
        &["message", "poll", "--help"],
        &["agent", "list", "--help"],
        &["agent", "show", "--help"],
        &["fleet", "create", "--help"],
    ] {
        let out = env.ok(args);
        assert!(!out.contains("--full"), "{args:?} shows --full:\n{out}");
        assert!(!out.contains("--quiet"), "{args:?} shows --quiet:\n{out}");
    }
}

#[test]
fn root_without_a_command_prints_help_to_stderr_with_exit_2() {
    let env = Env::new();
    for args in [&[][..], &["--json"]] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        for group in ["db", "fleet", "agent", "message", "doctor"] {
            assert!(err.contains(group), "{args:?}: {group} missing in {err}");
        }
    }
}

#[test]
fn group_without_a_subcommand_prints_its_help_to_stderr_with_exit_2() {
    let env = Env::new();
    for (group, subs) in [
        ("db", &["init"][..]),
        ("fleet", &["create", "list", "show", "delete"]),
        ("agent", &["register", "list", "show", "deregister"]),
        (
            "message",
            &["send", "broadcast", "poll", "ack", "cancel", "show"],
        ),
    ] {
        let out = env.run(&[group]);
        assert_eq!(out.status.code(), Some(2), "{group}");
        assert!(out.stdout.is_empty(), "{group}");
        let err = String::from_utf8_lossy(&out.stderr);
        for sub in subs {
            assert!(err.contains(sub), "{group}: {sub} missing in {err}");
        }
    }
}

#[test]
fn unknown_command_is_a_usage_error() {
    let env = Env::new();
    usage_error(
        &env,
        &["foo"],
        "cafleet [OPTIONS] COMMAND [ARGS]...",
        "cafleet",
        // The close-match suggestion, as click makes it.
        "No such command 'foo'. Did you mean 'hook'?",
    );
}

#[test]
fn unknown_subcommand_suggests_the_closest_one() {
    let env = Env::new();
    usage_error(
        &env,
        &["fleet", "lst"],
        "cafleet fleet [OPTIONS] COMMAND [ARGS]...",
        "cafleet fleet",
        "No such command 'lst'. Did you mean 'list'?",
    );
    usage_error(
        &env,
        &["message", "sned"],
        "cafleet message [OPTIONS] COMMAND [ARGS]...",
        "cafleet message",
        "No such command 'sned'. Did you mean 'send'?",
    );
}

#[test]
fn unknown_option_is_a_usage_error_of_its_command() {
    let env = Env::new();
    usage_error(
        &env,
        &["agent", "list", "--bogus"],
        "cafleet agent list [OPTIONS]",
        "cafleet agent list",
        "No such option '--bogus'.",
    );
    usage_error(
        &env,
        &["message", "send", "--fleet-id", "1", "--bogus=3"],
        "cafleet message send [OPTIONS]",
        "cafleet message send",
        "No such option '--bogus'.",
    );
}

#[test]
fn misspelt_option_suggests_the_closest_one() {
    let env = Env::new();
    usage_error(
        &env,
        &["fleet", "list", "--jsn"],
        "cafleet fleet list [OPTIONS]",
        "cafleet fleet list",
        "No such option '--jsn'. Did you mean '--json'?",
    );
}

#[test]
fn unknown_option_before_the_group_is_reported_by_the_root() {
    let env = Env::new();
    usage_error(
        &env,
        &["--jsn", "fleet", "list"],
        "cafleet [OPTIONS] COMMAND [ARGS]...",
        "cafleet",
        "No such option '--jsn'. Did you mean '--json'?",
    );
}

#[test]
fn local_json_is_refused_where_only_the_global_flag_exists() {
    let env = Env::new();
    usage_error(
        &env,
        &["agent", "list", "--fleet-id", "1", "--json"],
        "cafleet agent list [OPTIONS]",
        "cafleet agent list",
        "No such option '--json'.",
    );
    usage_error(
        &env,
        &["db", "init", "--json"],
        "cafleet db init [OPTIONS]",
        "cafleet db init",
        "No such option '--json'.",
    );
    usage_error(
        &env,
        &[
            "message",
            "poll",
            "--fleet-id",
            "1",
            "--agent-id",
            "1",
            "--json",
        ],
        "cafleet message poll [OPTIONS]",
        "cafleet message poll",
        "No such option '--json'.",
    );
}

#[test]
fn global_json_may_be_repeated_and_fleet_list_takes_a_local_json() {
    let env = Env::new();
    assert_eq!(env.ok(&["--json", "--json", "fleet", "list"]), "[]\n");
    assert_eq!(env.ok(&["fleet", "list", "--json"]), "[]\n");
    assert_eq!(env.ok(&["fleet", "list"]), "No fleets found.\n");
}

#[test]
fn missing_required_option_is_a_usage_error() {
    let env = Env::new();
    usage_error(
        &env,
        &["agent", "register", "--fleet-id", "1"],
        "cafleet agent register [OPTIONS]",
        "cafleet agent register",
        "Missing option '--name'.",
    );
    usage_error(
        &env,
        &["agent", "register", "--fleet-id", "1", "--name", "x"],
        "cafleet agent register [OPTIONS]",
        "cafleet agent register",
        "Missing option '--description'.",
    );
}

#[test]
fn missing_options_are_reported_in_declaration_order() {
    let env = Env::new();
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &[
                "message",
                "send",
                "--fleet-id",
                "1",
                "--text",
                "x",
                "--to",
                "2",
            ],
            "cafleet message send",
            "--agent-id",
        ),
        (
            &[
                "message",
                "send",
                "--fleet-id",
                "1",
                "--text",
                "x",
                "--agent-id",
                "1",
            ],
            "cafleet message send",
            "--to",
        ),
        (
            &[
                "message",
                "send",
                "--to",
                "2",
                "--fleet-id",
                "1",
                "--agent-id",
                "1",
            ],
            "cafleet message send",
            "--text",
        ),
        (
            &["message", "broadcast", "--fleet-id", "1", "--text", "x"],
            "cafleet message broadcast",
            "--agent-id",
        ),
        (
            &["message", "broadcast", "--fleet-id", "1", "--agent-id", "1"],
            "cafleet message broadcast",
            "--text",
        ),
        (
            &["message", "poll", "--fleet-id", "1"],
            "cafleet message poll",
            "--agent-id",
        ),
        (
            &["message", "ack", "--task-id", "1", "--fleet-id", "1"],
            "cafleet message ack",
            "--agent-id",
        ),
        (
            &["message", "ack", "--fleet-id", "1", "--agent-id", "1"],
            "cafleet message ack",
            "--task-id",
        ),
        (
            &["message", "cancel", "--fleet-id", "1", "--agent-id", "1"],
            "cafleet message cancel",
            "--task-id",
        ),
        (
            &["message", "show", "--fleet-id", "1", "--task-id", "1"],
            "cafleet message show",
            "--agent-id",
        ),
        (
            &["agent", "show", "--fleet-id", "1", "--id", "1"],
            "cafleet agent show",
            "--agent-id",
        ),
        (
            &["agent", "show", "--fleet-id", "1", "--agent-id", "1"],
            "cafleet agent show",
            "--id",
        ),
        (
            &["agent", "deregister", "--fleet-id", "1"],
            "cafleet agent deregister",
            "--agent-id",
        ),
    ];
    for (args, path, missing) in cases {
        usage_error(
            &env,
            args,
            &format!("{path} [OPTIONS]"),
            path,
            &format!("Missing option '{missing}'."),
        );
    }
}

#[test]
fn missing_fleet_id_is_a_runtime_error_without_banner_on_every_fleet_command() {
    let env = Env::new();
    let cases: &[&[&str]] = &[
        &["agent", "register", "--name", "x", "--description", "y"],
        &["agent", "register"],
        &["agent", "list"],
        &["agent", "show", "--agent-id", "1", "--id", "1"],
        &["agent", "deregister", "--agent-id", "1"],
        &[
            "message",
            "send",
            "--agent-id",
            "1",
            "--to",
            "2",
            "--text",
            "x",
        ],
        &["message", "send"],
        &["message", "broadcast", "--agent-id", "1", "--text", "x"],
        &["message", "poll", "--agent-id", "1"],
        &["message", "ack", "--agent-id", "1", "--task-id", "1"],
        &["message", "cancel", "--agent-id", "1", "--task-id", "1"],
        &["message", "show", "--agent-id", "1", "--task-id", "1"],
    ];
    for args in cases {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            FLEET_ID_REQUIRED,
            "{args:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn missing_fleet_id_argument_is_a_usage_error() {
    let env = Env::new();
    for cmd in ["show", "delete"] {
        usage_error(
            &env,
            &["fleet", cmd],
            &format!("cafleet fleet {cmd} [OPTIONS] FLEET_ID"),
            &format!("cafleet fleet {cmd}"),
            "Missing argument 'FLEET_ID'.",
        );
    }
}

#[test]
fn extra_positional_arguments_are_all_reported() {
    let env = Env::new();
    usage_error(
        &env,
        &["fleet", "show", "1", "2"],
        "cafleet fleet show [OPTIONS] FLEET_ID",
        "cafleet fleet show",
        "Got unexpected extra argument (2)",
    );
    usage_error(
        &env,
        &["fleet", "delete", "1", "2", "3"],
        "cafleet fleet delete [OPTIONS] FLEET_ID",
        "cafleet fleet delete",
        "Got unexpected extra arguments (2 3)",
    );
    usage_error(
        &env,
        &["agent", "list", "--fleet-id", "1", "x"],
        "cafleet agent list [OPTIONS]",
        "cafleet agent list",
        "Got unexpected extra argument (x)",
    );
}

#[test]
fn non_integer_values_are_usage_errors() {
    let env = Env::new();
    usage_error(
        &env,
        &["agent", "list", "--fleet-id", "abc"],
        "cafleet agent list [OPTIONS]",
        "cafleet agent list",
        "Invalid value for '--fleet-id': 'abc' is not a valid integer.",
    );
    usage_error(
        &env,
        &["agent", "list", "--fleet-id=1.5"],
        "cafleet agent list [OPTIONS]",
        "cafleet agent list",
        "Invalid value for '--fleet-id': '1.5' is not a valid integer.",
    );
    usage_error(
        &env,
        &["fleet", "show", "abc"],
        "cafleet fleet show [OPTIONS] FLEET_ID",
        "cafleet fleet show",
        "Invalid value for 'FLEET_ID': 'abc' is not a valid integer.",
    );
    usage_error(
        &env,
        &["fleet", "delete", "x1"],
        "cafleet fleet delete [OPTIONS] FLEET_ID",
        "cafleet fleet delete",
        "Invalid value for 'FLEET_ID': 'x1' is not a valid integer.",
    );
    for (args, opt) in [
        (
            &[
                "message",
                "send",
                "--fleet-id",
                "1",
                "--agent-id",
                "1",
                "--to",
                "b",
            ][..],
            "--to",
        ),
        (
            &[
                "message",
                "ack",
                "--fleet-id",
                "1",
                "--agent-id",
                "1",
                "--task-id",
                "t",
            ],
            "--task-id",
        ),
        (&["agent", "show", "--fleet-id", "1", "--id", "me"], "--id"),
    ] {
        let path = format!("cafleet {} {}", args[0], args[1]);
        let value = args.last().unwrap();
        usage_error(
            &env,
            args,
            &format!("{path} [OPTIONS]"),
            &path,
            &format!("Invalid value for '{opt}': '{value}' is not a valid integer."),
        );
    }
}

#[test]
fn invalid_choice_lists_the_choices() {
    let env = Env::new();
    // Parse errors come before the tmux check, so this needs no tmux.
    usage_error(
        &env,
        &["fleet", "create", "--coding-agent", "foo"],
        "cafleet fleet create [OPTIONS]",
        "cafleet fleet create",
        "Invalid value for '--coding-agent': 'foo' is not one of 'claude', 'codex', 'opencode'.",
    );
}

#[test]
fn option_without_its_value_is_reported_without_banner() {
    let env = Env::new();
    let err = env.fails(&["agent", "register", "--fleet-id", "1", "--name"], 2);
    assert_eq!(err, "Error: Option '--name' requires an argument.\n");
    let err = env.fails(&["agent", "list", "--fleet-id"], 2);
    assert_eq!(err, "Error: Option '--fleet-id' requires an argument.\n");
}

#[test]
fn an_option_takes_the_next_word_as_its_value_even_if_it_looks_like_an_option() {
    let env = Env::new();
    usage_error(
        &env,
        &["agent", "list", "--fleet-id", "--full"],
        "cafleet agent list [OPTIONS]",
        "cafleet agent list",
        "Invalid value for '--fleet-id': '--full' is not a valid integer.",
    );
    usage_error(
        &env,
        &["fleet", "create", "--coding-agent", "--full"],
        "cafleet fleet create [OPTIONS]",
        "cafleet fleet create",
        "Invalid value for '--coding-agent': '--full' is not one of 'claude', 'codex', 'opencode'.",
    );
    // `--name` swallows `--description`, leaving `x` over.
    usage_error(
        &env,
        &[
            "agent",
            "register",
            "--fleet-id",
            "1",
            "--name",
            "--description",
            "x",
        ],
        "cafleet agent register [OPTIONS]",
        "cafleet agent register",
        "Got unexpected extra argument (x)",
    );
}

#[test]
fn an_explicit_empty_value_is_invalid_not_missing() {
    let env = Env::new();
    usage_error(
        &env,
        &["agent", "list", "--fleet-id", ""],
        "cafleet agent list [OPTIONS]",
        "cafleet agent list",
        "Invalid value for '--fleet-id': '' is not a valid integer.",
    );
    usage_error(
        &env,
        &["agent", "list", "--fleet-id="],
        "cafleet agent list [OPTIONS]",
        "cafleet agent list",
        "Invalid value for '--fleet-id': '' is not a valid integer.",
    );
    usage_error(
        &env,
        &["fleet", "create", "--coding-agent", ""],
        "cafleet fleet create [OPTIONS]",
        "cafleet fleet create",
        "Invalid value for '--coding-agent': '' is not one of 'claude', 'codex', 'opencode'.",
    );
    assert_eq!(
        env.fails(&["fleet", "create", "--coding-agent"], 2),
        "Error: Option '--coding-agent' requires an argument.\n"
    );
}

#[test]
fn an_unknown_option_is_reported_before_an_invalid_value() {
    let env = Env::new();
    usage_error(
        &env,
        &["agent", "list", "--fleet-id", "abc", "--bogus"],
        "cafleet agent list [OPTIONS]",
        "cafleet agent list",
        "No such option '--bogus'.",
    );
}

#[test]
fn invalid_integer_is_reported_before_a_missing_fleet_id() {
    let env = Env::new();
    usage_error(
        &env,
        &["message", "send", "--agent-id", "abc"],
        "cafleet message send [OPTIONS]",
        "cafleet message send",
        "Invalid value for '--agent-id': 'abc' is not a valid integer.",
    );
}

#[test]
fn first_invalid_option_on_the_command_line_wins() {
    let env = Env::new();
    usage_error(
        &env,
        &[
            "message",
            "ack",
            "--task-id",
            "t",
            "--agent-id",
            "a",
            "--fleet-id",
            "f",
        ],
        "cafleet message ack [OPTIONS]",
        "cafleet message ack",
        "Invalid value for '--task-id': 't' is not a valid integer.",
    );
}

#[test]
fn missing_option_is_reported_before_the_fleet_is_looked_up() {
    let env = Env::new();
    // Fleet 1 does not exist, but the body validation (fleet lookup) only runs once every
    // option parsed.
    usage_error(
        &env,
        &["agent", "register", "--fleet-id", "1", "--description", "d"],
        "cafleet agent register [OPTIONS]",
        "cafleet agent register",
        "Missing option '--name'.",
    );
}

#[test]
fn repeated_option_takes_the_last_value() {
    let env = Env::new();
    let out = env.run(&[
        "agent",
        "register",
        "--fleet-id",
        "1",
        "--fleet-id",
        "7",
        "--name",
        "a",
        "--description",
        "b",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).ends_with("Error: Fleet '7' not found.\n"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn negative_integers_are_values() {
    let env = Env::new();
    let out = env.run(&[
        "agent",
        "register",
        "--fleet-id",
        "-3",
        "--name",
        "a",
        "--description",
        "b",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).ends_with("Error: Fleet '-3' not found.\n"));
    assert_eq!(
        env.fails(&["fleet", "show", "-5"], 1),
        "Error: fleet '-5' not found.\n"
    );
    assert_eq!(
        env.fails(&["agent", "list", "--fleet-id", "-1"], 1),
        "Error: fleet -1 not found. List live fleets with 'cafleet fleet list'.\n"
    );
}

#[test]
fn double_dash_ends_option_parsing() {
    let env = Env::new();
    assert_eq!(
        env.fails(&["fleet", "show", "--", "5"], 1),
        "Error: fleet '5' not found.\n"
    );
    assert_eq!(
        env.fails(&["fleet", "delete", "--", "-5"], 1),
        "Error: fleet '-5' not found.\n"
    );
    // After `--`, an option-looking word is a positional value.
    usage_error(
        &env,
        &["fleet", "show", "--", "--json"],
        "cafleet fleet show [OPTIONS] FLEET_ID",
        "cafleet fleet show",
        "Invalid value for 'FLEET_ID': '--json' is not a valid integer.",
    );
}

#[test]
fn text_options_accept_values_starting_with_a_dash() {
    let env = Env::new();
    // `--name -x` is the name "-x", not an unknown option: the command gets as far as the
    // fleet lookup.
    let out = env.run(&[
        "agent",
        "register",
        "--fleet-id",
        "4",
        "--name",
        "-x",
        "--description",
        "--y",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).ends_with("Error: Fleet '4' not found.\n"));
}

#[test]
fn bad_max_text_len_fails_every_command_naming_the_variable() {
    let env = Env::new();
    for bad in ["0", "-2", "abc", "1.5", ""] {
        for args in [
            &["fleet", "list"][..],
            &["agent", "list", "--fleet-id", "1"],
            &["db", "init"],
            &["doctor"],
        ] {
            let out = env
                .cmd()
                .env("CAFLEET_MAX_TEXT_LEN", bad)
                .args(args)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1), "{bad:?} {args:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.starts_with("Error: ") && err.contains("CAFLEET_MAX_TEXT_LEN"),
                "{bad:?} {args:?}: {err}"
            );
            assert!(out.stdout.is_empty());
        }
    }
}

#[test]
fn max_text_len_tolerates_surrounding_whitespace() {
    let env = Env::new();
    let out = env
        .cmd()
        .env("CAFLEET_MAX_TEXT_LEN", " 5 ")
        .args(["fleet", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "No fleets found.\n");
}

#[test]
fn first_command_on_a_missing_database_creates_it() {
    let not_member = "Error: agent 1 is not a member of fleet 1.\n";
    let cases: &[(&[&str], i32, &str)] = &[
        (&["fleet", "list"], 0, ""),
        (&["--json", "fleet", "list"], 0, ""),
        (
            &["agent", "list", "--fleet-id", "1"],
            1,
            "Error: fleet 1 not found. List live fleets with 'cafleet fleet list'.\n",
        ),
        (&["fleet", "show", "1"], 1, "Error: fleet '1' not found.\n"),
        (
            &["fleet", "delete", "1"],
            1,
            "Error: fleet '1' not found.\n",
        ),
        (
            &[
                "agent",
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                "1",
                "--id",
                "1",
            ],
            1,
            not_member,
        ),
        (
            &["agent", "deregister", "--fleet-id", "1", "--agent-id", "1"],
            1,
            not_member,
        ),
        (
            &["message", "poll", "--fleet-id", "1", "--agent-id", "1"],
            1,
            not_member,
        ),
        (
            &[
                "message",
                "send",
                "--fleet-id",
                "1",
                "--agent-id",
                "1",
                "--to",
                "2",
                "--text",
                "x",
            ],
            1,
            not_member,
        ),
        (
            &[
                "message",
                "broadcast",
                "--fleet-id",
                "1",
                "--agent-id",
                "1",
                "--text",
                "x",
            ],
            1,
            "Error: Sender agent not found or not active in fleet: 1\n",
        ),
        (
            &[
                "message",
                "show",
                "--fleet-id",
                "1",
                "--agent-id",
                "1",
                "--task-id",
                "1",
            ],
            1,
            not_member,
        ),
    ];
    for (args, code, stderr) in cases {
        let env = Env::new();
        assert!(!env.db_path.exists());
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(*code), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), *stderr, "{args:?}");
        assert!(env.db_path.exists(), "{args:?} did not create the database");
        assert_eq!(
            env.query("SELECT count(*) FROM fleets"),
            vec![vec!["0".to_string()]]
        );
    }
}
