//! Removing members and the Director-only rule: `member delete` (graceful, --force, the
//! Director refused, the 15 s timeout), the caller check on every Director-only command
//! (docs/decisions.md, K4), and no pane outliving its agent (`fleet delete`, `agent
//! deregister`; TMUX-2).

use super::*;
use crate::support::*;
use serde_json::json;

fn delete_args<'a>(id: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["member", "delete", "--fleet-id", "1", "--member-id", id];
    args.extend_from_slice(extra);
    args
}

/// Asserts that agent `id` is deregistered with no placement and no monitor row left.
fn assert_retired(team: &Team, id: &str) {
    assert_eq!(
        team.env.query(&format!(
            "SELECT status, deregistered_at IS NOT NULL FROM agents WHERE agent_id = {id}"
        )),
        vec![vec!["deregistered".to_string(), "1".into()]]
    );
    for table in ["agent_placements", "monitor_config"] {
        assert!(
            team.env
                .query(&format!("SELECT * FROM {table} WHERE agent_id = {id}"))
                .is_empty(),
            "{table} row of {id} left behind"
        );
    }
}

/// The stand-in script with its `/exit` handling removed: it never leaves on its own.
fn stubborn_standin() -> String {
    let s = STANDIN.replace("if buf.endswith(b\"/exit\\r\"):", "if False:");
    assert_ne!(s, STANDIN);
    s
}

// ---------------------------------------------------------------------------------------
// member delete
// ---------------------------------------------------------------------------------------

#[test]
fn delete_types_exit_and_deregisters_once_the_pane_closes() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    let (_, other) = spawn(&team, "m2", &[]);
    assert_eq!(
        team.env.ok(&delete_args(&id, &[])),
        format!("Member deleted.\n  agent_id:  3\n  pane_id:   {pane} (closed)\n")
    );
    assert_eq!(team.keys(&pane), b"/exit\r");
    assert!(!pane_alive(&team, &pane));
    assert_retired(&team, &id);
    // The other member and the Director are untouched.
    assert!(pane_alive(&team, &other));
    assert!(pane_alive(&team, &team.director_pane));
    assert!(team.keys(&other).is_empty());
    assert!(director_bytes(&team).is_empty());
    let list = team.env.json(&["member", "list", "--fleet-id", "1"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["agent_id"], 4);
}

#[test]
fn delete_json_reports_the_pane_status() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    assert_eq!(
        team.env.json(&delete_args(&id, &[])),
        json!({"agent_id": 3, "pane_status": format!("{pane} (closed)")})
    );
    assert_retired(&team, &id);
}

#[test]
fn delete_force_kills_the_pane_without_typing() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    assert_eq!(
        team.env.ok(&delete_args(&id, &["--force"])),
        format!("Member deleted (--force).\n  agent_id:  3\n  pane_id:   {pane} (killed)\n")
    );
    assert!(!pane_alive(&team, &pane));
    assert!(team.keys(&pane).is_empty());
    assert_retired(&team, &id);
    let (id, pane) = spawn(&team, "m2", &[]);
    assert_eq!(
        team.env.json(&delete_args(&id, &["-f"])),
        json!({"agent_id": 4, "pane_status": format!("{pane} (killed)")})
    );
    assert!(!pane_alive(&team, &pane));
    assert_retired(&team, &id);
}

#[test]
fn delete_of_a_member_whose_pane_already_died_succeeds() {
    let team = Team::new();
    let (id, pane) = spawn(&team, "m1", &[]);
    team.server.tmux(&["kill-pane", "-t", &pane]);
    assert_eq!(
        team.env.ok(&delete_args(&id, &[])),
        format!("Member deleted.\n  agent_id:  3\n  pane_id:   {pane} (closed)\n")
    );
    assert_retired(&team, &id);
}

#[test]
fn delete_refuses_the_director_and_agents_without_a_placement() {
    let team = Team::new();
    spawn(&team, "m1", &[]);
    assert_eq!(
        team.env.fails(&delete_args("1", &[]), 1),
        "Error: cannot deregister the root Director; use 'cafleet fleet delete' instead\n"
    );
    assert_eq!(
        team.env.fails(&delete_args("1", &["--force"]), 1),
        "Error: cannot deregister the root Director; use 'cafleet fleet delete' instead\n"
    );
    assert_eq!(
        team.env.fails(&delete_args("2", &[]), 1),
        "Error: agent 2 has no placement; use `cafleet agent deregister` instead\n"
    );
    assert_eq!(
        team.env.fails(&delete_args("99", &[]), 1),
        "Error: Agent 99 not found\n"
    );
    assert!(pane_alive(&team, &team.director_pane));
    assert!(director_bytes(&team).is_empty());
    assert_eq!(
        team.env
            .query("SELECT status FROM agents WHERE agent_id IN (1, 2) ORDER BY 1"),
        vec![vec!["active".to_string()], vec!["active".to_string()]]
    );
}

