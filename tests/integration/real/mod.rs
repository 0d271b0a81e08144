//! The real coding-agent CLIs (Claude Code, Codex, opencode; pinned in tests/agents/) driven
//! by CAFleet in a private tmux server, offline, against the scripted model server of
//! [`model`]. Each test gets its own temp `HOME` with the CLI's configuration, so the
//! user's own `~/.claude`, `~/.codex` and `~/.config/opencode` are never read or written.
//! docs/real-agents.md explains the suite and how to run it alone.

pub mod model;

mod activity;
mod claude;
mod codex;
mod delivery;
mod opencode;

use crate::support::*;
use model::ModelServer;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// The three CLIs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cli {
    Claude,
    Codex,
    Opencode,
}

impl Cli {
    pub fn name(self) -> &'static str {
        match self {
            Cli::Claude => "claude",
            Cli::Codex => "codex",
            Cli::Opencode => "opencode",
        }
    }
}

/// Where the test command installs the pinned CLIs (tests/agents/install.sh).
pub fn agents_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agents/node_modules/.bin")
}

/// The CLI's binary; a missing one fails the test with the command that installs it
/// (nothing is skipped silently).
pub fn require(cli: Cli) -> PathBuf {
    let bin = agents_bin().join(cli.name());
    assert!(
        bin.exists(),
        "the real {} CLI is not installed at {}: run `tests/agents/install.sh` (the README's test command does), which installs the versions pinned in tests/agents/package-lock.json",
        cli.name(),
        bin.display()
    );
    bin
}

/// A fleet in a private tmux server whose Director pane is a byte recorder (a stand-in: the
/// Director needs no real agent here), with the real CLI on `PATH`, its offline
/// configuration in a temp `HOME`, and a scripted model server.
pub struct RealTeam {
    // Dropped first: the tmux server (and every agent in it) goes before its temp dir.
    pub server: TmuxServer,
    pub env: Env,
    pub model: ModelServer,
    pub cli: Cli,
    /// The project directory the agents work in (`HOME/work`).
    pub work: PathBuf,
}

impl RealTeam {
    /// Sets everything up; `before_fleet` may change HOME (e.g. run `cafleet setup`) before
    /// the tmux server starts.
    pub fn new(cli: Cli) -> RealTeam {
        require(cli);
        // Outside /tmp, as a user's home and database are: codex's sandbox lets a member
        // write its workspace and temp dirs only, so a database under /tmp would hide
        // whether the member can write the real one.
        let mut env = Env::new_in(Path::new(env!("CARGO_TARGET_TMPDIR")));
        let home = env.dir.path().to_path_buf();
        let work = home.join("work");
        std::fs::create_dir_all(&work).unwrap();
        let model = ModelServer::start();
        write_config(cli, &home, &work, &model.url());
        let cafleet_dir = Path::new(env!("CARGO_BIN_EXE_cafleet")).parent().unwrap();
        let path = format!(
            "{}:{}:/usr/local/bin:/usr/bin:/bin",
            cafleet_dir.display(),
            agents_bin().display()
        );
        let vars = agent_env(&home, &path, &model.url());
        env.vars.extend(vars.iter().cloned());
        let server = start_tmux(&home, &vars);
        let (director_pane, _) = server.recorder_pane("director");
        server.enter(&mut env, &director_pane);
        env.ok(&["fleet", "create", "--label", "real"]);
        RealTeam {
            server,
            env,
            model,
            cli,
            work,
        }
    }

    /// `cafleet <args>` run in the work directory as if typed in the Director's pane.
    pub fn run(&self, args: &[&str]) -> Output {
        self.env
            .cmd()
            .current_dir(&self.work)
            .args(args)
            .output()
            .expect("run cafleet")
    }

    /// Like [`RealTeam::run`], asserting success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "cafleet {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `cafleet member <sub> --fleet-id 1 --member-id <id> <extra…>` from the Director's
    /// pane, asserting success; returns stdout.
    pub fn member(&self, sub: &str, id: &str, extra: &[&str]) -> String {
        let mut args = vec!["member", sub, "--fleet-id", "1", "--member-id", id];
        args.extend_from_slice(extra);
        self.ok(&args)
    }

