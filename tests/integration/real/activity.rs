//! Activity from the real CLIs' own hooks: a member's activity goes `working` while a
//! `SCRIPT: sleep N` turn runs and `idle` after it, recorded by the hooks CAFleet installs
//! (not read off the pane), while the user's own hooks keep firing beside them.
//! docs/real-agents.md has what each CLI reports.

use super::*;

/// The stored hook report of `agent`: (activity, source).
fn stored(team: &RealTeam, agent: &str) -> Option<(String, String)> {
    team.env
        .query(&format!(
            "SELECT activity, source FROM agent_activity WHERE agent_id = {agent}"
        ))
        .pop()
        .map(|r| (r[0].clone(), r[1].clone()))
}

/// Waits until `agent`'s stored report is `activity` from a source `source` accepts;
/// returns the source.
fn wait_stored(
    team: &RealTeam,
    agent: &str,
    activity: &str,
    source: impl Fn(&str) -> bool,
    secs: u64,
) -> String {
    let mut last = None;
    let ok = wait_for(Duration::from_secs(secs), || {
        last = stored(team, agent);
        matches!(&last, Some((a, s)) if a == activity && source(s))
    });
    assert!(
        ok,
        "agent {agent} never reported {activity:?}; last report {last:?}\nmodel log:\n{}",
        team.model.dump()
    );
    last.unwrap().1
}

