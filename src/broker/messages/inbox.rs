//! The recipient's and the sender's side of a message once stored: `poll`, `ack`,
//! `cancel` and `show`.

use super::*;

impl Broker {
    /// Un-acked deliveries addressed to the caller, newest first; the ones not seen before
    /// are marked seen (a write only when there are such).
    pub async fn message_poll(&self, fleet_id: FleetId, agent: AgentId) -> Result<Vec<Task>> {
        let (tasks, unseen) = {
            let mut conn = self.db.read().await?;
            check_caller(&mut conn, fleet_id, agent).await?;
            db::tasks::inbox_pending(&mut conn, agent).await?
        };
        if unseen {
            let now = now_ts();
            self.db
                .write_atomic(move |conn| {
                    Box::pin(async move { db::deliveries::mark_seen(conn, agent, &now).await })
                })
                .await?;
        }
        Ok(tasks)
    }

    /// Marks a delivery addressed to the caller as completed.
    #[tracing::instrument(skip(self), err)]
    pub async fn message_ack(
        &self,
        fleet_id: FleetId,
        agent: AgentId,
        task_id: TaskId,
    ) -> Result<Task> {
        self.transition(fleet_id, agent, task_id, Transition::Ack)
            .await
    }

    /// Withdraws a delivery the caller sent.
    #[tracing::instrument(skip(self), err)]
    pub async fn message_cancel(
        &self,
        fleet_id: FleetId,
        agent: AgentId,
        task_id: TaskId,
    ) -> Result<Task> {
        self.transition(fleet_id, agent, task_id, Transition::Cancel)
            .await
    }

    async fn transition(
        &self,
        fleet_id: FleetId,
        agent: AgentId,
        task_id: TaskId,
        kind: Transition,
    ) -> Result<Task> {
        let now = now_ts();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    check_caller(tx, fleet_id, agent).await?;
                    let task = db::tasks::get(tx, task_id)
                        .await?
                        .ok_or_else(|| task_not_found(task_id))?;
                    let (owner, not_owner, verb, to_state) = match kind {
                        Transition::Ack => (
                            task.context_id,
                            "Only the recipient can ACK a task",
                            "ACK",
                            STATE_COMPLETED,
                        ),
                        Transition::Cancel => (
                            task.from_agent_id,
                            "Only the sender can cancel a task",
                            "cancel",
                            STATE_CANCELED,
                        ),
                    };
                    // A task whose owning side is in another fleet does not exist for this caller:
                    // task ids are global, and existence must not leak (docs/decisions.md, MSG-1).
                    if !agent_in_fleet(tx, owner, fleet_id).await? {
                        return Err(task_not_found(task_id));
                    }
                    if owner != agent {
                        return Err(Error::forbidden(not_owner));
                    }
                    if task.status_state != STATE_INPUT_REQUIRED {
                        return Err(Error::conflict(format!(
                            "Cannot {verb} task in state {}",
                            task.status_state
                        )));
                    }
                    if !db::tasks::transition(tx, task_id, to_state, &now).await? {
                        return Err(Error::conflict(format!(
                            "Cannot {verb} task in state {}",
                            task.status_state
                        )));
                    }
                    let updated = db::tasks::get(tx, task_id)
                        .await?
                        .ok_or_else(|| task_not_found(task_id))?;
                    Ok(updated)
                })
            })
            .await
    }

    /// Any task with an endpoint in the caller's fleet.
    pub async fn message_show(
        &self,
        fleet_id: FleetId,
        agent: AgentId,
        task_id: TaskId,
    ) -> Result<Task> {
        let mut conn = self.db.read().await?;
        check_caller(&mut conn, fleet_id, agent).await?;
        let task = db::tasks::get(&mut conn, task_id)
            .await?
            .ok_or_else(|| task_not_found(task_id))?;
        let visible = agent_in_fleet(&mut conn, task.from_agent_id, fleet_id).await?
            || (task.to_agent_id != 0
                && agent_in_fleet(&mut conn, task.to_agent_id, fleet_id).await?);
        if !visible {
            return Err(task_not_found(task_id));
        }
        Ok(task)
    }
}
