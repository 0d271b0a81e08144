//! The real Codex CLI (pinned in tests/agents/) as a CAFleet member: `member create` spawns it
//! with CAFleet's flags, and it runs the protocol's commands through its own `exec_command`
//! tool against the scripted model server. docs/real-agents.md has what the real CLI does.

use super::model::{Conversation, Item, member_ids};
use super::*;

/// The requests member `agent` made (its spawn prompt names it), oldest first.
fn turns_of(team: &RealTeam, agent: &str) -> Vec<Conversation> {
    let agent: i64 = agent.parse().unwrap();
    team.model
        .turns()
        .into_iter()
        .filter(|c| member_ids(c).map(|(_, a, _)| a) == Some(agent))
        .collect()
}

/// Waits until member `agent` has made a tool call `call` accepts and the tool's result went
/// back to the model; returns the result of the newest such call.
fn wait_result(
    team: &RealTeam,
    agent: &str,
    what: &str,
    call: impl Fn(&str, &Value) -> bool,
) -> String {
    let mut found = None;
    let ok = wait_for(Duration::from_secs(60), || {
        found = turns_of(team, agent).iter().rev().find_map(|c| {
            let at = c
                .items
                .iter()
                .rposition(|i| matches!(i, Item::Call { name, args } if call(name, args)))?;
            c.items[at + 1..].iter().find_map(|i| match i {
                Item::Result(r) => Some(r.clone()),
                _ => None,
            })
        });
        found.is_some()
    });
    assert!(
        ok,
        "member {agent} never reported the result of {what}; model log:\n{}",
        team.model.dump()
    );
    found.unwrap()
}

/// The result of member `agent`'s newest `exec_command` call of exactly `cmd`.
fn shell_result(team: &RealTeam, agent: &str, cmd: &str) -> String {
    wait_result(team, agent, cmd, |name, args| {
        name == "exec_command" && args["cmd"] == cmd
    })
}

/// One member through its whole life: spawned with the skills `setup` installed, a message
/// round trip, then every Director steering command, then a graceful delete.
#[test]
fn codex_member_round_trip_and_steering() {
    let team = RealTeam::new(Cli::Codex);
    let home = team.env.dir.path().to_path_buf();
    let out = team.ok(&["setup", "--coding-agent", "codex"]);
    assert!(
        out.contains("codex: skills installed -> ~/.codex/skills"),
        "{out}"
    );
    assert!(home.join(".codex/skills/cafleet/SKILL.md").is_file());

    // `member create` spawns codex; its first request carries the default prompt, the
    // sandbox and approval policy our flags set, and the skill `setup` installed.
    let (id, pane) = team.spawn("alice");
    let prompt = format!("Member of cafleet fleet 1 (agent={id}, director=1).");
    team.wait_model(&prompt, 60);
    let first = turns_of(&team, &id).remove(0);
    assert!(
        matches!(first.items.first(), Some(Item::User(t)) if t.starts_with(&prompt)),
        "{:?}",
        first.items
    );
    for policy in [
        "`sandbox_mode` is `workspace-write`",
        "Approval policy is currently never",
    ] {
        assert!(first.system.contains(policy), "{policy:?} missing");
    }
    let root = home.join(".codex/skills");
    assert!(
        first
            .system
            .contains(&format!("`r0` = `{}`", root.display()))
            && first.system.contains("- cafleet: Work in a CAFleet team")
            && first.system.contains("(file: r0/cafleet/SKILL.md)"),
        "codex does not list the cafleet skill from {}",
        root.display()
    );
    team.wait_screen(&pane, "Ready.", 60);
    // codex's default daemon would have written its state here (--no-daemon).
    assert!(!home.join(".codex/app-server-daemon").exists());

    // A round trip: the preview is typed into the pane; codex polls, acks and replies
    // with `cafleet`, found on PATH because its shell is not a login shell.
    let (task, sent) = team.send(&id, "hello from the Director");
    assert!(sent, "the preview was not typed");
    team.director_receives(&format!("re {task}: hello from the Director"), 60);
    let poll = format!("cafleet message poll --fleet-id 1 --agent-id {id}");
    let polled = shell_result(&team, &id, &poll);
    assert!(
        polled.contains("exited with code 0") && polled.contains("hello from the Director"),
        "{polled}"
    );
    let ack = format!("cafleet message ack --fleet-id 1 --agent-id {id} --task-id {task}");
    assert!(shell_result(&team, &id, &ack).contains("Message acknowledged."));
    assert_eq!(
        team.env.query(&format!(
            "SELECT status_state FROM tasks WHERE task_id = {task}"
        )),
        vec![vec!["completed".to_string()]]
    );
    team.wait_screen(&pane, "Replied.", 30);

    // capture: the Director reads codex's screen.
    let screen = team.member("capture", &id, &["--lines", "40"]);
    assert!(
        screen.contains(&format!("re {task}: hello from the Director"))
            && screen.contains("• Replied."),
        "{screen}"
    );

    // exec: codex's `!` shortcut runs the command itself, in the pane's environment,
    // without a model turn. The command ends in a word starting with `$`, which opens
    // codex's skill-mention popup: typed as is, the popup took the Enter and the command
    // was never submitted; the typist closes it with a trailing space.
    let requests = team.model.requests().len();
    team.member("exec", &id, &["echo exec-$((6*7)) in $TMUX_PANE"]);
    team.wait_screen(&pane, &format!("exec-42 in {pane}"), 30);
    team.wait_screen(&pane, "You ran echo exec-$((6*7)) in $TMUX_PANE", 10);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        team.model.requests().len(),
        requests,
        "{}",
        team.model.dump()
    );

    // ping: the poll trigger arrives as the user's turn and codex runs it.
    team.ok(&["member", "ping", "--fleet-id", "1", "--member-id", &id]);
    team.wait_screen(&pane, "Polled.", 30);
    let pinged = turns_of(&team, &id)
        .pop()
        .unwrap()
        .items
        .iter()
        .any(|i| matches!(i, Item::User(t) if t.trim() == poll));
    assert!(pinged, "{}", team.model.dump());
    assert!(shell_result(&team, &id, &poll).contains("No messages found."));

    // A question: codex offers request_user_input but refuses it in its Default mode,
    // so no question frame appears and `member send-input` has nothing to answer.
    team.type_line(&pane, "SCRIPT: ask");
    let refused = wait_result(&team, &id, "request_user_input", |name, _| {
        name == "request_user_input"
    });
    assert!(
        refused.contains("request_user_input is unavailable in Default mode"),
        "{refused}"
    );
    let screen = team.wait_screen(&pane, "Answer: ", 30);
    assert!(!screen.contains("Question 1/1"), "{screen}");

    // delete: /exit closes codex and its pane.
    let out = team.ok(&["member", "delete", "--fleet-id", "1", "--member-id", &id]);
    assert!(out.contains(&format!("{pane} (closed)")), "{out}");
    assert!(!team.pane_alive(&pane));
}

