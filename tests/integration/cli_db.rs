//! `cafleet db init` and `cafleet doctor`: 0.14's outputs, `--json` (O2), adoption (C3), a
//! refused database left untouched (SETUP-1), and what doctor does beyond 0.14 (SETUP-2).
//! The codes are sections of docs/decisions.md.

use crate::support::*;
use std::path::PathBuf;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference-0.14.db")
}

/// An Env whose database is a copy of the 0.14 reference database (never the original).
fn env_with_reference_copy() -> Env {
    let env = Env::new();
    std::fs::create_dir_all(env.db_path.parent().unwrap()).unwrap();
    std::fs::copy(fixture(), &env.db_path).expect("copy fixture");
    env
}

fn one(v: &str) -> Vec<Vec<String>> {
    vec![vec![v.to_string()]]
}

#[test]
fn db_init_creates_a_missing_database_and_its_directory() {
    let env = Env::new();
    assert!(!env.db_path.parent().unwrap().exists());
    let out = env.ok(&["db", "init"]);
    assert_eq!(
        out,
        format!(
            "Created {} and applied migrations to head (0005).\n",
            env.db_path.display()
        )
    );
    assert!(env.db_path.exists());
    let tables = env.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    );
    let names: Vec<&str> = tables.iter().map(|r| r[0].as_str()).collect();
    for t in [
        "agent_placements",
        "agents",
        "fleets",
        "monitor_config",
        "monitor_runtime",
        "tasks",
    ] {
        assert!(names.contains(&t), "{t} missing from {names:?}");
    }
}

#[test]
fn db_init_is_idempotent() {
    let env = Env::new();
    env.ok(&["db", "init"]);
    assert_eq!(
        env.ok(&["db", "init"]),
        "Already at head (0005); nothing to do.\n"
    );
    assert_eq!(
        env.ok(&["db", "init"]),
        "Already at head (0005); nothing to do.\n"
    );
}

