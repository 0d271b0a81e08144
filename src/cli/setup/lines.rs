//! The lines and JSON `setup` reports for each target.

use super::*;

pub(super) fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// `claude: skills installed -> ~/.claude/skills (v0.15.0; 39 files written)`
pub(super) fn skills_line(
    backend: CodingAgent,
    dir: &str,
    r: &InstallReport,
    version: &str,
) -> String {
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
pub(super) fn preset_line(path: &str, outcome: &FileOutcome) -> String {
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

pub(super) fn target_json(t: &Target) -> Value {
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
