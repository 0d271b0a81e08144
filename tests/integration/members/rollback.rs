//! `member create` failure paths (docs/decisions.md, O4): every refused or failed create
//! leaves no rows in agents, agent_placements, monitor_config or tasks, and no stray pane.

use super::*;
use crate::support::*;

/// The argv of a `member create` in fleet 1 by Director 1 with `extra` appended.
fn create_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "member",
        "create",
        "--fleet-id",
        "1",
        "--agent-id",
        "1",
        "--name",
        "m1",
        "--description",
        "d",
    ];
    args.extend_from_slice(extra);
    args
}

/// Runs a `member create` that must fail with `code`; asserts that neither rows nor panes
/// were left behind and nothing was printed on stdout. Returns stderr.
fn create_fails(team: &Team, extra: &[&str], code: i32) -> String {
    let before = rows(&team.env);
    let panes = live_panes(team);
    let out = team.env.run(&create_args(extra));
    let err = expect_code(&out, code);
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(rows(&team.env), before, "rows changed by {extra:?}");
    assert_eq!(live_panes(team), panes, "pane left behind by {extra:?}");
    err
}

/// After a failure the fleet still works: the next create succeeds.
fn next_create_works(team: &Team) {
    let v = team.create("after", &[]);
    assert_eq!(v["name"], "after");
    team.argv(&pane_of(&v));
}

#[test]
fn relative_prompt_file_is_a_usage_error_with_nothing_written() {
    let team = Team::new();
    std::fs::write(team.env.dir.path().join("prompt.txt"), "hello").unwrap();
    let err = create_fails(&team, &["--prompt-file", "prompt.txt"], 2);
    assert_create_usage(
        &err,
        "--prompt-file requires an absolute path (got 'prompt.txt'). Resolve relative paths against your BASE first — see reference/base-dir.md in the `cafleet` skill.",
    );
    next_create_works(&team);
}

#[test]
fn missing_or_directory_prompt_file_fails_with_nothing_written() {
    let team = Team::new();
    let missing = team.env.dir.path().join("missing.txt");
    let missing = missing.to_str().unwrap();
    assert_eq!(
        create_fails(&team, &["--prompt-file", missing], 1),
        format!("Error: --prompt-file {missing}: file does not exist or is not a regular file.\n")
    );
    let dir = team.env.dir.path().to_str().unwrap();
    assert_eq!(
        create_fails(&team, &["--prompt-file", dir], 1),
        format!("Error: --prompt-file {dir}: file does not exist or is not a regular file.\n")
    );
    next_create_works(&team);
}

#[test]
fn empty_or_blank_prompt_file_fails_with_nothing_written() {
    let team = Team::new();
    for (name, content) in [("empty.txt", ""), ("blank.txt", " \r\n\t\n")] {
        let file = team.env.dir.path().join(name);
        std::fs::write(&file, content).unwrap();
        let file = file.to_str().unwrap();
        assert_eq!(
            create_fails(&team, &["--prompt-file", file], 1),
            format!("Error: --prompt-file {file}: file is empty.\n")
        );
    }
}

#[test]
fn invalid_utf8_prompt_file_fails_with_nothing_written() {
    let team = Team::new();
    let file = team.env.dir.path().join("latin1.txt");
    std::fs::write(&file, b"caf\xe9 {agent_id}\n").unwrap();
    let file = file.to_str().unwrap();
    assert_eq!(
        create_fails(&team, &["--prompt-file", file], 1),
        format!("Error: --prompt-file {file}: file is not valid UTF-8.\n")
    );
    next_create_works(&team);
}

const BRACES: &str = "Double literal braces ({{, }}) to keep them as text.";

#[test]
fn unknown_placeholder_is_a_usage_error_with_nothing_written() {
    let team = Team::new();
    let expected = format!(
        "Unknown placeholder 'name' in custom prompt. Supported placeholders: {{fleet_id}}, {{agent_id}}, {{director_agent_id}}, {{coding_agent}}. {BRACES}"
    );
    let err = create_fails(&team, &["hello", "{name}"], 2);
    assert_create_usage(&err, &expected);
    // The same check applies to a prompt file.
    let file = team.env.dir.path().join("prompt.txt");
    std::fs::write(&file, "line one\r\nhello {name}\n").unwrap();
    let err = create_fails(&team, &["--prompt-file", file.to_str().unwrap()], 2);
    assert_create_usage(&err, &expected);
    next_create_works(&team);
}