#[test]
fn db_init_json_reports_created_then_unchanged() {
    let env = Env::new();
    let created = env.json(&["db", "init"]);
    let version = created["schema_version"].as_i64().expect("schema_version");
    assert!(version > 0);
    let expected = format!(
        r#"{{"path":"{}","action":"created","from":null,"head":"0005","schema_version":{version}}}"#,
        env.db_path.display()
    );
    assert_eq!(created.to_string(), expected);
    let again = env.ok(&["--json", "db", "init"]);
    assert_eq!(
        again,
        format!(
            "{}\n",
            expected.replace(r#""action":"created""#, r#""action":"unchanged""#)
        )
    );
}

#[test]
fn db_init_after_another_command_created_the_database_has_nothing_to_do() {
    let env = Env::new();
    env.ok(&["fleet", "list"]);
    assert_eq!(
        env.ok(&["db", "init"]),
        "Already at head (0005); nothing to do.\n"
    );
}

#[test]
fn a_database_url_that_is_not_sqlite_is_refused_by_every_command() {
    let env = Env::new();
    for args in [&["db", "init"][..], &["fleet", "list"]] {
        let out = env
            .cmd()
            .env("CAFLEET_DATABASE_URL", "postgres://localhost/cafleet")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("Error: ") && err.contains("CAFLEET_DATABASE_URL"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn db_init_prints_the_path_as_written_in_a_relative_url() {
    let env = Env::new();
    let out = env
        .cmd()
        .env("CAFLEET_DATABASE_URL", "sqlite:///relative.db")
        .args(["db", "init"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Created relative.db and applied migrations to head (0005).\n"
    );
    assert!(env.dir.path().join("relative.db").exists());
}

#[test]
fn db_init_without_a_file_path_in_the_url_fails() {
    let env = Env::new();
    let out = env
        .cmd()
        .env("CAFLEET_DATABASE_URL", "sqlite://")
        .args(["db", "init"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("Error: database URL has no file path"),
        "{err}"
    );
}

#[test]
fn db_init_uses_the_home_default_when_no_url_is_set() {
    let env = Env::new();
    let out = env
        .cmd()
        .env_remove("CAFLEET_DATABASE_URL")
        // Not followed: 0.14's database is under HOME, and must be found there
        // (docs/decisions.md, S1 and C3).
        .env("XDG_DATA_HOME", env.dir.path().join("xdg"))
        .args(["db", "init"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let path = env.dir.path().join(".local/share/cafleet/cafleet.db");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "Created {} and applied migrations to head (0005).\n",
            path.display()
        )
    );
    assert!(path.exists());
    assert!(!env.dir.path().join("xdg").exists());
}

#[test]
fn db_init_adopts_a_reference_database_keeping_its_rows() {
    let env = env_with_reference_copy();
    let tasks = format!(
        "SELECT {} FROM tasks ORDER BY task_id",
        crate::adoption::TASK_COLUMNS
    );
    let before = env.query(&tasks);
    let out = env.ok(&["db", "init"]);
    assert!(out.starts_with("Adopted "), "{out}");
    assert!(out.contains(&env.db_path.display().to_string()), "{out}");
    assert_eq!(env.query(&tasks), before);
    assert_eq!(
        env.ok(&["db", "init"]),
        "Already at head (0005); nothing to do.\n"
    );
}

#[test]
fn db_init_json_reports_adopted() {
    let env = env_with_reference_copy();
    let v = env.json(&["db", "init"]);
    assert_eq!(v["action"], "adopted");
    assert_eq!(v["head"], "0005");
    assert_eq!(v["path"], env.db_path.display().to_string());
    let keys: Vec<&str> = v
        .as_object()
        .unwrap()
        .keys()
        .map(std::string::String::as_str)
        .collect();
    assert_eq!(keys, ["path", "action", "from", "head", "schema_version"]);
}

#[test]
fn db_init_upgrades_an_older_alembic_revision() {
    let env = env_with_reference_copy();
    query_db(
        &env.db_path,
        "UPDATE alembic_version SET version_num = '0003'",
    );
    let v = env.json(&["db", "init"]);
    assert_eq!(v["action"], "upgraded");
    assert_eq!(v["from"], "0003");
    let env = env_with_reference_copy();
    query_db(
        &env.db_path,
        "UPDATE alembic_version SET version_num = '0002'",
    );
    assert_eq!(env.ok(&["db", "init"]), "Upgraded from 0002 to 0005.\n");
}

#[test]
fn db_init_refuses_tables_without_alembic_version() {
    let env = Env::new();
    std::fs::create_dir_all(env.db_path.parent().unwrap()).unwrap();
    std::fs::File::create(&env.db_path).unwrap();
    query_db(&env.db_path, "CREATE TABLE foreign_stuff (x INTEGER)");
    let before = untouched(&env);
    let err = env.fails(&["db", "init"], 1);
    // Refused before anything changed: same bytes (no WAL switch), no backup beside it.
    assert_eq!(untouched(&env), before);
    assert_eq!(
        err,
        "Error: DB has existing tables but no alembic_version. Run `alembic stamp head` manually if you are sure the schema matches.\n"
    );
    // Nothing was created beside the foreign table.
    assert_eq!(
        env.query("SELECT name FROM sqlite_master WHERE type = 'table'"),
        one("foreign_stuff")
    );
}

#[test]
fn db_init_refuses_an_unknown_alembic_revision() {
    let env = env_with_reference_copy();
    query_db(
        &env.db_path,
        "UPDATE alembic_version SET version_num = '0099'",
    );
    let before = untouched(&env);
    for args in [&["db", "init"][..], &["fleet", "list"]] {
        let err = env.fails(args, 1);
        assert_eq!(
            err,
            "Error: DB schema is at revision 0099 which is unknown to this version of cafleet. Refusing to downgrade automatically.\n"
        );
        assert_eq!(untouched(&env), before, "{args:?}");
    }
}

/// The database file's bytes and the names in its directory.
fn untouched(env: &Env) -> (Vec<u8>, Vec<String>) {
    let dir = env.db_path.parent().unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    (std::fs::read(&env.db_path).unwrap(), names)
}

#[test]
fn doctor_outside_tmux_names_itself() {
    let env = Env::new();
    for args in [&["doctor"][..], &["--json", "doctor"]] {
        assert_eq!(
            env.fails(args, 1),
            "Error: cafleet doctor must be run inside a tmux session\n"
        );
    }
}

#[test]
fn doctor_without_tmux_on_path_fails() {
    let mut env = Env::new();
    env.vars
        .push(("TMUX".into(), "/nonexistent/sock,1,0".into()));
    env.vars.push(("TMUX_PANE".into(), "%0".into()));
    let empty = env.dir.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let out = env
        .cmd()
        .env("PATH", &empty)
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: tmux binary not found on PATH\n"
    );
}

#[test]
fn doctor_without_tmux_pane_fails() {
    let env = Env::new();
    let server = TmuxServer::start(env.dir.path(), &["sleep", "100000"]);
    let out = env
        .cmd()
        .env("TMUX", server.tmux_env())
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: TMUX_PANE is not set; not running inside a tmux pane\n"
    );
}

#[test]
fn doctor_prints_the_calling_pane_identity() {
    let mut env = Env::new();
    let server = TmuxServer::start(env.dir.path(), &["sleep", "100000"]);
    let pane = server.new_pane(&["sleep", "100000"]);
    let window = server.tmux(&["display-message", "-p", "-t", &pane, "#{window_id}"]);
    server.enter(&mut env, &pane);
    let text = env.ok(&["doctor"]);
    assert!(
        text.starts_with(&format!(
            "tmux:\n  session_name:  t\n  window_id:     {window}\n  pane_id:       {pane}\n  TMUX_PANE:     {pane}\nchecks:\n"
        )),
        "{text}"
    );
    assert!(text.contains("  ok    session   inside tmux"), "{text}");
    let json = env.ok(&["--json", "doctor"]);
    assert!(
        json.starts_with(&format!(
            "{{\"tmux\":{{\"session_name\":\"t\",\"window_id\":\"{window}\",\"pane_id\":\"{pane}\",\"tmux_pane_env\":\"{pane}\"}},\"checks\":["
        )),
        "{json}"
    );
    // doctor is read-only diagnostics: it never opens (or creates) the database.
    assert!(!env.db_path.exists());
}

#[test]
fn doctor_refuses_a_pane_that_does_not_exist() {
    let mut env = Env::new();
    let server = TmuxServer::start(env.dir.path(), &["sleep", "100000"]);
    server.enter(&mut env, "%77");
    let err = env.fails(&["doctor"], 1);
    assert!(err.starts_with("Error: "), "{err}");
    assert!(err.contains("%77"), "{err}");
}

#[test]
fn doctor_reports_an_unreachable_tmux_server() {
    let mut env = Env::new();
    env.vars
        .push(("TMUX".into(), "/nonexistent-sock,1,0".into()));
    env.vars.push(("TMUX_PANE".into(), "%2".into()));
    let err = env.fails(&["doctor"], 1);
    assert!(err.starts_with("Error: tmux command failed: "), "{err}");
    assert!(err.contains("/nonexistent-sock"), "{err}");
}

#[test]
fn doctor_says_whether_installed_skills_are_up_to_date() {
    let mut env = Env::new();
    let server = TmuxServer::start(env.dir.path(), &["sleep", "100000"]);
    let pane = server.new_pane(&["sleep", "100000"]);
    server.enter(&mut env, &pane);
    std::fs::create_dir_all(env.dir.path().join(".claude")).unwrap();
    let before = env.ok(&["doctor"]);
    assert!(
        before.contains(
            "warn  skills    claude: CAFleet's skills are not installed in ~/.claude/skills"
        ),
        "{before}"
    );
    env.ok(&["setup", "--coding-agent", "claude"]);
    let after = env.ok(&["doctor"]);
    assert!(
        after.contains("ok    skills    claude: skills up to date in ~/.claude/skills"),
        "{after}"
    );
    std::fs::write(
        env.dir.path().join(".claude/skills/cafleet/SKILL.md"),
        "edited",
    )
    .unwrap();
    let edited = env.ok(&["doctor"]);
    assert!(edited.contains("1 of "), "{edited}");
    assert!(
        edited.contains("run `cafleet setup` to update them"),
        "{edited}"
    );
}

/// `cafleet doctor` run in `dir` (the Director's working directory); its stdout.
fn doctor_in(env: &Env, dir: &std::path::Path, json: bool) -> String {
    let mut cmd = env.cmd();
    cmd.current_dir(dir);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.arg("doctor").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn doctor_names_the_claude_allow_rules_that_are_missing() {
    let mut env = Env::new();
    let server = TmuxServer::start(env.dir.path(), &["sleep", "100000"]);
    let pane = server.new_pane(&["sleep", "100000"]);
    server.enter(&mut env, &pane);
    let project = env.dir.path().join("proj");
    std::fs::create_dir_all(&project).unwrap();
    // claude is found by its configuration directory.
    std::fs::create_dir_all(env.dir.path().join(".claude")).unwrap();
    let text = doctor_in(&env, &project, false);
    let files =
        "~/.claude/settings.json, ~/proj/.claude/settings.json, ~/proj/.claude/settings.local.json";
    assert!(
        text.contains(&format!(
            "  warn  claude    the Director's cafleet commands ask for permission: no \"Bash(cafleet:*)\" allow rule in {files}\n                  fix: run `cafleet setup --claude-allow` (adds \"Bash(cafleet:*)\" to ~/.claude/settings.json)\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "  warn  claude    members (dontAsk) can run cafleet commands but cannot edit or write files: no \"Edit\" or \"Write\" allow rule in {files}\n                  fix: add \"Edit\", \"Write\" and your build/test commands (e.g. \"Bash(cargo test:*)\") to permissions.allow in ~/proj/.claude/settings.json\n"
        )),
        "{text}"
    );

    // The Director's rule from setup, the members' from the project's files.
    env.ok(&["setup", "--coding-agent", "claude", "--claude-allow"]);
    std::fs::create_dir_all(project.join(".claude")).unwrap();
    std::fs::write(
        project.join(".claude/settings.json"),
        r#"{"permissions": {"allow": ["Edit"]}}"#,
    )
    .unwrap();
    std::fs::write(
        project.join(".claude/settings.local.json"),
        r#"{"permissions": {"allow": ["Bash(cargo test:*)"]}}"#,
    )
    .unwrap();
    let text = doctor_in(&env, &project, false);
    assert!(
        text.contains("  ok    claude    the Director may run cafleet commands (\"Bash(cafleet:*)\" in ~/.claude/settings.json)\n"),
        "{text}"
    );
    assert!(
        text.contains("  ok    claude    members (dontAsk) may edit files and run cafleet commands and Bash(cargo test:*)\n"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(doctor_in(&env, &project, true).trim()).unwrap();
    let claude: Vec<&serde_json::Value> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "claude")
        .collect();
    assert_eq!(claude.len(), 2, "{json}");
    assert!(
        claude
            .iter()
            .all(|c| c["status"] == "ok" && c["fix"].is_null())
    );

    // A broken project file is reported (with its fix) and its rules are not counted.
    std::fs::write(project.join(".claude/settings.json"), "{\"permissions\": ").unwrap();
    let text = doctor_in(&env, &project, false);
    assert!(
        text.contains("  warn  claude    ~/proj/.claude/settings.json is not valid JSON (EOF while parsing a value at line 1 column 16), so its allow rules are not counted below\n                  fix: fix ~/proj/.claude/settings.json (Claude Code reads its permissions from it)\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "fix: add \"Edit\", \"Write\" to permissions.allow in ~/proj/.claude/settings.json\n"
        ),
        "{text}"
    );
}
