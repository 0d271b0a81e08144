//! The tmux driver: runs the `tmux` binary (tokio::process) against an explicit server
//! socket, with a timeout on every call, and sanitises every payload it types; nothing is
//! typed into a pane whose foreground program is a shell (docs/decisions.md, K1, K2, K5).

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

/// How [`Tmux::type_keys`] treats the pane before typing.
#[derive(Debug, Clone, Copy, Default)]
struct TypeOptions<'a> {
    /// Read the input box first: hold back for a draft or a question.
    respect_input: bool,
    /// Also hold back while the agent is working.
    hold_if_working: bool,
    /// The text about to be typed: found already in the input box, it is submitted instead.
    own_text: Option<&'a str>,
}

/// Whether two texts are the same but for whitespace (an input box wraps long lines).
fn same_text(a: &str, b: &str) -> bool {
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let (a, b) = (squeeze(a), squeeze(b));
    !a.is_empty() && a == b
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

    /// Types a payload into a coding agent's pane: the literal text (`-l --`, so a leading
    /// `-` stays text), then Enter — never Escape, which would cancel a working agent's
    /// turn. Refuses shells (docs/decisions.md, K2), and holds back when the agent's input
    /// box has a half-typed draft or a question has the keyboard: nothing is typed then
    /// ([`Delivery::Held`]). Text + Enter into a working agent is queued by the agent
    /// (docs/real-agents.md).
    pub async fn type_line(&self, target: &PaneTarget, payload: &str) -> Delivery {
        self.type_line_with(target, payload, false).await.0
    }

    /// [`Tmux::type_line`] that also says whether the agent took the text, and, with
    /// `hold_if_working`, types nothing into an agent whose pane shows a running turn
    /// ([`Delivery::Held`]). Text of this same payload left in the input box by an earlier
    /// attempt is submitted (Enter) instead of typed again.
    pub async fn type_line_with(
        &self,
        target: &PaneTarget,
        payload: &str,
        hold_if_working: bool,
    ) -> (Delivery, Submission) {
        let payload = close_mention(payload);
        let opts = TypeOptions {
            respect_input: true,
            hold_if_working,
            own_text: Some(&payload),
        };
        self.type_keys(target, &[Key::Text(&payload), Key::Enter], opts)
            .await
    }

    /// Sends a key sequence to a coding agent's pane; see [`Tmux::type_keys`].
    pub async fn send_keys(&self, target: &PaneTarget, keys: &[Key<'_>]) -> Delivery {
        self.type_keys(target, keys, TypeOptions::default()).await.0
    }

    /// Sends a key sequence to a coding agent's pane, after checking the pane exists and
    /// is not a shell (docs/decisions.md, K2), as the pane's only typist: every process that
    /// types into the pane takes its lock first, so sequences never interleave
    /// (docs/real-agents.md). With `respect_input`, nothing is typed while the input box
    /// holds a draft or a question frame is up (or, with `hold_if_working`, while a turn
    /// runs). Each step runs only if the previous one succeeded; the pauses after Escape and
    /// after text let a TUI settle before the next key.
    async fn type_keys(
        &self,
        target: &PaneTarget,
        keys: &[Key<'_>],
        opts: TypeOptions<'_>,
    ) -> (Delivery, Submission) {
        let unverified = Submission::Unverified;
        let started = std::time::Instant::now();
        let mut agent_wait = Duration::ZERO;
        if let Err(refused) = self.check_agent_pane(target).await {
            return (refused, unverified);
        }
        let _typist = match crate::typist::Typist::acquire(target).await {
            Ok(lock) => lock,
            Err(e) => return (Delivery::Failed(TmuxError::Refused(e)), unverified),
        };
        let mut known_box = false;
        let mut pause_before_enter = PAUSE_BEFORE_ENTER;
        if opts.respect_input {
            let screen = match self.capture_screen(target).await {
                Ok(s) => s,
                Err(e) if e.is_pane_gone() => return (Delivery::Gone, unverified),
                Err(e) => return (Delivery::Failed(e), unverified),
            };
            if opts.hold_if_working
                && crate::activity::from_screen(&screen) == crate::activity::Activity::Working
            {
                return (
                    Delivery::Held("it is working; it gets the message when its turn ends".into()),
                    unverified,
                );
            }
            match crate::backend::screen::input_state(&screen) {
                InputState::Draft(text)
                    if opts.own_text.is_some_and(|own| same_text(own, &text)) =>
                {
                    // Our own text, typed by an earlier attempt and never submitted: submit
                    // it rather than type it again.
                    tracing::info!(pane = %target.pane_id, "earlier preview still in the input box: pressing Enter");
                    return self.repair(target).await;
                }
                InputState::Draft(_) => {
                    return (Delivery::Held(HELD_FOR_DRAFT.into()), unverified);
                }
                InputState::Question => {
                    return (
                        Delivery::Held("a question is waiting for an answer".into()),
                        unverified,
                    );
                }
                InputState::Empty => known_box = true,
                InputState::Unknown => {}
            }
            if matches!(
                crate::backend::screen::input_layout(&screen),
                Some(CodingAgent::Claude | CodingAgent::Opencode)
            ) {
                pause_before_enter = PAUSE_BEFORE_ENTER_NO_PASTE;
            }
        }
        for key in keys {
            // Into an input box we can read, Enter goes only once the typed text shows
            // there: an agent that is still taking the text would drop the Enter, and the
            // next message would be appended to this one.
            if known_box && matches!(key, Key::Enter) {
                let t = std::time::Instant::now();
                let shown = self.await_input(target).await;
                agent_wait += t.elapsed();
                if !shown {
                    tracing::info!(pane = %target.pane_id, "typed text not seen in the input box; pressing Enter anyway");
                }
            }
            let pane = target.pane_id.as_str();
            let (args, pause): (Vec<&str>, Duration) = match key {
                Key::Escape => (vec!["send-keys", "-t", pane, "Escape"], PAUSE_AFTER_ESCAPE),
                Key::Text(t) => (
                    vec!["send-keys", "-t", pane, "-l", "--", t],
                    pause_before_enter,
                ),
                Key::Name(k) => (vec!["send-keys", "-t", pane, k], Duration::ZERO),
                Key::Enter => (vec!["send-keys", "-t", pane, "Enter"], Duration::ZERO),
            };
            if let Err(e) = self.run(&target.socket, &args, CALL_TIMEOUT).await {
                let d = if e.is_pane_gone() {
                    Delivery::Gone
                } else {
                    Delivery::Failed(e)
                };
                return (d, unverified);
            }
            // The pause before Enter stays for Codex even where the text is seen in the box:
            // it takes an Enter that follows typed text within ~100 ms as part of a paste
            // (a newline), and the text would wait for a second Enter.
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
        if !known_box {
            return (Delivery::Sent, unverified);
        }
        let t = std::time::Instant::now();
        let taken = self.await_submitted(target).await;
        agent_wait += t.elapsed();
        // What a delivery costs here, and how much of it was the agent's own rendering
        // (the delivery bench reads this line: docs/performance.md).
        tracing::debug!(
            pane = %target.pane_id,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            agent_ms = agent_wait.as_secs_f64() * 1e3,
            "typed and verified"
        );
        if taken {
            (Delivery::Sent, Submission::Taken)
        } else {
            tracing::warn!(pane = %target.pane_id, "typed text still in the input box after Enter");
            (Delivery::Sent, Submission::Stuck)
        }
    }

    /// Submits text an earlier attempt left in the input box (Enter, as many times as
    /// [`Tmux::await_submitted`] allows).
    async fn repair(&self, target: &PaneTarget) -> (Delivery, Submission) {
        if let Err(e) = self
            .run(
                &target.socket,
                &["send-keys", "-t", &target.pane_id, "Enter"],
                CALL_TIMEOUT,
            )
            .await
        {
            let d = if e.is_pane_gone() {
                Delivery::Gone
            } else {
                Delivery::Failed(e)
            };
            return (d, Submission::Unverified);
        }
        if self.await_submitted(target).await {
            (Delivery::Sent, Submission::Taken)
        } else {
            (Delivery::Sent, Submission::Stuck)
        }
    }

    /// Waits (up to [`SUBMIT_WAIT`]) until the input box shows typed text.
    async fn await_input(&self, target: &PaneTarget) -> bool {
        self.await_box(target, true).await
    }

    /// After text + Enter into an input box that was empty: waits (still the pane's typist)
    /// until the agent has taken the text, i.e. its input box is empty again, so the next
    /// typist never finds our own text there and takes it for someone's draft. Text still
    /// there after [`SUBMIT_WAIT`] gets Enter again, up to [`SUBMIT_RETRIES`] times: a TUI
    /// that is streaming a reply can drop an Enter (opencode does).
    async fn await_submitted(&self, target: &PaneTarget) -> bool {
        for attempt in 0..=SUBMIT_RETRIES {
            if attempt > 0
                && self
                    .run(
                        &target.socket,
                        &["send-keys", "-t", &target.pane_id, "Enter"],
                        CALL_TIMEOUT,
                    )
                    .await
                    .is_err()
            {
                return false;
            }
            if self.await_box(target, false).await {
                return true;
            }
        }
        false
    }

    /// Polls the input box (up to [`SUBMIT_WAIT`]) until it holds text (`filled`) or no
    /// longer does; false on timeout or a failed capture.
    async fn await_box(&self, target: &PaneTarget, filled: bool) -> bool {
        let deadline = tokio::time::Instant::now() + SUBMIT_WAIT;
        while tokio::time::Instant::now() < deadline {
            let Ok(screen) = self.capture_screen(target).await else {
                return false;
            };
            let draft = matches!(
                crate::backend::screen::input_state(&screen),
                InputState::Draft(_)
            );
            if draft == filled {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
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
        let cwd = cwd.to_string_lossy();
        let env_pairs: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut args: Vec<&str> = vec![
            "split-window",
            "-t",
            window,
            "-P",
            "-F",
            "#{pane_id}",
            "-d",
            "-c",
            &cwd,
        ];
        for pair in &env_pairs {
            args.push("-e");
            args.push(pair);
        }
        args.push("--");
        args.extend(argv.iter().map(String::as_str));
        let out = self.run(socket, &args, SPAWN_TIMEOUT).await?;
        let pane = out.trim().to_string();
        if !pane.starts_with('%') {
            return Err(TmuxError::Refused(format!(
                "tmux split-window printed no pane id (got {pane:?})"
            )));
        }
        Ok(pane)
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

/// One step of a keystroke sequence.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// The Escape key (dismisses a pending prompt).
    Escape,
    /// Literal text, typed with `-l --`; callers sanitise it first.
    Text(&'a str),
    /// A tmux key name such as `1`.
    Name(&'a str),
    /// The Enter key.
    Enter,
}

/// A line whose last word starts with `$` or `@` gets a trailing space: typed as is, that
/// word opens the coding agent's mention popup (Codex's skill mentions, Claude Code's file
/// mentions), and the Enter that follows is taken by the popup instead of submitting the
/// line (docs/real-agents.md).
pub fn close_mention(line: &str) -> std::borrow::Cow<'_, str> {
    let last = line.rsplit(char::is_whitespace).next().unwrap_or("");
    if last.starts_with(['$', '@']) {
        std::borrow::Cow::Owned(format!("{line} "))
    } else {
        std::borrow::Cow::Borrowed(line)
    }
}

/// Timeout of `split-window`, which starts a program.
pub const SPAWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Drops trailing blank rows, keeps the last `n` lines, each terminated by `\n`.
pub fn tail_lines(text: &str, n: usize) -> String {
    let mut rows: Vec<&str> = text.split('\n').collect();
    while rows.last().is_some_and(|r| r.trim().is_empty()) {
        rows.pop();
    }
    let skip = rows.len().saturating_sub(n);
    let mut out = String::new();
    for row in &rows[skip..] {
        out.push_str(row);
        out.push('\n');
    }
    out
}

/// Whether a `pane_current_command` names a shell.
pub fn is_shell(command: &str) -> bool {
    let base = command.rsplit('/').next().unwrap_or(command);
    let base = base.trim_start_matches('-');
    SHELLS.contains(&base)
}

/// Finds an executable on `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Makes text inert for typing into a pane (docs/decisions.md, K1): CR, LF and CRLF become
/// `⏎`; every other control character (C0, ESC, DEL, C1) becomes a visible stand-in;
/// invisible format and bidi-control characters become `�`. Printable text, including
/// non-ASCII, is kept.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('⏎');
            }
            '\n' | '\u{2028}' | '\u{2029}' | '\u{85}' => out.push('⏎'),
            // C0 controls map onto the Unicode "control pictures" block (␀ … ␟, ␉ for TAB).
            c if (c as u32) < 0x20 => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('�')),
            '\u{7f}' => out.push('␡'),
            c if is_invisible(c) => out.push('�'),
            c => out.push(c),
        }
    }
    out
}

/// C1 controls, and the code points a terminal draws as nothing: Unicode's
/// Default_Ignorable_Code_Point set (zero-width and bidi controls, fillers, tags, variation
/// selectors) plus the other format characters (Cf). The emoji/text presentation
/// selectors U+FE0E and U+FE0F stay: they only pick a glyph for the character before them.
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x80..=0x9f
        | 0xad
        | 0x034f
        | 0x0600..=0x0605
        | 0x061c
        | 0x06dd
        | 0x070f
        | 0x0890..=0x0891
        | 0x08e2
        | 0x115f..=0x1160
        | 0x17b4..=0x17b5
        | 0x180b..=0x180f
        | 0x200b..=0x200f
        | 0x202a..=0x202e
        | 0x2060..=0x206f
        | 0x3164
        | 0xfe00..=0xfe0d
        | 0xfeff
        | 0xffa0
        | 0xfff0..=0xfffb
        | 0x110bd
        | 0x110cd
        | 0x13430..=0x1343f
        | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a
        | 0xe0000..=0xe0fff
    )
}

