//! `cafleet setup` into temporary homes (HOME and the backends' home variables per test),
//! and `cafleet completions`.

use crate::support::Env;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// An Env whose `PATH` holds only an empty directory (so no real coding agent is found),
/// with the given backend home variables.
fn env_with(vars: &[(&str, &str)]) -> (Env, PathBuf) {
    let mut env = Env::new();
    let bin = env.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    env.vars.push(("PATH".into(), bin.display().to_string()));
    for (k, v) in vars {
        let value = env.dir.path().join(v);
        env.vars.push((k.to_string(), value.display().to_string()));
    }
    (env, bin)
}

fn home(env: &Env) -> &Path {
    env.dir.path()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file below `dir` with its modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, SystemTime> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, SystemTime>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.insert(
                    p.clone(),
                    std::fs::metadata(&p).unwrap().modified().unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

/// Asserts every embedded skill file is installed below `skills` with its exact text.
fn assert_installed(skills: &Path) {
    for f in cafleet::skills::FILES {
        let p = skills.join(f.rel());
        let got = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(got, f.text, "{}", p.display());
    }
    assert!(skills.join(".cafleet-manifest.json").is_file());
}

fn n_files() -> usize {
    cafleet::skills::FILES.len()
}

#[test]
fn claude_into_its_config_dir() {
    let (env, _) = env_with(&[("CLAUDE_CONFIG_DIR", "claude-home")]);
    let out = env.ok(&["setup", "--coding-agent", "claude"]);
    let dir = home(&env).join("claude-home/skills");
    assert_installed(&dir);
    assert_eq!(
        out,
        format!(
            "claude: skills installed -> ~/claude-home/skills (v{}; {} files written)\nCreated {} and applied migrations to head (0005).\n",
            env!("CARGO_PKG_VERSION"),
            n_files(),
            env.db_path.display()
        )
    );
    // Only claude was touched.
    assert!(!home(&env).join(".codex").exists());
    assert!(!home(&env).join(".config").exists());
    assert!(env.db_path.is_file());
}

#[test]
fn codex_into_codex_home() {
    let (env, _) = env_with(&[("CODEX_HOME", "cx")]);
    let out = env.ok(&["setup", "--coding-agent", "codex"]);
    assert_installed(&home(&env).join("cx/skills"));
    assert!(
        out.starts_with("codex: skills installed -> ~/cx/skills"),
        "{out}"
    );
}

#[test]
fn opencode_gets_skills_and_the_preset() {
    let (env, _) = env_with(&[("OPENCODE_CONFIG_DIR", "oc")]);
    let out = env.ok(&["setup", "--coding-agent", "opencode"]);
    assert_installed(&home(&env).join("oc/skills"));
    let preset = home(&env).join("oc/agents/cafleet.md");
    assert_eq!(
        std::fs::read_to_string(&preset).unwrap(),
        cafleet::backend::opencode_preset()
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("opencode: skills installed -> ~/oc/skills"),
        "{out}"
    );
    assert_eq!(
        lines[1],
        "opencode: preset written -> ~/oc/agents/cafleet.md"
    );
    assert!(lines[2].starts_with("Created "), "{out}");
    // A preset the user edited is refreshed, and their copy kept.
    std::fs::write(&preset, "my preset").unwrap();
    let out = env.ok(&["setup", "--coding-agent", "opencode"]);
    let line = out.lines().nth(1).unwrap();
    assert!(
        line.starts_with("opencode: preset refreshed -> ~/oc/agents/cafleet.md (your edited copy kept: ~/oc/agents/cafleet.md.bak-"),
        "{line}"
    );
    let backups: Vec<_> = std::fs::read_dir(home(&env).join("oc/agents"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".bak-"))
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(std::fs::read_to_string(&backups[0]).unwrap(), "my preset");
}

#[test]
fn default_homes_are_under_home() {
    let (env, _) = env_with(&[]);
    let out = env.ok(&[
        "setup",
        "--coding-agent",
        "opencode",
        "--coding-agent",
        "claude",
        "--coding-agent",
        "opencode",
    ]);
    assert_installed(&home(&env).join(".claude/skills"));
    assert_installed(&home(&env).join(".config/opencode/skills"));
    assert!(
        home(&env)
            .join(".config/opencode/agents/cafleet.md")
            .is_file()
    );
    let backends: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(": skills "))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    // Named order kept, duplicates collapsed.
    assert_eq!(backends, ["opencode", "claude"]);
    assert!(out.contains("-> ~/.config/opencode/skills "), "{out}");
}

#[test]
fn the_0_14_agent_option_still_works_but_is_hidden() {
    let (env, _) = env_with(&[]);
    let out = env.ok(&["setup", "--agent", "codex"]);
    assert!(out.starts_with("codex: skills installed"), "{out}");
    let help = env.ok(&["setup", "--help"]);
    assert!(help.contains("--coding-agent"), "{help}");
    assert!(!help.contains("--agent "), "{help}");
}

#[test]
fn auto_detects_homes_and_binaries() {
    let (env, bin) = env_with(&[]);
    std::fs::create_dir_all(home(&env).join(".codex")).unwrap();
    // opencode is found on PATH only.
    let oc = bin.join("opencode");
    std::fs::write(&oc, "#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&oc, std::fs::Permissions::from_mode(0o755)).unwrap();
    let json = env.json(&["setup"]);
    assert_installed(&home(&env).join(".codex/skills"));
    assert_installed(&home(&env).join(".config/opencode/skills"));
    assert!(
        !home(&env).join(".claude").exists(),
        "claude was not detected"
    );
    let found: Vec<(String, String)> = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["coding_agent"].as_str().unwrap().to_string(),
                t["found_by"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("codex".to_string(), "home".to_string()),
            ("opencode".to_string(), "path".to_string())
        ]
    );
    // Now opencode's home exists too; a second run finds both by their homes.
    let out = env.ok(&["setup"]);
    assert!(out.starts_with("codex: skills up to date"), "{out}");
    assert!(out.contains("\nopencode: skills up to date"), "{out}");
}

#[test]
fn nothing_detected_fails_with_the_fix_but_still_migrates() {
    let (env, _) = env_with(&[]);
    let out = env.run(&["setup"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "Error: no coding agent found: looked for ~/.claude, ~/.codex, ~/.config/opencode and for claude, codex and opencode on PATH. Install one first, or name it: cafleet setup --coding-agent claude\n"
    );
    assert!(stdout(&out).starts_with("Created "), "{}", stdout(&out));
    assert!(env.db_path.is_file());
}

#[test]
fn second_run_changes_nothing() {
    let (env, _) = env_with(&[
        ("CLAUDE_CONFIG_DIR", "c"),
        ("CODEX_HOME", "x"),
        ("OPENCODE_CONFIG_DIR", "o"),
    ]);
    let args = [
        "setup",
        "--coding-agent",
        "claude",
        "--coding-agent",
        "codex",
        "--coding-agent",
        "opencode",
    ];
    env.ok(&args);
    let before = snapshot(home(&env));
    std::thread::sleep(std::time::Duration::from_millis(50));
    let out = env.ok(&args);
    let v = env!("CARGO_PKG_VERSION");
    let n = n_files();
    assert_eq!(
        out,
        format!(
            "claude: skills up to date -> ~/c/skills (v{v}; {n} files unchanged)\n\
             codex: skills up to date -> ~/x/skills (v{v}; {n} files unchanged)\n\
             opencode: skills up to date -> ~/o/skills (v{v}; {n} files unchanged)\n\
             opencode: preset up to date -> ~/o/agents/cafleet.md\n\
             Already at head (0005); nothing to do.\n"
        )
    );
    let after = snapshot(home(&env));
    // The database files may be touched by the migration check; skill files may not.
    let skills_only = |m: &BTreeMap<PathBuf, SystemTime>| -> BTreeMap<PathBuf, SystemTime> {
        m.iter()
            .filter(|(p, _)| !p.starts_with(env.db_path.parent().unwrap()))
            .map(|(p, t)| (p.clone(), *t))
            .collect()
    };
    assert_eq!(skills_only(&before), skills_only(&after));
    let json = env.json(&args);
    assert!(json["ok"].as_bool().unwrap());
    for t in json["targets"].as_array().unwrap() {
        assert_eq!(t["status"], "unchanged", "{t}");
        assert_eq!(t["unchanged"], n, "{t}");
    }
    assert_eq!(json["targets"][2]["preset"]["status"], "unchanged");
    assert_eq!(json["db"]["action"], "unchanged");
}

#[test]
fn an_edited_file_is_kept_as_a_backup() {
    let (env, _) = env_with(&[("CLAUDE_CONFIG_DIR", "c")]);
    env.ok(&["setup", "--coding-agent", "claude"]);
    let skill = home(&env).join("c/skills/cafleet/roles/member.md");
    std::fs::write(&skill, "my own member protocol\n").unwrap();
    let out = env.ok(&["setup", "--coding-agent", "claude"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "claude: skills updated -> ~/c/skills (v{}; 1 file written, {} unchanged, 1 of your edits kept as a backup)",
            env!("CARGO_PKG_VERSION"),
            n_files() - 1
        )
    );
    let prefix = "  kept your edited copy: ~/c/skills/cafleet/roles/member.md.bak-";
    assert!(lines[1].starts_with(prefix), "{out}");
    let backup = home(&env).join(lines[1].trim_start_matches("  kept your edited copy: ~/"));
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap(),
        "my own member protocol\n"
    );
    assert_installed(&home(&env).join("c/skills"));
    // No temporary files are left behind.
    let leftovers: Vec<_> = snapshot(&home(&env).join("c"))
        .into_keys()
        .filter(|p| p.to_string_lossy().contains("cafleet-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A file the user added to a skill directory is left alone.
    let mine = home(&env).join("c/skills/cafleet/reference/my-notes.md");
    std::fs::write(&mine, "notes").unwrap();
    let out = env.ok(&["setup", "--coding-agent", "claude"]);
    assert!(out.starts_with("claude: skills up to date"), "{out}");
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "notes");
}

#[test]
fn a_failed_target_reports_the_fix_and_leaves_the_others_installed() {
    let (env, _) = env_with(&[("CLAUDE_CONFIG_DIR", "c"), ("CODEX_HOME", "x")]);
    // A regular file where claude's skills directory belongs.
    std::fs::create_dir_all(home(&env).join("c")).unwrap();
    std::fs::write(home(&env).join("c/skills"), "not a directory").unwrap();
    let out = env.run(&[
        "setup",
        "--coding-agent",
        "claude",
        "--coding-agent",
        "codex",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("Error: claude: cannot install the skills into ~/c/skills: "),
        "{err}"
    );
    assert!(
        err.contains("Nothing in that directory was changed; fix the cause"),
        "{err}"
    );
    let text = stdout(&out);
    assert!(text.starts_with("codex: skills installed"), "{text}");
    assert!(text.contains("Created "), "{text}");
    assert_installed(&home(&env).join("x/skills"));
    // JSON reports the same, still exiting 1.
    let out = env.run(&[
        "--json",
        "setup",
        "--coding-agent",
        "claude",
        "--coding-agent",
        "codex",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["targets"][0]["status"], "failed");
    assert_eq!(v["targets"][1]["status"], "unchanged");
}

#[test]
fn a_database_failure_is_reported_after_the_skills() {
    let (mut env, _) = env_with(&[("CODEX_HOME", "x")]);
    env.vars
        .push(("CAFLEET_DATABASE_URL".into(), "mysql://db/cafleet".into()));
    let out = env.run(&["setup", "--coding-agent", "codex"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("codex: skills installed"));
    assert!(
        stderr(&out)
            .starts_with("Error: database: CAFLEET_DATABASE_URL is not a SQLite or PostgreSQL URL"),
        "{}",
        stderr(&out)
    );
}

/// `setup` never touches the network: it succeeds inside a network namespace with no
/// interfaces at all (`unshare -rn`), and with every proxy variable pointing nowhere.
#[test]
fn works_offline() {
    let (env, _) = env_with(&[("CLAUDE_CONFIG_DIR", "c"), ("OPENCODE_CONFIG_DIR", "o")]);
    let bin = assert_cmd::cargo::cargo_bin("cafleet");
    let isolated = std::process::Command::new("unshare")
        .args(["-rn", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut cmd = if isolated {
        let mut c = std::process::Command::new("unshare");
        c.arg("-rn").arg(&bin);
        c
    } else {
        eprintln!("unshare -rn is not available: checking with dead proxies only");
        std::process::Command::new(&bin)
    };
    cmd.env_clear()
        .env("HOME", env.dir.path())
        .env(
            "PATH",
            format!("/usr/bin:/bin:{}", env.dir.path().join("bin").display()),
        )
        .env("CAFLEET_DATABASE_URL", env.db_url())
        .env("http_proxy", "http://127.0.0.1:9")
        .env("https_proxy", "http://127.0.0.1:9")
        .env("ALL_PROXY", "http://127.0.0.1:9")
        .current_dir(env.dir.path());
    for (k, v) in &env.vars {
        if k != "PATH" {
            cmd.env(k, v);
        }
    }
    let out = cmd
        .args([
            "setup",
            "--coding-agent",
            "claude",
            "--coding-agent",
            "opencode",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_installed(&home(&env).join("c/skills"));
    assert_installed(&home(&env).join("o/skills"));
    assert!(home(&env).join("o/agents/cafleet.md").is_file());
}

#[test]
fn completions_for_every_shell() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = env.ok(&["completions", shell]);
        assert!(out.len() > 1000, "{shell}: {} bytes", out.len());
        assert!(out.contains("cafleet"), "{shell}");
        for word in ["setup", "member", "send-input", "fleet-id"] {
            assert!(out.contains(word), "{shell} completions lack {word}");
        }
    }
    let err = env.fails(&["completions", "tcsh"], 2);
    assert!(
        err.contains("Invalid value for 'SHELL': 'tcsh' is not one of"),
        "{err}"
    );
    let err = env.fails(&["completions"], 2);
    assert!(err.contains("Missing argument 'SHELL'."), "{err}");
}

/// The note `setup` prints when claude is set up without the Director's allow rule.
fn allow_note(shown: &str) -> String {
    format!(
        "Note: claude: your own claude (the Director) asks before each cafleet command; to allow them, run 'cafleet setup --claude-allow' (adds \"Bash(cafleet:*)\" to {shown})\n"
    )
}

#[test]
fn claude_allow_creates_the_user_settings_file() {
    let (env, _) = env_with(&[("CLAUDE_CONFIG_DIR", "c")]);
    let settings = home(&env).join("c/settings.json");
    let out = env.run(&["setup", "--coding-agent", "claude", "--claude-allow"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let lines: Vec<String> = stdout(&out).lines().map(String::from).collect();
    assert_eq!(
        lines[1],
        "claude: permission Bash(cafleet:*) added -> ~/c/settings.json (file created)"
    );
    assert!(lines[2].starts_with("Created "), "{lines:?}");
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        "{\n  \"permissions\": {\n    \"allow\": [\n      \"Bash(cafleet:*)\"\n    ]\n  }\n}\n"
    );
    // The flag alone is enough, whichever agents are set up; the JSON says what happened.
    let json = env.json(&["setup", "--coding-agent", "codex", "--claude-allow"]);
    assert_eq!(
        json["claude_allow"],
        serde_json::json!({
            "requested": true,
            "rule": "Bash(cafleet:*)",
            "path": settings.display().to_string(),
            "status": "unchanged",
            "allowed_by": "Bash(cafleet:*)",
            "error": null,
        })
    );
    assert_eq!(json["ok"], true);
    // Not asked for and claude not set up: no field, no note.
    let out = env.run(&["--json", "setup", "--coding-agent", "codex"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["claude_allow"], serde_json::Value::Null);
    assert_eq!(stderr(&out), "");
}

#[test]
fn claude_allow_merges_into_the_users_settings_and_is_idempotent() {
    let (env, _) = env_with(&[]);
    let settings = home(&env).join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(
        &settings,
        r#"{
  "model": "opus",
  "permissions": {"allow": ["Edit", "Bash(cargo test:*)"], "deny": ["Bash(rm:*)"]},
  "env": {"FOO": "1"},
  "hooks": {}
}
"#,
    )
    .unwrap();
    let out = env.ok(&["setup", "--coding-agent", "claude", "--claude-allow"]);
    assert_eq!(
        out.lines().nth(1).unwrap(),
        "claude: permission Bash(cafleet:*) added -> ~/.claude/settings.json"
    );
    let text = std::fs::read_to_string(&settings).unwrap();
    assert_eq!(
        text,
        r#"{
  "model": "opus",
  "permissions": {
    "allow": [
      "Edit",
      "Bash(cargo test:*)",
      "Bash(cafleet:*)"
    ],
    "deny": [
      "Bash(rm:*)"
    ]
  },
  "env": {
    "FOO": "1"
  },
  "hooks": {}
}
"#
    );
    // A rerun changes nothing, says so, and leaves no temporary file behind.
    let before = snapshot(&home(&env).join(".claude"));
    std::thread::sleep(std::time::Duration::from_millis(50));
    let out = env.run(&["setup", "--coding-agent", "claude", "--claude-allow"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), "");
    assert_eq!(
        stdout(&out).lines().nth(1).unwrap(),
        "claude: permission Bash(cafleet:*) already allowed -> ~/.claude/settings.json"
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), text);
    assert_eq!(snapshot(&home(&env).join(".claude")), before);
    let names: Vec<String> = std::fs::read_dir(home(&env).join(".claude"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "skills")
        .collect();
    assert_eq!(names, ["settings.json"]);
}

#[test]
fn claude_allow_keeps_a_broader_rule_and_adds_nothing() {
    let (env, _) = env_with(&[("CLAUDE_CONFIG_DIR", "c")]);
    let settings = home(&env).join("c/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, r#"{"permissions":{"allow":["Bash"]}}"#).unwrap();
    let out = env.ok(&["setup", "--coding-agent", "claude", "--claude-allow"]);
    assert_eq!(
        out.lines().nth(1).unwrap(),
        "claude: permission Bash(cafleet:*) already allowed -> ~/c/settings.json (by \"Bash\")"
    );
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        r#"{"permissions":{"allow":["Bash"]}}"#
    );
}

#[test]
fn claude_allow_refuses_a_settings_file_that_is_not_json() {
    let (env, _) = env_with(&[("CLAUDE_CONFIG_DIR", "c")]);
    let settings = home(&env).join("c/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let broken = b"{\n  \"model\": \"opus\",\n  \"permissions\": {\n";
    std::fs::write(&settings, broken).unwrap();
    let out = env.run(&["setup", "--coding-agent", "claude", "--claude-allow"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "Error: claude: cannot add \"Bash(cafleet:*)\" to ~/c/settings.json: it is not valid JSON (EOF while parsing an object at line 4 column 0). The file was left unchanged; fix the JSON (or move the file away) and re-run 'cafleet setup --claude-allow'\n"
    );
    // The rest of setup still ran.
    let text = stdout(&out);
    assert!(text.starts_with("claude: skills installed"), "{text}");
    assert!(!text.contains("permission"), "{text}");
    assert!(text.contains("Created "), "{text}");
    assert_eq!(std::fs::read(&settings).unwrap(), broken);
    let names: Vec<_> = std::fs::read_dir(home(&env).join("c"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    // JSON: the same failure, exit 1.
    let out = env.run(&[
        "--json",
        "setup",
        "--coding-agent",
        "claude",
        "--claude-allow",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["claude_allow"]["status"], "failed");
    assert!(
        v["claude_allow"]["error"]
            .as_str()
            .unwrap()
            .contains("it is not valid JSON"),
        "{v}"
    );
    // A top level that is not an object is refused the same way.
    std::fs::write(&settings, "[]").unwrap();
    let err = env.fails(&["setup", "--coding-agent", "claude", "--claude-allow"], 1);
    assert!(
        err.contains("it is not valid JSON (its top level is not an object)"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), "[]");
}

#[test]
fn without_claude_allow_a_missing_rule_gets_a_note_on_stderr() {
    let (env, _) = env_with(&[]);
    let out = env.run(&["setup", "--coding-agent", "claude"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), allow_note("~/.claude/settings.json"));
    assert!(!stdout(&out).contains("permission"), "{}", stdout(&out));
    assert!(!home(&env).join(".claude/settings.json").exists());
    let out = env.run(&["--json", "setup", "--coding-agent", "claude"]);
    assert_eq!(stderr(&out), allow_note("~/.claude/settings.json"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["claude_allow"]["requested"], false);
    assert_eq!(v["claude_allow"]["status"], "missing");
    // Once the rule is there, setup is quiet again.
    env.ok(&["setup", "--coding-agent", "claude", "--claude-allow"]);
    let out = env.run(&["setup", "--coding-agent", "claude"]);
    assert_eq!(stderr(&out), "");
    assert!(!stdout(&out).contains("permission"), "{}", stdout(&out));
    // codex alone: nothing to say about claude.
    std::fs::remove_file(home(&env).join(".claude/settings.json")).unwrap();
    let out = env.run(&["setup", "--coding-agent", "codex"]);
    assert_eq!(stderr(&out), "");
}

/// `setup --hooks` merges CAFleet's activity hooks into the user's claude settings beside
/// the user's own, and `--remove-hooks` takes exactly them out again: the file is then
/// byte for byte what the user had.
#[test]
fn claude_hooks_merge_beside_the_users_and_are_removed_byte_for_byte() {
    let (env, _) = env_with(&[]);
    let settings = home(&env).join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let user = r#"{
  "permissions": {
    "allow": [
      "Bash(cargo test:*)"
    ]
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "~/bin/audit-bash"
          }
        ]
      }
    ],
    "SubagentStop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "notify-send sub"
          }
        ]
      }
    ]
  }
}
"#;
    std::fs::write(&settings, user).unwrap();
    let exe = Path::new(env!("CARGO_BIN_EXE_cafleet"));
    let command = format!("{} hook claude", exe.display());
    let out = env.run(&["setup", "--coding-agent", "claude", "--hooks"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let events = cafleet::backend::CLAUDE_HOOK_EVENTS.join(", ");
    assert!(
        text.contains(&format!(
            "claude: activity hooks added -> ~/.claude/settings.json ({events}: {command})\n"
        )),
        "{text}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    let before: serde_json::Value = serde_json::from_str(user).unwrap();
    // The user's entries first and unchanged, CAFleet's after them.
    assert_eq!(v["permissions"], before["permissions"]);
    assert_eq!(v["hooks"]["SubagentStop"], before["hooks"]["SubagentStop"]);
    assert_eq!(
        v["hooks"]["PreToolUse"][0],
        before["hooks"]["PreToolUse"][0]
    );
    assert_eq!(
        v["hooks"]["PreToolUse"][1],
        serde_json::json!({"hooks": [{"type": "command", "command": command}]})
    );
    for event in cafleet::backend::CLAUDE_HOOK_EVENTS {
        assert!(
            v["hooks"][event].to_string().contains(&command),
            "{event}: {v}"
        );
    }
    // Again: up to date, the file untouched.
    let bytes = std::fs::read(&settings).unwrap();
    let json = env.json(&["setup", "--coding-agent", "claude", "--hooks"]);
    assert_eq!(json["claude_hooks"]["status"], "unchanged");
    assert_eq!(std::fs::read(&settings).unwrap(), bytes);

    let out = env.ok(&["setup", "--coding-agent", "claude", "--remove-hooks"]);
    // In the file's order: the user's PreToolUse came first.
    let in_file: Vec<&str> = std::iter::once("PreToolUse")
        .chain(
            cafleet::backend::CLAUDE_HOOK_EVENTS
                .into_iter()
                .filter(|e| *e != "PreToolUse"),
        )
        .collect();
    assert!(
        out.contains(&format!(
            "claude: activity hooks removed -> ~/.claude/settings.json ({})\n",
            in_file.join(", ")
        )),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), user);
    let out = env.ok(&["setup", "--coding-agent", "claude", "--remove-hooks"]);
    assert!(
        out.contains(
            "claude: no CAFleet activity hooks in ~/.claude/settings.json; nothing removed"
        ),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), user);

    // Both at once is a usage error; a file Claude Code could not read is left alone.
    env.fails(&["setup", "--hooks", "--remove-hooks"], 2);
    std::fs::write(&settings, "{\"hooks\": []}").unwrap();
    let err = env.fails(&["setup", "--coding-agent", "claude", "--hooks"], 1);
    assert!(
        err.contains("Error: claude: cannot add CAFleet's activity hooks to ~/.claude/settings.json: it is not a settings file Claude Code can read (\"hooks\" is not an object). The file was left unchanged; fix the JSON (or move the file away) and re-run 'cafleet setup --hooks'"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        "{\"hooks\": []}"
    );
}
