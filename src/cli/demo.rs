//! `cafleet demo`: a one-command tour for a newcomer with no coding agent installed. It
//! starts a private tmux server with a Director and two stand-in members (a small script
//! shipped in the binary that polls, acks and replies through the real CLI), the monitor
//! and the WebUI, sends real messages, prints what to open, and tears everything down on
//! Ctrl-C (or after `--seconds`).

use super::output::print;
use super::{CliResult, Ctx};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The stand-in agent script.
const STANDIN: &str = include_str!("demo_agent.sh");

/// Options of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// WebUI port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Stop by itself after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    pub seconds: Option<u64>,
    /// Directory for the demo's database, tmux socket and scripts (default: a new temp dir,
    /// removed at the end).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Keep the directory (and its database) after stopping.
    #[arg(long)]
    pub keep: bool,
}

struct Demo {
    dir: PathBuf,
    socket: PathBuf,
    path_env: String,
    db_url: String,
    exe: PathBuf,
}

fn fail(what: &str, e: impl std::fmt::Display) -> crate::Error {
    crate::Error::failed(format!("demo: {what}: {e}"))
}

impl Demo {
    fn tmux(&self, args: &[&str]) -> crate::Result<String> {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env("PATH", &self.path_env)
            .env("CAFLEET_DATABASE_URL", &self.db_url)
            .env_remove("TMUX")
            .output()
            .map_err(|e| fail("cannot run tmux", e))?;
        check(out, &format!("tmux {}", args.join(" ")))
    }

    fn cafleet(&self, pane: &str, args: &[&str]) -> crate::Result<String> {
        let out = Command::new(&self.exe)
            .args(args)
            .env("PATH", &self.path_env)
            .env("CAFLEET_DATABASE_URL", &self.db_url)
            .env("TMUX", format!("{},0,0", self.socket.display()))
            .env("TMUX_PANE", pane)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| fail("cannot run cafleet", e))?;
        check(out, &format!("cafleet {}", args.join(" ")))
    }
}