    /// `message send` from the Director to `to`; returns (task id, notification_sent).
    pub fn send(&self, to: &str, text: &str) -> (i64, bool) {
        let out = self.ok(&[
            "--json",
            "message",
            "send",
            "--fleet-id",
            "1",
            "--agent-id",
            "1",
            "--to",
            to,
            "--text",
            text,
        ]);
        let v: Value = serde_json::from_str(&out).expect("message send --json");
        (
            v["task"]["id"].as_i64().expect("a task id"),
            v["notification_sent"].as_bool().expect("notification_sent"),
        )
    }

    /// `member create` of the real CLI from the Director's pane; returns (agent id, pane).
    pub fn spawn(&self, name: &str) -> (String, String) {
        let out = self.ok(&[
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
            self.cli.name(),
        ]);
        let v: Value = serde_json::from_str(&out).expect("member create --json");
        let pane = v["placement"]["tmux_pane_id"].as_str().unwrap().to_string();
        (v["agent_id"].to_string(), pane)
    }

    /// Types `text` and Enter into a pane as a person at the keyboard would (no preview,
    /// no Escape); the pause lets the CLI take the text as typing rather than a paste.
    pub fn type_line(&self, pane: &str, text: &str) {
        self.server
            .tmux(&["send-keys", "-t", pane, "-l", "--", text]);
        std::thread::sleep(Duration::from_millis(300));
        self.server.tmux(&["send-keys", "-t", pane, "Enter"]);
    }

    /// The visible text of a pane.
    pub fn screen(&self, pane: &str) -> String {
        self.server
            .tmux(&["capture-pane", "-p", "-t", pane])
            .clone()
    }

    /// Waits until the pane shows `needle`; returns the screen.
    pub fn wait_screen(&self, pane: &str, needle: &str, secs: u64) -> String {
        let mut last = String::new();
        let ok = wait_for(Duration::from_secs(secs), || {
            last = self.screen(pane);
            last.contains(needle)
        });
        assert!(
            ok,
            "pane {pane} never showed {needle:?}; screen:\n{last}\nmodel log:\n{}",
            self.model.dump()
        );
        last
    }

    /// Waits until the model server has seen `needle` in a request.
    pub fn wait_model(&self, needle: &str, secs: u64) {
        let ok = wait_for(Duration::from_secs(secs), || self.model.saw(needle));
        assert!(
            ok,
            "the model never saw {needle:?}; model log:\n{}",
            self.model.dump()
        );
    }

    /// How many tool results containing `needle` the newest turn carries (a turn carries
    /// the whole conversation, so this only grows while one member talks to the server).
    pub fn results_containing(&self, needle: &str) -> usize {
        self.model.turns().last().map_or(0, |c| {
            c.items
                .iter()
                .filter(|i| matches!(i, model::Item::Result(r) if r.contains(needle)))
                .count()
        })
    }

    /// Waits until the newest turn carries more than `before` tool results containing
    /// `needle`; `what` names the step for the failure message.
    pub fn wait_result(&self, needle: &str, before: usize, what: &str) {
        let ok = wait_for(Duration::from_secs(30), || {
            self.results_containing(needle) > before
        });
        assert!(
            ok,
            "{what}: no tool result with {needle:?}:\n{}",
            self.model.dump()
        );
    }

    /// Polls the Director's inbox until a message containing `needle` arrives; returns
    /// the poll output.
    pub fn director_receives(&self, needle: &str, secs: u64) -> String {
        let mut last = String::new();
        let ok = wait_for(Duration::from_secs(secs), || {
            last = self.ok(&["message", "poll", "--fleet-id", "1", "--agent-id", "1"]);
            last.contains(needle)
        });
        assert!(
            ok,
            "the Director never received {needle:?}; last poll:\n{last}\nmodel log:\n{}",
            self.model.dump()
        );
        last
    }

    /// Whether `pane` is still open.
    pub fn pane_alive(&self, pane: &str) -> bool {
        self.server.panes().iter().any(|p| p == pane)
    }
}