/// Cuts text to `max` code points plus `…` when longer (0.14's rule; docs/decisions.md, C1).
pub fn truncate(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(text),
        Some((idx, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..idx])),
    }
}

/// The inline preview typed for a delivery: a header line, one line break, then the
/// truncated and sanitised body (docs/decisions.md, L2).
pub fn preview_payload(task_id: i64, from: i64, ts: &str, text: &str, max: usize) -> String {
    format!(
        "[cafleet msg {task_id} from {from} {ts}]\n{}",
        sanitize(&truncate(text, max))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_makes_controls_visible() {
        let s = sanitize(
            "line1\nline2\r\nline3\rend\ttab \x03c \x15u \x1b[Aesc \x7fdel \u{9b}c1 \u{202e}rtl",
        );
        assert_eq!(s, "line1⏎line2⏎line3⏎end␉tab ␃c ␕u ␛[Aesc ␡del �c1 �rtl");
        assert!(!s.chars().any(char::is_control));
        // Fillers, tags and variation selectors hide text from a reader; emoji keep their
        // presentation selector.
        assert_eq!(
            sanitize("a\u{3164}b\u{e0041}c\u{e0101}d\u{fe01}e\u{34f}f\u{600}g ❤\u{fe0f}"),
            "a�b�c�d�e�f�g ❤\u{fe0f}"
        );
        assert_eq!(
            sanitize("-R $(rm -rf /) `x` é 日本"),
            "-R $(rm -rf /) `x` é 日本"
        );
    }

    #[test]
    fn a_trailing_mention_word_is_closed_with_a_space() {
        assert_eq!(close_mention("echo $TMUX_PANE"), "echo $TMUX_PANE ");
        assert_eq!(close_mention("costs $PRICE"), "costs $PRICE ");
        assert_eq!(close_mention("see @src/main.rs"), "see @src/main.rs ");
        assert_eq!(close_mention("$X"), "$X ");
        assert_eq!(close_mention("echo ${TMUX_PANE}."), "echo ${TMUX_PANE}. ");
        assert_eq!(close_mention("a $b c"), "a $b c");
        assert_eq!(close_mention("mail me@x"), "mail me@x");
        assert_eq!(close_mention(""), "");
    }

    #[test]
    fn truncate_counts_code_points() {
        assert_eq!(truncate("0123456789", 10), "0123456789");
        assert_eq!(truncate("0123456789A", 10), "0123456789…");
        assert_eq!(truncate("ÄÖÜ456789ABC", 10), "ÄÖÜ456789A…");
        assert_eq!(truncate("", 1), "");
    }

    #[test]
    fn preview_has_two_lines() {
        assert_eq!(
            preview_payload(1, 1, "2026-11-24T12:25:24.458526+00:00", "a\nb", 200),
            "[cafleet msg 1 from 1 2026-11-24T12:25:24.458526+00:00]\na⏎b"
        );
    }

    #[test]
    fn capture_tail_drops_blank_rows() {
        assert_eq!(tail_lines("a\nb\nc\n\n\n\n", 2), "b\nc\n");
        assert_eq!(tail_lines("a\n\n", 5), "a\n");
        assert_eq!(tail_lines("\n\n", 3), "");
    }

    #[test]
    fn shells_are_recognised() {
        for s in ["bash", "-bash", "/bin/zsh", "fish", "sh"] {
            assert!(is_shell(s), "{s}");
        }
        for s in ["node", "claude", "codex", "python3", "opencode"] {
            assert!(!is_shell(s), "{s}");
        }
    }
}
