//! The real opencode CLI (pinned in tests/agents/) as a CAFleet member: `cafleet setup`
//! installs the skills and the `cafleet` agent preset, `member create` starts opencode with
//! `--agent cafleet --prompt …`, and the member polls, acks and replies through opencode's
//! own `bash` tool; the Director steers it with `member capture`, `exec`, `ping` and
//! `delete`. docs/real-agents.md describes what the real CLI shows.

use super::model::{Conversation, Item};
use super::*;
use std::time::Duration;

/// opencode's footer while it works; the idle footer shows the working directory instead.
const BUSY: &str = "esc interrupt";
/// In both footers.
const FOOTER: &str = "ctrl+p commands";
/// The footer of opencode's question frame.
const QUESTION_FRAME: &str = "↑↓ select";

/// Waits until opencode is idle (its footer no longer says it is working) and the pane
/// shows `needle`; returns the screen.
fn wait_idle(team: &RealTeam, pane: &str, needle: &str, secs: u64) -> String {
    let mut last = String::new();
    let ok = wait_for(Duration::from_secs(secs), || {
        last = team.screen(pane);
        last.contains(needle) && last.contains(FOOTER) && !last.contains(BUSY)
    });
    assert!(
        ok,
        "opencode in {pane} never became idle showing {needle:?}; screen:\n{last}\nmodel log:\n{}",
        team.model.dump()
    );
    last
}

/// The shell commands a turn ran with the `bash` tool, with what each returned.
fn bash_calls(c: &Conversation) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, item) in c.items.iter().enumerate() {
        if let Item::Call { name, args } = item
            && name == "bash"
        {
            let result = match c.items.get(i + 1) {
                Some(Item::Result(r)) => r.clone(),
                _ => String::new(),
            };
            out.push((args["command"].as_str().unwrap_or("").to_string(), result));
        }
    }
    out
}

/// The newest tool-bearing request (the conversation as opencode last sent it).
fn last_turn(team: &RealTeam) -> Conversation {
    team.model.turns().pop().expect("no model turn yet")
}

