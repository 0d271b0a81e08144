//! Typing into a pane: the one keystroke path every preview, answer and command takes
//! (read the input box, hold back for a draft or a question, type, Enter, verify).

use super::*;

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

impl Tmux {
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
}
