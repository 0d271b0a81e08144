//! `cafleet setup` (install the embedded skills, refresh the opencode preset, migrate the
//! database) and `cafleet completions <shell>`.
//!
//! Both parts of `setup` always run. Each target prints one line on stdout; each failure
//! prints `Error: ...` with its fix on stderr, and any failure makes the exit code 1.

use super::output::{print, print_json, print_raw};
use super::{CliError, CliResult, Ctx};
use crate::model::CodingAgent;
use crate::skills::{self, FileOutcome, Found, InstallReport};
use clap::{ArgAction, Args};
use serde_json::{Value, json};
use std::path::Path;

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
        .ok_or_else(|| CliError::Usage("Missing argument 'SHELL'.".into()))?;
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
                    skills::config_home(b)
                        .map(|h| skills::display_path(&h))
                        .unwrap_or_else(|| format!("the {b} home (HOME is not set)"))
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

    // The database part: exactly `db init`.
    let db = super::commands::db_init_report().await;
    let db_value = match &db {
        Ok((value, text)) => {
            lines.push(text.clone());
            value.clone()
        }
        Err(e) => {
            let msg = match e {
                CliError::Runtime(m) | CliError::Usage(m) => m.clone(),
                CliError::Exit(code) => format!("failed with exit code {code}"),
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
        }));
    } else if !lines.is_empty() {
        print(&lines.join("\n"));
    }
    if failed {
        Err(CliError::Exit(1))
    } else {
        Ok(())
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// `claude: skills installed -> ~/.claude/skills (v0.15.0; 39 files written)`
fn skills_line(backend: CodingAgent, dir: &str, r: &InstallReport, version: &str) -> String {
    let status = if r.written() == 0 && r.removed.is_empty() {
        "up to date"
    } else if r.unchanged == 0 && r.updated.is_empty() {
        "installed"
    } else {
        "updated"
    };
    let mut parts = Vec::new();
    if r.written() > 0 {
        parts.push(format!("{} written", plural(r.written(), "file")));
    }
    if r.unchanged > 0 {
        parts.push(if r.written() > 0 {
            format!("{} unchanged", r.unchanged)
        } else {
            format!("{} unchanged", plural(r.unchanged, "file"))
        });
    }
    if !r.removed.is_empty() {
        parts.push(format!("{} removed", r.removed.len()));
    }
    if !r.backups.is_empty() {
        parts.push(format!(
            "{} of your edits kept as {}",
            r.backups.len(),
            if r.backups.len() == 1 {
                "a backup"
            } else {
                "backups"
            }
        ));
    }
    format!(
        "{backend}: skills {status} -> {} (v{version}; {})",
        skills::display_path(Path::new(dir)),
        parts.join(", ")
    )
}

/// `opencode: preset written -> ~/.config/opencode/agents/cafleet.md`
fn preset_line(path: &str, outcome: &FileOutcome) -> String {
    let shown = skills::display_path(Path::new(path));
    match outcome {
        FileOutcome::Created => format!("opencode: preset written -> {shown}"),
        FileOutcome::Unchanged => format!("opencode: preset up to date -> {shown}"),
        FileOutcome::Updated { backup: None } => format!("opencode: preset refreshed -> {shown}"),
        FileOutcome::Updated { backup: Some(b) } => format!(
            "opencode: preset refreshed -> {shown} (your edited copy kept: {})",
            skills::display_path(b)
        ),
    }
}

fn target_json(t: &Target) -> Value {
    let mut v = json!({
        "coding_agent": t.backend.as_str(),
        "found_by": t.found.as_str(),
    });
    let obj = v.as_object_mut().expect("object");
    match &t.skills {
        Ok((dir, r)) => {
            let status = if r.written() == 0 && r.removed.is_empty() {
                "unchanged"
            } else if r.unchanged == 0 && r.updated.is_empty() {
                "installed"
            } else {
                "updated"
            };
            obj.insert("skills_dir".into(), json!(dir));
            obj.insert("status".into(), json!(status));
            obj.insert("created".into(), json!(r.created));
            obj.insert("updated".into(), json!(r.updated));
            obj.insert("unchanged".into(), json!(r.unchanged));
            obj.insert("removed".into(), json!(r.removed));
            obj.insert(
                "backups".into(),
                json!(
                    r.backups
                        .iter()
                        .map(|b| b.display().to_string())
                        .collect::<Vec<_>>()
                ),
            );
            obj.insert("error".into(), Value::Null);
        }
        Err(e) => {
            obj.insert(
                "skills_dir".into(),
                json!(skills::skills_dir(t.backend).map(|d| d.display().to_string())),
            );
            obj.insert("status".into(), json!("failed"));
            obj.insert("error".into(), json!(e));
        }
    }
    if let Some(p) = &t.preset {
        let preset = match p {
            Ok((path, outcome)) => {
                let (status, backup) = match outcome {
                    FileOutcome::Created => ("created", None),
                    FileOutcome::Unchanged => ("unchanged", None),
                    FileOutcome::Updated { backup } => ("updated", backup.as_ref()),
                };
                json!({
                    "path": path,
                    "status": status,
                    "backup": backup.map(|b| b.display().to_string()),
                    "error": null,
                })
            }
            Err(e) => json!({
                "path": crate::backend::opencode_preset_path().map(|p| p.display().to_string()),
                "status": "failed",
                "backup": null,
                "error": e,
            }),
        };
        obj.insert("preset".into(), preset);
    }
    v
}
