//! Delivery vocabulary: how a message is delivered (`--deliver`), how far it got, and the
//! redelivery policy the monitor applies (docs/delivery.md).

use crate::model::{STATE_CANCELED, STATE_COMPLETED, TaskId};
use crate::{Error, Result};
use std::time::Duration;

/// How a message's preview reaches its recipient's pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum DeliverMode {
    /// Typed at once when the recipient is not working; a working recipient gets it when
    /// its turn ends (the monitor types it then). The default.
    #[default]
    Idle,
    /// Typed at once, also into a working recipient (no Escape: the CLI queues it).
    Now,
    /// Never typed: the recipient finds it when it polls.
    Queue,
}

impl DeliverMode {
    /// Every mode, in the order of the help texts.
    pub const ALL: [DeliverMode; 3] = [DeliverMode::Idle, DeliverMode::Now, DeliverMode::Queue];

    /// The name used on the command line, in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliverMode::Idle => "idle",
            DeliverMode::Now => "now",
            DeliverMode::Queue => "queue",
        }
    }

    /// Parses a mode; the error names the valid ones.
    pub fn parse(s: &str) -> Result<DeliverMode> {
        DeliverMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                Error::usage(format!(
                    "unknown delivery mode '{s}'. Use --deliver idle (type when the recipient is not working; the default), now (type at once) or queue (never type; the recipient polls)."
                ))
            })
    }

    /// Reads a stored mode; anything unknown reads as the default.
    pub fn from_db(s: &str) -> DeliverMode {
        DeliverMode::parse(s).unwrap_or_default()
    }
}

impl std::fmt::Display for DeliverMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a delivery got: stored → typed → submitted → seen → acked; or dead (given up), or
/// canceled by its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Committed; no preview typed yet (queued, held back, or waiting for an idle moment).
    Stored,
    /// The preview's keys were typed but the agent was not seen taking them.
    Typed,
    /// The agent took the preview: its input box emptied after Enter.
    Submitted,
    /// The recipient polled and was shown the message.
    Seen,
    /// The recipient acked it.
    Acked,
    /// Redelivered the most times allowed and never seen: a dead letter.
    Dead,
    /// Withdrawn by its sender.
    Canceled,
}

impl std::str::FromStr for DeliveryState {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        DeliveryState::from_word(s).ok_or_else(|| format!("unknown DeliveryState '{s}'"))
    }
}

impl DeliveryState {
    /// The name used in tables, JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Stored => "stored",
            DeliveryState::Typed => "typed",
            DeliveryState::Submitted => "submitted",
            DeliveryState::Seen => "seen",
            DeliveryState::Acked => "acked",
            DeliveryState::Dead => "dead",
            DeliveryState::Canceled => "canceled",
        }
    }

    /// The state named `word` (as stored); `None` for an unknown word.
    pub fn from_word(word: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Stored,
            DeliveryState::Typed,
            DeliveryState::Submitted,
            DeliveryState::Seen,
            DeliveryState::Acked,
            DeliveryState::Dead,
            DeliveryState::Canceled,
        ]
        .into_iter()
        .find(|s| s.as_str() == word)
    }

    /// The state a delivery shows: the task's own state wins once it is acked or canceled.
    pub fn effective(status_state: &str, delivery_state: &str) -> DeliveryState {
        match status_state {
            STATE_COMPLETED => DeliveryState::Acked,
            STATE_CANCELED => DeliveryState::Canceled,
            _ => match delivery_state {
                "typed" => DeliveryState::Typed,
                "submitted" => DeliveryState::Submitted,
                "seen" => DeliveryState::Seen,
                "dead" => DeliveryState::Dead,
                _ => DeliveryState::Stored,
            },
        }
    }

    /// Not yet seen by its recipient (and still wanted).
    pub fn is_undelivered(self) -> bool {
        matches!(
            self,
            DeliveryState::Stored
                | DeliveryState::Typed
                | DeliveryState::Submitted
                | DeliveryState::Dead
        )
    }
}

impl std::fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery's record, as `message show`, `message send` and the API report it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryRecord {
    /// The delivery (task).
    pub task_id: TaskId,
    /// How it is delivered.
    pub mode: DeliverMode,
    /// How far it got.
    pub state: DeliveryState,
    /// Attempts so far: previews typed, and tries that found the pane gone or at a shell
    /// (a preview held back on purpose is not an attempt).
    pub attempts: i64,
    /// When the last preview was typed or held back.
    pub last_attempt_at: Option<String>,
    /// Why the last attempt typed nothing, or how it ended.
    pub note: Option<String>,
    /// First typed.
    pub typed_at: Option<String>,
    /// Taken by the agent.
    pub submitted_at: Option<String>,
    /// Polled by the recipient.
    pub seen_at: Option<String>,
    /// Acked by the recipient.
    pub acked_at: Option<String>,
    /// Given up.
    pub dead_at: Option<String>,
}

/// The monitor's redelivery policy: a delivery not seen is typed again after `after`, then
/// after twice that, and so on, `attempts` times in all; one still unseen `after ×
/// 2^attempts` after its last preview is a dead letter, reported to the Director.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redelivery {
    /// The first wait.
    pub after: Duration,
    /// Previews typed before giving up (the first one included).
    pub attempts: i64,
}

impl Default for Redelivery {
    fn default() -> Redelivery {
        Redelivery {
            after: Duration::from_secs(60),
            attempts: 5,
        }
    }
}

impl Redelivery {
    /// How long after attempt number `attempts` (1-based) the next is due.
    pub fn wait_after(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
        self.after.saturating_mul(1u32 << doublings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_refuse() {
        for m in DeliverMode::ALL {
            assert_eq!(DeliverMode::parse(m.as_str()).unwrap(), m);
        }
        let e = DeliverMode::parse("later").unwrap_err().to_string();
        assert!(e.contains("'later'") && e.contains("idle") && e.contains("queue"));
        assert_eq!(DeliverMode::from_db("junk"), DeliverMode::Idle);
    }

    #[test]
    fn effective_state() {
        assert_eq!(
            DeliveryState::effective("completed", "typed"),
            DeliveryState::Acked
        );
        assert_eq!(
            DeliveryState::effective("canceled", "seen"),
            DeliveryState::Canceled
        );
        assert_eq!(
            DeliveryState::effective("input_required", "submitted"),
            DeliveryState::Submitted
        );
        assert_eq!(
            DeliveryState::effective("input_required", "???"),
            DeliveryState::Stored
        );
    }

    #[test]
    fn backoff_doubles() {
        let r = Redelivery {
            after: Duration::from_secs(10),
            attempts: 3,
        };
        assert_eq!(r.wait_after(1), Duration::from_secs(10));
        assert_eq!(r.wait_after(2), Duration::from_secs(20));
        assert_eq!(r.wait_after(3), Duration::from_secs(40));
        assert_eq!(r.wait_after(0), Duration::from_secs(10));
    }
}