#[test]
fn delete_of_a_member_that_ignores_exit_times_out_and_keeps_it() {
    let team = Team::new();
    install(&team.bin.join("codex"), &stubborn_standin());
    let (id, pane) = spawn(&team, "stuck", &["--coding-agent", "codex"]);
    let started = std::time::Instant::now();
    let out = team.env.run(&[
        "--json",
        "member",
        "delete",
        "--fleet-id",
        "1",
        "--member-id",
        &id,
    ]);
    let elapsed = started.elapsed();
    let err = expect_code(&out, 2);
    assert!(
        elapsed >= std::time::Duration::from_secs(15),
        "gave up after {elapsed:?}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{{\"agent_id\":3,\"pane_status\":\"{pane} (timeout)\"}}\n")
    );
    assert_eq!(team.keys(&pane), b"/exit\r");
    // Nothing was deregistered and the pane was not killed.
    assert!(pane_alive(&team, &pane));
    assert_eq!(
        team.env
            .query("SELECT status FROM agents WHERE agent_id = 3"),
        vec![vec!["active".to_string()]]
    );
    assert_eq!(
        team.env
            .query("SELECT tmux_pane_id FROM agent_placements WHERE agent_id = 3"),
        vec![vec![pane.clone()]]
    );
    assert_eq!(
        team.env
            .query("SELECT interval_seconds FROM monitor_config WHERE agent_id = 3"),
        vec![vec!["720".to_string()]]
    );
    // The tail is the pane's text, as `member capture --lines 80` shows it.
    let tail = team.env.ok(&[
        "member",
        "capture",
        "--fleet-id",
        "1",
        "--member-id",
        &id,
        "--lines",
        "80",
    ]);
    assert!(tail.starts_with("stand-in ready\n"), "{tail}");
    assert!(tail.contains("/exit"), "{tail}");
    assert_eq!(
        err,
        format!(
            "Error: pane {pane} did not close within 15.0s after /exit.\n--- pane {pane} tail (last 80 lines) ---\n{tail}\n---\nRecovery: inspect with `cafleet member capture`, answer any prompt with `cafleet member send-input`, then re-run `cafleet member delete`. Or re-run with `--force` to skip the wait and kill the pane.\n"
        )
    );
    // The recovery that the message suggests works.
    team.env.ok(&delete_args(&id, &["--force"]));
    assert!(!pane_alive(&team, &pane));
    assert_retired(&team, &id);
}

// ---------------------------------------------------------------------------------------
// Director-only commands check the calling pane (docs/decisions.md, K4).
// ---------------------------------------------------------------------------------------

fn not_director(command: &str, caller: &str, team: &Team) -> String {
    format!(
        "Error: cafleet member {command} is Director-only: the calling pane ({caller}) is not the Director's pane ({}) of fleet 1. Run it from the Director's pane.\n",
        team.director_pane
    )
}

