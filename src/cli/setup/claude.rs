//! `setup`'s changes to the Director's own Claude Code settings: the activity hooks
//! (`--hooks`, `--remove-hooks`) and the allow rule for cafleet commands (`--claude-allow`).

use super::*;

/// Adds (`add`) or removes CAFleet's hooks in claude's user settings file.
pub(super) fn claude_hooks(add: bool) -> ClaudeHooks {
    let flag = if add { "--hooks" } else { "--remove-hooks" };
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("cafleet"));
    let mut out = ClaudeHooks {
        add,
        path: claude_settings::user_settings_path(),
        command: crate::backend::hook_command(&exe, CodingAgent::Claude),
        outcome: None,
        error: None,
    };
    let Some(path) = out.path.clone() else {
        out.error = Some(format!(
            "HOME is not set, so claude's settings file is unknown. Set HOME or CLAUDE_CONFIG_DIR and re-run 'cafleet setup {flag}'"
        ));
        return out;
    };
    let result = if add {
        claude_settings::add_hooks(&path, &crate::backend::claude_hook_settings(&exe))
    } else {
        claude_settings::remove_hooks(&path)
    };
    match result {
        Ok(o) => out.outcome = Some(o),
        Err(e) => {
            let shown = skills::display_path(e.path());
            let (why, fix) = match &e {
                SettingsError::Invalid { reason, .. } => (
                    format!("it is not a settings file Claude Code can read ({reason})"),
                    "fix the JSON (or move the file away)",
                ),
                SettingsError::Unreadable { error, .. } => {
                    (format!("it cannot be read: {error}"), "fix its permissions")
                }
                SettingsError::Unwritable { error, .. } => (
                    format!("it cannot be written: {error}"),
                    "fix the cause (e.g. permissions or free space)",
                ),
            };
            out.error = Some(format!(
                "cannot {} CAFleet's activity hooks {} {shown}: {why}. The file was left unchanged; {fix} and re-run 'cafleet setup {flag}'",
                if add { "add" } else { "remove" },
                if add { "to" } else { "from" },
            ));
        }
    }
    out
}

/// The rule in the user file that already lets cafleet commands run.
pub(super) fn cafleet_rule_in(path: &Path) -> Result<Option<String>, SettingsError> {
    Ok(claude_settings::read_allow(path)?
        .into_iter()
        .find(|r| claude_settings::allows_cafleet(r)))
}

/// `--claude-allow`: adds the rule unless the file already allows cafleet commands.
pub(super) fn claude_allow_add() -> ClaudeAllow {
    let path = claude_settings::user_settings_path();
    let mut out = ClaudeAllow {
        requested: true,
        path: path.clone(),
        status: "failed",
        allowed_by: None,
        error: None,
    };
    let Some(path) = path else {
        out.error = Some(format!(
            "HOME is not set, so claude's settings file is unknown. Set HOME or CLAUDE_CONFIG_DIR and re-run 'cafleet setup --claude-allow' to add \"{CLAUDE_ALLOW_RULE}\""
        ));
        return out;
    };
    let result = match cafleet_rule_in(&path) {
        Ok(Some(by)) => Ok((AddOutcome::Present, Some(by))),
        Ok(None) => claude_settings::add_allow_rule(&path, CLAUDE_ALLOW_RULE).map(|o| (o, None)),
        Err(e) => Err(e),
    };
    match result {
        Ok((outcome, by)) => {
            out.status = match outcome {
                AddOutcome::Created => "created",
                AddOutcome::Added => "added",
                AddOutcome::Present => "unchanged",
            };
            out.allowed_by = by.or_else(|| {
                (outcome == AddOutcome::Present).then(|| CLAUDE_ALLOW_RULE.to_string())
            });
        }
        Err(e) => out.error = Some(add_error(&e)),
    }
    out
}

/// `cannot add "Bash(cafleet:*)" to <file>: <why>. <what to do>`
pub(super) fn add_error(e: &SettingsError) -> String {
    let shown = skills::display_path(e.path());
    let (why, fix) = match e {
        SettingsError::Invalid { reason, .. } => (
            format!("it is not valid JSON ({reason})"),
            "fix the JSON (or move the file away)",
        ),
        SettingsError::Unreadable { error, .. } => {
            (format!("it cannot be read: {error}"), "fix its permissions")
        }
        SettingsError::Unwritable { error, .. } => (
            format!("it cannot be written: {error}"),
            "fix the cause (e.g. permissions or free space)",
        ),
    };
    format!(
        "cannot add \"{CLAUDE_ALLOW_RULE}\" to {shown}: {why}. The file was left unchanged; {fix} and re-run 'cafleet setup --claude-allow'"
    )
}

/// Without `--claude-allow`: is the rule (or a broader one) already in the user file?
pub(super) fn claude_allow_probe() -> ClaudeAllow {
    let path = claude_settings::user_settings_path();
    let mut out = ClaudeAllow {
        requested: false,
        path: path.clone(),
        status: "unreadable",
        allowed_by: None,
        error: None,
    };
    let Some(path) = path else {
        out.error = Some("HOME is not set, so claude's settings file is unknown".into());
        return out;
    };
    match cafleet_rule_in(&path) {
        Ok(Some(by)) => {
            out.status = "present";
            out.allowed_by = Some(by);
        }
        Ok(None) => out.status = "missing",
        Err(e) => out.error = Some(format!("{} {}", skills::display_path(e.path()), e.reason())),
    }
    out
}
