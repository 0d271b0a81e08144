//! `cafleet setup` (install the embedded skills, refresh the opencode preset, migrate the
//! database) and `cafleet completions <shell>`.
//!
//! Both parts of `setup` always run. Each target prints one line on stdout; each failure
//! prints `Error: ...` with its fix on stderr, and any failure makes the exit code 1.
//! With `--claude-allow` it also adds the Director's allow rule to claude's user settings
//! (the user's consent is the flag); without it, a claude target missing that rule gets a
//! one-line `Note:` on stderr naming the flag. `--hooks` / `--remove-hooks` add or remove
//! CAFleet's activity hooks in the same file (docs/delivery.md, "Activity").

mod claude;
mod lines;

use crate::backend::CLAUDE_ALLOW_RULE;
use crate::backend::claude_settings::{self, AddOutcome, SettingsError};
use crate::cli::output::{print, print_json, print_raw};
use crate::cli::{CliResult, Ctx};
use crate::model::CodingAgent;
use crate::skills::{self, FileOutcome, Found, InstallReport};
use clap::{ArgAction, Args};
use claude::{claude_allow_add, claude_allow_probe, claude_hooks};
use lines::{preset_line, skills_line, target_json};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Options of `setup`.
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Install for this coding agent (repeatable) [default: every one found: its
    /// configuration directory exists or its binary is on PATH].
    #[arg(
        long = "coding-agent",
        alias = "agent",
        value_enum,
        value_name = "CODING_AGENT",
        action = ArgAction::Append
    )]
    pub coding_agent: Vec<CodingAgent>,
    /// Let your own claude (the Director) run `cafleet ...` commands without asking: adds
    /// "Bash(cafleet:*)" to permissions.allow in ~/.claude/settings.json (or
    /// $CLAUDE_CONFIG_DIR/settings.json), creating the file if needed and keeping everything
    /// else in it. A file that is not valid JSON is left untouched.
    #[arg(long = "claude-allow")]
    pub claude_allow: bool,
    /// Let your own claude (the Director) report its activity (working, idle, waiting) to
    /// CAFleet: adds a hook running `<this cafleet> hook claude` for each of Claude Code's
    /// session, prompt, tool, notification and stop events to ~/.claude/settings.json (or
    /// $CLAUDE_CONFIG_DIR/settings.json), beside your own hooks, which are kept as they are.
    /// The hook does nothing in a pane that is no CAFleet agent's. Members get these hooks
    /// from `member create` without this.
    #[arg(long = "hooks", conflicts_with = "remove_hooks")]
    pub hooks: bool,
    /// Take CAFleet's hooks (those `--hooks` added) out of claude's user settings again,
    /// leaving every other hook as it is.
    #[arg(long = "remove-hooks")]
    pub remove_hooks: bool,
}

/// Options of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Option<clap_complete::Shell>,
}

/// `cafleet completions <shell>`: the script on stdout.
pub fn completions(a: CompletionsArgs) -> CliResult {
    let shell = a
        .shell
        .ok_or_else(|| crate::Error::Usage("Missing argument 'SHELL'.".into()))?;
    let mut cmd = super::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "cafleet", &mut out);
    print_raw(&String::from_utf8_lossy(&out));
    Ok(())
}

/// The skills part's result for one coding agent.
struct Target {
    backend: CodingAgent,
    found: Found,
    skills: Result<(String, InstallReport), String>,
    preset: Option<Result<(String, FileOutcome), String>>,
}

