//! Members against a real private tmux server with stand-in coding agents: the spawn argv of
//! every backend and option, the spawn prompt, the monitoring member, the opencode preset,
//! the pane layout, placement rows, cwd and forwarded environment. The other member commands
//! (delete, rollback, steer) have their own modules here.
//!
//! This file holds the helpers shared by every module of the folder; each module covers one
//! subject of `member create` or of the other member commands.

mod create;
mod delete;
mod layout;
mod monitor_role;
mod prompt_file;
mod rollback;
mod steer;

use crate::support::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

// Helpers shared by the modules of this folder.

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

/// The argv a claude member named `name` starts with, up to its model and prompt.
pub fn claude_head(name: &str) -> Vec<Value> {
    serde_json::json!([
        "claude",
        "--allowedTools",
        "Bash(cafleet:*)",
        "--permission-mode",
        "dontAsk",
        "--name",
        name,
        "--settings",
        claude_hooks(),
    ])
    .as_array()
    .expect("an array")
    .clone()
}

/// The argv a codex member of `team` starts with, up to its model and prompt.
pub fn codex_head(team: &Team) -> Vec<Value> {
    serde_json::json!([
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
    ])
    .as_array()
    .expect("an array")
    .clone()
}

/// `head` followed by `tail`, as one JSON argv.
pub fn argv(head: Vec<Value>, tail: &[Value]) -> Value {
    Value::Array([head, tail.to_vec()].concat())
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
