//! `member create`: the spawn argv of every backend (claude, codex, opencode) and option,
//! the spawn prompt and the opencode preset.

use super::*;

#[test]
fn member_create_spawns_the_exact_claude_argv_in_the_directors_window() {
    let team = Team::new();
    let v = team.create("m1", &[]);
    let pane = v["placement"]["tmux_pane_id"].as_str().unwrap().to_string();
    let rec = team.argv(&pane);
    assert_eq!(
        rec["argv"],
        argv(
            claude_head("m1"),
            &[json!(default_prompt("1", "3", "1", "claude"))]
        )
    );
    assert_eq!(rec["db"], team.env.db_url());
    assert_eq!(
        rec["cwd"],
        team.env
            .dir
            .path()
            .canonicalize()
            .unwrap()
            .to_str()
            .unwrap()
    );
    let window = team
        .server
        .tmux(&["display-message", "-p", "-t", &pane, "#{window_id}"]);
    let dwindow = team.server.tmux(&[
        "display-message",
        "-p",
        "-t",
        &team.director_pane,
        "#{window_id}",
    ]);
    assert_eq!(window, dwindow);
    assert_eq!(
        team.env.query("SELECT agent_id, director_agent_id, tmux_pane_id, coding_agent FROM agent_placements WHERE agent_id = 3"),
        vec![vec!["3".to_string(), "1".into(), pane.clone(), "claude".into()]]
    );
    assert_eq!(
        team.env
            .query("SELECT interval_seconds FROM monitor_config WHERE agent_id = 3")[0][0],
        "720"
    );
}

#[test]
fn member_create_text_output_is_id_name_backend_and_pane() {
    let team = Team::new();
    let out = team.member("m1", "first member").ok();
    let pane = team
        .env
        .query("SELECT tmux_pane_id FROM agent_placements WHERE agent_id = 3")[0][0]
        .clone();
    assert_eq!(out, format!("3 m1 backend=claude pane={pane}\n"));
    let window = pane_format(&team, &team.director_pane, "#{window_id}");
    let out = team
        .member("m2", "second member")
        .opt("--coding-agent", "codex")
        .arg("--full")
        .ok();
    let pane2 = team
        .env
        .query("SELECT tmux_pane_id FROM agent_placements WHERE agent_id = 4")[0][0]
        .clone();
    let redact = |t: &str| {
        t.replace(&format!("pane_id:   {pane2}\n"), "pane_id:   <PANE>\n")
            .replace(&format!("window_id: {window}\n"), "window_id: <WINDOW>\n")
    };
    assert_output_snapshot!("member_create_full_text", redact(&out));
}

#[test]
fn member_create_json_carries_the_placement_row() {
    let team = Team::new();
    let v = team.create("m1", &["--coding-agent", "codex"]);
    let pane = pane_of(&v);
    let window = pane_format(&team, &team.director_pane, "#{window_id}");
    let row = team.env.query(
        "SELECT a.registered_at, p.created_at FROM agents a JOIN agent_placements p USING (agent_id) WHERE agent_id = 3",
    );
    assert_eq!(
        v,
        json!({
            "agent_id": 3,
            "name": "m1",
            "registered_at": row[0][0],
            "placement": {
                "director_agent_id": 1,
                "tmux_session": "t",
                "tmux_window_id": window,
                "tmux_pane_id": pane,
                "coding_agent": "codex",
                "created_at": row[0][1],
                // The host the pane lives on (docs/postgres.md, "Hosts and the relay").
                "host": cafleet::host::machine_name(),
            }
        })
    );
    assert_eq!(
        team.env.query(
            "SELECT director_agent_id, tmux_session, tmux_window_id, tmux_pane_id, coding_agent, tmux_socket FROM agent_placements WHERE agent_id = 3"
        ),
        vec![vec![
            "1".to_string(),
            "t".into(),
            window,
            pane,
            "codex".into(),
            // The placement records the server the pane lives on (docs/decisions.md, K3).
            canonical(&team.server.socket),
        ]]
    );
}

#[test]
fn claude_model_goes_just_before_the_prompt() {
    let team = Team::new();
    let v = team.create("m1", &["--model", "opus"]);
    assert_eq!(
        team.argv(&pane_of(&v))["argv"],
        argv(
            claude_head("m1"),
            &[
                json!("--model"),
                json!("opus"),
                json!(default_prompt("1", "3", "1", "claude"))
            ]
        )
    );
}

