//! The tmux driver: runs the `tmux` binary (tokio::process) against an explicit server
//! socket, with a timeout on every call, and sanitises every payload it types; nothing is
//! typed into a pane whose foreground program is a shell (docs/decisions.md, K1, K2, K5).

mod text;
mod typing;

pub use text::*;

use crate::backend::screen::InputState;
use crate::error::TmuxError;
use crate::model::{CodingAgent, PaneTarget};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Timeout of every tmux call (docs/decisions.md, K5).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after the leading Escape, so the TUI has dismissed any prompt.
pub const PAUSE_AFTER_ESCAPE: Duration = Duration::from_millis(100);
/// How long a typist waits for an agent to take submitted text out of its input box.
pub const SUBMIT_WAIT: Duration = Duration::from_millis(1500);
/// How many more Enters a typist presses for text the agent has not taken.
pub const SUBMIT_RETRIES: usize = 4;
/// Pause after the literal text, so the TUI has taken it before Enter submits: Codex takes
/// an Enter that follows typed text within ~100 ms as part of a paste (a newline). Kept for
/// every pane whose input box is not known to be Claude Code's or opencode's.
pub const PAUSE_BEFORE_ENTER: Duration = Duration::from_millis(120);
/// The same pause for Claude Code and opencode, whose Enter only has to wait until the text
/// shows in the input box (which the typist checks before pressing it).
pub const PAUSE_BEFORE_ENTER_NO_PASTE: Duration = Duration::ZERO;

/// Foreground programs that are shells: nothing is typed into them (docs/decisions.md, K2).
pub const SHELLS: &[&str] = &[
    "bash", "zsh", "sh", "fish", "dash", "ksh", "tcsh", "csh", "mksh", "ash", "nu", "xonsh",
    "elvish", "pwsh", "busybox",
];

/// The calling pane as tmux reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaneContext {
    /// Session name.
    pub session_name: String,
    /// Window id (`@N`).
    pub window_id: String,
    /// Pane id (`%N`).
    pub pane_id: String,
    /// The server's socket path.
    pub socket_path: String,
}

/// What happened to an attempt to type into a pane.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Every keystroke call succeeded.
    Sent,
    /// The pane runs a shell; nothing was typed (docs/decisions.md, K2).
    Shell(String),
    /// The pane does not exist on its server.
    Gone,
    /// A tmux call failed or timed out.
    Failed(TmuxError),
    /// Nothing was typed, on purpose: the reason (a draft in the input box, a question).
    Held(String),
}

impl Delivery {
    /// True only when every keystroke was delivered.
    pub fn is_sent(&self) -> bool {
        matches!(self, Delivery::Sent)
    }
}

/// Why nothing was typed into an input box that holds someone's draft.
pub const HELD_FOR_DRAFT: &str = "its input box holds a half-typed draft";

/// Whether a coding agent took text typed into its input box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submission {
    /// The input box emptied after Enter: the agent has the text.
    Taken,
    /// The text was still in the input box after every Enter.
    Stuck,
    /// No input box this reader knows (or nothing was typed): cannot tell.
    Unverified,
}

/// Handle on the `tmux` executable found on `PATH`.
#[derive(Debug, Clone)]
pub struct Tmux {
    bin: Option<PathBuf>,
}

impl Tmux {
    /// Locates `tmux` on `PATH` (nothing is run).
    pub fn from_env() -> Tmux {
        Tmux {
            bin: find_on_path("tmux"),
        }
    }

    /// Whether a `tmux` executable was found.
    pub fn available(&self) -> bool {
        self.bin.is_some()
    }

    /// The server of the calling process: the socket path in `$TMUX`, if inside tmux.
    pub fn caller_socket() -> Option<String> {
        let v = std::env::var("TMUX").ok()?;
        let path = v.split(',').next().unwrap_or_default();
        (!path.is_empty()).then(|| path.to_string())
    }

