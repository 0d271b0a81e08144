//! `member delete` and retiring agents: close the pane (politely, or by force), then
//! deregister.

use super::*;

impl Broker {
    /// Soft-deregisters an agent and drops its placement and monitor rows.
    pub(super) async fn retire(&self, agent_id: AgentId) -> Result<()> {
        let now = now_ts();
        let mut tx = self.db.begin_write().await?;
        db::agents::deregister(&mut tx, agent_id, &now).await?;
        db::placements::delete(&mut tx, agent_id).await?;
        db::monitor::delete_config(&mut tx, agent_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a member: pending → deregister; `force` → kill the pane; otherwise type
    /// `/exit` and wait for the pane to close (never killing it on timeout).
    pub async fn member_delete(
        &self,
        target: &MemberTarget,
        force: bool,
    ) -> Result<Result<PaneClosed, ExitTimeout>> {
        let Some(pane) = target.pane() else {
            if target.placement.tmux_pane_id.is_some() {
                // An adopted 0.14 placement without a server on record: never guess one.
                return Err(Error::not_found(format!(
                    "member {} was placed by CAFleet 0.14 without its tmux server on record; close its pane by hand, then run 'cafleet agent deregister'.",
                    target.agent.agent_id
                )));
            }
            self.retire_checked(target.agent.agent_id).await?;
            return Ok(Ok(PaneClosed::Pending));
        };
        // Here, or by the relay of the pane's host (docs/postgres.md, "Pane requests").
        let closed = self
            .steer_pane(&pane, target.agent.agent_id, PaneOp::Close { force })
            .await?
            .closed
            .ok_or_else(|| Error::failed("the relay reported no outcome for closing the pane"))?;
        if closed.is_ok() {
            self.retire_checked(target.agent.agent_id).await?;
        }
        Ok(closed)
    }

    /// Closes a member's pane on this host: `force` kills it; otherwise `/exit` is typed
    /// and the pane is given [`EXIT_WAIT`] to close (never killed on timeout).
    pub(super) async fn close_pane(
        &self,
        pane: &PaneTarget,
        force: bool,
    ) -> Result<std::result::Result<PaneClosed, ExitTimeout>> {
        let p = pane.pane_id.clone();
        if force {
            self.tmux.kill_pane(pane).await.map_err(|e| {
                Error::failed(format!(
                    "kill_pane failed for pane {p}: {e}. The tmux server may be unreachable. Verify with 'cafleet doctor', then re-run the command."
                ))
            })?;
            return Ok(Ok(PaneClosed::Killed(p)));
        }
        match self
            .tmux
            .send_keys(pane, &[Key::Text("/exit"), Key::Enter])
            .await
        {
            Delivery::Sent | Delivery::Gone => {}
            Delivery::Shell(cmd) => {
                return Err(Error::failed(format!(
                    "pane {p} runs a shell ({cmd}), not a coding agent; nothing was typed. Re-run with '--force' to kill the pane."
                )));
            }
            Delivery::Held(why) => {
                return Err(Error::failed(format!(
                    "send_exit held for pane {p}: {why}. Re-run with '--force' to kill the pane."
                )));
            }
            Delivery::Failed(e) => {
                return Err(Error::failed(format!(
                    "send_exit failed for pane {p}: {e}. The tmux server may be unreachable. Verify with 'cafleet doctor', then re-run 'cafleet member delete', or use '--force' to kill the pane directly."
                )));
            }
        }
        if self.wait_pane_gone(pane, EXIT_WAIT).await.map_err(|e| {
            Error::failed(format!(
                "tmux call failed while waiting for pane {p} to close: {e}"
            ))
        })? {
            return Ok(Ok(PaneClosed::Closed(p)));
        }
        let (tail, capture_error) = match self.tmux.capture(pane, 80).await {
            Ok(t) => (t, None),
            Err(e) => (String::new(), Some(e.to_string())),
        };
        Ok(Err(ExitTimeout {
            pane_id: p,
            tail,
            capture_error,
        }))
    }

    pub(super) async fn retire_checked(&self, agent_id: AgentId) -> Result<()> {
        self.retire(agent_id)
            .await
            .map_err(|e| Error::failed(format!("deregister failed: {e}")))
    }

    /// Polls until the pane is gone (true) or `wait` has passed (false).
    pub(super) async fn wait_pane_gone(
        &self,
        pane: &PaneTarget,
        wait: Duration,
    ) -> Result<bool, TmuxError> {
        let start = Instant::now();
        loop {
            match self.tmux.live_panes(&pane.socket).await {
                Ok(live) if !live.contains(&pane.pane_id) => return Ok(true),
                Ok(_) => {}
                // The whole server went away with its last pane.
                Err(TmuxError::Failed { stderr, .. })
                    if stderr.contains("no server running")
                        || stderr.contains("error connecting") =>
                {
                    return Ok(true);
                }
                Err(e) => return Err(e),
            }
            if start.elapsed() >= wait {
                return Ok(false);
            }
            tokio::time::sleep(EXIT_POLL).await;
        }
    }

    /// Closes the panes of retired members (fleet delete, agent deregister): `/exit` to
    /// each coding agent, concurrently; whatever is still open after the grace period, or
    /// runs a shell, is killed. Returns how many panes were closed.
    pub async fn close_member_panes(&self, placements: &[Placement]) -> usize {
        let closes = placements
            .iter()
            .filter(|p| p.director_agent_id.is_some())
            .filter_map(Placement::target)
            // Another host's panes stay open: this host cannot reach them.
            .filter(|t| self.is_local(t.host.as_deref()))
            .map(|pane| async move {
                match self
                    .tmux
                    .send_keys(&pane, &[Key::Text("/exit"), Key::Enter])
                    .await
                {
                    Delivery::Gone => return false,
                    Delivery::Sent => {
                        if let Ok(true) = self.wait_pane_gone(&pane, EXIT_WAIT).await {
                            return true;
                        }
                    }
                    Delivery::Shell(_) | Delivery::Failed(_) | Delivery::Held(_) => {}
                }
                self.tmux.kill_pane(&pane).await.is_ok()
            });
        futures::future::join_all(closes)
            .await
            .into_iter()
            .filter(|closed| *closed)
            .count()
    }
}
