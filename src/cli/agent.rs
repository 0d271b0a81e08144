//! `cafleet agent register|list|show|deregister`: arguments and handlers.

use super::output::{self, print, print_json};
use super::{CliResult, Ctx, need, need_fleet};
use crate::model::AgentId;
use clap::{Args, Subcommand};
use serde_json::json;

/// `cafleet agent ...`
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Register a plain agent (no tmux pane, not watched by the monitor).
    Register(AgentRegisterArgs),
    /// List the active agents of a fleet, ascending id.
    List(AgentListArgs),
    /// Show one active agent of the fleet.
    Show(AgentShowArgs),
    /// Deregister an agent (not the Director or the Administrator).
    Deregister(AgentDeregisterArgs),
}

/// Options of `agent register`.
#[derive(Debug, Args)]
pub struct AgentRegisterArgs {
    /// The fleet to join (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// The agent's name (required).
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub name: Option<String>,
    /// What the agent does (required).
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub description: Option<String>,
    /// Skills as a JSON array, e.g. '[{"id":"review","name":"Code review"}]'.
    #[arg(long, value_name = "JSON", allow_hyphen_values = true)]
    pub skills: Option<String>,
}

/// Options of `agent list`.
#[derive(Debug, Args)]
pub struct AgentListArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Long form with registration times.
    #[arg(long, hide = true)]
    pub full: bool,
}

/// Options of `agent show`.
#[derive(Debug, Args)]
pub struct AgentShowArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Your own agent id, the caller (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub agent_id: Option<i64>,
    /// The agent to show (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub id: Option<i64>,
    /// Long form with kind and placement.
    #[arg(long, hide = true)]
    pub full: bool,
}

/// Options of `agent deregister`.
#[derive(Debug, Args)]
pub struct AgentDeregisterArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// The agent to deregister (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub agent_id: Option<i64>,
}

/// Runs an `agent` subcommand.
pub async fn run(ctx: &Ctx, cmd: AgentCommand) -> CliResult {
    match cmd {
        AgentCommand::Register(a) => agent_register(ctx, a).await,
        AgentCommand::List(a) => agent_list(ctx, a).await,
        AgentCommand::Show(a) => agent_show(ctx, a).await,
        AgentCommand::Deregister(a) => agent_deregister(ctx, a).await,
    }
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
    let detail = broker
        .agent_show(fleet_id, AgentId(caller), AgentId(target))
        .await?;
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
    let placement = broker.agent_deregister(fleet_id, AgentId(agent_id)).await?;
    // A retired member's pane is closed too (docs/decisions.md, TMUX-2).
    broker.close_member_panes(placement.as_slice()).await;
    if ctx.json {
        print_json(&json!({"status": "deregistered"}));
    } else {
        print("Agent deregistered successfully.");
    }
    Ok(())
}
