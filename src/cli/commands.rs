//! One function per command: validate arguments in 0.14's order (docs/decisions.md, C1),
//! call the broker, print text or JSON.

use super::args::*;
use super::output::{self, col, print, print_json, table};
use super::{CliError, CliResult, Ctx};
use crate::config::Config;
use crate::db::{Db, MigrateOutcome};
use crate::delivery::DeliverMode;
use crate::model::Placement;
use crate::tmux::{PaneContext, Tmux};
use serde_json::json;
use std::sync::Arc;

/// Runs the parsed command.
pub async fn dispatch(cli: Cli, path: String) -> CliResult {
    let base = Ctx {
        json: cli.json,
        path,
        opened: Arc::default(),
    };
    let result = run_command(cli, &base).await;
    base.finish().await;
    result
}

async fn run_command(cli: Cli, base: &Ctx) -> CliResult {
    let ctx = |local_json: bool| Ctx {
        json: base.json || local_json,
        ..base.clone()
    };
    let Some(group) = cli.command else {
        return Err(CliError::Exit(2));
    };
    match group {
        Group::Db(DbCommand::Init) => db_init(&ctx(false)).await,
        Group::Doctor => super::doctor::run(&ctx(false)).await,
        Group::Demo(a) => super::demo::run(&ctx(false), a).await,
        Group::Fleet(cmd) => match cmd {
            FleetCommand::Create(a) => fleet_create(&ctx(a.json), a).await,
            FleetCommand::List(a) => fleet_list(&ctx(a.json)).await,
            FleetCommand::Show(a) => fleet_show(&ctx(a.json), a).await,
            FleetCommand::Delete(a) => fleet_delete(&ctx(false), a).await,
        },
        Group::Agent(cmd) => match cmd {
            AgentCommand::Register(a) => agent_register(&ctx(false), a).await,
            AgentCommand::List(a) => agent_list(&ctx(false), a).await,
            AgentCommand::Show(a) => agent_show(&ctx(false), a).await,
            AgentCommand::Deregister(a) => agent_deregister(&ctx(false), a).await,
        },
        Group::Member(cmd) => super::member::run(&ctx(false), cmd).await,
        Group::Monitor(cmd) => super::monitor::run(&ctx(false), cmd).await,
        Group::Server(a) => super::server::run(&ctx(false), a).await,
        Group::Setup(a) => super::setup::run(&ctx(false), a).await,
        Group::Completions(a) => super::setup::completions(a),
        Group::Hook(a) => {
            let mut args: Vec<String> = a.coding_agent.into_iter().collect();
            args.extend(a.rest);
            // `hook` runs its own runtime; `run` normally calls it before this one starts.
            let _ = std::thread::spawn(move || crate::hook::run(&args)).join();
            Ok(())
        }
        Group::Message(cmd) => match cmd {
            MessageCommand::Send(a) => message_send(&ctx(false), a).await,
            MessageCommand::Broadcast(a) => message_broadcast(&ctx(false), a).await,
            MessageCommand::Poll(a) => message_poll(&ctx(false), a).await,
            MessageCommand::Ack(a) => message_ack(&ctx(false), a).await,
            MessageCommand::Cancel(a) => message_cancel(&ctx(false), a).await,
            MessageCommand::Show(a) => message_show(&ctx(false), a).await,
        },
    }
}

/// `--fleet-id` is checked first and reported as a runtime error (docs/decisions.md, C1).
pub(crate) fn need_fleet(v: Option<i64>) -> Result<i64, CliError> {
    v.ok_or_else(|| {
        CliError::Runtime(
            "--fleet-id <int> is required for this subcommand. Create a fleet with 'cafleet fleet create' and pass its id."
                .into(),
        )
    })
}

/// Any other missing option is a usage error.
pub(crate) fn need<T>(v: Option<T>, name: &str) -> Result<T, CliError> {
    v.ok_or_else(|| CliError::Usage(format!("Missing option '{name}'.")))
}

fn need_arg<T>(v: Option<T>, name: &str) -> Result<T, CliError> {
    v.ok_or_else(|| CliError::Usage(format!("Missing argument '{name}'.")))
}

