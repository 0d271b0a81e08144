//! Members against a real private tmux server with stand-in coding agents: the spawn argv of
//! every backend and option, the spawn prompt, the monitoring member, the opencode preset,
//! the pane layout, placement rows, cwd and forwarded environment. Shared helpers for the
//! other `members_*` modules live here too.

use crate::support::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// Helpers shared by the members_* modules.
// ---------------------------------------------------------------------------------------

/// The default spawn prompt for member `id` of `fleet` running `backend`.
pub fn default_prompt(fleet: &str, id: &str, director: &str, backend: &str) -> String {
    format!(
        "Member of cafleet fleet {fleet} (agent={id}, director={director}).\nCODING AGENT: {backend}\nLoad skill 'cafleet'. Your cafleet commands run without a permission prompt when each runs on its own (no pipes, redirects, &&, ; or $(...)). Poll: cafleet message poll --fleet-id {fleet} --agent-id {id}"
    )
}

/// The `--settings` a claude member gets: CAFleet's activity hooks, run by the cafleet
/// binary that created it.
pub fn claude_hooks() -> String {
    cafleet::backend::claude_hook_settings(Path::new(env!("CARGO_BIN_EXE_cafleet"))).to_string()
}

/// The `notify` override a codex member gets: `cafleet hook codex` at each turn's end.
pub fn codex_notify() -> String {
    cafleet::backend::codex_hook_overrides(Path::new(env!("CARGO_BIN_EXE_cafleet")), false)
        .remove(0)
}

/// The new pane from `member create --json`.
pub fn pane_of(v: &Value) -> String {
    v["placement"]["tmux_pane_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no pane in {v}"))
        .to_string()
}

/// Spawns a member in fleet 1 and waits until its stand-in reads raw keystrokes.
/// Returns (agent id, pane id).
pub fn spawn(team: &Team, name: &str, extra: &[&str]) -> (String, String) {
    let v = team.create(name, extra);
    let pane = pane_of(&v);
    wait_ready(team, &pane);
    (v["agent_id"].to_string(), pane)
}

/// Waits until the stand-in in `pane` has switched to raw mode (it then prints its banner).
pub fn wait_ready(team: &Team, pane: &str) {
    team.argv(pane);
    wait_screen(team, pane, "stand-in ready");
}

/// The visible text of a pane.
pub fn screen(team: &Team, pane: &str) -> String {
    team.server.tmux(&["capture-pane", "-p", "-t", pane])
}

/// Waits until the pane shows `needle`; returns the screen.
pub fn wait_screen(team: &Team, pane: &str, needle: &str) -> String {
    let mut last = String::new();
    let ok = wait_for(Duration::from_secs(10), || {
        last = screen(team, pane);
        last.contains(needle)
    });
    assert!(ok, "pane {pane} never showed {needle:?}; screen:\n{last}");
    last
}

/// Every live pane of the test's tmux server.
pub fn live_panes(team: &Team) -> Vec<String> {
    team.server.panes()
}

/// Whether `pane` still exists.
pub fn pane_alive(team: &Team, pane: &str) -> bool {
    live_panes(team).iter().any(|p| p == pane)
}

/// Waits until `pane` has closed.
pub fn wait_pane_gone(team: &Team, pane: &str) {
    assert!(
        wait_for(Duration::from_secs(10), || !pane_alive(team, pane)),
        "pane {pane} is still open: {:?}",
        live_panes(team)
    );
}

/// Waits until the stand-in in `pane` has received at least `expected.len()` bytes, then
/// asserts that it received exactly `expected`.
pub fn assert_keys(team: &Team, pane: &str, expected: &[u8]) {
    team.argv(pane);
    wait_for(Duration::from_secs(10), || {
        team.keys(pane).len() >= expected.len()
    });
    let got = team.keys(pane);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected),
        "bytes received by the stand-in in {pane}"
    );
    assert_eq!(got, expected);
}

/// Everything the Director's recorder pane has received.
pub fn director_bytes(team: &Team) -> Vec<u8> {
    std::fs::read(&team.director_log).unwrap_or_default()
}