/// The environment every process of the test sees (cafleet commands, the tmux server and
/// so every pane): a temp HOME, the pinned CLIs and cafleet on PATH, offline settings.
fn agent_env(home: &Path, path: &str, url: &str) -> Vec<(String, String)> {
    [
        ("HOME", home.to_str().unwrap()),
        ("PATH", path),
        ("TERM", "xterm-256color"),
        ("LANG", "C.UTF-8"),
        // Claude Code: the scripted server, a dummy token, nothing else on the network.
        ("ANTHROPIC_BASE_URL", url),
        ("ANTHROPIC_AUTH_TOKEN", "dummy"),
        ("DISABLE_AUTOUPDATER", "1"),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
        ("DISABLE_TELEMETRY", "1"),
        // Codex: the provider's key variable (config.toml names it).
        ("OPENAI_API_KEY", "dummy"),
        // opencode: no update check, no models.dev fetch.
        ("OPENCODE_DISABLE_AUTOUPDATE", "1"),
        ("OPENCODE_DISABLE_MODELS_FETCH", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A private tmux server started with exactly `vars` as its environment.
fn start_tmux(dir: &Path, vars: &[(String, String)]) -> TmuxServer {
    let socket = dir.join("tmux.sock");
    let out = std::process::Command::new("tmux")
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .arg("-S")
        .arg(&socket)
        .args([
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "220",
            "-y",
            "60",
            "sleep",
            "100000",
        ])
        .output()
        .expect("tmux");
    assert!(
        out.status.success(),
        "tmux: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    TmuxServer {
        socket,
        dir: dir.to_path_buf(),
    }
}

/// Each CLI's offline configuration in the temp HOME (docs/real-agents.md).
fn write_config(cli: Cli, home: &Path, work: &Path, url: &str) {
    match cli {
        Cli::Claude => {
            let cfg = json!({
                "hasCompletedOnboarding": true,
                "projects": {work.to_str().unwrap(): {"hasTrustDialogAccepted": true}}
            });
            std::fs::write(home.join(".claude.json"), cfg.to_string()).unwrap();
        }
        Cli::Codex => {
            let dir = home.join(".codex");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join("config.toml"),
                format!(
                    "model = \"fake-model\"\nmodel_provider = \"fake\"\n\n[model_providers.fake]\nname = \"fake\"\nbase_url = \"{url}/v1\"\nenv_key = \"OPENAI_API_KEY\"\nwire_api = \"responses\"\n\n# Trusted as a user would have trusted them: the work dir, and the Git repository\n# around it (codex asks about the repository's root).\n[projects.\"{}\"]\ntrust_level = \"trusted\"\n\n[projects.\"{}\"]\ntrust_level = \"trusted\"\n",
                    work.display(),
                    env!("CARGO_MANIFEST_DIR")
                ),
            )
            .unwrap();
        }
        Cli::Opencode => {
            let dir = home.join(".config/opencode");
            std::fs::create_dir_all(&dir).unwrap();
            let cfg = json!({
                "$schema": "https://opencode.ai/config.json",
                "model": "fake/fake-model",
                "provider": {"fake": {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "fake",
                    "options": {"baseURL": format!("{url}/v1"), "apiKey": "dummy"},
                    "models": {"fake-model": {"name": "fake-model", "tool_call": true}}
                }}
            });
            std::fs::write(dir.join("opencode.json"), cfg.to_string()).unwrap();
            // At start opencode installs `@opencode-ai/plugin` into each config dir from
            // the npm registry (in the background) unless `node_modules` exists and the
            // lock file already lists it. The TUI and the bundled providers do not need
            // it, so this keeps every start offline (no ~/.npm is written).
            std::fs::create_dir_all(dir.join("node_modules")).unwrap();
            let deps = json!({"@opencode-ai/plugin": "*"});
            std::fs::write(
                dir.join("package.json"),
                json!({"dependencies": deps}).to_string(),
            )
            .unwrap();
            std::fs::write(
                dir.join("package-lock.json"),
                json!({"lockfileVersion": 3, "packages": {"": {"dependencies": deps}}}).to_string(),
            )
            .unwrap();
        }
    }
}