async fn db_init(ctx: &Ctx) -> CliResult {
    let (value, text) = db_init_report().await?;
    if ctx.json {
        print_json(&value);
    } else {
        print(&text);
    }
    Ok(())
}

/// Creates or upgrades the database (`db init`, and `setup`'s database part): the JSON
/// result and the text line.
pub(crate) async fn db_init_report() -> Result<(serde_json::Value, String), CliError> {
    let config = Config::from_env()?;
    let db = Db::open(&config.database_path, 1).await?;
    let outcome = db.migrate().await;
    db.close().await;
    let outcome = outcome?;
    let head = crate::db::ALEMBIC_HEAD;
    let display = &config.database_display;
    let (action, from, text) = match &outcome {
        MigrateOutcome::Created => (
            "created",
            None,
            format!("Created {display} and applied migrations to head ({head})."),
        ),
        MigrateOutcome::Unchanged => (
            "unchanged",
            None,
            format!("Already at head ({head}); nothing to do."),
        ),
        MigrateOutcome::Upgraded { from } => (
            "upgraded",
            Some(from.clone()),
            format!("Upgraded from {from} to {head}."),
        ),
        MigrateOutcome::Adopted { from_version } => (
            "adopted",
            None,
            format!(
                "Adopted {display} (revision {head}, schema {from_version}) and applied cafleet's additions; a backup was kept beside it."
            ),
        ),
    };
    let value = json!({
        "path": display,
        "action": action,
        "from": from,
        "head": head,
        "schema_version": crate::db::latest_version(),
    });
    Ok((value, text))
}

/// Finds the calling pane: `tmux` on PATH, inside tmux, `TMUX_PANE` naming a live pane.
pub(crate) async fn calling_pane(tmux: &Tmux, what: &str) -> Result<PaneContext, CliError> {
    if !tmux.available() {
        return Err(CliError::Runtime("tmux binary not found on PATH".into()));
    }
    let Some(socket) = Tmux::caller_socket() else {
        return Err(CliError::Runtime(format!(
            "cafleet {what} must be run inside a tmux session"
        )));
    };
    let pane = std::env::var("TMUX_PANE").unwrap_or_default();
    if pane.is_empty() {
        return Err(CliError::Runtime(
            "TMUX_PANE is not set; not running inside a tmux pane".into(),
        ));
    }
    Ok(tmux
        .describe_pane(&socket, &pane)
        .await
        .map_err(crate::Error::from)?)
}

async fn fleet_create(ctx: &Ctx, a: FleetCreateArgs) -> CliResult {
    let tmux = Tmux::from_env();
    let pane = calling_pane(&tmux, "fleet create").await.map_err(|e| {
        if let CliError::Runtime(detail) = &e {
            tracing::info!(%detail, "fleet create: calling pane not found");
        }
        CliError::Runtime("cafleet fleet create must be run inside a tmux session".into())
    })?;
    let broker = ctx.broker().await?;
    let made = broker
        .fleet_create(a.label.as_deref(), a.coding_agent, &pane)
        .await?;
    let f = &made.fleet;
    let d = &made.director;
    if ctx.json {
        print_json(&json!({
            "fleet_id": f.fleet_id,
            "label": f.label,
            "created_at": f.created_at,
            "administrator_agent_id": made.administrator_agent_id,
            "director": {
                "agent_id": d.agent_id,
                "name": d.name,
                "description": d.description,
                "registered_at": d.registered_at,
                "placement": output::placement_json(&made.placement),
            },
        }));
    } else if a.full {
        let p = &made.placement;
        print(&format!(
            "{}\n{}\nlabel:            {}\ncreated_at:       {}\ndirector_name:    {}\npane:             {}:{}:{}\nadministrator:    {}",
            f.fleet_id,
            d.agent_id,
            f.label.as_deref().unwrap_or(""),
            f.created_at,
            d.name,
            p.tmux_session,
            p.tmux_window_id,
            p.tmux_pane_id.as_deref().unwrap_or(""),
            made.administrator_agent_id
        ));
    } else {
        print(&format!(
            "{} director={} admin={}",
            f.fleet_id, d.agent_id, made.administrator_agent_id
        ));
    }
    Ok(())
}

