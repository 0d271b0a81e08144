//! Steering a member from the CLI: `capture`, `send-input`, `exec`, `ping` and `nudge`.

use super::*;

/// Removes CSI sequences and keeps, per line, the text after its last `\r`.
pub(super) fn clean_capture(text: &str) -> String {
    let mut no_csi = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            while chars.next_if(|c| ('0'..='?').contains(c)).is_some() {}
            while chars.next_if(|c| (' '..='/').contains(c)).is_some() {}
            chars.next_if(|c| ('@'..='~').contains(c));
            continue;
        }
        no_csi.push(c);
    }
    no_csi
        .split('\n')
        .map(|line| line.rsplit('\r').next().unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) async fn capture(ctx: &Ctx, a: CaptureArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let member_id = need(a.member_id, "--member-id")?;
    ensure_tmux()?;
    let broker = ctx.broker().await?;
    let (target, pane) = steerable(&broker, fleet_id, member_id, "capture", "capture").await?;
    let raw = broker
        .steer_pane(
            &pane,
            target.agent.agent_id,
            PaneOp::Capture { lines: a.lines },
        )
        .await?
        .text
        .unwrap_or_default();
    let content = if a.ansi { raw } else { clean_capture(&raw) };
    if ctx.json {
        print_json(&json!({
            "member_agent_id": member_id,
            "pane_id": pane.pane_id,
            "lines": a.lines,
            "content": content,
        }));
    } else if a.ansi {
        print_raw(&content);
    } else {
        print_raw(&output::visible_controls_if_tty(&content));
    }
    Ok(())
}

pub(super) async fn send_input(ctx: &Ctx, a: SendInputArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let member_id = need(a.member_id, "--member-id")?;
    if let Some(text) = &a.freetext
        && text.trim_start().starts_with('!')
    {
        return Err(crate::Error::Usage(
                "--freetext may not start with '!' — that triggers the coding agent's shell-execution shortcut. Use 'cafleet member exec' for shell dispatch instead.".into(),
            ));
    }
    if a.choice.is_some() == a.freetext.is_some() {
        return Err(crate::Error::Usage(
            "--choice and --freetext are mutually exclusive; supply exactly one.".into(),
        ));
    }
    if a.freetext
        .as_deref()
        .is_some_and(|t| t.contains(['\r', '\n']))
    {
        return Err(crate::Error::Usage(
            "free text may not contain newlines.".into(),
        ));
    }
    ensure_tmux()?;
    let broker = ctx.broker().await?;
    let (target, pane) = steerable(&broker, fleet_id, member_id, "send", "send-input").await?;
    let (action, value) = match (a.choice, a.freetext) {
        (Some(choice), _) => {
            broker
                .steer_pane(&pane, target.agent.agent_id, PaneOp::Choice { choice })
                .await?;
            ("choice", choice.to_string())
        }
        (None, Some(text)) => {
            let op = PaneOp::Freetext { text: text.clone() };
            broker.steer_pane(&pane, target.agent.agent_id, op).await?;
            ("freetext", text)
        }
        (None, None) => unreachable!("validated above"),
    };
    if ctx.json {
        print_json(&json!({
            "member_agent_id": member_id,
            "pane_id": pane.pane_id,
            "action": action,
            "value": value,
        }));
    } else if action == "choice" {
        print(&format!(
            "Sent choice {value} to member {} ({}).",
            target.agent.name, pane.pane_id
        ));
    } else {
        print(&format!(
            "Sent free text to member {} ({}).",
            target.agent.name, pane.pane_id
        ));
    }
    Ok(())
}