#[test]
fn codex_argv_with_model_and_positional_prompt_words_with_placeholders() {
    let team = Team::new();
    let v = team.create(
        "m1",
        &[
            "--coding-agent",
            "codex",
            "--model",
            "gpt-5",
            "Custom",
            "prompt",
            "for",
            "{agent_id}",
            "in",
            "{fleet_id}",
            "by",
            "{director_agent_id}",
            "using",
            "{coding_agent}",
            "{{literal}}",
        ],
    );
    assert_eq!(
        team.argv(&pane_of(&v))["argv"],
        argv(
            codex_head(&team),
            &[
                json!("--model"),
                json!("gpt-5"),
                json!("Custom prompt for 3 in 1 by 1 using codex {literal}")
            ]
        )
    );
}

#[test]
fn codex_argv_without_model_has_no_model_tokens() {
    let team = Team::new();
    let v = team.create("m1", &["--coding-agent", "codex"]);
    assert_eq!(
        team.argv(&pane_of(&v))["argv"],
        argv(
            codex_head(&team),
            &[json!(default_prompt("1", "3", "1", "codex"))]
        )
    );
}

#[test]
fn prompt_words_starting_with_a_dash_follow_double_dash() {
    let team = Team::new();
    let v = team.create("m1", &["--", "-v", "do", "{agent_id}"]);
    assert_eq!(
        team.argv(&pane_of(&v))["argv"],
        argv(claude_head("m1"), &[json!("-v do 3")])
    );
}

#[test]
fn opencode_argv_uses_the_cafleet_agent_and_a_prompt_flag_and_writes_the_preset() {
    let team = Team::new();
    let preset = team
        .env
        .dir
        .path()
        .join(".config/opencode/agents/cafleet.md");
    assert!(!preset.exists());
    let v = team.create(
        "m1",
        &["--coding-agent", "opencode", "--model", "openai/gpt-4o"],
    );
    assert_eq!(
        team.argv(&pane_of(&v))["argv"],
        json!([
            "opencode",
            "--agent",
            "cafleet",
            "--model",
            "openai/gpt-4o",
            "--prompt",
            default_prompt("1", "3", "1", "opencode")
        ])
    );
    assert_eq!(v["placement"]["coding_agent"], "opencode");
    // The preset: `---`, a 2-space JSON object, `---`, a blank line, the markdown body.
    let text = std::fs::read_to_string(&preset).expect("preset written under $HOME/.config");
    let (front, body) = text
        .strip_prefix("---\n")
        .and_then(|t| t.split_once("\n---\n\n"))
        .unwrap_or_else(|| panic!("bad preset layout:\n{text}"));
    assert!(front.starts_with("{\n  \"description\": "), "{front}");
    let meta: Value = serde_json::from_str(front).expect("JSON frontmatter");
    assert_eq!(
        meta["description"],
        "CAFleet-spawned member with workspace-scoped permission floor; matches Claude Code dontAsk safety posture."
    );
    assert_eq!(meta["mode"], "primary");
    let perm = meta["permission"].as_object().unwrap();
    assert_eq!(
        perm.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "bash",
            "read",
            "edit",
            "external_directory",
            "webfetch",
            "websearch",
            "repo_clone",
            "question",
            "plan_enter",
            "plan_exit"
        ]
    );
    assert_eq!(perm["bash"]["*"], "allow");
    for denied in [
        "bash -c*",
        "python3 -c*",
        "rm -rf*",
        "git push*",
        "curl*",
        "ssh*",
    ] {
        assert_eq!(perm["bash"][denied], "deny", "{denied}");
    }
    assert_eq!(perm["bash"].as_object().unwrap().len(), 25);
    for files in ["read", "edit"] {
        assert_eq!(
            perm[files],
            json!({"*": "allow", "**/.env": "deny", "**/.env.*": "deny"})
        );
    }
    assert_eq!(perm["external_directory"], "deny");
    assert_eq!(perm["plan_exit"], "deny");
    assert!(body.starts_with("# CAFleet member agent\n"), "{body}");
    assert!(body.ends_with('\n'));
}

#[test]
fn opencode_model_with_several_slashes_is_provider_then_model() {
    let team = Team::new();
    let v = team.create("m1", &["--coding-agent", "opencode", "--model", "a/b/c"]);
    assert_eq!(team.argv(&pane_of(&v))["argv"][4], "a/b/c");
}

#[test]
fn opencode_model_without_provider_and_id_is_a_usage_error_before_anything_happens() {
    let team = Team::new();
    let before = rows(&team.env);
    let panes = live_panes(&team);
    for bad in ["gpt4", "/x", "x/", ""] {
        let out = team
            .member("m1", "d")
            .opt("--coding-agent", "opencode")
            .opt("--model", bad)
            .run();
        assert_create_usage(
            &expect_code(&out, 2),
            &format!(
                "--model for the opencode backend must be '<provider-id>/<model-id>' (got '{bad}')."
            ),
        );
        assert!(out.stdout.is_empty());
    }
    assert_eq!(rows(&team.env), before);
    assert_eq!(live_panes(&team), panes);
    // Model validation precedes the preset: nothing was written to $HOME either.
    assert!(!team.env.dir.path().join(".config/opencode").exists());
}

