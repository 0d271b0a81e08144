//! `cafleet doctor`: the calling pane's tmux identity (as 0.14), then a diagnosis of the
//! environment — tmux, the tmux session, the database, the coding-agent backends, the
//! installed skills and, for claude, the permission rules the Director and its members
//! need — each problem with its fix. Exit 1 when a check fails.

use super::output::{print, print_json};
use super::{CliResult, Ctx};
use crate::backend::CLAUDE_ALLOW_RULE;
use crate::backend::claude_settings::{self, EXAMPLE_BUILD_RULE};
use crate::config::Config;
use crate::model::CodingAgent;
use crate::skills::display_path;
use crate::tmux::{PaneContext, Tmux, find_on_path};
use serde::Serialize;
use serde_json::json;

/// One diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// `ok`, `warn` or `fail`.
    pub status: &'static str,
    /// What was found.
    pub detail: String,
    /// What to do about it (when not ok).
    pub fix: Option<String>,
    /// For a failed check: the error line `doctor` ends with (the 0.14 texts).
    #[serde(skip)]
    pub error: Option<String>,
}

fn check(name: &'static str, status: &'static str, detail: String, fix: Option<&str>) -> Check {
    Check {
        error: (status == "fail").then(|| detail.clone()),
        name,
        status,
        detail,
        fix: fix.map(str::to_string),
    }
}

fn failed_with(mut c: Check, error: impl Into<String>) -> Check {
    c.error = Some(error.into());
    c
}

/// Runs every check; the pane is `Some` when the caller is inside a live tmux pane.
pub async fn diagnose() -> (Option<PaneContext>, Vec<Check>) {
    let tmux = Tmux::from_env();
    let mut checks = Vec::new();
    let mut pane = None;
    match find_on_path("tmux") {
        Some(path) => checks.push(check(
            "tmux",
            "ok",
            format!("tmux found at {}", path.display()),
            None,
        )),
        None => checks.push(failed_with(
            check(
                "tmux",
                "fail",
                "tmux is not on PATH".into(),
                Some("install tmux (e.g. apt-get install tmux or brew install tmux)"),
            ),
            "tmux binary not found on PATH",
        )),
    }
    match (
        Tmux::caller_socket(),
        std::env::var("TMUX_PANE").ok().filter(|p| !p.is_empty()),
    ) {
        (None, _) => checks.push(failed_with(
            check(
                "session",
                "fail",
                "not inside a tmux session (TMUX is not set)".into(),
                Some("start tmux first (tmux new -s work) and run cafleet from a pane inside it"),
            ),
            "cafleet doctor must be run inside a tmux session",
        )),
        (Some(_), None) => checks.push(check(
            "session",
            "fail",
            "TMUX_PANE is not set; not running inside a tmux pane".into(),
            Some("run cafleet from a shell inside a tmux pane"),
        )),
        (Some(socket), Some(p)) if tmux.available() => {
            match tmux.describe_pane(&socket, &p).await {
                Ok(ctx) => {
                    checks.push(check(
                        "session",
                        "ok",
                        format!(
                            "inside tmux: pane {} of session {} on server {}",
                            ctx.pane_id, ctx.session_name, ctx.socket_path
                        ),
                        None,
                    ));
                    pane = Some(ctx);
                }
                Err(e) => checks.push(failed_with(
                    check(
                        "session",
                        "fail",
                        format!("the tmux server is not reachable or the pane is gone: {e}"),
                        Some("check that the tmux server named by $TMUX is running (tmux ls)"),
                    ),
                    e.to_string(),
                )),
            }
        }
        (Some(_), Some(_)) => {}
    }
    checks.push(database_check().await);
    let found: Vec<&str> = ["claude", "codex", "opencode"]
        .into_iter()
        .filter(|b| find_on_path(b).is_some())
        .collect();
    if found.is_empty() {
        checks.push(check(
            "backends",
            "warn",
            "no coding agent (claude, codex, opencode) is on PATH".into(),
            Some("install at least one to spawn members; `cafleet member create --coding-agent` picks it"),
        ));
    } else {
        checks.push(check(
            "backends",
            "ok",
            format!("on PATH: {}", found.join(", ")),
            None,
        ));
    }
    checks.extend(skills_checks());
    checks.extend(claude_checks());
    (pane, checks)
}