#[test]
fn malformed_prompt_templates_are_usage_errors_with_nothing_written() {
    let team = Team::new();
    for (template, detail) in [
        ("open {", "Single '{' encountered in format string"),
        ("close }", "Single '}' encountered in format string"),
        (
            "empty {}",
            "Replacement index 0 out of range for positional args tuple",
        ),
        (
            "index {0}",
            "Replacement index 0 out of range for positional args tuple",
        ),
        ("attr {agent_id.x}", "'int' object has no attribute 'x'"),
    ] {
        let err = create_fails(&team, &[template], 2);
        assert_create_usage(
            &err,
            &format!("Malformed custom prompt: {detail}. {BRACES}"),
        );
    }
    let file = team.env.dir.path().join("prompt.txt");
    std::fs::write(&file, "fine {agent_id}\nbroken }\n").unwrap();
    let err = create_fails(&team, &["--prompt-file", file.to_str().unwrap()], 2);
    assert_create_usage(
        &err,
        &format!("Malformed custom prompt: Single '}}' encountered in format string. {BRACES}"),
    );
}

#[test]
fn unknown_backend_is_a_parse_error_with_nothing_written() {
    let team = Team::new();
    let err = create_fails(&team, &["--coding-agent", "gemini"], 2);
    assert_create_usage(
        &err,
        "Invalid value for '--coding-agent': 'gemini' is not one of 'claude', 'codex', 'opencode'.",
    );
    let err = create_fails(&team, &["--role", "boss"], 2);
    assert_create_usage(
        &err,
        "Invalid value for '--role': 'boss' is not one of 'member', 'monitor'.",
    );
}

#[test]
fn backend_binary_missing_from_path_fails_with_nothing_written() {
    let team = Team::new();
    std::fs::remove_file(team.bin.join("codex")).unwrap();
    assert_eq!(
        create_fails(&team, &["--coding-agent", "codex"], 1),
        "Error: binary codex not found on PATH\n"
    );
    // opencode: the binary check comes before the preset is written.
    std::fs::remove_file(team.bin.join("opencode")).unwrap();
    assert_eq!(
        create_fails(&team, &["--coding-agent", "opencode"], 1),
        "Error: binary opencode not found on PATH\n"
    );
    assert!(!team.env.dir.path().join(".config/opencode").exists());
    next_create_works(&team);
}

#[test]
fn split_window_failure_in_an_unusable_window_rolls_back_everything() {
    let team = Team::new();
    let window = pane_format(&team, &team.director_pane, "#{window_id}");
    // A 3x2 window has no space for another pane: tmux itself refuses the split.
    team.server
        .tmux(&["resize-window", "-t", &window, "-x", "3", "-y", "2"]);
    let err = create_fails(&team, &[], 1);
    let prefix = "Error: tmux split-window failed: tmux command failed: tmux ";
    assert!(err.starts_with(prefix), "{err}");
    assert!(err.contains(" split-window -t "), "{err}");
    assert!(
        err.ends_with("\nstderr: no space for new pane. Rolled back registration of 3.\n"),
        "{err}"
    );
    // The same window, usable again, takes the next member.
    team.server
        .tmux(&["resize-window", "-t", &window, "-x", "200", "-y", "50"]);
    next_create_works(&team);
}

