//! `cafleet fleet create|list|show|delete`: arguments and handlers.

use super::output::{self, col, print, print_json, table};
use super::{CliResult, Ctx, calling_pane, need_arg};
use crate::model::CodingAgent;
use crate::model::FleetId;
use crate::model::Placement;
use crate::tmux::Tmux;
use clap::{Args, Subcommand};
use serde_json::json;

/// `cafleet fleet ...`
#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Create a fleet whose root Director is the calling tmux pane (run inside tmux).
    Create(FleetCreateArgs),
    /// List live fleets, newest first.
    List(FleetListArgs),
    /// Show one fleet (deleted fleets included).
    Show(FleetShowArgs),
    /// Soft-delete a fleet: deregister all its agents; messages are kept.
    Delete(FleetDeleteArgs),
}

/// Options of `fleet create`.
#[derive(Debug, Args)]
pub struct FleetCreateArgs {
    /// Free-text label for the fleet.
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub label: Option<String>,
    /// The coding agent the Director runs (recorded in its placement).
    #[arg(
        long,
        value_enum,
        value_name = "CODING_AGENT",
        default_value = "claude"
    )]
    pub coding_agent: CodingAgent,
    /// Print JSON (same as the global --json).
    #[arg(long)]
    pub json: bool,
    /// Long text form.
    #[arg(long, hide = true)]
    pub full: bool,
}

/// Options of `fleet list`.
#[derive(Debug, Args)]
pub struct FleetListArgs {
    /// Print JSON (same as the global --json).
    #[arg(long)]
    pub json: bool,
}

/// Options of `fleet show`.
#[derive(Debug, Args)]
pub struct FleetShowArgs {
    /// The fleet to show.
    #[arg(value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Print JSON (same as the global --json).
    #[arg(long)]
    pub json: bool,
}

/// Options of `fleet delete`.
#[derive(Debug, Args)]
pub struct FleetDeleteArgs {
    /// The fleet to delete.
    #[arg(value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
}

/// Runs a `fleet` subcommand (`create`, `list` and `show` also take `--json` after it).
pub async fn run(base: &Ctx, cmd: FleetCommand) -> CliResult {
    match cmd {
        FleetCommand::Create(a) => fleet_create(&base.with_json(a.json), a).await,
        FleetCommand::List(a) => fleet_list(&base.with_json(a.json)).await,
        FleetCommand::Show(a) => fleet_show(&base.with_json(a.json), a).await,
        FleetCommand::Delete(a) => fleet_delete(base, a).await,
    }
}

async fn fleet_create(ctx: &Ctx, a: FleetCreateArgs) -> CliResult {
    let tmux = Tmux::from_env();
    let pane = calling_pane(&tmux, "fleet create").await.map_err(|e| {
        if let crate::Error::Failed(detail) = &e {
            tracing::info!(%detail, "fleet create: calling pane not found");
        }
        crate::Error::failed("cafleet fleet create must be run inside a tmux session")
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
    let f = broker.fleet_show(FleetId(fleet_id)).await?;
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
    let (count, placements): (u64, Vec<Placement>) = broker.fleet_delete(FleetId(fleet_id)).await?;
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