pub(super) async fn exec(ctx: &Ctx, a: ExecArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let member_id = need(a.member_id, "--member-id")?;
    let command = a
        .command
        .ok_or_else(|| crate::Error::Usage("Missing argument 'COMMAND'.".into()))?;
    if command.contains(['\r', '\n']) {
        return Err(crate::Error::Usage(
            "command may not contain newlines.".into(),
        ));
    }
    let command = command.trim().to_string();
    if command.is_empty() {
        return Err(crate::Error::Usage("command may not be empty.".into()));
    }
    ensure_tmux()?;
    let broker = ctx.broker().await?;
    let (target, pane) = steerable(&broker, fleet_id, member_id, "exec", "exec").await?;
    let op = PaneOp::Exec {
        command: command.clone(),
    };
    broker.steer_pane(&pane, target.agent.agent_id, op).await?;
    if ctx.json {
        print_json(&json!({
            "member_agent_id": member_id,
            "pane_id": pane.pane_id,
            "command": command,
        }));
    } else {
        print(&format!(
            "Sent bash command {} to member {} ({}).",
            py_repr(&command),
            target.agent.name,
            pane.pane_id
        ));
    }
    Ok(())
}

pub(super) async fn ping(ctx: &Ctx, a: TargetArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let member_id = need(a.member_id, "--member-id")?;
    ensure_tmux()?;
    let broker = ctx.broker().await?;
    let (target, pane) = steerable(&broker, fleet_id, member_id, "ping", "ping").await?;
    let op = PaneOp::Ping {
        fleet_id: fleet_id.0,
    };
    broker.steer_pane(&pane, AgentId(member_id), op).await?;
    if ctx.json {
        print_json(&json!({"member_agent_id": member_id, "pane_id": pane.pane_id}));
    } else if a.quiet {
        print(&member_id.to_string());
    } else {
        print(&format!(
            "Pinged member {} ({}) — poll keystroke dispatched.",
            target.agent.name, pane.pane_id
        ));
    }
    Ok(())
}

pub(super) async fn nudge(ctx: &Ctx, a: NudgeArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let sender = need(a.agent_id, "--agent-id")?;
    let member_id = need(a.member_id, "--member-id")?;
    let text = need(a.text, "--text")?;
    let mode = crate::cli::deliver_mode(a.deliver.as_deref())?;
    // Refused like send and broadcast (same text, exit 1), before any tmux check
    // (docs/decisions.md, O3 and L4).
    crate::broker::validate_text(&text)?;
    ensure_tmux()?;
    let broker = ctx.broker().await?;
    let target = broker
        .member_target(fleet_id, AgentId(member_id), false)
        .await?;
    let sent = broker
        .member_nudge(fleet_id, AgentId(sender), &target, &text, mode)
        .await?;
    let pane = target.placement.tmux_pane_id.clone();
    let name = &target.agent.name;
    let id = sent.task.task_id;
    if ctx.json {
        print_json(&json!({
            "member_agent_id": member_id,
            "pane_id": pane,
            "task_id": id,
            "notification_sent": sent.notification_sent,
            "delivery": sent.delivery,
        }));
    } else {
        let how = output::delivery_line(&sent.delivery);
        match (&pane, sent.notification_sent) {
            (None, _) => print(&format!("Nudged {name} — no pane; task {id} queued.")),
            (Some(p), true) => print(&format!(
                "Nudged {name} ({p}) — task {id} queued, preview typed ({how})."
            )),
            (Some(p), false) => print(&format!(
                "Nudged {name} ({p}) — task {id} queued; preview not typed ({how})."
            )),
        }
    }
    Ok(())
}

/// Python's `repr()` of a string, as `member exec`'s text output shows it.
pub fn py_repr(s: &str) -> String {
    use std::fmt::Write;
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) || c as u32 == 0xad => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if matches!(c as u32, 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff) =>
            {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_matches_python() {
        assert_eq!(py_repr("git status"), "'git status'");
        assert_eq!(py_repr("ls -la 'x y'"), "\"ls -la 'x y'\"");
        assert_eq!(py_repr("echo \"a\" 'b'"), "'echo \"a\" \\'b\\''");
        assert_eq!(
            py_repr("echo \\ tab\there é \x01"),
            "'echo \\\\ tab\\there é \\x01'"
        );
    }

    #[test]
    fn capture_cleanup_drops_csi_and_carriage_returns() {
        assert_eq!(
            clean_capture("a\x1b[31mred\x1b[0m\nold\rnew\n"),
            "ared\nnew\n"
        );
    }
}
