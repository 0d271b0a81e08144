//! When the WebUI's live streams (`GET /api/events`) read `change_log` again. On SQLite
//! every [`POLL`]. On PostgreSQL the change feed is pushed: one `LISTEN` connection per
//! [`ChangeFeed`] (one per server, opened when its first stream starts) hears a
//! notification per committing transaction and fleet (payload: the fleet id, sent at commit
//! by `migrations/postgres/0003_change_notify.sql`) and wakes that fleet's streams through a
//! broadcast channel. A wake-up is only a hint: the stream reads the table since its last
//! sequence number, as on SQLite. So that a lost notification costs only latency, a stream
//! also reads every `fallback` (a safety net), at once whenever the listener connects or
//! reconnects (notifications sent meanwhile are gone), and every [`POLL`] while there is no
//! listener; a failed listener is logged and opened again every [`LISTEN_RETRY`]
//! (docs/postgres.md, "Live WebUI").

use super::Broker;
use crate::db::changes::CHANGES_CHANNEL;
use crate::db::pg::{Heard, Listener};
use crate::model::FleetId;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::{CancellationToken, DropGuard};

/// How often a stream reads without a listener (SQLite, or PostgreSQL's listener down).
pub const POLL: Duration = Duration::from_millis(100);
/// How often a stream reads anyway while the listener is up.
pub const FALLBACK: Duration = Duration::from_secs(2);
/// How long a failed listener waits before listening again.
pub const LISTEN_RETRY: Duration = Duration::from_secs(1);
/// Wake-ups a slow stream may fall behind by; beyond, it just reads (a lag is a wake-up).
const BACKLOG: usize = 1024;

/// The wake-ups of one server's live streams (cheap to clone: clones share the listener).
#[derive(Debug, Clone)]
pub struct ChangeFeed {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    broker: Broker,
    fallback: Duration,
    /// Started by the first stream: `None` on SQLite.
    hub: OnceLock<Option<Hub>>,
}

/// The listener task's side the streams subscribe to; dropping it stops the task.
#[derive(Debug)]
struct Hub {
    wakes: broadcast::Sender<Wake>,
    listening: watch::Receiver<bool>,
    _stop: DropGuard,
}

/// What the listener task tells the streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// This fleet's changes committed.
    Fleet(FleetId),
    /// The listener connected, reconnected or failed: notifications may have been missed.
    All,
}

/// One stream's wake-ups, for its fleet.
#[derive(Debug)]
pub struct FleetWakeups {
    fleet_id: FleetId,
    fallback: Duration,
    /// The listener's wake-ups and whether it is up; `None`: poll.
    hub: Option<(broadcast::Receiver<Wake>, watch::Receiver<bool>)>,
    /// The first wait returns at once (the stream reads what it resumes after).
    due: bool,
}

impl Broker {
    /// The live streams' wake-ups, read every `fallback` at least while pushed
    /// ([`FALLBACK`] in `cafleet server`).
    pub fn change_feed(&self, fallback: Duration) -> ChangeFeed {
        ChangeFeed {
            shared: Arc::new(Shared {
                broker: self.clone(),
                fallback,
                hub: OnceLock::new(),
            }),
        }
    }
}

impl ChangeFeed {
    /// The wake-ups of a stream of `fleet_id`. The first call starts the listener (on
    /// PostgreSQL), so it must run inside the Tokio runtime. Take them before reading where
    /// the stream starts: every change committed after this call wakes it.
    pub fn wakeups(&self, fleet_id: FleetId) -> FleetWakeups {
        let hub = self.shared.hub.get_or_init(|| self.start());
        FleetWakeups {
            fleet_id,
            fallback: self.shared.fallback,
            hub: hub
                .as_ref()
                .map(|h| (h.wakes.subscribe(), h.listening.clone())),
            due: true,
        }
    }