/// `"Edit" or "Write"`
fn quoted_or(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// When claude is installed here, its allow rules for a claude started in this directory
/// (the Director's, and so its members'): may the Director run cafleet commands without
/// asking, and may a member (`dontAsk`: whatever no rule allows is denied) change files?
fn claude_checks() -> Vec<Check> {
    let claude = crate::skills::detect()
        .iter()
        .any(|(b, _)| *b == CodingAgent::Claude);
    let Some(cwd) = std::env::current_dir().ok().filter(|_| claude) else {
        return Vec::new();
    };
    let found = claude_settings::allow_rules(&cwd);
    let files = found
        .files
        .iter()
        .map(|f| display_path(f))
        .collect::<Vec<_>>()
        .join(", ");
    let mut checks = Vec::new();
    for p in &found.problems {
        checks.push(check(
            "claude",
            "warn",
            format!(
                "{} {}, so its allow rules are not counted below",
                display_path(p.path()),
                p.reason()
            ),
            Some(&format!(
                "fix {} (Claude Code reads its permissions from it)",
                display_path(p.path())
            )),
        ));
    }
    let user = claude_settings::user_settings_path()
        .map_or_else(|| "~/.claude/settings.json".into(), |p| display_path(&p));
    checks.push(match found.cafleet_rule() {
        Some(r) => check(
            "claude",
            "ok",
            format!(
                "the Director may run cafleet commands (\"{}\" in {})",
                r.rule,
                display_path(&r.file)
            ),
            None,
        ),
        None => check(
            "claude",
            "warn",
            format!(
                "the Director's cafleet commands ask for permission: no \"{CLAUDE_ALLOW_RULE}\" allow rule in {files}"
            ),
            Some(&format!(
                "run `cafleet setup --claude-allow` (adds \"{CLAUDE_ALLOW_RULE}\" to {user})"
            )),
        ),
    });
    let project = display_path(&claude_settings::project_settings_path(&cwd));
    let missing = found.missing_file_tools();
    checks.push(if let Some(add) = found.member_rules_to_add() {
        check(
            "claude",
            "warn",
            format!(
                "members (dontAsk) can run cafleet commands but cannot {}: no {} allow rule in {files}",
                if missing.len() == 1 {
                    "edit files"
                } else {
                    "edit or write files"
                },
                quoted_or(&missing)
            ),
            Some(&format!("add {add} to permissions.allow in {project}")),
        )
    } else if found.has_other_commands() {
        let commands: Vec<&str> = found
            .rules
            .iter()
            .map(|r| r.rule.as_str())
            .filter(|r| claude_settings::names_tool(r, "Bash") && !claude_settings::is_cafleet_only(r))
            .collect();
        let shown = match commands.len() {
            0 => "cafleet commands".to_string(),
            1..=4 => format!("cafleet commands and {}", commands.join(", ")),
            n => format!("cafleet commands and {}, ... ({n} Bash rules)", commands[..4].join(", ")),
        };
        check(
            "claude",
            "ok",
            format!("members (dontAsk) may edit files and run {shown}"),
            None,
        )
    } else {
        check(
            "claude",
            "ok",
            format!(
                "members (dontAsk) may edit files but run only cafleet commands; add build/test rules (e.g. \"{EXAMPLE_BUILD_RULE}\") to permissions.allow in {project} if they need them"
            ),
            None,
        )
    });
    checks
}

/// For each coding agent installed here: are the skills `cafleet setup` installs present and
/// identical to this binary's?
fn skills_checks() -> Vec<Check> {
    let mut checks = Vec::new();
    for (backend, _) in crate::skills::detect() {
        let Some(dir) = crate::skills::skills_dir(backend) else {
            continue;
        };
        let shown = crate::skills::display_path(&dir);
        let stale = crate::skills::FILES
            .iter()
            .filter(|f| std::fs::read(dir.join(f.rel())).ok().as_deref() != Some(f.text.as_bytes()))
            .count();
        let total = crate::skills::FILES.len();
        checks.push(if stale == 0 {
            check("skills", "ok", format!("{backend}: skills up to date in {shown}"), None)
        } else if stale == total {
            check(
                "skills",
                "warn",
                format!("{backend}: CAFleet's skills are not installed in {shown}"),
                Some("run `cafleet setup` to install them (offline)"),
            )
        } else {
            check(
                "skills",
                "warn",
                format!("{backend}: {stale} of {total} skill files in {shown} are missing or differ from this cafleet"),
                Some("run `cafleet setup` to update them (edited files are backed up)"),
            )
        });
    }
    checks
}

async fn database_check() -> Check {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            return check(
                "database",
                "fail",
                e.to_string(),
                Some("fix CAFLEET_DATABASE_URL / CAFLEET_MAX_TEXT_LEN"),
            );
        }
    };
    let path = match &config.database {
        crate::config::Database::Sqlite(path) => path,
        crate::config::Database::Postgres(url) => {
            return pg_check(url, &config.database_display).await;
        }
    };
    let display = path.display().to_string();
    let path_ref = path;
    let path = display;
    if !path_ref.exists() {
        return check(
            "database",
            "ok",
            format!("{path} does not exist yet; the first cafleet command creates it"),
            None,
        );
    }
    match crate::broker::storage::inspect(path_ref).await {
        Ok(info) => {
            let head = crate::broker::storage::latest_version();
            let detail = format!(
                "{path}: schema {}/{head}, alembic {}, journal {}",
                info.schema_version,
                info.alembic.as_deref().unwrap_or("none"),
                info.journal_mode
            );
            if info.schema_version < head {
                check(
                    "database",
                    "warn",
                    detail,
                    Some("run `cafleet db init` to upgrade it (a backup is kept)"),
                )
            } else if info.schema_version > head {
                check(
                    "database",
                    "fail",
                    detail,
                    Some("this database was written by a newer cafleet; upgrade cafleet"),
                )
            } else {
                check("database", "ok", detail, None)
            }
        }
        Err(e) => check(
            "database",
            "fail",
            format!("{path} cannot be read: {e}"),
            Some("check the file's permissions, or point CAFLEET_DATABASE_URL at another file"),
        ),
    }
}