#[test]
fn empty_model_for_claude_is_refused_instead_of_passed_as_an_empty_argument() {
    let team = Team::new();
    let before = rows(&team.env);
    let err = team.member("m1", "d").opt("--model", "").fails(2);
    assert_create_usage(
        &err,
        "--model for the claude backend may not be empty (got ''). Omit --model to use the backend's default.",
    );
    assert_eq!(rows(&team.env), before);
}

#[test]
fn opencode_preset_goes_to_opencode_config_dir_when_set() {
    let team = Team::new();
    let config = team.env.dir.path().join("oc-config");
    let out = team
        .env
        .cmd()
        .env("OPENCODE_CONFIG_DIR", &config)
        .args([
            "--json",
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
            "--coding-agent",
            "opencode",
        ])
        .output()
        .unwrap();
    expect_code(&out, 0);
    let preset = config.join("agents/cafleet.md");
    let text = std::fs::read_to_string(&preset).expect("preset under $OPENCODE_CONFIG_DIR");
    assert!(text.starts_with("---\n{\n  \"description\""));
    assert!(!team.env.dir.path().join(".config/opencode").exists());
}

#[test]
fn a_user_edited_opencode_preset_is_left_untouched() {
    let team = Team::new();
    let preset = team
        .env
        .dir
        .path()
        .join(".config/opencode/agents/cafleet.md");
    std::fs::create_dir_all(preset.parent().unwrap()).unwrap();
    std::fs::write(&preset, "custom\n").unwrap();
    let v = team.create("m1", &["--coding-agent", "opencode"]);
    assert_eq!(team.argv(&pane_of(&v))["argv"][0], "opencode");
    assert_eq!(std::fs::read_to_string(&preset).unwrap(), "custom\n");
}

#[test]
fn an_opencode_preset_path_that_is_a_directory_is_refused_with_nothing_written() {
    let team = Team::new();
    let preset = team
        .env
        .dir
        .path()
        .join(".config/opencode/agents/cafleet.md");
    std::fs::create_dir_all(&preset).unwrap();
    let before = rows(&team.env);
    let panes = live_panes(&team);
    let err = team
        .member("m1", "d")
        .opt("--coding-agent", "opencode")
        .fails(1);
    assert_eq!(
        err,
        format!(
            "Error: cannot materialize CAFleet opencode agent preset: {} exists but is not a regular file or symlink to one (e.g. directory, broken symlink, symlink to a non-file); refusing to overwrite\n",
            preset.display()
        )
    );
    assert_eq!(rows(&team.env), before);
    assert_eq!(live_panes(&team), panes);
}

#[test]
fn claude_member_without_edit_rules_gets_a_note_naming_them_and_the_file() {
    let team = Team::new();
    let project = team.env.dir.path().join("proj");
    std::fs::create_dir_all(project.join(".claude")).unwrap();
    let create = |name: &str, backend: &str| {
        let out = team
            .env
            .cmd()
            .current_dir(&project)
            .args([
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
                "d",
                "--coding-agent",
                backend,
            ])
            .output()
            .unwrap();
        let err = expect_code(&out, 0);
        // stdout stays the JSON record.
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["name"], name);
        err
    };
    let note = |add: &str, name: &str| {
        format!(
            "Note: claude member {name} runs in dontAsk mode, so it can run cafleet commands but cannot edit files; add {add} to permissions.allow in ~/proj/.claude/settings.json\n"
        )
    };
    assert_eq!(
        create("m1", "claude"),
        note(
            "\"Edit\", \"Write\" and your build/test commands (e.g. \"Bash(cargo test:*)\")",
            "m1"
        )
    );
    // Other backends have no such rules.
    assert_eq!(create("m2", "codex"), "");
    // Rules from the project's local file count; only what is still missing is named.
    std::fs::write(
        project.join(".claude/settings.local.json"),
        r#"{"permissions": {"allow": ["Write", "Bash(make:*)"]}}"#,
    )
    .unwrap();
    assert_eq!(create("m3", "claude"), note("\"Edit\"", "m3"));
    std::fs::write(
        project.join(".claude/settings.json"),
        r#"{"permissions": {"allow": ["Edit"]}}"#,
    )
    .unwrap();
    assert_eq!(create("m4", "claude"), "");
}
