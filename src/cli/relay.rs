//! `cafleet relay`: type the deliveries sent from other hosts into this host's panes
//! (docs/postgres.md, "Hosts and the relay").

use super::output::print;
use super::{CliResult, Ctx};
use crate::tmux::Tmux;
use clap::Args;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Options of `relay`.
#[derive(Debug, Args)]
pub struct RelayArgs {
    /// Seconds between passes when no wake-up comes (PostgreSQL wakes the relay at once;
    /// on SQLite this is the delay), 1–3600.
    #[arg(long, value_name = "SECONDS", default_value = "1", value_parser = parse_interval)]
    pub interval: u64,
    /// Seconds before a preview its recipient has not seen (polled) is typed again; the
    /// wait doubles after each attempt (1–86400). As `monitor start`'s.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = super::monitor::parse_redeliver_after)]
    pub redeliver_after: u64,
    /// Previews typed per message before the relay stops typing it (the fleet's monitor
    /// turns it into a dead letter), 1–100.
    #[arg(long, value_name = "N", default_value = "5", value_parser = super::monitor::parse_redeliver_attempts)]
    pub redeliver_attempts: i64,
    /// Run one pass and exit (for scripts and cron).
    #[arg(long)]
    pub once: bool,
}

fn parse_interval(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (1..=3600).contains(&n) => Ok(n),
        _ => Err(format!(
            "'{s}' is not a number of seconds from 1 to 3600 (e.g. --interval 1)."
        )),
    }
}

/// Runs the relay in the foreground until Ctrl-C, SIGTERM or SIGHUP.
pub async fn run(ctx: &Ctx, a: RelayArgs) -> CliResult {
    if !Tmux::from_env().available() {
        return Err(crate::Error::failed(
            "tmux binary not found on PATH: the relay types into this host's tmux panes. Install tmux, then re-run 'cafleet relay'.",
        ));
    }
    let broker = ctx.broker().await?;
    let token = CancellationToken::new();
    let signals = super::monitor::watch_signals(token.clone())
        .map_err(|e| crate::Error::failed(format!("cannot install signal handlers: {e}")))?;
    let opts = crate::relay::RelayOptions {
        interval: Duration::from_secs(a.interval),
        policy: crate::delivery::Redelivery {
            after: Duration::from_secs(a.redeliver_after),
            attempts: a.redeliver_attempts,
        },
        once: a.once,
    };
    if !a.once {
        print(&format!(
            "relay running for host {} (pid {}); stop it with Ctrl-C or SIGTERM.",
            broker.host(),
            std::process::id()
        ));
    }
    crate::relay::run(&broker, opts, token, print, |w| eprintln!("Warning: {w}")).await;
    signals.abort();
    Ok(())
}