/// The database check on PostgreSQL: the server answers, and the schema's version.
async fn pg_check(url: &str, display: &str) -> Check {
    match crate::broker::storage::inspect_pg(url).await {
        Ok((version, head)) => {
            let detail = format!("{display} (PostgreSQL): schema {version}/{head}");
            if version < head {
                check(
                    "database",
                    "warn",
                    detail,
                    Some("run `cafleet db init` to bring it to head"),
                )
            } else if version > head {
                check(
                    "database",
                    "fail",
                    detail,
                    Some("this database was written by a newer cafleet; upgrade cafleet"),
                )
            } else {
                check("database", "ok", detail, None)
            }
        }
        Err(e) => check("database", "fail", e.to_string(), None),
    }
}

/// `cafleet doctor`.
pub async fn run(ctx: &Ctx) -> CliResult {
    let (pane, checks) = diagnose().await;
    let env_pane = std::env::var("TMUX_PANE").unwrap_or_default();
    let failed = checks.iter().any(|c| c.status == "fail");
    if ctx.json {
        print_json(&json!({
            "tmux": pane.as_ref().map(|p| json!({
                "session_name": p.session_name,
                "window_id": p.window_id,
                "pane_id": p.pane_id,
                "tmux_pane_env": env_pane,
            })),
            "checks": checks,
        }));
    } else {
        let mut lines = Vec::new();
        if let Some(p) = &pane {
            lines.push(format!(
                "tmux:\n  session_name:  {}\n  window_id:     {}\n  pane_id:       {}\n  TMUX_PANE:     {}",
                p.session_name, p.window_id, p.pane_id, env_pane
            ));
        }
        lines.push("checks:".into());
        for c in &checks {
            lines.push(format!("  {:<5} {:<9} {}", c.status, c.name, c.detail));
            if let Some(fix) = &c.fix {
                lines.push(format!("                  fix: {fix}"));
            }
        }
        print(&lines.join("\n"));
    }
    if failed {
        let first = checks
            .iter()
            .find_map(|c| c.error.clone())
            .unwrap_or_default();
        eprintln!("Error: {first}");
        return Err(crate::Error::Exit(1));
    }
    Ok(())
}