/// The rows a `member create` could write, for "nothing was written" checks.
pub fn rows(env: &Env) -> Vec<Vec<Vec<String>>> {
    [
        "SELECT * FROM agents ORDER BY 1",
        "SELECT * FROM agent_placements ORDER BY 1",
        "SELECT * FROM monitor_config ORDER BY 1",
        "SELECT * FROM tasks ORDER BY 1",
    ]
    .iter()
    .map(|q| env.query(q))
    .collect()
}

/// `cafleet <args>` run as if typed in `pane` (TMUX_PANE points at it).
pub fn run_in_pane(team: &Team, pane: &str, args: &[&str]) -> Output {
    team.env
        .cmd()
        .env("TMUX_PANE", pane)
        .args(args)
        .output()
        .expect("run cafleet")
}

/// Asserts the exit code of a finished command; returns its stderr.
pub fn expect_code(out: &Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit {code}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stderr.clone()).expect("utf-8 stderr")
}

/// The usage-error text (banner + message) of `cafleet member <cmd>`, as 0.14 prints it.
pub fn usage(cmd: &str, msg: &str) -> String {
    let line = match cmd {
        "create" => "cafleet member create [OPTIONS] [PROMPT_ARGV]...".to_string(),
        "exec" => "cafleet member exec [OPTIONS] COMMAND".to_string(),
        other => format!("cafleet member {other} [OPTIONS]"),
    };
    format!("Usage: {line}\nTry 'cafleet member {cmd} --help' for help.\n\nError: {msg}\n")
}

/// Checks a `member create` usage error: the Usage/Try banner and the exact message. The
/// usage line itself is checked by `member_create_usage_line_shows_optional_prompt_words`.
pub fn assert_create_usage(stderr: &str, msg: &str) {
    let (line, rest) = stderr.split_once('\n').unwrap_or((stderr, ""));
    assert!(
        line.starts_with("Usage: cafleet member create [OPTIONS]"),
        "{stderr}"
    );
    assert_eq!(
        rest,
        format!("Try 'cafleet member create --help' for help.\n\nError: {msg}\n")
    );
}

/// Writes an executable script.
pub fn install(path: &Path, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, script).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The real tmux executable (first on the test's PATH).
pub fn real_tmux() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("tmux"))
        .find(|p| p.is_file())
        .expect("tmux on PATH")
}

/// A PATH whose first entry is `dir`, followed by the team's PATH (stand-ins, tmux).
pub fn path_with(team: &Team, dir: &Path) -> String {
    let base = team
        .env
        .vars
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap();
    format!("{}:{base}", dir.display())
}

/// A window's panes as (pane id, left, top, width, height), in tmux's order.
pub fn layout(team: &Team, window: &str) -> Vec<(String, u32, u32, u32, u32)> {
    team.server
        .tmux(&[
            "list-panes",
            "-t",
            window,
            "-F",
            "#{pane_id} #{pane_left} #{pane_top} #{pane_width} #{pane_height}",
        ])
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let n = |i: usize| f[i].parse::<u32>().unwrap();
            (f[0].to_string(), n(1), n(2), n(3), n(4))
        })
        .collect()
}

/// A pane's tmux format value (e.g. `#{window_id}`).
pub fn pane_format(team: &Team, pane: &str, format: &str) -> String {
    team.server
        .tmux(&["display-message", "-p", "-t", pane, format])
}

fn canonical(p: &Path) -> String {
    p.canonicalize().unwrap().to_str().unwrap().to_string()
}

// ---------------------------------------------------------------------------------------
// member create: argv per backend and option.
// ---------------------------------------------------------------------------------------