/// `member list --json`'s entry for `agent`.
fn listed(team: &RealTeam, agent: &str) -> Value {
    let out = team.ok(&["--json", "member", "list", "--fleet-id", "1"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .find(|m| m["agent_id"].as_i64() == agent.parse().ok())
        .cloned()
        .unwrap_or_else(|| panic!("agent {agent} not listed: {out}"))
}

/// A `SCRIPT: sleep 8` turn: working (from a hook) while it runs, idle (from a hook) after.
/// Returns the sources seen.
/// `working` are the reports expected while the sleep runs.
fn sleep_turn(team: &RealTeam, id: &str, pane: &str, working: &[&str]) -> (String, String) {
    let cli = team.cli.name();
    let prefix = format!("{cli}:");
    team.type_line(pane, "SCRIPT: sleep 8");
    let working = wait_stored(team, id, "working", |s| working.contains(&s), 30);
    // While the sleep runs, the lists show what the hook said (not the pane).
    let m = listed(team, id);
    assert_eq!(m["activity"], "working", "{m}");
    assert!(
        m["activity_source"]
            .as_str()
            .is_some_and(|s| s.starts_with(&prefix)),
        "{m}"
    );
    assert!(m["activity_seen_at"].is_string(), "{m}");
    let table = team.ok(&["member", "list", "--fleet-id", "1"]);
    let row = table
        .lines()
        .find(|l| l.contains(pane))
        .unwrap_or_else(|| panic!("{table}"));
    // The activity column, then the undelivered one (nothing unseen).
    assert!(row.ends_with("  working   -"), "{table}");
    let status = team.ok(&["--json", "monitor", "status", "--fleet-id", "1"]);
    let status: Value = serde_json::from_str(&status).unwrap();
    let watched = status["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"].as_i64() == id.parse().ok())
        .cloned()
        .unwrap();
    assert_eq!(watched["activity"], "working", "{watched}");
    let idle = wait_stored(team, id, "idle", |s| s.starts_with(&prefix), 40);
    team.wait_screen(pane, "Slept 8.", 10);
    (working, idle)
}

#[test]
fn claude_hooks_report_activity_beside_the_users_own() {
    let team = RealTeam::new(Cli::Claude);
    // The user's own hooks, which must keep firing: every payload appended to a file.
    let home = team.env.dir.path().to_path_buf();
    let record = home.join("user-hooks.jsonl");
    let user_hook = json!([{"hooks": [{"type": "command",
        "command": format!("cat >> {0}; echo >> {0}", record.display())}]}]);
    let mut hooks = serde_json::Map::new();
    for event in cafleet::backend::CLAUDE_HOOK_EVENTS {
        hooks.insert(event.to_string(), user_hook.clone());
    }
    std::fs::create_dir_all(home.join(".claude")).unwrap();
    std::fs::write(
        home.join(".claude/settings.json"),
        json!({"hooks": hooks}).to_string(),
    )
    .unwrap();

    let (id, pane) = team.spawn("alice");
    team.wait_screen(&pane, "Ready.", 60);
    let (_, idle) = sleep_turn(&team, &id, &pane, &["claude:PreToolUse"]);
    assert_eq!(idle, "claude:Stop");
    // A report older than the freshness bound is not believed: the pane is read instead.
    team.env.query(&format!(
        "UPDATE agent_activity SET seen_at = '2020-01-01T00:00:00.000000+00:00' WHERE agent_id = {id}"
    ));
    let mut m = Value::Null;
    let read = wait_for(Duration::from_secs(10), || {
        m = listed(&team, &id);
        m["activity"] == "idle"
    });
    assert!(
        read && m["activity_source"] == "pane",
        "{m}\n{}",
        team.screen(&pane)
    );

    // The user's hooks saw the same events, with Claude Code's payloads.
    let events = user_hook_events(&record);
    let names: Vec<&str> = events
        .iter()
        .filter_map(|e| e["hook_event_name"].as_str())
        .collect();
    eprintln!("claude hook events: {names:?}");
    for e in &events {
        eprintln!("{e}");
    }

    // /exit: SessionEnd says exited.
    let out = team.ok(&["member", "delete", "--fleet-id", "1", "--member-id", &id]);
    assert!(out.contains("(closed)"), "{out}");
    assert_eq!(
        stored(&team, &id),
        Some(("exited".to_string(), "claude:SessionEnd".to_string()))
    );
}

/// The root Director, a claude a person started: `setup --hooks` puts the hooks into the
/// user's settings, and they report for the Director's pane; in a pane that is no agent's
/// they do nothing (and show nothing).
#[test]
fn claude_director_reports_through_setup_hooks() {
    let team = RealTeam::new(Cli::Claude);
    let out = team.ok(&["setup", "--coding-agent", "claude", "--hooks"]);
    assert!(out.contains("claude: activity hooks added"), "{out}");
    // The Director's pane (a recorder so far) now runs claude, as a person would start it
    // where their cafleet commands work (the same database).
    let db = format!("CAFLEET_DATABASE_URL={}", team.env.db_url());
    let director = team
        .env
        .vars
        .iter()
        .find(|(k, _)| k == "TMUX_PANE")
        .map(|(_, v)| v.clone())
        .unwrap();
    team.server.tmux(&[
        "respawn-pane",
        "-k",
        "-t",
        &director,
        "-e",
        &db,
        "-c",
        team.work.to_str().unwrap(),
        require(Cli::Claude).to_str().unwrap(),
        "SCRIPT: sleep 6",
    ]);
    wait_stored(&team, "1", "working", |s| s == "claude:PreToolUse", 60);
    wait_stored(&team, "1", "idle", |s| s == "claude:Stop", 40);
    // A claude in a pane no agent lives in: its hooks record nothing.
    let stranger = team.server.new_pane(&[
        "sh",
        "-c",
        &format!(
            "cd {} && {db} exec {} 'SCRIPT: sleep 1'",
            team.work.display(),
            require(Cli::Claude).display()
        ),
    ]);
    team.wait_screen(&stranger, "Slept 1.", 60);
    assert_eq!(
        team.env
            .query("SELECT count(*) FROM agent_activity WHERE agent_id <> 1"),
        [["0"]]
    );
    assert!(!team.screen(&stranger).contains("cafleet hook"));
    assert!(!team.screen(&director).contains("cafleet hook"));
}

/// `member create` of the real CLI with extra options; returns (agent id, pane).
fn spawn_with(team: &RealTeam, name: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec![
        "--json",
        "member",
        "create",
        "--fleet-id",
        "1",
        "--agent-id",
        "1",
        "--name",
        name,
        "--description",
        "a real member",
        "--coding-agent",
        team.cli.name(),
    ];
    args.extend_from_slice(extra);
    let v: Value = serde_json::from_str(&team.ok(&args)).unwrap();
    let pane = v["placement"]["tmux_pane_id"].as_str().unwrap().to_string();
    (v["agent_id"].to_string(), pane)
}

/// Codex: every member reports the end of each turn through `notify`; with
/// `--codex-hooks` its hooks report working while the sleep runs, and the user's own
/// hooks (~/.codex/hooks.json, never reviewed) run beside CAFleet's. Without the flag,
/// hooks waiting for review stop codex at a review screen, which `member create` reports.
#[test]
fn codex_notify_and_hooks_report_activity() {
    let team = RealTeam::new(Cli::Codex);
    let home = team.env.dir.path().to_path_buf();
    // notify only: idle at the end of the first turn.
    let (plain, plain_pane) = spawn_with(&team, "plain", &[]);
    team.wait_screen(&plain_pane, "Ready.", 60);
    wait_stored(
        &team,
        &plain,
        "idle",
        |s| s == "codex:agent-turn-complete",
        30,
    );

    // The user's own hooks, not reviewed: a member with --codex-hooks runs them too.
    let record = home.join("user-hooks.jsonl");
    let user_hook = json!([{"hooks": [{"type": "command",
        "command": format!("cat >> {0}; echo >> {0}", record.display())}]}]);
    let mut hooks = serde_json::Map::new();
    for event in cafleet::backend::CODEX_HOOK_EVENTS {
        hooks.insert(event.to_string(), user_hook.clone());
    }
    std::fs::write(
        home.join(".codex/hooks.json"),
        json!({"hooks": hooks}).to_string(),
    )
    .unwrap();

    let (id, pane) = spawn_with(&team, "hooked", &["--codex-hooks"]);
    team.wait_screen(&pane, "Ready.", 60);
    let (_, idle) = sleep_turn(&team, &id, &pane, &["codex:PreToolUse"]);
    // Hooks waiting for review stop a member without the flag.
    let out = team.run(&[
        "member",
        "create",
        "--fleet-id",
        "1",
        "--agent-id",
        "1",
        "--name",
        "stuck",
        "--description",
        "x",
        "--coding-agent",
        "codex",
        "--ready-timeout",
        "20",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("review hooks that are new or changed"),
        "{err}"
    );
    assert!(
        ["codex:Stop", "codex:agent-turn-complete"].contains(&idle.as_str()),
        "{idle}"
    );
    let events = user_hook_events(&record);
    let names: Vec<&str> = events
        .iter()
        .filter_map(|e| e["hook_event_name"].as_str())
        .collect();
    eprintln!("codex hook events: {names:?}");
    for e in &events {
        eprintln!("{e}");
    }
}

/// opencode: CAFleet's plugin (loaded through OPENCODE_CONFIG_CONTENT, beside the user's
/// configuration) forwards the session's status events.
#[test]
fn opencode_plugin_reports_activity() {
    let team = RealTeam::new(Cli::Opencode);
    let (id, pane) = team.spawn("alice");
    team.wait_screen(&pane, "Ready.", 60);
    wait_stored(&team, &id, "idle", |s| s.starts_with("opencode:"), 30);
    let (_, idle) = sleep_turn(
        &team,
        &id,
        &pane,
        &["opencode:session.status", "opencode:tool.execute.before"],
    );
    assert!(
        ["opencode:session.status", "opencode:session.idle"].contains(&idle.as_str()),
        "{idle}"
    );
    let plugin = team
        .env
        .db_path
        .with_file_name(cafleet::backend::OPENCODE_PLUGIN_FILE);
    assert!(plugin.is_file());
    // The user's configuration still applies (the scripted provider is theirs).
    assert!(team.model.saw("SCRIPT: sleep 8"));
}

/// The events the user's own recording hook wrote to `record` (one JSON per line); each of a
/// sleep turn's events must be among them.
fn user_hook_events(record: &std::path::Path) -> Vec<Value> {
    let seen = std::fs::read_to_string(record).unwrap_or_default();
    let events: Vec<Value> = seen
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = events
        .iter()
        .filter_map(|e| e["hook_event_name"].as_str())
        .collect();
    for e in [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "Stop",
    ] {
        assert!(names.contains(&e), "the user's hook missed {e}: {names:?}");
    }
    events
}
