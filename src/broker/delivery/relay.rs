//! What `cafleet relay` needs from the broker besides its pass: wake-ups. On PostgreSQL a
//! sender on another host `NOTIFY`s the relay of the pane's host after its delivery is
//! recorded; on SQLite there are none and the relay's tick finds the work. A wake-up is
//! only a hint: the pass reads the tables (docs/postgres.md, "Hosts and the relay").

use super::*;
use crate::db::pg::{Heard, Listener};

/// A relay's wake-ups (PostgreSQL's `LISTEN` on the relays' channel).
#[derive(Debug)]
pub struct RelayWakeups {
    listener: Listener,
    host: String,
}

/// Why [`RelayWakeups::next`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// A sender woke this host's relay.
    Notified,
    /// The listening connection was lost and is being opened again: notifications may
    /// have been missed, so a pass should run.
    Reconnecting,
}

impl Broker {
    /// The relay's wake-ups: `None` on SQLite (no notifications; the relay polls).
    pub async fn relay_wakeups(&self) -> Result<Option<RelayWakeups>> {
        Ok(self
            .db
            .listen(db::deliveries::RELAY_CHANNEL)
            .await?
            .map(|listener| RelayWakeups {
                listener,
                host: self.host.to_string(),
            }))
    }
}

impl RelayWakeups {
    /// Waits for a wake-up of this host's relay (notifications for other hosts are
    /// skipped) or a lost connection.
    pub async fn next(&mut self) -> Result<Wake> {
        loop {
            match self.listener.recv().await? {
                Heard::Payload(host) if host == self.host => return Ok(Wake::Notified),
                Heard::Payload(_) => {}
                Heard::Reconnecting => return Ok(Wake::Reconnecting),
            }
        }
    }
}