    /// Whether the streams are pushed now: the listener is up.
    pub fn is_listening(&self) -> bool {
        self.shared
            .hub
            .get()
            .and_then(Option::as_ref)
            .is_some_and(|h| *h.listening.borrow())
    }

    fn start(&self) -> Option<Hub> {
        let broker = &self.shared.broker;
        if !broker.db.is_pg() {
            return None;
        }
        let (wakes, _) = broadcast::channel(BACKLOG);
        let (up, listening) = watch::channel(false);
        let stop = CancellationToken::new();
        tokio::spawn(listen(broker.clone(), wakes.clone(), up, stop.clone()));
        Some(Hub {
            wakes,
            listening,
            _stop: stop.drop_guard(),
        })
    }
}

impl FleetWakeups {
    /// Waits until the stream should read its fleet's changes again: at once the first
    /// time, then on a notification for its fleet, a listener (re)connect or failure, or
    /// the tick ([`POLL`] without a listener, the fallback with one).
    pub async fn wait(&mut self) {
        if std::mem::take(&mut self.due) {
            return;
        }
        let Some((wakes, listening)) = &mut self.hub else {
            tokio::time::sleep(POLL).await;
            return;
        };
        let tick = if *listening.borrow() {
            self.fallback
        } else {
            POLL
        };
        let deadline = tokio::time::sleep(tick);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => return,
                heard = wakes.recv() => match heard {
                    Ok(Wake::Fleet(f)) if f != self.fleet_id => {}
                    // The feed is gone (the server stops): poll from now on.
                    Err(broadcast::error::RecvError::Closed) => break,
                    // Its fleet, everyone, or so many that some were dropped: one read
                    // covers every change committed before it, so the wake-ups already
                    // queued are spent too.
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) =
                            wakes.try_recv()
                        {}
                        return;
                    }
                },
            }
        }
        self.hub = None;
        deadline.await;
    }
}

/// The listener task: listens, fans out, and listens again after a failure, until `stop`.
async fn listen(
    broker: Broker,
    wakes: broadcast::Sender<Wake>,
    up: watch::Sender<bool>,
    stop: CancellationToken,
) {
    // Whether the listener failed before (an outage is reported once, and its end).
    let mut down = false;
    loop {
        let opened = tokio::select! {
            () = stop.cancelled() => return,
            l = broker.db.listen(CHANGES_CHANNEL) => l,
        };
        match opened {
            Ok(Some(mut listener)) => {
                if down {
                    tracing::info!("the live WebUI feed listens again");
                }
                up.send_replace(true);
                let _ = wakes.send(Wake::All);
                let lost = tokio::select! {
                    () = stop.cancelled() => return,
                    e = fan_out(&mut listener, &wakes) => e,
                };
                tracing::warn!(error = %lost, "the live WebUI feed's LISTEN connection failed; streams poll until it is back");
                down = true;
            }
            Ok(None) => return,
            Err(e) => {
                if !down {
                    tracing::warn!(error = %e, "the live WebUI feed cannot LISTEN; streams poll until it can");
                    down = true;
                }
            }
        }
        // Down: the streams poll from their next read on, which starts now.
        if up.send_replace(false) {
            let _ = wakes.send(Wake::All);
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(LISTEN_RETRY) => {}
        }
    }
}

/// Wakes the streams for each notification until the listener fails (a lost connection
/// that reconnects at once wakes every stream instead).
async fn fan_out(listener: &mut Listener, wakes: &broadcast::Sender<Wake>) -> crate::Error {
    loop {
        let wake = match listener.recv().await {
            Ok(Heard::Payload(fleet)) => match fleet.parse() {
                Ok(id) => Wake::Fleet(id),
                Err(_) => continue,
            },
            Ok(Heard::Reconnecting) => {
                tracing::info!("the live WebUI feed's LISTEN connection was lost and reopened");
                Wake::All
            }
            Err(e) => return e,
        };
        // No stream subscribed is no error.
        let _ = wakes.send(wake);
    }
}
