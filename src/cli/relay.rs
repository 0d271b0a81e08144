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
    /// The tmux session members spawned on this host (`member create --host`) open their
    /// windows in; created when missing.
    #[arg(long, value_name = "NAME", default_value = "cafleet")]
    pub session: String,
    /// The tmux server for those members: the socket path of `$TMUX` when the relay runs
    /// inside tmux, else tmux's default server.
    #[arg(long, value_name = "PATH")]
    pub tmux_socket: Option<String>,
}

/// tmux's default server for this user: `$TMUX_TMPDIR` (else /tmp), `tmux-<uid>/default`.
fn default_socket() -> String {
    let dir = std::env::var("TMUX_TMPDIR")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "/tmp".into());
    format!(
        "{}/tmux-{}/default",
        dir.trim_end_matches('/'),
        nix::unistd::getuid()
    )
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
    if a.session.is_empty()
        || a.session.contains([':', '.'])
        || a.session.chars().any(char::is_control)
    {
        return Err(crate::Error::usage(format!(
            "--session {:?} is not a tmux session name: use letters, digits, '-' or '_' (e.g. --session cafleet).",
            a.session
        )));
    }
    let setup = crate::broker::members::RelaySetup {
        socket: a
            .tmux_socket
            .clone()
            .or_else(Tmux::caller_socket)
            .unwrap_or_else(default_socket),
        session: a.session.clone(),
        cwd: std::env::current_dir()
            .map_err(|e| crate::Error::failed(format!("cannot read the current directory: {e}")))?,
        cafleet: std::env::current_exe().ok(),
    };
    let opts = crate::relay::RelayOptions {
        setup,
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