#[test]
fn member_create_spawns_the_exact_claude_argv_in_the_directors_window() {
    let team = Team::new();
    let v = team.create("m1", &[]);
    let pane = v["placement"]["tmux_pane_id"].as_str().unwrap().to_string();
    let rec = team.argv(&pane);
    assert_eq!(
        rec["argv"],
        serde_json::json!([
            "claude",
            "--allowedTools",
            "Bash(cafleet:*)",
            "--permission-mode",
            "dontAsk",
            "--name",
            "m1",
            "--settings",
            claude_hooks(),
            default_prompt("1", "3", "1", "claude")
        ])
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
    let out = team.env.ok(&[
        "member",
        "create",
        "--fleet-id",
        "1",
        "--agent-id",
        "1",
        "--name",
        "m1",
        "--description",
        "first member",
    ]);
    let pane = team
        .env
        .query("SELECT tmux_pane_id FROM agent_placements WHERE agent_id = 3")[0][0]
        .clone();
    assert_eq!(out, format!("3 m1 backend=claude pane={pane}\n"));
    let window = pane_format(&team, &team.director_pane, "#{window_id}");
    let out = team.env.ok(&[
        "member",
        "create",
        "--fleet-id",
        "1",
        "--agent-id",
        "1",
        "--name",
        "m2",
        "--description",
        "second member",
        "--coding-agent",
        "codex",
        "--full",
    ]);
    let pane2 = team
        .env
        .query("SELECT tmux_pane_id FROM agent_placements WHERE agent_id = 4")[0][0]
        .clone();
    assert_eq!(
        out,
        format!(
            "Member registered and spawned.\n  agent_id:  4\n  name:      m2\n  backend:   codex\n  pane_id:   {pane2}\n  window_id: {window}\n"
        )
    );
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
        json!([
            "claude",
            "--allowedTools",
            "Bash(cafleet:*)",
            "--permission-mode",
            "dontAsk",
            "--name",
            "m1",
            "--settings",
            claude_hooks(),
            "--model",
            "opus",
            default_prompt("1", "3", "1", "claude")
        ])
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
        json!([
            "codex",
            "--no-daemon",
            "-c",
            "allow_login_shell=false",
            "--ask-for-approval",
            "never",
            "--sandbox",
            "workspace-write",
            "-c",
            codex_notify(),
            "--add-dir",
            team.env.db_path.parent().unwrap().to_str().unwrap(),
            "--model",
            "gpt-5",
            "Custom prompt for 3 in 1 by 1 using codex {literal}"
        ])
    );
}

#[test]
fn codex_argv_without_model_has_no_model_tokens() {
    let team = Team::new();
    let v = team.create("m1", &["--coding-agent", "codex"]);
    assert_eq!(
        team.argv(&pane_of(&v))["argv"],
        json!([
            "codex",
            "--no-daemon",
            "-c",
            "allow_login_shell=false",
            "--ask-for-approval",
            "never",
            "--sandbox",
            "workspace-write",
            "-c",
            codex_notify(),
            "--add-dir",
            team.env.db_path.parent().unwrap().to_str().unwrap(),
            default_prompt("1", "3", "1", "codex")
        ])
    );
}