/// `cafleet setup`.
pub async fn run(ctx: &Ctx, a: SetupArgs) -> CliResult {
    let version = env!("CARGO_PKG_VERSION");
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let mut failed = false;

    // Targets: the named ones (first occurrence order), or the detected ones.
    let mut chosen: Vec<(CodingAgent, Found)> = Vec::new();
    for b in a.coding_agent {
        if !chosen.iter().any(|(c, _)| *c == b) {
            chosen.push((b, Found::Named));
        }
    }
    let mut skills_error = None;
    if chosen.is_empty() {
        chosen = skills::detect();
        if chosen.is_empty() {
            let looked: Vec<String> = skills::BACKENDS
                .iter()
                .map(|&b| {
                    skills::config_home(b).map_or_else(
                        || format!("the {b} home (HOME is not set)"),
                        |h| skills::display_path(&h),
                    )
                })
                .collect();
            skills_error = Some(format!(
                "no coding agent found: looked for {} and for claude, codex and opencode on PATH. Install one first, or name it: cafleet setup --coding-agent claude",
                looked.join(", ")
            ));
        }
    }

    let mut targets = Vec::new();
    for (backend, found) in chosen {
        let skills = match skills::skills_dir(backend) {
            None => Err(format!(
                "HOME is not set, so the {backend} skills directory is unknown. Set HOME, or {}",
                match backend {
                    CodingAgent::Claude => "CLAUDE_CONFIG_DIR",
                    CodingAgent::Codex => "CODEX_HOME",
                    CodingAgent::Opencode => "OPENCODE_CONFIG_DIR",
                }
            )),
            Some(dir) => skills::install(&dir, &stamp)
                .map(|r| (dir.display().to_string(), r))
                .map_err(|e| {
                    let state = if e.partial {
                        "Some files were already replaced; fix the cause and re-run 'cafleet setup' to finish (your edits are kept as backups)."
                    } else {
                        "Nothing in that directory was changed; fix the cause (e.g. permissions or free space) and re-run 'cafleet setup'."
                    };
                    format!(
                        "cannot install the skills into {}: {}. {state}",
                        skills::display_path(&dir),
                        e.message
                    )
                }),
        };
        let preset = (backend == CodingAgent::Opencode).then(|| {
            match crate::backend::opencode_preset_path() {
                None => Err(
                    "HOME is not set, so the preset path is unknown. Set HOME or OPENCODE_CONFIG_DIR"
                        .to_string(),
                ),
                Some(path) => {
                    skills::install_file(&path, crate::backend::opencode_preset().as_bytes(), &stamp)
                        .map(|o| (path.display().to_string(), o))
                        .map_err(|e| {
                            format!(
                                "{e}. member create --coding-agent opencode needs this preset; fix the cause and re-run 'cafleet setup --coding-agent opencode'"
                            )
                        })
                }
            }
        });
        targets.push(Target {
            backend,
            found,
            skills,
            preset,
        });
    }

    // Text lines for the skills part (errors go to stderr as they are found).
    let mut lines: Vec<String> = Vec::new();
    if let Some(e) = &skills_error {
        eprintln!("Error: {e}");
        failed = true;
    }
    for t in &targets {
        let b = t.backend;
        match &t.skills {
            Ok((dir, r)) => {
                lines.push(skills_line(b, dir, r, version));
                for backup in &r.backups {
                    lines.push(format!(
                        "  kept your edited copy: {}",
                        skills::display_path(backup)
                    ));
                }
            }
            Err(e) => {
                eprintln!("Error: {b}: {e}");
                failed = true;
            }
        }
        match &t.preset {
            Some(Ok((path, outcome))) => lines.push(preset_line(path, outcome)),
            Some(Err(e)) => {
                eprintln!("Error: {b}: cannot write the opencode preset: {e}");
                failed = true;
            }
            None => {}
        }
    }

    // The Director's allow rule in claude's user settings.
    let claude_target = targets.iter().any(|t| t.backend == CodingAgent::Claude);
    let allow = if a.claude_allow {
        Some(claude_allow_add())
    } else if claude_target {
        Some(claude_allow_probe())
    } else {
        None
    };
    if let Some(c) = &allow {
        if let Some(line) = c.line() {
            lines.push(line);
        }
        if let Some(e) = &c.error
            && c.requested
        {
            eprintln!("Error: claude: {e}");
            failed = true;
        }
    }

    // CAFleet's activity hooks in claude's user settings.
    let hooks = (a.hooks || a.remove_hooks).then(|| claude_hooks(a.hooks));
    if let Some(h) = &hooks {
        match &h.error {
            None => lines.push(h.line()),
            Some(e) => {
                eprintln!("Error: claude: {e}");
                failed = true;
            }
        }
    }

    // The database part: exactly `db init`.
    let db = super::db::db_init_report().await;
    let db_value = match &db {
        Ok((value, text)) => {
            lines.push(text.clone());
            value.clone()
        }
        Err(e) => {
            let msg = match e {
                crate::Error::Exit(code) => format!("failed with exit code {code}"),
                other => other.to_string(),
            };
            eprintln!("Error: database: {msg}");
            failed = true;
            json!({"error": msg})
        }
    };

    if ctx.json {
        print_json(&json!({
            "version": version,
            "ok": !failed,
            "skills": skills::SKILLS,
            "skills_error": skills_error,
            "targets": targets.iter().map(target_json).collect::<Vec<_>>(),
            "db": db_value,
            "claude_allow": allow.as_ref().map(ClaudeAllow::to_json),
            "claude_hooks": hooks.as_ref().map(ClaudeHooks::to_json),
        }));
    } else if !lines.is_empty() {
        print(&lines.join("\n"));
    }
    if let Some(c) = &allow
        && c.status == "missing"
    {
        eprintln!(
            "Note: claude: your own claude (the Director) asks before each cafleet command; to allow them, run 'cafleet setup --claude-allow' (adds \"{CLAUDE_ALLOW_RULE}\" to {})",
            c.shown_path()
        );
    }
    if failed {
        Err(crate::Error::Exit(1))
    } else {
        Ok(())
    }
}