async fn fleet_list(ctx: &Ctx) -> CliResult {
    let broker = ctx.broker().await?;
    let fleets = broker.fleet_list().await?;
    if ctx.json {
        print_json(&serde_json::to_value(&fleets).unwrap_or_default());
    } else if fleets.is_empty() {
        print("No fleets found.");
    } else {
        let rows: Vec<Vec<String>> = fleets
            .iter()
            .map(|f| {
                vec![
                    f.fleet_id.to_string(),
                    f.director_agent_id
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    f.label.clone().unwrap_or_default(),
                    f.agent_count.to_string(),
                    f.created_at.clone(),
                ]
            })
            .collect();
        let columns = [
            col("FLEET_ID", 40),
            col("DIRECTOR", 40),
            col("LABEL", 20),
            col("AGENTS", 8),
            col("CREATED_AT", 0),
        ];
        let lines = table("", " ", &columns, false, &rows);
        print(&lines.join("\n"));
    }
    Ok(())
}

async fn fleet_show(ctx: &Ctx, a: FleetShowArgs) -> CliResult {
    let fleet_id = need_arg(a.fleet_id, "FLEET_ID")?;
    let broker = ctx.broker().await?;
    let f = broker.fleet_show(fleet_id).await?;
    if ctx.json {
        print_json(&json!({
            "fleet_id": f.fleet_id,
            "label": f.label,
            "created_at": f.created_at,
            "deleted_at": f.deleted_at,
            "director_agent_id": f.director_agent_id,
        }));
    } else {
        let mut text = format!(
            "fleet_id: {}\nlabel:      {}\ncreated_at: {}",
            f.fleet_id,
            f.label.as_deref().unwrap_or(""),
            f.created_at
        );
        if let Some(d) = &f.deleted_at {
            text.push_str(&format!("\ndeleted_at: {d}"));
        }
        print(&text);
    }
    Ok(())
}

async fn fleet_delete(ctx: &Ctx, a: FleetDeleteArgs) -> CliResult {
    let fleet_id = need_arg(a.fleet_id, "FLEET_ID")?;
    let broker = ctx.broker().await?;
    let (count, placements): (u64, Vec<Placement>) = broker.fleet_delete(fleet_id).await?;
    // Retired members' panes are closed too; never the Director's (docs/decisions.md, TMUX-2).
    let closed = broker.close_member_panes(&placements).await;
    if ctx.json {
        print_json(
            &json!({"fleet_id": fleet_id, "deregistered_agents": count, "closed_panes": closed}),
        );
    } else {
        let mut text = format!("Deleted fleet {fleet_id}. Deregistered {count} agents.");
        if closed > 0 {
            text.push_str(&format!(
                "\nClosed {closed} member pane{}.",
                if closed == 1 { "" } else { "s" }
            ));
        }
        print(&text);
    }
    Ok(())
}

async fn agent_register(ctx: &Ctx, a: AgentRegisterArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let name = need(a.name, "--name")?;
    let description = need(a.description, "--description")?;
    let broker = ctx.broker().await?;
    let agent = broker
        .agent_register(fleet_id, &name, &description, a.skills.as_deref())
        .await?;
    if ctx.json {
        print_json(&json!({
            "agent_id": agent.agent_id,
            "name": agent.name,
            "registered_at": agent.registered_at,
        }));
    } else {
        print(&format!(
            "Agent registered successfully!\n  agent_id:  {}\n  name:      {}",
            agent.agent_id, agent.name
        ));
    }
    Ok(())
}