/// `cafleet setup` installs the skills and the preset where opencode 1.18 reads them; the
/// spawned member runs as the `cafleet` agent with the skills listed, does a full message
/// round trip with its own bash tool, and is steered and finally closed with `/exit`.
#[test]
fn opencode_member_setup_round_trip_and_steering() {
    let team = RealTeam::new(Cli::Opencode);
    let home = team.env.dir.path().to_path_buf();

    // setup: the skills and the preset, in the test's HOME.
    let out = team.ok(&["setup", "--coding-agent", "opencode"]);
    assert!(
        out.contains("opencode: skills installed -> ~/.config/opencode/skills")
            && out.contains("opencode: preset written -> ~/.config/opencode/agents/cafleet.md"),
        "setup output:\n{out}"
    );
    let skill_md = home.join(".config/opencode/skills/cafleet/SKILL.md");
    assert!(skill_md.is_file(), "no {}", skill_md.display());

    // member create: opencode with `--agent cafleet --prompt <the default prompt>`.
    let (id, pane) = team.spawn("alice");
    let prompt_head = format!("Member of cafleet fleet 1 (agent={id}, director=1)");
    team.wait_model(&prompt_head, 60);
    let screen = wait_idle(&team, &pane, "Ready.", 60);
    // The input box names the agent opencode runs as.
    assert!(screen.contains("Cafleet · fake-model"), "screen:\n{screen}");
    let first = team.model.turns().remove(0);
    assert!(
        matches!(first.items.first(), Some(Item::User(t)) if t.starts_with(&prompt_head)),
        "the first turn does not start with the spawn prompt: {:?}",
        first.items
    );
    // The preset's body is the agent's system prompt: `--agent cafleet` took effect.
    assert!(
        first.system.contains("# CAFleet member agent"),
        "system:\n{}",
        first.system
    );
    // The installed skills are offered (opencode reads ~/.config/opencode/skills).
    assert!(
        first.tools.iter().any(|t| t == "skill"),
        "{:?}",
        first.tools
    );
    let listed = format!("<location>{}</location>", skill_md.display());
    assert!(
        first.system.contains("<name>cafleet</name>") && first.system.contains(&listed),
        "the cafleet skill is not listed; system:\n{}",
        first.system
    );
    // The preset denies the question tool: opencode does not offer it.
    assert!(
        first.tools.iter().any(|t| t == "bash") && !first.tools.iter().any(|t| t == "question"),
        "{:?}",
        first.tools
    );
    // opencode also asks for a session title, in a request without tools.
    team.wait_model("Generate a title for this conversation", 30);

    // A full round trip through opencode's own bash tool.
    let (task, _) = team.send(&id, "hello from the Director");
    team.director_receives(&format!("re {task}: hello from the Director"), 60);
    wait_idle(&team, &pane, "Replied.", 30);
    let calls = bash_calls(&last_turn(&team));
    let ack = format!("cafleet message ack --fleet-id 1 --agent-id {id} --task-id {task}");
    assert!(
        calls
            .iter()
            .any(|(c, r)| c == &ack && r.contains("Message acknowledged.")),
        "opencode did not run {ack:?}: {calls:?}"
    );

    // member capture: opencode's screen as the Director sees it.
    let cap = team.member("capture", &id, &["--lines", "40"]);
    assert!(
        cap.contains("Replied.") && cap.contains(FOOTER) && cap.contains(&format!("re {task}:")),
        "capture:\n{cap}"
    );

    // member exec: `! <command>` is opencode's shell mode. The command runs in the member's
    // working directory and shows its output; the model is not asked.
    let before = team.model.requests().len();
    team.member(
        "exec",
        &id,
        &["echo exec-$((6*7)) > exec-proof.txt && cat exec-proof.txt"],
    );
    wait_idle(&team, &pane, "exec-42", 30);
    let proof = team.work.join("exec-proof.txt");
    assert_eq!(
        std::fs::read_to_string(&proof).unwrap_or_default().trim(),
        "exec-42"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        team.model.requests().len(),
        before,
        "the shell shortcut made a model request:\n{}",
        team.model.dump()
    );

    // member ping: the poll command is typed in; the model sees it and opencode runs it
    // (the shell-mode command above reaches the model in the same request, as a bash call
    // "executed by the user").
    team.member("ping", &id, &[]);
    wait_idle(&team, &pane, "Polled.", 30);
    let poll = format!("cafleet message poll --fleet-id 1 --agent-id {id}");
    let turn = last_turn(&team);
    assert!(
        turn.items.contains(&Item::User(poll.clone())),
        "the ping never reached the model: {:?}",
        turn.items
    );
    let calls = bash_calls(&turn);
    assert!(
        calls
            .iter()
            .any(|(c, r)| c == &poll && r.contains("No messages found.")),
        "opencode did not run the poll: {calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|(c, r)| c.contains("exec-proof.txt") && r.contains("exec-42")),
        "the shell-mode command is not in the conversation: {calls:?}"
    );

    // A question: the preset denies opencode's question tool, so no frame can appear for
    // `member send-input` to answer; the scripted model falls back to a shell `false`.
    team.type_line(&pane, "SCRIPT: ask");
    let screen = wait_idle(&team, &pane, "Answer:", 30);
    assert!(!screen.contains(QUESTION_FRAME), "screen:\n{screen}");
    let turn = last_turn(&team);
    assert!(
        !turn.tools.iter().any(|t| t == "question"),
        "{:?}",
        turn.tools
    );
    assert!(
        bash_calls(&turn).iter().any(|(c, _)| c == "false"),
        "{:?}",
        turn.items
    );

    // member delete: `/exit` closes opencode and its pane.
    let out = team.member("delete", &id, &[]);
    assert!(
        out.contains("Member deleted.") && out.contains(&format!("{pane} (closed)")),
        "delete:\n{out}"
    );
    assert!(!team.pane_alive(&pane));
    let list = team.ok(&["member", "list", "--fleet-id", "1"]);
    assert!(!list.contains("alice"), "member list:\n{list}");

    // Nothing was fetched with npm: opencode's start stayed offline.
    assert!(!home.join(".npm").exists(), "opencode ran npm");
}

/// Without `cafleet setup`, `member create` alone writes the preset, so the member still
/// runs as the `cafleet` agent, but opencode lists no CAFleet skill; `--force` kills it.
#[test]
fn opencode_member_without_setup_and_force_delete() {
    let team = RealTeam::new(Cli::Opencode);
    let home = team.env.dir.path().to_path_buf();
    let (id, pane) = team.spawn("bob");
    assert!(
        home.join(".config/opencode/agents/cafleet.md").is_file(),
        "member create wrote no preset"
    );
    team.wait_model(
        &format!("Member of cafleet fleet 1 (agent={id}, director=1)"),
        60,
    );
    wait_idle(&team, &pane, "Ready.", 60);
    let first = team.model.turns().remove(0);
    assert!(
        first.system.contains("# CAFleet member agent"),
        "system:\n{}",
        first.system
    );
    assert!(
        !first.system.contains("<name>cafleet</name>"),
        "a cafleet skill is listed without setup:\n{}",
        first.system
    );

    let out = team.member("delete", &id, &["--force"]);
    assert!(
        out.contains("Member deleted (--force).") && out.contains(&format!("{pane} (killed)")),
        "delete --force:\n{out}"
    );
    assert!(!team.pane_alive(&pane));
    let list = team.ok(&["member", "list", "--fleet-id", "1"]);
    assert!(!list.contains("bob"), "member list:\n{list}");
}