#[test]
fn director_only_commands_from_a_members_pane_are_refused_and_type_nothing() {
    let team = Team::new();
    let (m1, p1) = spawn(&team, "m1", &[]);
    let (_m2, p2) = spawn(&team, "m2", &[]);
    let before = rows(&team.env);
    // From m2's pane, against m1 and against the Director.
    for target in [m1.as_str(), "1"] {
        for (sub, extra) in [
            ("delete", &[][..]),
            ("delete", &["--force"][..]),
            ("capture", &[][..]),
            ("send-input", &["--choice", "1"][..]),
            ("send-input", &["--freetext", "yes"][..]),
            ("exec", &["touch pwned"][..]),
            ("ping", &[][..]),
        ] {
            if sub == "delete" && target == "1" {
                continue;
            }
            let mut args = vec!["member", sub, "--fleet-id", "1", "--member-id", target];
            args.extend_from_slice(extra);
            let out = run_in_pane(&team, &p2, &args);
            assert_eq!(
                expect_code(&out, 1),
                not_director(sub, &p2, &team),
                "{args:?}"
            );
            assert!(out.stdout.is_empty());
        }
    }
    // Nothing was typed anywhere, nothing changed, every pane lives.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(team.keys(&p1).is_empty());
    assert!(team.keys(&p2).is_empty());
    assert!(director_bytes(&team).is_empty());
    assert_eq!(rows(&team.env), before);
    assert!(pane_alive(&team, &p1) && pane_alive(&team, &p2));
    // member list is a read: no caller check.
    let out = run_in_pane(&team, &p2, &["member", "list", "--fleet-id", "1"]);
    expect_code(&out, 0);
    // The same commands from the Director's pane work.
    team.env
        .ok(&["member", "ping", "--fleet-id", "1", "--member-id", &m1]);
    assert_keys(
        &team,
        &p1,
        b"cafleet message poll --fleet-id 1 --agent-id 3\r",
    );
}

