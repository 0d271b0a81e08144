//! `cafleet server`: the admin WebUI and its API, in the foreground.

use super::{CliResult, Ctx};
use crate::broker::Broker;
use crate::config::{Config, env_var};
use crate::web::{AppState, Security};
use clap::Args;

/// Options of `server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on [default: $CAFLEET_BROKER_HOST, else 127.0.0.1]. Any address
    /// other than loopback requires --token.
    #[arg(long, value_name = "TEXT")]
    pub host: Option<String>,
    /// Port to listen on [default: $CAFLEET_BROKER_PORT, else 8000].
    #[arg(long, value_name = "INTEGER")]
    pub port: Option<u16>,
    /// Access token every API call must carry [default: $CAFLEET_WEBUI_TOKEN]. Open the
    /// WebUI as http://HOST:PORT/?token=TOKEN.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
}

/// `CAFLEET_BROKER_PORT`, validated (an invalid value is an error for every command, as 0.14).
pub fn env_port() -> crate::Result<Option<u16>> {
    match env_var("CAFLEET_BROKER_PORT") {
        None => Ok(None),
        Some(raw) => raw.trim().parse::<u16>().map(Some).map_err(|_| {
            crate::Error::invalid(format!(
                "CAFLEET_BROKER_PORT must be a port number 0-65535 (got '{raw}'). Unset it for the default of 8000."
            ))
        }),
    }
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(_ctx: &Ctx, a: ServerArgs) -> CliResult {
    let host = a
        .host
        .or_else(|| env_var("CAFLEET_BROKER_HOST"))
        .unwrap_or_else(|| "127.0.0.1".into());
    let port = match a.port {
        Some(p) => p,
        None => env_port()?.unwrap_or(8000),
    };
    let token = a
        .token
        .or_else(|| env_var("CAFLEET_WEBUI_TOKEN"))
        .filter(|t| !t.trim().is_empty());
    if !crate::web::is_loopback(&host) && token.is_none() {
        return Err(crate::Error::invalid(format!(
            "listening on {host} exposes the WebUI beyond this machine; pass --token <secret> (or set CAFLEET_WEBUI_TOKEN) so every API call must carry it, or use --host 127.0.0.1."
        )));
    }
    let config = Config::from_env()?;
    // Many requests may write at once: they share commits (and fsyncs) instead of queueing.
    let broker = Broker::open(&config, crate::broker::storage::Usage::Server).await?;
    let listener = match tokio::net::TcpListener::bind((host.as_str(), port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "Error: cannot listen on {host}:{port}: {e}. Stop the program using the port, or pass --port <another>."
            );
            return Err(crate::Error::Exit(3));
        }
    };
    let bound_port = listener.local_addr().map_or(port, |a| a.port());
    let state = AppState::new(
        broker.clone(),
        Security::for_bind(&host, bound_port, token.clone()),
    );
    let url = crate::web::browse_url(&host, bound_port, token.as_deref());
    super::output::print(&format!(
        "CAFleet WebUI on {url} (database {}); Ctrl-C to stop.",
        config.database_display
    ));
    let shutdown = async {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    };
    let served = crate::web::serve(state, listener, shutdown).await;
    broker.close().await;
    served.map_err(|e| crate::Error::failed(format!("the server failed: {e}")))
}
