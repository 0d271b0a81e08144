//! `member create` and `member delete`.

use super::*;
use crate::model::AgentId;

pub(super) async fn create(ctx: &Ctx, a: CreateArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let director_id = need(a.agent_id, "--agent-id")?;
    let name = need(a.name, "--name")?;
    let description = need(a.description, "--description")?;
    // Before any tmux check (docs/decisions.md, L4 and MEM-1).
    crate::broker::validate_identity(&name, &description)?;
    if a.prompt_file.is_some() && !a.prompt_argv.is_empty() {
        return Err(crate::Error::Usage(
            "--prompt-file and the positional prompt argument are mutually exclusive.".into(),
        ));
    }
    let prompt = match (a.prompt_file, a.prompt_argv.is_empty()) {
        (Some(p), _) => PromptSource::File(p),
        (None, false) => PromptSource::Words(a.prompt_argv.join(" ")),
        (None, true) => PromptSource::Default,
    };
    let broker = ctx.broker().await?;
    let mut spec = MemberSpec {
        fleet_id,
        director_id: AgentId(director_id),
        name,
        description,
        backend: a.coding_agent,
        model: a.model,
        role: a.role,
        prompt,
        caller: crate::tmux::PaneContext {
            session_name: String::new(),
            window_id: String::new(),
            pane_id: String::new(),
            socket_path: String::new(),
        },
        cwd: std::env::current_dir()
            .map_err(|e| crate::Error::failed(format!("cannot read the current directory: {e}")))?,
        env: std::env::var("CAFLEET_DATABASE_URL")
            .ok()
            .map(|v| vec![("CAFLEET_DATABASE_URL".to_string(), v)])
            .unwrap_or_default(),
        ready_timeout: std::time::Duration::from_secs(a.ready_timeout),
        // The hooks run this very binary, so they need no `cafleet` on the member's PATH.
        cafleet: std::env::current_exe().ok(),
        codex_hooks: a.codex_hooks,
        host: a
            .host
            .as_deref()
            .map(crate::host::validate_option)
            .transpose()?,
        // The database `ctx.broker()` opened (so the configuration is known to be valid).
        database_dir: crate::config::Config::from_env().ok().and_then(|c| {
            c.database
                .sqlite_path()
                .and_then(std::path::Path::parent)
                .map(std::path::Path::to_path_buf)
        }),
    };
    let backend = broker.resolve_backend(&spec).await?;
    crate::backend::validate_model(backend, spec.model.as_deref())?;
    if spec.codex_hooks && backend != CodingAgent::Codex {
        return Err(crate::Error::Usage(format!(
            "--codex-hooks is for codex members; a {backend} member reports its activity through its hooks without it. Drop --codex-hooks, or add --coding-agent codex."
        )));
    }
    let tmux = ensure_tmux()?;
    if crate::tmux::find_on_path(backend.as_str()).is_none() {
        return Err(crate::Error::failed(format!(
            "binary {} not found on PATH",
            backend.as_str()
        )));
    }
    spec.caller = crate::cli::calling_pane(&tmux, "member create").await?;
    let made = broker.member_create(&spec, backend).await?;
    let p = &made.placement;
    let pane = p.tmux_pane_id.as_deref().unwrap_or("(pending)");
    if ctx.json {
        print_json(&json!({
            "agent_id": made.agent.agent_id,
            "name": made.agent.name,
            "registered_at": made.agent.registered_at,
            "placement": output::placement_json(p),
        }));
    } else if a.full {
        print(&format!(
            "Member registered and spawned.\n  agent_id:  {}\n  name:      {}\n  backend:   {}\n  pane_id:   {}\n  window_id: {}",
            made.agent.agent_id, made.agent.name, p.coding_agent, pane, p.tmux_window_id
        ));
    } else {
        print(&format!(
            "{} {} backend={} pane={}",
            made.agent.agent_id, made.agent.name, p.coding_agent, pane
        ));
    }
    if backend == CodingAgent::Claude {
        claude_rules_note(&made.agent.name, &spec.cwd);
    }
    Ok(())
}

/// A claude member runs in `dontAsk` mode: without allow rules for editing it can only talk.
/// Names what to add, and where, on stderr (stdout and `--json` stay the data).
pub(super) fn claude_rules_note(name: &str, cwd: &std::path::Path) {
    use crate::backend::claude_settings;
    let found = claude_settings::allow_rules(cwd);
    if let Some(add) = found.member_rules_to_add() {
        eprintln!(
            "Note: claude member {name} runs in dontAsk mode, so it can run cafleet commands but cannot edit files; add {add} to permissions.allow in {}",
            crate::skills::display_path(&claude_settings::project_settings_path(cwd))
        );
    }
}

pub(super) async fn delete(ctx: &Ctx, a: DeleteArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let member_id = need(a.member_id, "--member-id")?;
    ensure_tmux()?;
    let broker = ctx.broker().await?;
    if broker
        .is_root_director(fleet_id, AgentId(member_id))
        .await?
    {
        return Err(crate::Error::forbidden(
            "cannot deregister the root Director; use 'cafleet fleet delete' instead",
        ));
    }
    let target = broker
        .member_target(fleet_id, AgentId(member_id), true)
        .await?;
    broker
        .check_director_caller(fleet_id, &Caller::from_env(), "delete")
        .await?;
    let outcome = broker.member_delete(&target, a.force).await?;
    let (header, status) = match outcome {
        Ok(PaneClosed::Pending) => ("Member deleted.", "(pending — no pane)".to_string()),
        Ok(PaneClosed::Closed(p)) => ("Member deleted.", format!("{p} (closed)")),
        Ok(PaneClosed::Killed(p)) => ("Member deleted (--force).", format!("{p} (killed)")),
        Err(timeout) => {
            let p = &timeout.pane_id;
            if let Some(e) = &timeout.capture_error {
                eprintln!(
                    "Warning: capture_pane failed during timeout handling: {e}. The timeout error and recovery hint still print."
                );
            }
            eprint!(
                "Error: pane {p} did not close within 15.0s after /exit.\n--- pane {p} tail (last 80 lines) ---\n{}\n---\nRecovery: inspect with `cafleet member capture`, answer any prompt with `cafleet member send-input`, then re-run `cafleet member delete`. Or re-run with `--force` to skip the wait and kill the pane.\n",
                timeout.tail
            );
            if ctx.json {
                print_json(
                    &json!({"agent_id": member_id, "pane_status": format!("{p} (timeout)")}),
                );
            }
            return Err(crate::Error::Exit(2));
        }
    };
    if ctx.json {
        print_json(&json!({"agent_id": member_id, "pane_status": status}));
    } else {
        print(&format!(
            "{header}\n  agent_id:  {member_id}\n  pane_id:   {status}"
        ));
    }
    Ok(())
}