#[test]
fn prompt_words_starting_with_a_dash_follow_double_dash() {
    let team = Team::new();
    let v = team.create("m1", &["--", "-v", "do", "{agent_id}"]);
    assert_eq!(
        team.argv(&pane_of(&v))["argv"],
        json!([
            "claude",
            "--allowedTools",
            "Bash(cafleet:*)",
            "--permission-mode",
            "dontAsk",
            "--name",
            "m1",
            "--settings",
            claude_hooks(),
            "-v do 3"
        ])
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
        let out = team.env.run(&[
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
            "--model",
            bad,
        ]);
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
    let err = team.env.fails(
        &[
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
            "--model",
            "",
        ],
        2,
    );
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
    let err = team.env.fails(
        &[
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
        ],
        1,
    );
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

// ---------------------------------------------------------------------------------------
// member create: --prompt-file.
// ---------------------------------------------------------------------------------------

#[test]
fn prompt_file_is_used_byte_for_byte_with_placeholders_and_crlf_kept() {
    let team = Team::new();
    let file = team.env.dir.path().join("prompt.txt");
    std::fs::write(
        &file,
        "File prompt {agent_id}/{fleet_id} by {director_agent_id} on {coding_agent}\r\nline2 {{literal}}\n\n  ",
    )
    .unwrap();
    let v = team.create("m1", &["--prompt-file", file.to_str().unwrap()]);
    assert_eq!(
        team.argv(&pane_of(&v))["argv"],
        json!([
            "claude",
            "--allowedTools",
            "Bash(cafleet:*)",
            "--permission-mode",
            "dontAsk",
            "--name",
            "m1",
            "--settings",
            claude_hooks(),
            "File prompt 3/1 by 1 on claude\r\nline2 {literal}\n\n  "
        ])
    );
}

#[test]
fn prompt_file_and_positional_words_are_mutually_exclusive() {
    let team = Team::new();
    let file = team.env.dir.path().join("prompt.txt");
    std::fs::write(&file, "hello").unwrap();
    let before = rows(&team.env);
    let panes = live_panes(&team);
    let err = team.env.fails(
        &[
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
            "--prompt-file",
            file.to_str().unwrap(),
            "also",
            "words",
        ],
        2,
    );
    assert_create_usage(
        &err,
        "--prompt-file and the positional prompt argument are mutually exclusive.",
    );
    assert_eq!(rows(&team.env), before);
    assert_eq!(live_panes(&team), panes);
}

#[test]
fn member_create_usage_line_shows_optional_prompt_words() {
    let team = Team::new();
    let err = team.env.fails(
        &[
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
            "--prompt-file",
            "/x",
            "word",
        ],
        2,
    );
    assert_eq!(
        err,
        usage(
            "create",
            "--prompt-file and the positional prompt argument are mutually exclusive."
        )
    );
}

// ---------------------------------------------------------------------------------------
// member create --role monitor.
// ---------------------------------------------------------------------------------------

fn create_in_fleet2(team: &Team, name: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "--json",
        "member",
        "create",
        "--fleet-id",
        "2",
        "--agent-id",
        "3",
        "--name",
        name,
        "--description",
        "watcher",
    ];
    args.extend_from_slice(extra);
    team.env.run(&args)
}

#[test]
fn monitor_role_inherits_the_directors_backend_and_is_not_itself_watched() {
    let team = Team::new();
    // Fleet 2 (Director 3, Administrator 4) runs codex; the monitor inherits it.
    team.env.ok(&[
        "fleet",
        "create",
        "--label",
        "codex",
        "--coding-agent",
        "codex",
    ]);
    let out = create_in_fleet2(&team, "mon", &["--role", "monitor"]);
    expect_code(&out, 0);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["agent_id"], 5);
    assert_eq!(v["placement"]["coding_agent"], "codex");
    assert_eq!(v["placement"]["director_agent_id"], 3);
    let pane = pane_of(&v);
    let argv = team.argv(&pane)["argv"].clone();
    assert_eq!(
        argv.as_array().unwrap()[..12],
        json!([
            "codex",
            "--no-daemon",
            "-c",
            "allow_login_shell=false",
            "--ask-for-approval",
            "never",
            "--sandbox",
            "workspace-write",
            "-c",
            codex_notify(),
            "--add-dir",
            team.env.db_path.parent().unwrap().to_str().unwrap()
        ])
        .as_array()
        .unwrap()[..]
    );
    // Without a prompt, a monitoring member gets its own default: the overlay line, its
    // role file and the start-up steps, all with the numbers written out.
    let prompt = argv[12].as_str().unwrap();
    assert!(
        prompt.starts_with(
            "Monitoring member of cafleet fleet 2 (agent=5, director=3).\nCODING AGENT: codex\nLoad skill 'cafleet' and read its roles/monitor.md"
        ),
        "{prompt}"
    );
    for line in [
        "cafleet message send --fleet-id 2 --agent-id 5 --to 3 --text \"ready: monitoring member\"",
        "cafleet monitor start --fleet-id 2",
        "cafleet monitor status --fleet-id 2",
        "cafleet message send --fleet-id 2 --agent-id 5 --to 3 --text \"ready: monitor live\"",
    ] {
        assert!(
            prompt.lines().any(|l| l == line),
            "{line:?} missing:\n{prompt}"
        );
    }
    assert_eq!(argv.as_array().unwrap().len(), 13);
    let card: Value = serde_json::from_str(
        &team
            .env
            .query("SELECT agent_card_json FROM agents WHERE agent_id = 5")[0][0],
    )
    .unwrap();
    assert_eq!(card["cafleet"]["kind"], "monitoring-member");
    assert_eq!(card["name"], "mon");
    assert!(
        team.env
            .query("SELECT * FROM monitor_config WHERE agent_id = 5")
            .is_empty(),
        "the monitoring member must not be enrolled in monitoring"
    );
    // An ordinary member of the same fleet is enrolled at 720 s and has a plain card.
    let out = create_in_fleet2(&team, "worker", &[]);
    expect_code(&out, 0);
    assert_eq!(
        team.env.query(
            "SELECT agent_id, interval_seconds FROM monitor_config WHERE agent_id IN (5, 6)"
        ),
        vec![vec!["6".to_string(), "720".into()]]
    );
    let card: Value = serde_json::from_str(
        &team
            .env
            .query("SELECT agent_card_json FROM agents WHERE agent_id = 6")[0][0],
    )
    .unwrap();
    assert!(card.get("cafleet").is_none(), "{card}");
    // Both show up in member list, the monitor included.
    let list = team.env.json(&["member", "list", "--fleet-id", "2"]);
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["agent_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [5, 6]);
}

#[test]
fn explicit_coding_agent_overrides_the_monitors_inherited_backend() {
    let team = Team::new();
    let v = team.create("mon", &["--role", "monitor", "--coding-agent", "opencode"]);
    assert_eq!(team.argv(&pane_of(&v))["argv"][0], "opencode");
    assert_eq!(v["placement"]["coding_agent"], "opencode");
}

#[test]
fn a_second_monitoring_member_is_refused_and_leaves_nothing_behind() {
    let team = Team::new();
    let v = team.create("mon", &["--role", "monitor"]);
    assert_eq!(v["placement"]["coding_agent"], "claude");
    let before = rows(&team.env);
    let panes = live_panes(&team);
    let err = team.env.fails(
        &[
            "member",
            "create",
            "--fleet-id",
            "1",
            "--agent-id",
            "1",
            "--name",
            "mon2",
            "--description",
            "d",
            "--role",
            "monitor",
        ],
        1,
    );
    assert_eq!(
        err,
        "Error: fleet 1 already has an active monitoring member (agent 3); only one is allowed.\n"
    );
    assert_eq!(rows(&team.env), before);
    assert_eq!(live_panes(&team), panes);
    // Once the monitor is deleted, a new one may be created.
    team.env.ok(&[
        "member",
        "delete",
        "--fleet-id",
        "1",
        "--member-id",
        "3",
        "--force",
    ]);
    let v = team.create("mon2", &["--role", "monitor"]);
    assert_eq!(v["name"], "mon2");
}

// ---------------------------------------------------------------------------------------
// Pane layout, cwd and environment.
// ---------------------------------------------------------------------------------------

#[test]
fn members_are_stacked_right_of_the_director_in_main_vertical_layout() {
    let team = Team::new();
    let window = pane_format(&team, &team.director_pane, "#{window_id}");
    let (_, p3) = spawn(&team, "m1", &[]);
    let (_, p4) = spawn(&team, "m2", &[]);
    let (_, p5) = spawn(&team, "m3", &[]);
    let panes = layout(&team, &window);
    assert_eq!(panes.len(), 4, "{panes:?}");
    // The Director is the main pane: first, at the left edge, full height.
    let (dpane, dleft, dtop, dwidth, dheight) = panes[0].clone();
    assert_eq!(dpane, team.director_pane);
    assert_eq!((dleft, dtop, dheight), (0, 0, 50));
    assert!(dwidth < 200, "{panes:?}");
    // Members share one column to its right, stacked top to bottom, newest on top.
    let members: Vec<_> = panes[1..].to_vec();
    assert_eq!(
        members.iter().map(|m| m.0.clone()).collect::<Vec<_>>(),
        [p5, p4, p3]
    );
    let mut expected_top = 0;
    for (pane, left, top, width, height) in &members {
        assert_eq!(
            *left,
            dwidth + 1,
            "{pane} not right of the Director: {panes:?}"
        );
        assert_eq!(*width, 200 - dwidth - 1, "{panes:?}");
        assert_eq!(*top, expected_top, "{panes:?}");
        expected_top = top + height + 1;
    }
    assert_eq!(expected_top, 51, "the column fills the height: {panes:?}");
    // Focus stays on the Director's pane.
    assert_eq!(
        pane_format(&team, &team.director_pane, "#{pane_active}"),
        "1"
    );
}

#[test]
fn members_follow_the_directors_pane_after_it_moved_to_another_window() {
    let team = Team::new();
    let (_, p3) = spawn(&team, "m1", &[]);
    let old = pane_format(&team, &p3, "#{window_id}");
    // The user moves the Director's pane into a window of its own.
    team.server
        .tmux(&["break-pane", "-d", "-s", &team.director_pane]);
    let window = pane_format(&team, &team.director_pane, "#{window_id}");
    assert_ne!(window, old);
    let v = team.create("m2", &[]);
    let pane = pane_of(&v);
    assert_eq!(pane_format(&team, &pane, "#{window_id}"), window);
    assert_eq!(v["placement"]["tmux_window_id"], window.as_str());
    assert_eq!(
        team.env
            .query("SELECT tmux_window_id FROM agent_placements WHERE agent_id = 4"),
        vec![vec![window.clone()]]
    );
    // Laid out with the Director as the main pane of its new window.
    let panes = layout(&team, &window);
    assert_eq!(panes.len(), 2, "{panes:?}");
    assert_eq!(panes[0].0, team.director_pane);
    assert_eq!((panes[0].1, panes[1].0.as_str()), (0, pane.as_str()));
}

#[test]
fn member_pane_starts_in_the_callers_cwd_with_the_database_url_forwarded() {
    let team = Team::new();
    let work = team.env.dir.path().join("project").join("sub dir");
    std::fs::create_dir_all(&work).unwrap();
    // The tmux server itself has no CAFLEET_DATABASE_URL: the pane can only get it from
    // member create.
    let shown = std::process::Command::new("tmux")
        .arg("-S")
        .arg(&team.server.socket)
        .args(["show-environment", "-g", "CAFLEET_DATABASE_URL"])
        .output()
        .unwrap();
    assert!(!shown.status.success(), "server env has the DB URL");
    let out = team
        .env
        .cmd()
        .current_dir(&work)
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
        ])
        .output()
        .unwrap();
    expect_code(&out, 0);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pane = pane_of(&v);
    let rec = team.argv(&pane);
    assert_eq!(rec["cwd"], canonical(&work));
    assert_eq!(rec["db"], team.env.db_url());
    assert_eq!(
        pane_format(&team, &pane, "#{pane_current_path}"),
        canonical(&work)
    );
    // The Director's pane is elsewhere: the cwd came from the caller, not the target pane.
    assert_ne!(
        pane_format(&team, &team.director_pane, "#{pane_current_path}"),
        canonical(&work)
    );
}

