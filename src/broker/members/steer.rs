//! Steering a member: capture its screen, answer its prompts, run a shell command in it,
//! ping and nudge it.

use super::*;

impl Broker {
    /// Captures a member's pane.
    pub async fn member_capture(&self, pane: &PaneTarget, lines: i64) -> Result<String> {
        self.tmux
            .capture(pane, lines)
            .await
            .map_err(|e| Error::failed(format!("capture failed: {e}")))
    }

    /// Answers a multiple-choice prompt with digit 1–3 (no Enter).
    pub async fn member_choice(&self, pane: &PaneTarget, choice: u8) -> Result<()> {
        let digit = choice.to_string();
        deliver(self.tmux.send_keys(pane, &[Key::Name(&digit)]).await, pane)
    }

    /// Types free text into a question frame's free-text row: its digit (read off the
    /// pane: options + 1 in Claude Code's frame), the sanitised text, Enter. Nothing is
    /// typed when no frame with such a row is on screen.
    pub async fn member_freetext(&self, pane: &PaneTarget, text: &str) -> Result<()> {
        // A shell or a gone pane is refused as every other keystroke is (docs/decisions.md, K2).
        if let Err(refused) = self.tmux.check_agent_pane(pane).await {
            return deliver(refused, pane);
        }
        let screen = self
            .tmux
            .capture(pane, 60)
            .await
            .map_err(|e| Error::failed(format!("capture failed: {e}")))?;
        let Some(digit) = backend::screen::freetext_digit(&screen) else {
            return Err(Error::not_found(format!(
                "no question with a free-text row (\"Type something.\") is showing in pane {}; nothing was typed. See the pane with 'cafleet member capture', answer an option with --choice, or send the member a message instead.",
                pane.pane_id
            )));
        };
        let text = sanitize(text);
        let text = crate::tmux::close_mention(&text);
        let digit = digit.to_string();
        deliver(self.tmux.send_keys(pane, &[Key::Name(&digit)]).await, pane)?;
        // The digit turns the row into a text field; text typed before it has done so is
        // lost (Claude Code then takes the Enter as declining the question).
        tokio::time::sleep(FREETEXT_ROW_PAUSE).await;
        deliver(
            self.tmux
                .send_keys(pane, &[Key::Text(&text), Key::Enter])
                .await,
            pane,
        )
    }

    /// Types `! <command>` and Enter: the coding agents' shell shortcut.
    pub async fn member_exec(&self, pane: &PaneTarget, command: &str) -> Result<()> {
        let line = format!("! {}", sanitize(command));
        deliver(self.tmux.type_line(pane, &line).await, pane)
    }

    /// Types the poll trigger into a pane (no Escape: a working agent queues it).
    pub async fn member_ping(
        &self,
        fleet_id: FleetId,
        member_id: AgentId,
        pane: &PaneTarget,
    ) -> Result<()> {
        let line = format!("cafleet message poll --fleet-id {fleet_id} --agent-id {member_id}");
        match self.tmux.type_line(pane, &line).await {
            Delivery::Sent => return Ok(()),
            held @ Delivery::Held(_) => return deliver(held, pane),
            _ => {}
        }
        Err(Error::failed(format!(
            "send failed: tmux send-keys did not deliver the poll-trigger keystroke to pane {}.",
            pane.pane_id
        )))
    }

    /// An ackable task from `sender` to the member plus its preview, as a unicast send.
    pub async fn member_nudge(
        &self,
        fleet_id: FleetId,
        sender: AgentId,
        target: &MemberTarget,
        text: &str,
        mode: DeliverMode,
    ) -> Result<crate::broker::SendOutcome> {
        let now = now_ts();
        let (text, to) = (text.to_string(), target.agent.agent_id);
        let (task, pane) = self
            .db
            // One INSERT (or none); the refusal path only reads.
            .write_atomic(move |conn| {
                Box::pin(async move {
                    match Broker::store_unicast(conn, fleet_id, sender, to, &text, &now, mode)
                        .await?
                    {
                        Some(stored) => Ok(stored),
                        None => Err(crate::broker::messages::unicast_refusal(
                            conn, fleet_id, sender, to,
                        )
                        .await),
                    }
                })
            })
            .await?;
        self.deliver_and_report(fleet_id, task, pane, mode, false)
            .await
    }
}

fn deliver(d: Delivery, pane: &PaneTarget) -> Result<()> {
    match d {
        Delivery::Sent => Ok(()),
        Delivery::Shell(cmd) => Err(Error::failed(format!(
            "send failed: pane {} runs a shell ({cmd}), not a coding agent; nothing was typed.",
            pane.pane_id
        ))),
        Delivery::Gone => Err(Error::failed(format!(
            "send failed: can't find pane: {} (the member's pane is gone). Check with 'cafleet member list'.",
            pane.pane_id
        ))),
        Delivery::Failed(e) => Err(Error::failed(format!("send failed: {e}"))),
        Delivery::Held(why) => Err(Error::failed(format!(
            "send held: nothing was typed into pane {}: {why}. See it with 'cafleet member capture'; retry once it is clear.",
            pane.pane_id
        ))),
    }
}