#[test]
fn split_window_failure_from_tmux_rolls_back_everything() {
    let team = Team::new();
    let wrap = team.env.dir.path().join("failing-tmux");
    std::fs::create_dir_all(&wrap).unwrap();
    install(
        &wrap.join("tmux"),
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do\n  if [ \"$a\" = split-window ]; then\n    echo 'simulated failure of split-window' >&2\n    exit 1\n  fi\ndone\nexec '{}' \"$@\"\n",
            real_tmux().display()
        ),
    );
    let before = rows(&team.env);
    let panes = live_panes(&team);
    let out = create_with_path(
        &team,
        &path_with(&team, &wrap),
        "m1",
        &["--role", "monitor"],
    );
    let err = expect_code(&out, 1);
    assert!(
        err.starts_with("Error: tmux split-window failed: tmux command failed: tmux "),
        "{err}"
    );
    assert!(
        err.ends_with(
            "\nstderr: simulated failure of split-window. Rolled back registration of 3.\n"
        ),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(rows(&team.env), before);
    assert_eq!(live_panes(&team), panes);
    // The monitor slot was not taken by the failed attempt.
    let v = team.create("mon", &["--role", "monitor"]);
    assert_eq!(v["name"], "mon");
    // An opencode member that fails the same way leaves no preset it wrote behind
    // (docs/decisions.md, MEM-4)...
    let preset = team
        .env
        .dir
        .path()
        .join(".config/opencode/agents/cafleet.md");
    assert!(!preset.exists());
    let out = create_with_path(
        &team,
        &path_with(&team, &wrap),
        "m2",
        &["--coding-agent", "opencode"],
    );
    expect_code(&out, 1);
    assert!(!preset.exists(), "a failed create left the opencode preset");
    // ...while one that runs keeps it, and a failure never removes a preset it found.
    team.create("oc", &["--coding-agent", "opencode"]);
    assert!(preset.is_file());
    let out = create_with_path(
        &team,
        &path_with(&team, &wrap),
        "m3",
        &["--coding-agent", "opencode"],
    );
    expect_code(&out, 1);
    assert!(preset.is_file());
}

#[test]
fn deleting_a_pending_member_mid_spawn_removes_its_new_pane_and_rows() {
    let team = Team::new();
    let gate = SplitGate::new(&team);
    let before = rows(&team.env);
    let panes = live_panes(&team);
    std::thread::scope(|s| {
        let create = s.spawn(|| create_with_path(&team, &gate.path, "m1", &[]));
        gate.wait_parked();
        // Registered with no pane yet: delete it.
        assert_eq!(
            team.env
                .ok(&["member", "delete", "--fleet-id", "1", "--member-id", "3"]),
            "Member deleted.\n  agent_id:  3\n  pane_id:   (pending — no pane)\n"
        );
        gate.open();
        let out = create.join().unwrap();
        assert_eq!(
            expect_code(&out, 1),
            "Error: placement row vanished before pane-id patch. Rolled back registration of 3.\n"
        );
    });
    assert_eq!(rows(&team.env), before);
    assert!(
        wait_for(std::time::Duration::from_secs(10), || live_panes(&team)
            == panes),
        "the spawned pane survived: {:?}",
        live_panes(&team)
    );
}

#[test]
fn create_from_a_non_director_pane_is_refused_with_nothing_written() {
    let team = Team::new();
    let (_, member) = spawn(&team, "m1", &[]);
    let before = rows(&team.env);
    let panes = live_panes(&team);
    let out = run_in_pane(&team, &member, &create_args(&[]));
    assert_eq!(
        expect_code(&out, 1),
        format!(
            "Error: cafleet member create is Director-only: the calling pane ({member}) is not the Director's pane ({}) of fleet 1. Run it from the Director's pane.\n",
            team.director_pane
        )
    );
    assert_eq!(rows(&team.env), before);
    assert_eq!(live_panes(&team), panes);
    assert!(team.keys(&member).is_empty());
    assert!(director_bytes(&team).is_empty());
}

#[test]
fn create_errors_of_the_spec_come_before_the_director_only_check() {
    let team = Team::new();
    let (_, member) = spawn(&team, "m1", &[]);
    // An unknown fleet is reported with 0.14's error, even from a member's pane
    // (docs/decisions.md, L6).
    let mut args = create_args(&[]);
    args[3] = "99";
    let out = run_in_pane(&team, &member, &args);
    assert_eq!(
        expect_code(&out, 2).lines().last().unwrap(),
        "Error: Fleet '99' not found."
    );
    // A Director id that is not the root Director.
    let mut args = create_args(&[]);
    args[5] = "2";
    let err = team.env.fails(&args, 1);
    assert_eq!(err, "Error: Administrator cannot be a director\n");
}

#[test]
fn a_coding_agent_that_exits_during_start_up_is_reported_with_its_last_lines() {
    let team = Team::new();
    // This "claude" prints an error and exits, as a real CLI does without credentials.
    install(
        &team.bin.join("claude"),
        "#!/bin/sh\necho 'Error: Invalid API key. Please run /login'\nsleep 0.5\nexit 3\n",
    );
    let err = create_fails(&team, &[], 1);
    // The status is shown when tmux has recorded it in time (it can lag behind the
    // pane's death under load).
    assert!(
        err.starts_with("Error: claude exited (status 3) before its input box appeared.")
            || err.starts_with("Error: claude exited before its input box appeared."),
        "{err}"
    );
    assert!(
        err.contains("    Error: Invalid API key. Please run /login"),
        "{err}"
    );
    assert!(
        err.ends_with("Rolled back registration of 3 and closed its pane.\n"),
        "{err}"
    );
}

#[test]
fn a_coding_agent_whose_input_box_never_appears_is_given_up_at_the_deadline() {
    let team = Team::new();
    // Runs, but never shows an input box.
    install(
        &team.bin.join("claude"),
        "#!/bin/sh\necho 'Loading something forever'\nexec sleep 600\n",
    );
    let started = std::time::Instant::now();
    let err = create_fails(&team, &["--ready-timeout", "2"], 1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.starts_with("Error: claude did not show its input box within 2 s."),
        "{err}"
    );
    assert!(err.contains("    Loading something forever"), "{err}");
    assert!(err.contains("--ready-timeout"), "{err}");
    next_create_with_the_standin_works(&team);
}

/// The stand-in back in place, the next create succeeds.
fn next_create_with_the_standin_works(team: &Team) {
    install(&team.bin.join("claude"), STANDIN);
    next_create_works(team);
}

#[test]
fn a_coding_agent_at_a_trust_dialog_is_reported_at_once() {
    let team = Team::new();
    install(
        &team.bin.join("claude"),
        "#!/bin/sh\necho 'Do you trust the files in this folder?'\necho ' 1. Yes, I trust this folder'\nexec sleep 600\n",
    );
    let started = std::time::Instant::now();
    let err = create_fails(&team, &[], 1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.starts_with("Error: claude is waiting at a screen it cannot pass on its own: Claude Code asks whether to trust the working directory"),
        "{err}"
    );
    next_create_with_the_standin_works(&team);
}
