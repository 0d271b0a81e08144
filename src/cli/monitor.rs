//! `cafleet monitor ...`: run the per-fleet heartbeat, show its state, tune schedules.

use super::output::{col, print, print_json, table};
use super::{CliResult, Ctx};
use crate::broker::monitor::{MAX_INTERVAL_SECS, MAX_TICK_SECS, MonitorStatus, check_interval};
use crate::model::AgentId;
use crate::tmux::Tmux;
use clap::{Args, Subcommand};
use serde_json::json;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// `cafleet monitor ...`
#[derive(Debug, Subcommand)]
pub enum MonitorCommand {
    /// Run the fleet's heartbeat in the foreground until Ctrl-C, SIGTERM or SIGHUP, or until
    /// the fleet is deleted. Each tick wakes the watched agents that are due: one line into
    /// the monitoring member's pane if the fleet has one, else a poll command into each due
    /// agent's own pane. One monitor per fleet.
    Start(StartArgs),
    /// Show whether the fleet's monitor runs and each watched agent's schedule and pane.
    Status(StatusArgs),
    /// Show or change one watched agent's schedule (interval, enabled).
    Config(ConfigArgs),
}

/// Options of `monitor start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// Seconds between ticks (any whole number from 1).
    #[arg(long, value_name = "INTEGER RANGE", default_value = "5", value_parser = parse_tick)]
    pub tick: i64,
    /// Seconds before a preview its recipient has not seen (polled) is typed again; the
    /// wait doubles after each attempt (1–86400).
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_redeliver_after)]
    pub redeliver_after: u64,
    /// Previews typed per message before it becomes a dead letter, reported to the
    /// Director (1–100).
    #[arg(long, value_name = "N", default_value = "5", value_parser = parse_redeliver_attempts)]
    pub redeliver_attempts: i64,
}

pub(super) fn parse_redeliver_after(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (1..=86_400).contains(&n) => Ok(n),
        _ => Err(format!(
            "'{s}' is not a number of seconds from 1 to 86400 (e.g. --redeliver-after 60)."
        )),
    }
}

pub(super) fn parse_redeliver_attempts(s: &str) -> Result<i64, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n),
        _ => Err(format!(
            "'{s}' is not a number of attempts from 1 to 100 (e.g. --redeliver-attempts 5)."
        )),
    }
}

/// Options of `monitor status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
}

/// Options of `monitor config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The fleet (required).
    #[arg(long, value_name = "FLEET_ID")]
    pub fleet_id: Option<i64>,
    /// The watched agent (required).
    #[arg(long, value_name = "AGENT_ID")]
    pub agent_id: Option<i64>,
    /// Seconds between wakes of this agent (1–2592000, i.e. up to 30 days).
    #[arg(long, value_name = "INTEGER RANGE", value_parser = parse_interval)]
    pub interval: Option<i64>,
    /// Watch this agent again.
    #[arg(long)]
    pub enable: bool,
    /// Stop watching this agent (its row is kept).
    #[arg(long)]
    pub disable: bool,
}

fn parse_range(s: &str, max: i64) -> Result<i64, String> {
    let n: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a valid integer range."))?;
    if (1..=max).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is not in the range 1<=x<={max}."))
    }
}

/// `--tick`: any whole number of seconds from 1, with 0.14's wording below 1.
fn parse_tick(s: &str) -> Result<i64, String> {
    match parse_range(s, MAX_TICK_SECS) {
        Err(_) if s.trim().parse::<i64>().is_ok_and(|n| n < 1) => Err(format!(
            "{} is not in the range x>=1.",
            s.trim().parse::<i64>().unwrap_or_default()
        )),
        other => other,
    }
}

fn parse_interval(s: &str) -> Result<i64, String> {
    let n: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a valid integer range."))?;
    check_interval(n).map_err(|_| format!("{n} is not in the range 1<=x<={MAX_INTERVAL_SECS}."))
}

/// Runs a monitor subcommand.
pub async fn run(ctx: &Ctx, cmd: MonitorCommand) -> CliResult {
    match cmd {
        MonitorCommand::Start(a) => start(ctx, a).await,
        MonitorCommand::Status(a) => status(ctx, a).await,
        MonitorCommand::Config(a) => config(ctx, a).await,
    }
}