/// The Director's allow rule in claude's user settings: added (`--claude-allow`) or only
/// looked up.
struct ClaudeAllow {
    /// Whether `--claude-allow` asked to add it.
    requested: bool,
    /// The user settings file (`None` when HOME and CLAUDE_CONFIG_DIR are unset).
    path: Option<PathBuf>,
    /// Requested: `created`, `added`, `unchanged` or `failed`; looked up: `present`,
    /// `missing` or `unreadable`.
    status: &'static str,
    /// A broader rule already in the file that allows cafleet commands (e.g. `Bash`).
    allowed_by: Option<String>,
    /// What failed, with the fix.
    error: Option<String>,
}

impl ClaudeAllow {
    fn shown_path(&self) -> String {
        self.path
            .as_deref()
            .map_or_else(|| "claude's settings.json".into(), skills::display_path)
    }

    /// `claude: permission Bash(cafleet:*) added -> ~/.claude/settings.json`
    fn line(&self) -> Option<String> {
        let what = match self.status {
            "created" | "added" => "added",
            "unchanged" => "already allowed",
            _ => return None,
        };
        let mut line = format!(
            "claude: permission {CLAUDE_ALLOW_RULE} {what} -> {}",
            self.shown_path()
        );
        if self.status == "created" {
            line.push_str(" (file created)");
        } else if let Some(by) = &self.allowed_by
            && by != CLAUDE_ALLOW_RULE
        {
            line.push_str(&format!(" (by \"{by}\")"));
        }
        Some(line)
    }

    fn to_json(&self) -> Value {
        json!({
            "requested": self.requested,
            "rule": CLAUDE_ALLOW_RULE,
            "path": self.path.as_ref().map(|p| p.display().to_string()),
            "status": self.status,
            "allowed_by": self.allowed_by,
            "error": self.error,
        })
    }
}

/// `--hooks` / `--remove-hooks`: CAFleet's activity hooks in claude's user settings.
struct ClaudeHooks {
    /// `--hooks` (true) or `--remove-hooks`.
    add: bool,
    /// The user settings file.
    path: Option<PathBuf>,
    /// The hook's command line.
    command: String,
    /// What was done, when it worked.
    outcome: Option<claude_settings::HooksOutcome>,
    /// What failed, with the fix.
    error: Option<String>,
}

impl ClaudeHooks {
    fn shown_path(&self) -> String {
        self.path
            .as_deref()
            .map_or_else(|| "claude's settings.json".into(), skills::display_path)
    }

    fn status(&self) -> &'static str {
        match (&self.outcome, self.add) {
            (None, _) => "failed",
            (Some(o), true) if o.created => "created",
            (Some(o), true) if !o.changed.is_empty() => "added",
            (Some(o), false) if !o.changed.is_empty() => "removed",
            _ => "unchanged",
        }
    }

    /// `claude: activity hooks added -> ~/.claude/settings.json (SessionStart, …: <command>)`
    fn line(&self) -> String {
        let shown = self.shown_path();
        let changed = self
            .outcome
            .as_ref()
            .map(|o| o.changed.join(", "))
            .unwrap_or_default();
        match self.status() {
            "created" | "added" => format!(
                "claude: activity hooks added -> {shown}{} ({changed}: {})",
                if self.status() == "created" {
                    " (file created)"
                } else {
                    ""
                },
                self.command
            ),
            "removed" => format!("claude: activity hooks removed -> {shown} ({changed})"),
            _ if self.add => format!("claude: activity hooks up to date -> {shown}"),
            _ => format!("claude: no CAFleet activity hooks in {shown}; nothing removed"),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "requested": if self.add { "add" } else { "remove" },
            "path": self.path.as_ref().map(|p| p.display().to_string()),
            "command": self.command,
            "status": self.status(),
            "events": self.outcome.as_ref().map(|o| o.changed.clone()).unwrap_or_default(),
            "error": self.error,
        })
    }
}
