//! Claude Code, the real CLI, as a CAFleet member: the member protocol, the Director's
//! steering commands, the question frame and start-up failures.

use super::*;

#[test]
fn claude_member_runs_the_protocol_and_is_steered_by_the_director() {
    let team = RealTeam::new(Cli::Claude);
    // setup's skills are what the real CLI offers its model.
    let setup = team.ok(&["setup", "--coding-agent", "claude"]);
    assert!(setup.contains("claude: skills installed"), "{setup}");
    let (id, pane) = team.spawn("alice");
    // Our flags and default prompt: the spawn prompt is the first thing the model sees,
    // and the skill is listed.
    team.wait_model("Member of cafleet fleet 1 (agent=3, director=1).", 60);
    assert!(
        team.model.saw("Work in a CAFleet team of coding agents"),
        "the cafleet skill was not offered to the model:\n{}",
        team.model.dump()
    );
    team.wait_screen(&pane, "Ready.", 30);

    // Round trip: preview -> poll, ack, reply through Bash -> the Director polls it.
    let (task, sent) = team.send(&id, "hello from the Director");
    assert_eq!((task, sent), (1, true));
    let got = team.director_receives("re 1: hello from the Director", 60);
    assert!(got.contains(&format!("from:{id}")), "{got}");
    assert_eq!(
        team.env
            .query("SELECT status_state FROM tasks WHERE task_id = 1"),
        [["completed"]],
        "task 1 was not acked"
    );
    team.wait_screen(&pane, "Replied.", 30);

    // capture shows the TUI.
    let cap = team.member("capture", &id, &["--lines", "40"]);
    assert!(cap.contains("Replied."), "{cap}");

    // exec runs a shell command through Claude Code's `!` shortcut.
    team.member("exec", &id, &["echo exec-marker-$((6*7))"]);
    team.wait_screen(&pane, "exec-marker-42", 30);

    // ping types the poll command; the member runs it with its Bash tool.
    let polls_before = team.results_containing("No messages found.");
    team.ok(&["member", "ping", "--fleet-id", "1", "--member-id", &id]);
    team.wait_result(
        "No messages found.",
        polls_before,
        "the ping's poll never ran",
    );
    team.wait_screen(&pane, "Polled.", 30);

    // Under dontAsk a question is refused: no frame appears, the model is told so.
    team.type_line(&pane, "SCRIPT: ask");
    team.wait_result(
        "Permission to use AskUserQuestion has been denied",
        0,
        "the question was not refused",
    );

    assert!(!team.screen(&pane).contains("Type something."));

    // A graceful delete: /exit closes the pane.
    let out = team.ok(&["member", "delete", "--fleet-id", "1", "--member-id", &id]);
    assert!(out.contains("(closed)"), "{out}");
    assert!(!team.pane_alive(&pane));
}

#[test]
fn claude_question_frame_takes_free_text_and_a_choice_and_failed_starts_roll_back() {
    let team = RealTeam::new(Cli::Claude);

    // A directory Claude Code was never told to trust: its trust dialog waits for a
    // person, so member create reports it and leaves nothing behind.
    let untrusted = team.env.dir.path().join("untrusted");
    std::fs::create_dir_all(&untrusted).unwrap();
    let panes_before = team.server.panes();
    let out = team
        .env
        .cmd()
        .current_dir(&untrusted)
        .args([
            "member",
            "create",
            "--fleet-id",
            "1",
            "--agent-id",
            "1",
            "--name",
            "bob",
            "--description",
            "untrusted",
            "--ready-timeout",
            "40",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("trust the working directory"), "{err}");
    assert!(err.contains("Rolled back registration of 3"), "{err}");
    assert_eq!(team.server.panes(), panes_before);
    assert!(
        team.env
            .query("SELECT agent_id FROM agents WHERE agent_id = 3")
            .is_empty()
    );

    // The question frame: only outside dontAsk (the member's pane is respawned in the
    // default permission mode, keeping its pane id and so its placement).
    let (id, pane) = team.spawn("carol");
    team.wait_screen(&pane, "Ready.", 60);
    team.server.tmux(&[
        "respawn-pane",
        "-k",
        "-t",
        &pane,
        "-c",
        team.work.to_str().unwrap(),
        require(Cli::Claude).to_str().unwrap(),
        "--permission-mode",
        "default",
        "Member of cafleet fleet 1 (agent=4, director=1).",
    ]);
    team.wait_screen(&pane, "Ready.", 60);
    team.type_line(&pane, "SCRIPT: ask");
    let frame = team.wait_screen(&pane, "Type something.", 30);
    assert!(frame.contains("3. Type something."), "{frame}");
    team.member("send-input", &id, &["--freetext", "Green please"]);
    team.wait_result(
        "Green please",
        0,
        "the free text did not answer the question",
    );

    team.wait_screen(&pane, "Answer:", 30);
    team.type_line(&pane, "SCRIPT: ask");
    team.wait_screen(&pane, "Type something.", 30);
    // As the Director would, read the frame before answering: a key that arrives while
    // Claude Code is still drawing it is lost.
    std::thread::sleep(Duration::from_secs(1));
    team.member("send-input", &id, &["--choice", "2"]);
    team.wait_result("=\"Blue\"", 0, "choice 2 did not answer the question");

    // --force kills the pane at once.
    let out = team.member("delete", &id, &["--force"]);
    assert!(out.contains("(killed)"), "{out}");
    assert!(!team.pane_alive(&pane));
}