async fn start(ctx: &Ctx, a: StartArgs) -> CliResult {
    let fleet_id = super::need_fleet(a.fleet_id)?;
    let broker = ctx.broker().await?;
    broker.monitor_fleet(fleet_id).await?;
    if !Tmux::from_env().available() {
        return Err(crate::Error::failed("tmux binary not found on PATH"));
    }
    if Tmux::caller_socket().is_none() {
        return Err(crate::Error::failed(
            "cafleet member commands must be run inside a tmux session",
        ));
    }
    let pid = i64::from(std::process::id());
    broker.monitor_claim(fleet_id, pid, a.tick).await?;
    let token = CancellationToken::new();
    let signals = watch_signals(token.clone())
        .map_err(|e| crate::Error::failed(format!("cannot install signal handlers: {e}")));
    let signals = match signals {
        Ok(s) => s,
        Err(e) => {
            let _ = broker.monitor_release(fleet_id, pid).await;
            return Err(e);
        }
    };
    print(&format!(
        "monitor running for fleet {fleet_id} (pid {pid}, tick {}s); stop it with Ctrl-C or SIGTERM, or by deleting the fleet.",
        a.tick
    ));
    crate::monitor::run(
        &broker,
        fleet_id,
        crate::monitor::LoopOptions {
            tick: Duration::from_secs(a.tick.unsigned_abs()),
            pid,
            policy: crate::delivery::Redelivery {
                after: Duration::from_secs(a.redeliver_after),
                attempts: a.redeliver_attempts,
            },
        },
        token.clone(),
        print,
        |w| eprintln!("Warning: {w}"),
    )
    .await;
    signals.abort();
    // Clean stop: clear the slot if still ours; retried briefly so a busy database does
    // not leave a stale row behind.
    for attempt in 0..5 {
        match broker.monitor_release(fleet_id, pid).await {
            Ok(()) => break,
            Err(e) if attempt == 4 => eprintln!("Warning: could not clear the monitor slot: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    broker.close().await;
    Ok(())
}

/// Cancels `token` on SIGINT, SIGTERM or SIGHUP (docs/decisions.md, M2).
pub(super) fn watch_signals(
    token: CancellationToken,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        token.cancel();
    }))
}

async fn status(ctx: &Ctx, a: StatusArgs) -> CliResult {
    let fleet_id = super::need_fleet(a.fleet_id)?;
    let broker = ctx.broker().await?;
    let st = broker.monitor_status(fleet_id).await?;
    if ctx.json {
        print_json(&serde_json::to_value(&st).unwrap_or_default());
    } else {
        print(&status_text(&st));
    }
    Ok(())
}

fn status_text(st: &MonitorStatus) -> String {
    let r = &st.runtime;
    let mut lines = vec![if r.running {
        format!(
            "monitor: running (pid {}, last tick {}s ago, tick {}s, started {})",
            r.pid.unwrap_or_default(),
            r.last_tick_age_seconds.unwrap_or_default(),
            r.tick_seconds.unwrap_or_default(),
            r.started_at.as_deref().unwrap_or("")
        )
    } else {
        "monitor: stopped".to_string()
    }];
    if !st.agents.is_empty() {
        let columns = [
            col("agent_id", 8),
            col("name", 11),
            col("role", 8),
            col("interval", 8),
            col("last_ping", 9),
            col("enabled", 7),
            col("pending", 7),
            col("activity", 8),
            col("undelivered", 11),
            col("pane", 4),
        ];
        let rows: Vec<Vec<String>> = st
            .agents
            .iter()
            .map(|a| {
                let last = a
                    .last_ping_age_seconds
                    .map_or_else(|| "—".into(), |s| format!("{s}s ago"));
                let pane = match (&a.pane_id, a.pane_alive) {
                    (None, _) => "(pending)".to_string(),
                    (Some(p), Some(true)) => p.clone(),
                    (Some(p), Some(false)) => format!("{p} (dead)"),
                    (Some(p), None) => format!("{p} (unknown)"),
                };
                vec![
                    a.agent_id.to_string(),
                    a.name.clone(),
                    a.role.to_string(),
                    format!("{}s", a.interval_seconds),
                    last,
                    (if a.enabled { "yes" } else { "no" }).to_string(),
                    a.pending_count.to_string(),
                    a.activity.activity.to_string(),
                    a.undelivered.text(),
                    pane,
                ]
            })
            .collect();
        lines.extend(table("  ", "  ", &columns, true, &rows));
    }
    lines.join("\n")
}

async fn config(ctx: &Ctx, a: ConfigArgs) -> CliResult {
    let fleet_id = super::need_fleet(a.fleet_id)?;
    let agent_id = a
        .agent_id
        .ok_or_else(|| crate::Error::Usage("Missing option '--agent-id'.".into()))?;
    if a.enable && a.disable {
        return Err(crate::Error::Usage(
            "--enable and --disable are mutually exclusive.".into(),
        ));
    }
    let enabled = match (a.enable, a.disable) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    let broker = ctx.broker().await?;
    let s = broker
        .monitor_config(fleet_id, AgentId(agent_id), a.interval, enabled)
        .await?;
    broker.close().await;
    if ctx.json {
        print_json(&json!({
            "agent_id": s.agent_id,
            "interval_seconds": s.interval_seconds,
            "last_ping_at": s.last_ping_at,
            "enabled": s.enabled,
        }));
    } else {
        print(&format!(
            "agent {}: interval {}s, {}, last_ping {}",
            s.agent_id,
            s.interval_seconds,
            if s.enabled { "enabled" } else { "disabled" },
            s.last_ping_at.as_deref().unwrap_or("-")
        ));
    }
    Ok(())
}
