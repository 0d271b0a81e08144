//! Messages: send, broadcast, poll, ack, cancel, show. Inline previews are typed only after
//! the transaction commits; broadcast previews run concurrently (docs/decisions.md, S3).

mod inbox;

use super::{Broker, check_caller, check_member};
use crate::db::AsConn;
use crate::db::{self, NewTask};
use crate::delivery::{DeliverMode, DeliveryRecord};
use crate::model::{
    AgentId, FleetId, PaneTarget, STATE_CANCELED, STATE_COMPLETED, STATE_INPUT_REQUIRED,
    TYPE_BROADCAST_SUMMARY, TYPE_UNICAST, Task, TaskId, now_ts,
};
use crate::{Error, Result};

/// Result of a unicast send.
#[derive(Debug, Clone)]
pub struct SendOutcome {
    /// The stored delivery.
    pub task: Task,
    /// Whether the inline preview was typed into the recipient's pane.
    pub notification_sent: bool,
    /// A repeat of a send with the same idempotency key: nothing was stored or typed, and
    /// `task` is the original.
    pub repeated: bool,
    /// How far the delivery got (after its preview, when one was typed).
    pub delivery: DeliveryRecord,
}

/// Result of a broadcast.
#[derive(Debug, Clone)]
pub struct BroadcastOutcome {
    /// The broadcaster's summary row.
    pub summary: Task,
    /// Deliveries stored.
    pub recipients: usize,
    /// Previews typed.
    pub notified: usize,
    /// The deliveries per state once their previews were typed.
    pub delivery: super::delivery::DeliveryCounts,
    /// How the previews were delivered.
    pub mode: DeliverMode,
    /// A repeat of a broadcast with the same idempotency key: nothing was stored or typed.
    pub repeated: bool,
}

/// What [`Broker::broadcast_store_keyed`] did.
#[derive(Debug, Clone)]
pub enum BroadcastStored {
    /// Stored: the summary and each delivery with the pane its preview goes to.
    New(Task, Vec<(Task, Option<PaneTarget>)>),
    /// A repeat of an earlier broadcast with the same key: its summary and recipients.
    Repeat(Task, usize),
}

/// The longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 200;

/// Refuses an idempotency key that is blank, too long or holds control characters.
pub fn validate_idempotency_key(key: &str) -> Result<()> {
    if key.trim().is_empty() {
        return Err(Error::usage(
            "--idempotency-key may not be blank; pass a key unique to this message (e.g. a UUID).",
        ));
    }
    if key.chars().count() > MAX_IDEMPOTENCY_KEY {
        return Err(Error::usage(format!(
            "--idempotency-key is {} characters long; the limit is {MAX_IDEMPOTENCY_KEY}. Use a shorter key (e.g. a UUID).",
            key.chars().count()
        )));
    }
    if key.chars().any(char::is_control) {
        return Err(Error::usage(
            "--idempotency-key may not contain control characters; use letters, digits and punctuation.",
        ));
    }
    Ok(())
}

/// The task `sender` stored under `key`, if any.
async fn keyed_original(
    conn: &mut impl AsConn,
    sender: AgentId,
    key: &str,
) -> Result<Option<Task>> {
    match db::tasks::find_by_idempotency_key(conn, sender, key).await? {
        Some(id) => db::tasks::get(conn, id).await,
        None => Ok(None),
    }
}

/// The refusal of a key used again for a different message.
fn key_reused(key: &str, sender: AgentId, task_id: TaskId) -> Error {
    Error::conflict(format!(
        "idempotency key '{key}' was already used by agent {sender} for task {task_id}, a different message. Use a new key for a new message; repeat the same message to get task {task_id} back."
    ))
}

/// Refuses empty or whitespace-only message text (docs/decisions.md, O3 and L4).
pub fn validate_text(text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::invalid(
            "message text may not be empty. Pass the message body with --text \"...\".",
        ));
    }
    Ok(())
}