    /// Runs `tmux -S <socket> <args>` with a timeout; returns stdout.
    pub async fn run(
        &self,
        socket: &str,
        args: &[&str],
        timeout: Duration,
    ) -> Result<String, TmuxError> {
        let Some(bin) = &self.bin else {
            return Err(TmuxError::NotFound("tmux is not on PATH".into()));
        };
        let argv = std::iter::once("tmux")
            .chain(["-S", socket])
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = tokio::process::Command::new(bin);
        cmd.arg("-S")
            .arg(socket)
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        tracing::debug!(%argv, "tmux");
        let output = match tokio::time::timeout(timeout, cmd.output()).await {
            Err(_) => {
                return Err(TmuxError::Timeout {
                    seconds: timeout.as_secs_f64(),
                    argv,
                });
            }
            Ok(Err(e)) => return Err(TmuxError::NotFound(e.to_string())),
            Ok(Ok(o)) => o,
        };
        if !output.status.success() {
            return Err(TmuxError::Failed {
                argv,
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Resolves a pane on a server to its session, window, pane id and canonical socket.
    /// A pane that does not exist is an error, never empty fields (docs/decisions.md, TMUX-1).
    pub async fn describe_pane(&self, socket: &str, pane: &str) -> Result<PaneContext, TmuxError> {
        let out = self
            .run(
                socket,
                &[
                    "display-message",
                    "-p",
                    "-t",
                    pane,
                    "#{session_name}|#{window_id}|#{pane_id}|#{socket_path}",
                ],
                CALL_TIMEOUT,
            )
            .await?;
        let line = out.trim();
        let parts: Vec<&str> = line.splitn(4, '|').collect();
        match parts.as_slice() {
            [s, w, p, sock] if !p.is_empty() && !w.is_empty() => Ok(PaneContext {
                session_name: s.to_string(),
                window_id: w.to_string(),
                pane_id: p.to_string(),
                socket_path: if sock.is_empty() {
                    socket.to_string()
                } else {
                    sock.to_string()
                },
            }),
            [_, _, _, _] => Err(TmuxError::Refused(format!(
                "pane {pane} does not exist on the tmux server {socket}"
            ))),
            _ => Err(TmuxError::Refused(format!(
                "unexpected tmux display-message output: {line:?}"
            ))),
        }
    }

    /// The foreground program of a pane, or `None` when the pane is gone.
    pub async fn pane_command(&self, target: &PaneTarget) -> Result<Option<String>, TmuxError> {
        match self
            .run(
                &target.socket,
                &[
                    "display-message",
                    "-p",
                    "-t",
                    &target.pane_id,
                    "#{pane_id}|#{pane_current_command}",
                ],
                CALL_TIMEOUT,
            )
            .await
        {
            Ok(out) => {
                let (pane, cmd) = out
                    .trim_end_matches('\n')
                    .split_once('|')
                    .unwrap_or(("", ""));
                Ok((pane == target.pane_id).then(|| cmd.to_string()))
            }
            Err(e) if e.is_pane_gone() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Checks that a pane exists and runs a coding agent, not a shell (docs/decisions.md, K2);
    /// the refusal is the [`Delivery`] to report.
    pub async fn check_agent_pane(&self, target: &PaneTarget) -> Result<(), Delivery> {
        match self.pane_command(target).await {
            Ok(None) => Err(Delivery::Gone),
            Ok(Some(cmd)) if is_shell(&cmd) => Err(Delivery::Shell(cmd)),
            Ok(Some(_)) => Ok(()),
            Err(e) => Err(Delivery::Failed(e)),
        }
    }

    /// An agent's activity read off its pane: exited when the pane is gone or back at a
    /// shell, else what its screen shows ([`crate::activity::from_screen`]); unknown when
    /// tmux cannot tell.
    pub async fn pane_activity(&self, target: &PaneTarget) -> crate::activity::Activity {
        use crate::activity::Activity;
        match self.check_agent_pane(target).await {
            Err(Delivery::Gone | Delivery::Shell(_)) => return Activity::Exited,
            Err(_) => return Activity::Unknown,
            Ok(()) => {}
        }
        match self.capture_screen(target).await {
            Ok(screen) => crate::activity::from_screen(&screen),
            Err(e) if e.is_pane_gone() => Activity::Exited,
            Err(_) => Activity::Unknown,
        }
    }

    /// Opens a pane for a member in `window` (the Director's), running `argv` directly (no
    /// shell) in `cwd`, with `env` set; returns the new pane id. Focus is not moved.
    pub async fn split_window(
        &self,
        socket: &str,
        window: &str,
        cwd: &Path,
        env: &[(String, String)],
        argv: &[String],
    ) -> Result<String, TmuxError> {
        let head = ["split-window", "-t", window, "-d"];
        let out = self
            .spawn_command(socket, &head, "#{pane_id}", cwd, env, argv)
            .await?;
        let pane = out.trim().to_string();
        if !pane.starts_with('%') {
            return Err(TmuxError::Refused(format!(
                "tmux split-window printed no pane id (got {pane:?})"
            )));
        }
        Ok(pane)
    }

    /// Opens a window for a member in `session` (created when the server has no such
    /// session), running `argv` directly (no shell) in `cwd` with `env` set; returns the
    /// new pane's session name, window id and pane id. A relay spawns members this way
    /// (docs/postgres.md, "Pane requests").
    pub async fn new_window(
        &self,
        socket: &str,
        session: &str,
        cwd: &Path,
        env: &[(String, String)],
        argv: &[String],
    ) -> Result<(String, String, String), TmuxError> {
        let exact = format!("={session}");
        let exists = self
            .run(socket, &["has-session", "-t", &exact], CALL_TIMEOUT)
            .await
            .is_ok();
        let target = format!("{exact}:");
        let head: Vec<&str> = if exists {
            vec!["new-window", "-d", "-t", &target]
        } else {
            vec!["new-session", "-d", "-s", session, "-x", "200", "-y", "50"]
        };
        let format = "#{session_name}\t#{window_id}\t#{pane_id}";
        let out = self
            .spawn_command(socket, &head, format, cwd, env, argv)
            .await?;
        let mut fields = out.trim().split('\t').map(str::to_string);
        match (fields.next(), fields.next(), fields.next()) {
            (Some(s), Some(w), Some(p)) if p.starts_with('%') => Ok((s, w, p)),
            _ => Err(TmuxError::Refused(format!(
                "tmux new-window printed no pane id (got {:?})",
                out.trim()
            ))),
        }
    }

    /// Runs a spawning command (`head`, e.g. `split-window -t @1 -d`) that prints
    /// `format` for the new pane, started in `cwd` with `env`, running `argv` directly.
    async fn spawn_command(
        &self,
        socket: &str,
        head: &[&str],
        format: &str,
        cwd: &Path,
        env: &[(String, String)],
        argv: &[String],
    ) -> Result<String, TmuxError> {
        let cwd = cwd.to_string_lossy();
        let env_pairs: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut args: Vec<&str> = head.to_vec();
        args.extend(["-P", "-F", format, "-c", &cwd]);
        for pair in &env_pairs {
            args.push("-e");
            args.push(pair);
        }
        args.push("--");
        args.extend(argv.iter().map(String::as_str));
        self.run(socket, &args, SPAWN_TIMEOUT).await
    }

    /// Arranges a window as main-vertical (the Director's pane left, members stacked right).
    pub async fn select_layout(&self, socket: &str, window: &str) -> Result<(), TmuxError> {
        self.run(
            socket,
            &["select-layout", "-t", window, "main-vertical"],
            CALL_TIMEOUT,
        )
        .await
        .map(|_| ())
    }

    /// The live pane ids of a server.
    pub async fn live_panes(
        &self,
        socket: &str,
    ) -> Result<std::collections::HashSet<String>, TmuxError> {
        let out = self
            .run(
                socket,
                &["list-panes", "-a", "-F", "#{pane_id}"],
                CALL_TIMEOUT,
            )
            .await?;
        Ok(out.split_whitespace().map(str::to_string).collect())
    }

    /// Keeps a pane on screen after its program exits (`remain-on-exit`), so that a
    /// coding agent that fails during start-up leaves its last lines to report; `false`
    /// restores the default (the pane closes when its program exits).
    pub async fn set_remain_on_exit(&self, target: &PaneTarget, on: bool) -> Result<(), TmuxError> {
        let mut args = vec!["set-option", "-p", "-t", target.pane_id.as_str()];
        if on {
            args.extend(["remain-on-exit", "on"]);
        } else {
            args.extend(["-u", "remain-on-exit"]);
        }
        self.run(&target.socket, &args, CALL_TIMEOUT)
            .await
            .map(|_| ())
    }

    /// Whether a pane's program has exited (`Some`, kept by `remain-on-exit`, with its exit
    /// status once tmux has recorded it) or is running (`None`); an error when the pane is
    /// gone.
    pub async fn pane_exit_status(
        &self,
        target: &PaneTarget,
    ) -> Result<Option<Option<i64>>, TmuxError> {
        let out = self
            .run(
                &target.socket,
                &[
                    "display-message",
                    "-p",
                    "-t",
                    &target.pane_id,
                    "#{pane_id}|#{pane_dead}|#{pane_dead_status}",
                ],
                CALL_TIMEOUT,
            )
            .await?;
        let mut parts = out.trim().splitn(3, '|');
        if parts.next() != Some(target.pane_id.as_str()) {
            return Err(TmuxError::Refused(format!(
                "pane {} not found",
                target.pane_id
            )));
        }
        match parts.next() {
            Some("1") => Ok(Some(parts.next().and_then(|s| s.trim().parse().ok()))),
            _ => Ok(None),
        }
    }

    /// Kills a pane; a pane that is already gone counts as killed.
    pub async fn kill_pane(&self, target: &PaneTarget) -> Result<(), TmuxError> {
        match self
            .run(
                &target.socket,
                &["kill-pane", "-t", &target.pane_id],
                CALL_TIMEOUT,
            )
            .await
        {
            Err(e) if !e.is_pane_gone() => Err(e),
            _ => Ok(()),
        }
    }

    /// The pane's visible screen only (no scrollback), trailing blank rows dropped: what
    /// its input box and footer show now. A full-screen TUI that clears the screen pushes
    /// its earlier frames into the scrollback, where a stale "working" footer would be
    /// found.
    pub async fn capture_screen(&self, target: &PaneTarget) -> Result<String, TmuxError> {
        let out = self
            .run(
                &target.socket,
                &["capture-pane", "-p", "-t", &target.pane_id],
                CALL_TIMEOUT,
            )
            .await?;
        Ok(tail_lines(&out, usize::MAX))
    }

    /// The pane's text: the screen plus `lines` rows of history, trailing blank rows
    /// dropped, then the last `lines` lines, each ending in `\n` (docs/decisions.md, L8).
    pub async fn capture(&self, target: &PaneTarget, lines: i64) -> Result<String, TmuxError> {
        if lines <= 0 {
            return Err(TmuxError::Refused(format!(
                "capture_pane: lines must be positive, got {lines}"
            )));
        }
        let start = format!("-{lines}");
        let out = self
            .run(
                &target.socket,
                &["capture-pane", "-p", "-t", &target.pane_id, "-S", &start],
                CALL_TIMEOUT,
            )
            .await?;
        Ok(tail_lines(
            &out,
            usize::try_from(lines).unwrap_or(usize::MAX),
        ))
    }
}