async fn agent_list(ctx: &Ctx, a: AgentListArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let broker = ctx.broker().await?;
    let agents = broker.agent_list(fleet_id).await?;
    if ctx.json {
        let items: Vec<_> = agents
            .iter()
            .map(|ag| {
                if a.full {
                    output::agent_full_list_json(ag)
                } else {
                    output::agent_slim_json(ag, None)
                }
            })
            .collect();
        print_json(&serde_json::Value::Array(items));
    } else if agents.is_empty() {
        print("No agents found.");
    } else {
        let items: Vec<String> = agents
            .iter()
            .map(|ag| {
                if a.full {
                    output::agent_full_text(ag)
                } else {
                    format!("{} {} {}", ag.agent_id, ag.name, ag.status)
                }
            })
            .collect();
        print(&items.join("\n\n"));
    }
    Ok(())
}

async fn agent_show(ctx: &Ctx, a: AgentShowArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let caller = need(a.agent_id, "--agent-id")?;
    let target = need(a.id, "--id")?;
    let broker = ctx.broker().await?;
    let detail = broker.agent_show(fleet_id, caller, target).await?;
    let ag = &detail.agent;
    if ctx.json {
        if a.full {
            print_json(&json!({
                "agent_id": ag.agent_id,
                "name": ag.name,
                "description": ag.description,
                "status": ag.status,
                "registered_at": ag.registered_at,
                "kind": ag.kind(),
                "placement": detail.placement.as_ref().map(output::placement_json),
            }));
        } else {
            print_json(&output::agent_slim_json(ag, detail.placement.as_ref()));
        }
    } else if a.full {
        print(&output::agent_full_text(ag));
    } else {
        print(&format!("{} {} {}", ag.agent_id, ag.name, ag.status));
    }
    Ok(())
}

async fn agent_deregister(ctx: &Ctx, a: AgentDeregisterArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let agent_id = need(a.agent_id, "--agent-id")?;
    let broker = ctx.broker().await?;
    let placement = broker.agent_deregister(fleet_id, agent_id).await?;
    // A retired member's pane is closed too (docs/decisions.md, TMUX-2).
    broker.close_member_panes(placement.as_slice()).await;
    if ctx.json {
        print_json(&json!({"status": "deregistered"}));
    } else {
        print("Agent deregistered successfully.");
    }
    Ok(())
}

/// Parses `--deliver` (absent: the default, idle).
pub(crate) fn deliver_mode(raw: Option<&str>) -> crate::Result<DeliverMode> {
    raw.map(DeliverMode::parse)
        .transpose()
        .map(Option::unwrap_or_default)
}

async fn message_send(ctx: &Ctx, a: SendArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let sender = need(a.agent_id, "--agent-id")?;
    let to = need(a.to, "--to")?;
    let text = need(a.text, "--text")?;
    let mode = deliver_mode(a.deliver.as_deref())?;
    let broker = ctx.broker().await?;
    let sent = broker
        .message_send_mode(
            fleet_id,
            sender,
            to,
            &text,
            a.idempotency_key.as_deref(),
            mode,
        )
        .await?;
    let max = broker.max_text_len();
    if ctx.json {
        let mut v = json!({
            "task": output::task_json(&sent.task, a.full, true, max),
            "notification_sent": sent.notification_sent,
            "delivery": sent.delivery,
        });
        if sent.repeated {
            v["repeated"] = json!(true);
        }
        print_json(&v);
    } else if a.quiet {
        print(&sent.task.task_id.to_string());
    } else {
        let head = if sent.repeated {
            "Message already sent with this --idempotency-key; nothing stored or typed."
        } else {
            "Message sent."
        };
        print(&format!(
            "{head}\n{}\ndelivery: {}",
            output::task_text(&sent.task, a.full, max),
            output::delivery_line(&sent.delivery)
        ));
    }
    Ok(())
}

