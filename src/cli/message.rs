//! `cafleet message send|broadcast|poll|ack|cancel|show`: arguments and handlers.

use super::deliver_mode;
use super::output::{self, print, print_json};
use super::{CliResult, Ctx, need, need_fleet};
use crate::model::{AgentId, TaskId};
use clap::{Args, Subcommand};
use serde_json::json;

/// `cafleet message ...`
#[derive(Debug, Subcommand)]
pub enum MessageCommand {
    /// Send a message to one agent of the fleet; its pane gets a short preview.
    Send(SendArgs),
    /// Send a message to every active agent of the fleet (not the Administrator).
    Broadcast(BroadcastArgs),
    /// List your un-acknowledged messages, newest first.
    Poll(PollArgs),
    /// Acknowledge a message addressed to you.
    Ack(AckArgs),
    /// Cancel a message you sent that is not acknowledged yet.
    Cancel(TaskArgs),
    /// Show any message of your fleet.
    Show(TaskArgs),
}

/// Options of `message send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Your own agent id, the sender (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub agent_id: Option<i64>,
    /// The recipient's agent id (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub to: Option<i64>,
    /// The message body (required, not blank); stored in full.
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub text: Option<String>,
    /// How the preview reaches the recipient's pane: idle (the default; typed at once
    /// unless the recipient is working, which gets it when its turn ends), now (typed at
    /// once, never with Escape; a working agent queues it) or queue (never typed; the
    /// recipient finds it when it polls).
    #[arg(long, value_name = "MODE")]
    pub deliver: Option<String>,
    /// A key unique to this message (e.g. a UUID, at most 200 characters): repeating the
    /// command with the same key stores and types nothing and prints the original task, so
    /// a retried tool call cannot send twice.
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    pub idempotency_key: Option<String>,
    /// Long form, untruncated.
    #[arg(long, hide = true)]
    pub full: bool,
    /// Print only the task id.
    #[arg(long, hide = true)]
    pub quiet: bool,
}

/// Options of `message broadcast`.
#[derive(Debug, Args)]
pub struct BroadcastArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Your own agent id, the sender (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub agent_id: Option<i64>,
    /// The message body (required, not blank).
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub text: Option<String>,
    /// How the preview reaches the recipients' panes: idle (the default; typed at once
    /// unless a recipient is working, which gets it when its turn ends), now (typed at
    /// once, never with Escape; a working agent queues it) or queue (never typed; each
    /// recipient finds it when it polls).
    #[arg(long, value_name = "MODE")]
    pub deliver: Option<String>,
    /// A key unique to this broadcast (at most 200 characters): repeating the command with
    /// the same key stores and types nothing and prints the original summary.
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    pub idempotency_key: Option<String>,
    /// Long form of the summary.
    #[arg(long, hide = true)]
    pub full: bool,
}

/// Options of `message poll`.
#[derive(Debug, Args)]
pub struct PollArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Your own agent id (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub agent_id: Option<i64>,
    /// Long form, untruncated.
    #[arg(long, hide = true)]
    pub full: bool,
}

/// Options of `message ack`.
#[derive(Debug, Args)]
pub struct AckArgs {
    /// The task to act on.
    #[command(flatten)]
    pub task: TaskArgs,
    /// Print only the task id.
    #[arg(long, hide = true)]
    pub quiet: bool,
}

/// Options of `message cancel` and `show` (and the task part of `ack`).
#[derive(Debug, Args)]
pub struct TaskArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Your own agent id (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub agent_id: Option<i64>,
    /// The message's task id (required).
    #[arg(long, value_name = "TASK_ID")]
    pub task_id: Option<i64>,
    /// Long form, untruncated.
    #[arg(long, hide = true)]
    pub full: bool,
}

/// Runs a `message` subcommand.
pub async fn run(ctx: &Ctx, cmd: MessageCommand) -> CliResult {
    match cmd {
        MessageCommand::Send(a) => message_send(ctx, a).await,
        MessageCommand::Broadcast(a) => message_broadcast(ctx, a).await,
        MessageCommand::Poll(a) => message_poll(ctx, a).await,
        MessageCommand::Ack(a) => message_ack(ctx, a).await,
        MessageCommand::Cancel(a) => message_cancel(ctx, a).await,
        MessageCommand::Show(a) => message_show(ctx, a).await,
    }
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
            AgentId(sender),
            AgentId(to),
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
        .message_broadcast_mode(
            fleet_id,
            AgentId(sender),
            &text,
            a.idempotency_key.as_deref(),
            mode,
        )
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
    let tasks = broker.message_poll(fleet_id, AgentId(agent)).await?;
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
    let task = broker
        .message_ack(fleet_id, AgentId(agent), TaskId(task_id))
        .await?;
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
    let task = broker
        .message_cancel(fleet_id, AgentId(agent), TaskId(task_id))
        .await?;
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
    let task = broker
        .message_show(fleet_id, AgentId(agent), TaskId(task_id))
        .await?;
    let delivery = match task.r#type.as_str() {
        crate::model::TYPE_UNICAST => broker.delivery_record(TaskId(task_id)).await?,
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