impl Broker {
    /// Stores a unicast delivery from `sender` to `to`, then types its preview.
    #[tracing::instrument(skip(self, text), err)]
    pub async fn message_send(
        &self,
        fleet_id: FleetId,
        sender: AgentId,
        to: AgentId,
        text: &str,
    ) -> Result<SendOutcome> {
        self.message_send_mode(fleet_id, sender, to, text, None, DeliverMode::default())
            .await
    }

    /// [`Broker::message_send`] with an optional idempotency key and a delivery mode: a
    /// send repeated with the same key (same sender) stores and types nothing and returns
    /// the original task; the same key with another recipient or text is refused.
    pub async fn message_send_mode(
        &self,
        fleet_id: FleetId,
        sender: AgentId,
        to: AgentId,
        text: &str,
        key: Option<&str>,
        mode: DeliverMode,
    ) -> Result<SendOutcome> {
        let (task, target, repeated) = self
            .message_store_keyed(fleet_id, sender, to, text, key, mode)
            .await?;
        self.deliver_and_report(fleet_id, task, target, mode, repeated)
            .await
    }

    /// [`Broker::message_store`] with an optional idempotency key; the flag says the send
    /// was a repeat (nothing stored; the original task, no pane to type into).
    pub async fn message_store_keyed(
        &self,
        fleet_id: FleetId,
        sender: AgentId,
        to: AgentId,
        text: &str,
        key: Option<&str>,
        mode: DeliverMode,
    ) -> Result<(Task, Option<PaneTarget>, bool)> {
        let Some(key) = key else {
            let (task, target) = self.message_store(fleet_id, sender, to, text, mode).await?;
            return Ok((task, target, false));
        };
        validate_text(text)?;
        validate_idempotency_key(key)?;
        let now = now_ts();
        let (text, key) = (text.to_string(), key.to_string());
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    check_member(tx, fleet_id, sender).await?;
                    if let Some(original) = keyed_original(tx, sender, &key).await? {
                        if original.to_agent_id != to || original.text != text {
                            return Err(key_reused(&key, sender, original.task_id));
                        }
                        return Ok((original, None, true));
                    }
                    match Broker::store_unicast(tx, fleet_id, sender, to, &text, &now, mode).await?
                    {
                        Some((task, target)) => {
                            db::tasks::set_idempotency_key(tx, task.task_id, &key).await?;
                            Ok((task, target, false))
                        }
                        None => Err(unicast_refusal(tx, fleet_id, sender, to).await),
                    }
                })
            })
            .await
    }

    /// Validates and commits a unicast delivery; returns it with the pane its preview goes
    /// to, for the caller to push (now, or in the background as the WebUI does).
    pub async fn message_store(
        &self,
        fleet_id: FleetId,
        sender: AgentId,
        to: AgentId,
        text: &str,
        mode: DeliverMode,
    ) -> Result<(Task, Option<PaneTarget>)> {
        validate_text(text)?;
        let now = now_ts();
        let text = text.to_string();
        self.db
            // One INSERT (or none); the refusal path only reads.
            .write_atomic(move |conn| {
                Box::pin(async move {
                    match Broker::store_unicast(conn, fleet_id, sender, to, &text, &now, mode)
                        .await?
                    {
                        Some(stored) => Ok(stored),
                        None => {
                            check_member(conn, fleet_id, sender).await?;
                            Err(unicast_refusal(conn, fleet_id, sender, to).await)
                        }
                    }
                })
            })
            .await
    }

    /// Inserts one unicast delivery inside `conn`'s transaction, if the sender and the
    /// recipient are active agents of the fleet, and returns it with the recipient's pane
    /// (None for self-sends and unplaced recipients). `None` when refused: the caller
    /// reports why (see [`unicast_refusal`]). Shared by `message send` and `member nudge`.
    pub(crate) async fn store_unicast(
        conn: &mut impl AsConn,
        fleet_id: FleetId,
        sender: AgentId,
        to: AgentId,
        text: &str,
        now: &str,
        mode: DeliverMode,
    ) -> Result<Option<(Task, Option<PaneTarget>)>> {
        let Some(stored) =
            db::tasks::insert_unicast_checked(conn, fleet_id, sender, to, now, text, mode).await?
        else {
            return Ok(None);
        };
        let target =
            PaneTarget::from_placement(stored.tmux_socket, stored.tmux_pane_id, stored.host)
                .filter(|_| to != sender);
        let task = unicast_row(stored.task_id, sender, to, now, None, text);
        Ok(Some((task, target)))
    }

    /// Stores a summary for the sender and one delivery per active, non-Administrator agent
    /// of the fleet; then types all previews concurrently.
    #[tracing::instrument(skip(self, text), err)]
    pub async fn message_broadcast(
        &self,
        fleet_id: FleetId,
        sender: AgentId,
        text: &str,
    ) -> Result<BroadcastOutcome> {
        self.message_broadcast_mode(fleet_id, sender, text, None, DeliverMode::default())
            .await
    }

    /// [`Broker::message_broadcast`] with an optional idempotency key (see
    /// [`Broker::message_send_mode`]) and a delivery mode; a repeat reports the original
    /// summary and its recipients, and types nothing.
    pub async fn message_broadcast_mode(
        &self,
        fleet_id: FleetId,
        sender: AgentId,
        text: &str,
        key: Option<&str>,
        mode: DeliverMode,
    ) -> Result<BroadcastOutcome> {
        Ok(
            match self
                .broadcast_store_keyed(fleet_id, sender, text, key, mode)
                .await?
            {
                BroadcastStored::New(summary, deliveries) => {
                    let recipients = deliveries.len();
                    let delivery = self.deliver_all_in_fleet(fleet_id, deliveries, mode).await;
                    BroadcastOutcome {
                        summary,
                        recipients,
                        notified: delivery.typed_total(),
                        delivery,
                        mode,
                        repeated: false,
                    }
                }
                BroadcastStored::Repeat(summary, recipients) => BroadcastOutcome {
                    summary,
                    recipients,
                    notified: 0,
                    delivery: Default::default(),
                    mode,
                    repeated: true,
                },
            },
        )
    }

    /// Validates and commits a broadcast: the summary and one delivery per recipient, each
    /// with the pane its preview goes to.
    pub async fn broadcast_store(
        &self,
        fleet_id: FleetId,
        sender: AgentId,
        text: &str,
    ) -> Result<(Task, Vec<(Task, Option<PaneTarget>)>)> {
        match self
            .broadcast_store_keyed(fleet_id, sender, text, None, DeliverMode::default())
            .await?
        {
            BroadcastStored::New(summary, deliveries) => Ok((summary, deliveries)),
            // Only a key finds an earlier broadcast.
            BroadcastStored::Repeat(summary, _) => Ok((summary, Vec::new())),
        }
    }

    /// [`Broker::broadcast_store`] with an optional idempotency key, checked and recorded in
    /// the same transaction as the broadcast.
    pub async fn broadcast_store_keyed(
        &self,
        fleet_id: FleetId,
        sender: AgentId,
        text: &str,
        key: Option<&str>,
        mode: DeliverMode,
    ) -> Result<BroadcastStored> {
        validate_text(text)?;
        if let Some(key) = key {
            validate_idempotency_key(key)?;
        }
        let now = now_ts();
        let text = text.to_string();
        let key = key.map(str::to_string);
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    check_sender(tx, fleet_id, sender).await?;
                    if let Some(key) = &key
                        && let Some(summary) = keyed_original(tx, sender, key).await?
                    {
                        let same_text = db::tasks::first_delivery_text(tx, summary.task_id)
                            .await?
                            .is_none_or(|t| t == text);
                        if summary.r#type != TYPE_BROADCAST_SUMMARY || !same_text {
                            return Err(key_reused(key, sender, summary.task_id));
                        }
                        let n = db::tasks::count_deliveries(tx, summary.task_id).await?;
                        return Ok(BroadcastStored::Repeat(
                            summary,
                            usize::try_from(n).unwrap_or(0),
                        ));
                    }
                    let recipients = db::agents::broadcast_recipients(tx, fleet_id, sender).await?;
                    let summary_text = format!("Broadcast sent to {} recipients", recipients.len());
                    let summary_id = db::tasks::insert(
                        &mut *tx,
                        &NewTask {
                            context_id: sender,
                            from_agent_id: sender,
                            to_agent_id: crate::model::AgentId(0),
                            r#type: TYPE_BROADCAST_SUMMARY,
                            now: &now,
                            status_state: STATE_COMPLETED,
                            origin_task_id: None,
                            text: &summary_text,
                        },
                    )
                    .await?;
                    db::tasks::set_origin(tx, summary_id, summary_id).await?;
                    let ids: Vec<AgentId> = recipients.iter().map(|r| r.agent_id).collect();
                    let inserted = db::tasks::insert_deliveries(
                        tx, sender, &ids, summary_id, &now, &text, mode,
                    )
                    .await?;
                    let panes: std::collections::HashMap<AgentId, Option<PaneTarget>> = recipients
                        .into_iter()
                        .map(|r| {
                            let target =
                                PaneTarget::from_placement(r.tmux_socket, r.tmux_pane_id, r.host);
                            (r.agent_id, target)
                        })
                        .collect();
                    let deliveries = inserted
                        .into_iter()
                        .map(|(id, to)| {
                            let target = panes.get(&to).cloned().flatten();
                            (
                                unicast_row(id, sender, to, &now, Some(summary_id), &text),
                                target,
                            )
                        })
                        .collect();
                    let mut summary = unicast_row(
                        summary_id,
                        sender,
                        crate::model::AgentId(0),
                        &now,
                        Some(summary_id),
                        &summary_text,
                    );
                    summary.context_id = sender;
                    summary.r#type = TYPE_BROADCAST_SUMMARY.to_string();
                    summary.status_state = STATE_COMPLETED.to_string();
                    if let Some(key) = &key {
                        db::tasks::set_idempotency_key(tx, summary_id, key).await?;
                    }
                    Ok(BroadcastStored::New(summary, deliveries))
                })
            })
            .await
    }
}