/// Two members at once: each runs its commands in its own pane's environment (codex's
/// shared background server would run both in the first pane's), finds `cafleet` on the
/// PATH it was given, and `--force` kills one pane.
#[test]
fn codex_members_keep_their_own_environment() {
    let team = RealTeam::new(Cli::Codex);
    let home = team.env.dir.path().to_path_buf();
    let (b, pb) = team.spawn("bob");
    let (c, pc) = team.spawn("carol");
    team.wait_screen(&pb, "Ready.", 60);
    team.wait_screen(&pc, "Ready.", 60);
    let probe = "echo pane=$TMUX_PANE db=$CAFLEET_DATABASE_URL cafleet=$(command -v cafleet)";
    team.type_line(&pb, &format!("SCRIPT: run {probe}"));
    team.type_line(&pc, &format!("SCRIPT: run {probe}"));
    let outs = [(&b, &pb), (&c, &pc)].map(|(id, pane)| {
        let out = shell_result(&team, id, probe);
        (id, pane, out)
    });
    for (id, pane, out) in &outs {
        let own = format!("pane={pane} db={} ", team.env.db_url());
        assert!(
            out.contains(&own),
            "member {id} ran its command outside its pane {pane}: {out}"
        );
    }
    for (id, _, out) in &outs {
        let found = format!(" cafleet={}\n", env!("CARGO_BIN_EXE_cafleet"));
        assert!(
            out.contains(&found),
            "member {id}'s shell did not find cafleet on its PATH: {out}"
        );
    }
    assert!(!home.join(".codex/app-server-daemon").exists());

    // Without `setup` codex lists only its own skills.
    let first = turns_of(&team, &b).remove(0);
    assert!(first.system.contains("- skill-creator: "));
    assert!(!first.system.contains("cafleet/SKILL.md"));

    let out = team.member("delete", &c, &["--force"]);
    assert!(out.contains(&format!("{pc} (killed)")), "{out}");
    assert!(!team.pane_alive(&pc));
    assert!(team.pane_alive(&pb));
}

/// A Git repository codex was never told to trust: its trust dialog waits for a person, so
/// `member create` reports it with the pane's last lines and leaves no row or pane behind.
#[test]
fn codex_in_an_untrusted_repository_is_reported_and_rolled_back() {
    let team = RealTeam::new(Cli::Codex);
    let repo = tempfile::tempdir().unwrap();
    let git = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(git.status.success(), "{git:?}");
    let panes_before = team.server.panes();
    let out = team
        .env
        .cmd()
        .current_dir(repo.path())
        .args([
            "member",
            "create",
            "--fleet-id",
            "1",
            "--agent-id",
            "1",
            "--name",
            "dave",
            "--description",
            "untrusted",
            "--coding-agent",
            "codex",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Trust and continue"), "{err}");
    assert!(
        err.contains("Trust this folder?"),
        "the pane's last lines are missing: {err}"
    );
    assert!(err.contains("Rolled back registration of 3"), "{err}");
    assert_eq!(team.server.panes(), panes_before);
    assert!(
        team.env
            .query("SELECT agent_id FROM agents WHERE agent_id = 3")
            .is_empty()
    );
}