// ---------------------------------------------------------------------------------------
// A member create held between registration and split-window (a "pending" placement).
// ---------------------------------------------------------------------------------------

/// A `tmux` wrapper, first on PATH for one `member create`, that parks `split-window` until
/// the test opens the gate; every other tmux call goes straight to the real tmux.
pub struct SplitGate {
    dir: PathBuf,
    /// The PATH to run `member create` with.
    pub path: String,
}

impl SplitGate {
    pub fn new(team: &Team) -> SplitGate {
        let dir = team.env.dir.path().join("gate");
        std::fs::create_dir_all(&dir).unwrap();
        let script = format!(
            "#!/bin/sh\nfor a in \"$@\"; do\n  if [ \"$a\" = split-window ]; then\n    : > '{d}/waiting'\n    while [ ! -e '{d}/open' ]; do sleep 0.05; done\n  fi\ndone\nexec '{real}' \"$@\"\n",
            d = dir.display(),
            real = real_tmux().display()
        );
        install(&dir.join("tmux"), &script);
        let path = path_with(team, &dir);
        SplitGate { dir, path }
    }

    /// Waits until a `split-window` is parked at the gate.
    pub fn wait_parked(&self) {
        assert!(
            wait_for(Duration::from_secs(10), || self
                .dir
                .join("waiting")
                .exists()),
            "member create never reached split-window"
        );
    }

    /// Lets the parked `split-window` run.
    pub fn open(&self) {
        std::fs::write(self.dir.join("open"), b"").unwrap();
    }
}

/// `member create --json ... --name <name>` in fleet 1 with an explicit PATH.
pub fn create_with_path(team: &Team, path: &str, name: &str, extra: &[&str]) -> Output {
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
        "a member",
    ];
    args.extend_from_slice(extra);
    team.env
        .cmd()
        .env("PATH", path)
        .args(&args)
        .output()
        .expect("run cafleet")
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