#[derive(Debug, Clone, Copy)]
enum Transition {
    Ack,
    Cancel,
}

/// Why a unicast was refused: the sender's check first, then the recipient. An agent of
/// another fleet is reported exactly like a missing one, so ids of other fleets do not leak
/// (docs/decisions.md, MSG-1).
pub(crate) async fn unicast_refusal(
    conn: &mut impl AsConn,
    fleet_id: FleetId,
    sender: AgentId,
    to: AgentId,
) -> Error {
    match check_sender(conn, fleet_id, sender).await {
        Err(e) => e,
        Ok(()) => Error::not_found(format!("Destination agent not found: {to}")),
    }
}

/// The sender must be an active agent of the fleet.
async fn check_sender(conn: &mut impl AsConn, fleet_id: FleetId, sender: AgentId) -> Result<()> {
    match db::agents::get(conn, sender).await? {
        Some(a) if a.fleet_id == fleet_id && a.is_active() => Ok(()),
        _ => Err(Error::not_found(format!(
            "Sender agent not found or not active in fleet: {sender}"
        ))),
    }
}

async fn agent_in_fleet(conn: &mut impl AsConn, agent: AgentId, fleet_id: FleetId) -> Result<bool> {
    Ok(db::agents::get(conn, agent)
        .await?
        .is_some_and(|a| a.fleet_id == fleet_id))
}

fn task_not_found(task_id: TaskId) -> Error {
    Error::not_found(format!("Task {task_id} not found"))
}

fn unicast_row(
    task_id: TaskId,
    from: AgentId,
    to: AgentId,
    now: &str,
    origin: Option<TaskId>,
    text: &str,
) -> Task {
    Task {
        task_id,
        context_id: to,
        from_agent_id: from,
        to_agent_id: to,
        r#type: TYPE_UNICAST.to_string(),
        created_at: now.to_string(),
        status_state: STATE_INPUT_REQUIRED.to_string(),
        status_timestamp: now.to_string(),
        origin_task_id: origin,
        text: text.to_string(),
    }
}