#[test]
fn director_only_commands_without_a_calling_pane_are_refused() {
    let team = Team::new();
    let (m1, p1) = spawn(&team, "m1", &[]);
    let out = team
        .env
        .cmd()
        .env_remove("TMUX_PANE")
        .args([
            "member",
            "exec",
            "--fleet-id",
            "1",
            "--member-id",
            &m1,
            "ls",
        ])
        .output()
        .unwrap();
    assert_eq!(expect_code(&out, 1), not_director("exec", "none", &team));
    // Outside tmux altogether: 0.14's tmux error.
    let out = team
        .env
        .cmd()
        .env_remove("TMUX")
        .env_remove("TMUX_PANE")
        .args(["member", "ping", "--fleet-id", "1", "--member-id", &m1])
        .output()
        .unwrap();
    assert_eq!(
        expect_code(&out, 1),
        "Error: cafleet member commands must be run inside a tmux session\n"
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(team.keys(&p1).is_empty());
}

#[test]
fn the_directors_pane_of_another_fleet_is_not_this_fleets_director() {
    let team = Team::new();
    let (m1, p1) = spawn(&team, "m1", &[]);
    // Fleet 2's Director runs in m1's pane.
    let out = run_in_pane(&team, &p1, &["fleet", "create", "--label", "other"]);
    expect_code(&out, 0);
    let out = run_in_pane(
        &team,
        &p1,
        &["member", "capture", "--fleet-id", "1", "--member-id", &m1],
    );
    assert_eq!(expect_code(&out, 1), not_director("capture", &p1, &team));
    // Fleet 2's Director cannot reach fleet 1's member through its own fleet either.
    let out = run_in_pane(
        &team,
        &p1,
        &["member", "capture", "--fleet-id", "2", "--member-id", &m1],
    );
    assert_eq!(expect_code(&out, 1), "Error: Agent 3 not found\n");
}

// ---------------------------------------------------------------------------------------
// No pane survives its agent's retirement.
// ---------------------------------------------------------------------------------------

#[test]
fn fleet_delete_closes_every_member_pane_but_the_directors() {
    let team = Team::new();
    let (m1, p1) = spawn(&team, "m1", &[]);
    let (m2, p2) = spawn(&team, "m2", &["--coding-agent", "opencode"]);
    assert_eq!(
        team.env.ok(&["fleet", "delete", "1"]),
        "Deleted fleet 1. Deregistered 4 agents.\nClosed 2 member panes.\n"
    );
    for (id, pane) in [(&m1, &p1), (&m2, &p2)] {
        assert_eq!(team.keys(pane), b"/exit\r");
        wait_pane_gone(&team, pane);
        assert_retired(&team, id);
    }
    assert!(pane_alive(&team, &team.director_pane));
    assert!(director_bytes(&team).is_empty());
    assert_eq!(
        team.env.query("SELECT count(*) FROM agent_placements"),
        vec![vec!["0".to_string()]]
    );
}

#[test]
fn agent_deregister_of_a_member_closes_its_pane() {
    let team = Team::new();
    let (m1, p1) = spawn(&team, "m1", &[]);
    let (_, p2) = spawn(&team, "m2", &[]);
    assert_eq!(
        team.env
            .ok(&["agent", "deregister", "--fleet-id", "1", "--agent-id", &m1]),
        "Agent deregistered successfully.\n"
    );
    assert_eq!(team.keys(&p1), b"/exit\r");
    wait_pane_gone(&team, &p1);
    assert_retired(&team, &m1);
    assert!(pane_alive(&team, &p2));
    assert!(team.keys(&p2).is_empty());
    assert!(pane_alive(&team, &team.director_pane));
}

#[test]
fn member_delete_leaves_no_pane_and_no_row_for_any_backend() {
    let team = Team::new();
    let panes = live_panes(&team);
    for backend in ["claude", "codex", "opencode"] {
        let (id, pane) = spawn(&team, backend, &["--coding-agent", backend]);
        team.env.ok(&delete_args(&id, &[]));
        assert!(!pane_alive(&team, &pane), "{backend}");
        assert_retired(&team, &id);
    }
    assert_eq!(live_panes(&team), panes);
    assert_eq!(
        team.env.ok(&["member", "list", "--fleet-id", "1"]),
        "0 members.\n"
    );
}

// ---------------------------------------------------------------------------------------
// Nothing is typed into a member pane that runs a shell (docs/decisions.md, K2).
// ---------------------------------------------------------------------------------------

#[test]
fn nothing_is_typed_into_a_member_pane_that_runs_a_shell() {
    let team = Team::new();
    // This "codex" hands its pane to a shell, as if the coding agent had exited to one.
    install(
        &team.bin.join("codex"),
        "#!/bin/sh\nexec bash --norc --noprofile\n",
    );
    // No input box ever shows: skip the start-up wait.
    let v = team.create("sh", &["--coding-agent", "codex", "--ready-timeout", "0"]);
    let pane = pane_of(&v);
    assert!(
        wait_for(std::time::Duration::from_secs(10), || pane_format(
            &team,
            &pane,
            "#{pane_current_command}"
        ) == "bash"),
        "the shell never started"
    );
    let marker = team.env.dir.path().join("pwned");
    let touch = format!("touch {}", marker.display());
    let refused = format!(
        "Error: send failed: pane {pane} runs a shell (bash), not a coding agent; nothing was typed.\n"
    );
    for extra in [
        vec!["exec", touch.as_str()],
        vec!["send-input", "--choice", "1"],
        vec!["send-input", "--freetext", touch.as_str()],
    ] {
        let mut args = vec!["member", extra[0], "--fleet-id", "1", "--member-id", "3"];
        args.extend_from_slice(&extra[1..]);
        assert_eq!(team.env.fails(&args, 1), refused, "{args:?}");
    }
    assert_eq!(
        team.env.fails(
            &["member", "ping", "--fleet-id", "1", "--member-id", "3"],
            1
        ),
        format!(
            "Error: send failed: tmux send-keys did not deliver the poll-trigger keystroke to pane {pane}.\n"
        )
    );
    assert_eq!(
        team.env.ok(&[
            "member",
            "nudge",
            "--fleet-id",
            "1",
            "--agent-id",
            "1",
            "--member-id",
            "3",
            "--text",
            &touch,
        ]),
        // Nothing is typed into a shell: the delivery stays stored, and says why.
        format!(
            "Nudged sh ({pane}) — task 1 queued; preview not typed (stored (idle; its pane runs the shell bash)).\n"
        )
    );
    assert_eq!(
        team.env.query(
            "SELECT delivery_state, delivery_note, typed_at, submitted_at FROM tasks WHERE task_id = 1"
        ),
        vec![vec![
            "stored".to_string(),
            "its pane runs the shell bash".into(),
            "NULL".into(),
            "NULL".into()
        ]]
    );
    // A graceful delete would type /exit into the shell: refused, the member stays.
    assert_eq!(
        team.env.fails(&delete_args("3", &[]), 1),
        format!(
            "Error: pane {pane} runs a shell (bash), not a coding agent; nothing was typed. Re-run with '--force' to kill the pane.\n"
        )
    );
    assert_eq!(
        team.env
            .query("SELECT status FROM agents WHERE agent_id = 3"),
        vec![vec!["active".to_string()]]
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!marker.exists(), "the shell ran a typed command");
    let shown = screen(&team, &pane);
    assert!(
        !shown.contains("touch") && !shown.contains("cafleet"),
        "typed into the shell:\n{shown}"
    );
    // --force needs no typing.
    team.env.ok(&delete_args("3", &["--force"]));
    assert!(!pane_alive(&team, &pane));
    assert_retired(&team, "3");
}