fn check(out: Output, what: &str) -> crate::Result<String> {
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(crate::Error::failed(format!(
            "demo: `{what}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn free_port() -> crate::Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| fail("no free port", e))
}

fn write_exec(path: &Path, body: &str) -> CliResult {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).map_err(|e| fail("cannot write a script", e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| fail("cannot chmod a script", e))
}

/// Runs the demo.
pub async fn run(_ctx: &Ctx, a: DemoArgs) -> CliResult {
    if crate::tmux::find_on_path("tmux").is_none() {
        return Err(crate::Error::failed(
            "the demo needs tmux: install it (e.g. apt-get install tmux or brew install tmux)",
        ));
    }
    let temp = a.dir.is_none();
    let dir = match a.dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("cafleet-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(dir.join("bin"))
        .map_err(|e| fail("cannot create the demo directory", e))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| fail("cannot resolve the demo directory", e))?;
    let exe = std::env::current_exe().map_err(|e| fail("cannot find the cafleet binary", e))?;
    let exe_dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    write_exec(&dir.join("bin/claude"), STANDIN)?;
    let demo = Demo {
        socket: dir.join("tmux.sock"),
        path_env: format!(
            "{}:{}:{}",
            dir.join("bin").display(),
            exe_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
        db_url: format!("sqlite:///{}", dir.join("demo.db").display()),
        exe,
        dir: dir.clone(),
    };
    let port = if a.port == 0 { free_port()? } else { a.port };
    let result = start_and_run(&demo, port, a.seconds).await;
    let _ = demo.tmux(&["kill-server"]);
    if temp && !a.keep {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        print(&format!("Demo files kept in {}", dir.display()));
    }
    result
}

async fn start_and_run(demo: &Demo, port: u16, seconds: Option<u64>) -> CliResult {
    let standin = demo.dir.join("bin/claude");
    let standin = standin.to_string_lossy();
    let director_prompt =
        "Director of the demo fleet 1. Poll: cafleet message poll --fleet-id 1 --agent-id 1";
    demo.tmux(&[
        "new-session",
        "-d",
        "-s",
        "demo",
        "-n",
        "fleet",
        "-x",
        "200",
        "-y",
        "50",
        &standin,
        "--name",
        "Director",
        "--role",
        "director",
        director_prompt,
    ])?;
    let director = demo.tmux(&["display-message", "-p", "-t", "demo:fleet", "#{pane_id}"])?;
    let fleet_out = demo.cafleet(&director, &["fleet", "create", "--label", "demo"])?;
    let fleet_id = fleet_out
        .split_whitespace()
        .next()
        .unwrap_or("1")
        .to_string();
    let director_id = fleet_out
        .split_whitespace()
        .find_map(|w| w.strip_prefix("director="))
        .unwrap_or("1")
        .to_string();
    // The Director's stand-in learned its ids from its argv; the demo's first fleet is 1 in
    // the fresh database, which the prompt above assumes.
    let mut members = Vec::new();
    for (name, description) in [("alice", "writes code"), ("bob", "reviews code")] {
        let out = demo.cafleet(
            &director,
            &[
                "--json",
                "member",
                "create",
                "--fleet-id",
                &fleet_id,
                "--agent-id",
                &director_id,
                "--name",
                name,
                "--description",
                description,
            ],
        )?;
        let v: serde_json::Value =
            serde_json::from_str(&out).map_err(|e| fail("unexpected member create output", e))?;
        members.push((name, v["agent_id"].to_string()));
    }
    for (_, id) in &members {
        demo.cafleet(
            &director,
            &[
                "monitor",
                "config",
                "--fleet-id",
                &fleet_id,
                "--agent-id",
                id,
                "--interval",
                "30",
            ],
        )?;
    }
    let exe = demo.exe.to_string_lossy();
    demo.tmux(&[
        "new-window",
        "-d",
        "-n",
        "monitor",
        &exe,
        "monitor",
        "start",
        "--fleet-id",
        &fleet_id,
        "--tick",
        "5",
    ])?;
    let port_s = port.to_string();
    demo.tmux(&[
        "new-window",
        "-d",
        "-n",
        "webui",
        &exe,
        "server",
        "--port",
        &port_s,
    ])?;
    wait_for_port(port).await;
    print(&format!(
        "CAFleet demo is running: fleet {fleet_id} with a Director and two stand-in members (alice {}, bob {}).\n  WebUI:  http://127.0.0.1:{port}/#/fleets/{fleet_id}/agents\n  Panes:  tmux -S {} attach\n  CLI:    CAFLEET_DATABASE_URL={} cafleet message poll --fleet-id {fleet_id} --agent-id {director_id}\nStop with Ctrl-C: the panes, monitor, WebUI and demo files are removed.",
        members[0].1,
        members[1].1,
        demo.socket.display(),
        demo.db_url,
    ));
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let mut round = 0usize;
    let mut signals = stop_signals();
    loop {
        let (name, id) = &members[round % members.len()];
        round += 1;
        let task = format!("Round {round}: {name}, please review module {round} and report back.");
        demo.cafleet(
            &director,
            &[
                "message",
                "send",
                "--fleet-id",
                &fleet_id,
                "--agent-id",
                &director_id,
                "--to",
                id,
                "--text",
                &task,
            ],
        )?;
        print(&format!("Director -> {name}: {task}"));
        let pause = tokio::time::sleep(Duration::from_secs(if round == 1 { 2 } else { 12 }));
        let until_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = pause => {}
            () = until_deadline => break,
            () = &mut signals => break,
        }
    }
    print("Stopping the demo.");
    Ok(())
}

async fn wait_for_port(port: u16) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn stop_signals() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => Box::pin(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }),
        _ => Box::pin(std::future::pending()),
    }
}