async fn message_broadcast(ctx: &Ctx, a: BroadcastArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let sender = need(a.agent_id, "--agent-id")?;
    let text = need(a.text, "--text")?;
    let mode = deliver_mode(a.deliver.as_deref())?;
    let broker = ctx.broker().await?;
    let out = broker
        .message_broadcast_mode(fleet_id, sender, &text, a.idempotency_key.as_deref(), mode)
        .await?;
    let max = broker.max_text_len();
    if ctx.json {
        let mut v = json!({
            "task": output::task_json(&out.summary, a.full, true, max),
            "notifications_sent_count": out.notified,
            "delivery": {"mode": out.mode, "states": out.delivery},
        });
        if out.repeated {
            v["repeated"] = json!(true);
        }
        print_json(&json!([v]));
    } else if a.full {
        print(&output::task_full_text(&out.summary));
    } else {
        print(&format!(
            "broadcast id={} recipients={} notified={}{}",
            out.summary.task_id,
            out.recipients,
            out.notified,
            if out.repeated {
                " (already sent with this --idempotency-key; nothing stored or typed)"
            } else {
                ""
            }
        ));
    }
    Ok(())
}

async fn message_poll(ctx: &Ctx, a: PollArgs) -> CliResult {
    let fleet_id = need_fleet(a.fleet_id)?;
    let agent = need(a.agent_id, "--agent-id")?;
    let broker = ctx.broker().await?;
    let tasks = broker.message_poll(fleet_id, agent).await?;
    let max = broker.max_text_len();
    if ctx.json {
        let items: Vec<_> = tasks
            .iter()
            .map(|t| output::task_json(t, a.full, false, max))
            .collect();
        print_json(&serde_json::Value::Array(items));
    } else if tasks.is_empty() {
        print("No messages found.");
    } else {
        let items: Vec<String> = tasks
            .iter()
            .map(|t| output::task_text(t, a.full, max))
            .collect();
        print(&items.join("\n\n"));
    }
    Ok(())
}

async fn message_ack(ctx: &Ctx, a: AckArgs) -> CliResult {
    let t = a.task;
    let fleet_id = need_fleet(t.fleet_id)?;
    let agent = need(t.agent_id, "--agent-id")?;
    let task_id = need(t.task_id, "--task-id")?;
    let broker = ctx.broker().await?;
    let task = broker.message_ack(fleet_id, agent, task_id).await?;
    let max = broker.max_text_len();
    if ctx.json {
        print_json(&json!({"task": output::task_json(&task, t.full, false, max)}));
    } else if a.quiet {
        print(&task.task_id.to_string());
    } else {
        print(&format!(
            "Message acknowledged.\n{}",
            output::task_text(&task, t.full, max)
        ));
    }
    Ok(())
}

async fn message_cancel(ctx: &Ctx, t: TaskArgs) -> CliResult {
    let fleet_id = need_fleet(t.fleet_id)?;
    let agent = need(t.agent_id, "--agent-id")?;
    let task_id = need(t.task_id, "--task-id")?;
    let broker = ctx.broker().await?;
    let task = broker.message_cancel(fleet_id, agent, task_id).await?;
    let max = broker.max_text_len();
    if ctx.json {
        print_json(&json!({"task": output::task_json(&task, t.full, false, max)}));
    } else {
        print(&format!(
            "Task canceled.\n{}",
            output::task_text(&task, t.full, max)
        ));
    }
    Ok(())
}

async fn message_show(ctx: &Ctx, t: TaskArgs) -> CliResult {
    let fleet_id = need_fleet(t.fleet_id)?;
    let agent = need(t.agent_id, "--agent-id")?;
    let task_id = need(t.task_id, "--task-id")?;
    let broker = ctx.broker().await?;
    let task = broker.message_show(fleet_id, agent, task_id).await?;
    let delivery = match task.r#type.as_str() {
        crate::model::TYPE_UNICAST => broker.delivery_record(task_id).await?,
        _ => None,
    };
    let max = broker.max_text_len();
    if ctx.json {
        let mut v = json!({"task": output::task_json(&task, t.full, false, max)});
        if let Some(d) = &delivery {
            v["delivery"] = json!(d);
        }
        print_json(&v);
    } else {
        let mut text = output::task_text(&task, t.full, max);
        if let Some(d) = &delivery {
            let more = if t.full {
                output::delivery_block(d)
            } else {
                format!("delivery: {}", output::delivery_line(d))
            };
            text.push_str(&format!("\n{more}"));
        }
        print(&text);
    }
    Ok(())
}
