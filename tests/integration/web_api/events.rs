//! `GET /api/events`: the Server-Sent Events stream of changes made by any writer, on the
//! fixture's backend (SQLite, or PostgreSQL under `scripts/with-postgres`), and pushed by
//! `LISTEN/NOTIFY` on PostgreSQL (a server of the tests' own when none is given).

use super::*;
use crate::pg::PgServer;
use crate::support::{aside, query_pg};
use cafleet::model::{AgentId, FleetId};
use std::time::Duration;

/// How long a change may take to reach the stream: generous for a loaded machine, and far
/// shorter than the fallback tick of the push tests ([`NEVER`]).
const DEADLINE: Duration = Duration::from_secs(10);
/// A fallback tick no test waits for: what arrives in time was pushed.
const NEVER: Duration = Duration::from_secs(3600);

/// An open `/api/events` stream and everything it has sent so far.
struct Events {
    body: Body,
    seen: String,
}

impl Events {
    /// Opens fleet `fleet`'s stream (resuming after `last_event_id`) and reads its hello.
    async fn open(state: &AppState, fleet: i64, last_event_id: Option<i64>) -> Events {
        let mut req = Request::get(format!("/api/events?fleet_id={fleet}")).header("host", HOST);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let resp = router(state.clone())
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut events = Events {
            body: resp.into_body(),
            seen: String::new(),
        };
        events.until("event: hello").await;
        events
    }

    /// Reads until `needle` has been sent; panics after [`DEADLINE`].
    async fn until(&mut self, needle: &str) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !self.seen.contains(needle) {
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .unwrap_or_else(|_| panic!("no {needle:?} within {DEADLINE:?} in {:?}", self.seen))
                .unwrap()
                .unwrap();
            if let Ok(data) = frame.into_data() {
                self.seen.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }

    /// The hello's sequence number (where the stream started).
    fn hello_seq(&self) -> i64 {
        let line = self
            .seen
            .lines()
            .find(|l| l.starts_with("id: "))
            .expect("the hello has an id");
        line["id: ".len()..].parse().unwrap()
    }
}

#[tokio::test]
async fn the_event_stream_pushes_changes_made_by_other_writers() {
    let api = Api::new(None).await;
    let mut events = Events::open(&api.state, 1, None).await;
    // A writer that is not the server (another connection, like a CLI process).
    let cli = api.other_writer().await;
    let sent = cli
        .message_send(FleetId(1), AgentId(3), AgentId(4), "live from the cli")
        .await
        .unwrap();
    events.until("live from the cli").await;
    assert!(events.seen.contains("event: messages"));
    cli.message_ack(FleetId(1), AgentId(4), sent.task.task_id)
        .await
        .unwrap();
    events.until("\"status\":\"completed\"").await;
    cli.agent_register(FleetId(1), "newcomer", "joins", None)
        .await
        .unwrap();
    events.until("newcomer").await;
    assert!(events.seen.contains("event: agents"));
    // Another fleet's traffic is not streamed.
    cli.message_send(FleetId(2), AgentId(7), AgentId(5), "not for fleet one")
        .await
        .unwrap();
    cli.message_send(FleetId(1), AgentId(3), AgentId(4), "marker")
        .await
        .unwrap();
    events.until("marker").await;
    assert!(!events.seen.contains("not for fleet one"));
    // A monitor tick's stamps reach the page as an agents event, logged once per fleet
    // however many agents were woken (migration 0008).
    let before = &api
        .env
        .query_aside("SELECT coalesce(max(seq), 0) FROM change_log")[0][0];
    let stamp = "2026-11-27T12:34:56.789012+00:00";
    cli.monitor_stamp(&[AgentId(1), AgentId(3), AgentId(4), AgentId(5)], stamp)
        .await
        .unwrap();
    let logged = api.env.query_aside(&format!(
        "SELECT fleet_id, kind FROM change_log WHERE seq > {before} ORDER BY fleet_id, kind"
    ));
    assert_eq!(logged, [["1", "agent"], ["2", "agent"]]);
    events.until(stamp).await;
}

#[tokio::test]
async fn a_stream_resumed_with_last_event_id_sends_what_it_missed() {
    let api = Api::new(None).await;
    let missed_from = Events::open(&api.state, 1, None).await.hello_seq();
    let cli = api.other_writer().await;
    for text in ["missed one", "missed two"] {
        cli.message_send(FleetId(1), AgentId(3), AgentId(4), text)
            .await
            .unwrap();
    }
    let mut resumed = Events::open(&api.state, 1, Some(missed_from)).await;
    assert_eq!(resumed.hello_seq(), missed_from);
    resumed.until("missed two").await;
    assert!(resumed.seen.contains("missed one"));
    // And it goes on live.
    cli.message_send(FleetId(1), AgentId(4), AgentId(3), "and live")
        .await
        .unwrap();
    resumed.until("and live").await;
}

/// The fixture on PostgreSQL (the suites' server under `scripts/with-postgres`, else one
/// of this test's own), served with the fallback tick at [`NEVER`], fleet 1's stream open
/// and pushed (the listener up), and a writer in another connection.
struct Pushed {
    api: Api,
    /// The database's name.
    db: String,
    state: AppState,
    /// Fleet 1's stream.
    one: Events,
    /// Another process's broker.
    cli: Broker,
    _server: Option<PgServer>,
}

impl Pushed {
    async fn new() -> Pushed {
        let (server, api) = if crate::support::on_pg() {
            (None, Api::new(None).await)
        } else {
            let server = PgServer::start();
            let mut env = Env::new();
            env.pg = Some(server.create_database("web"));
            (Some(server), Api::over(env, None).await)
        };
        let db = api.env.query_aside("SELECT current_database()")[0][0].clone();
        let state = api.state.clone().with_fallback(NEVER);
        let one = Events::open(&state, 1, None).await;
        until("the change feed does not LISTEN", || {
            state.feed.is_listening()
        })
        .await;
        let cli = api.other_writer().await;
        Pushed {
            api,
            db,
            state,
            one,
            cli,
            _server: server,
        }
    }

    /// Runs `sql` in the same server's maintenance database, `postgres`: it answers while
    /// the test's database refuses connections.
    fn admin(&self, sql: &str) -> Vec<Vec<String>> {
        let url = self.api.env.pg.as_deref().expect("a PostgreSQL fixture");
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let server = base.rsplit_once('/').map_or(base, |(b, _)| b);
        let url = format!("{server}/postgres?{query}");
        aside(|| query_pg(&url, sql))
    }

    /// The `LISTEN` connections to the test's database (the server's change feed's).
    fn listeners(&self) -> usize {
        self.admin(&format!(
            "SELECT pid FROM pg_stat_activity WHERE datname = '{}' AND query LIKE 'LISTEN%'",
            self.db
        ))
        .len()
    }

    /// Kills the change feed's listener.
    fn kill_listener(&self) {
        let killed = self.admin(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = '{}' AND query LIKE 'LISTEN%'",
            self.db
        ));
        assert_eq!(killed, [["1"]], "the listener was killed");
    }

    /// Sends each of `texts` in fleet 1 and waits for its stream to show it.
    async fn sent_and_seen(&mut self, texts: &[&str]) {
        for text in texts {
            self.cli
                .message_send(FleetId(1), AgentId(3), AgentId(4), text)
                .await
                .unwrap();
            self.one.until(text).await;
        }
    }
}

/// Waits until `done`, or panics naming `what` after [`DEADLINE`].
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn on_postgres_changes_are_pushed_without_polling() {
    let mut p = Pushed::new().await;
    let mut two = Events::open(&p.state, 2, None).await;
    assert_eq!(p.listeners(), 1, "one listener for every stream");
    // The first change may still be read by a stream's tick from before the listener was
    // up; from then on each stream waits for the fallback tick, an hour.
    for n in 0..3 {
        p.sent_and_seen(&[&format!("one {n}")]).await;
        p.cli
            .message_send(FleetId(2), AgentId(7), AgentId(5), &format!("two {n}"))
            .await
            .unwrap();
        two.until(&format!("two {n}")).await;
    }
    // A broadcast logs a row per recipient in one transaction, and is pushed too.
    p.cli
        .message_broadcast(FleetId(1), AgentId(3), "to all")
        .await
        .unwrap();
    p.one.until("to all").await;
    assert!(!p.one.seen.contains("two 0") && !two.seen.contains("one 0"));
}

#[tokio::test]
async fn on_postgres_a_stream_catches_up_after_the_listener_is_killed() {
    let mut p = Pushed::new().await;
    p.sent_and_seen(&["before"]).await;
    // Killed, and listening again at once: every stream reads, for what was missed.
    p.kill_listener();
    p.sent_and_seen(&["reopened"]).await;
    // Killed while the database refuses new connections (as while a server restarts):
    // no listener, so the streams poll, and the changes made meanwhile still arrive. The
    // second is sent after the stream read the first, knowing the listener is down.
    p.admin(&format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", p.db));
    p.kill_listener();
    until("the change feed still claims to LISTEN", || {
        !p.state.feed.is_listening()
    })
    .await;
    p.sent_and_seen(&["while down", "still down"]).await;
    // The feed listens again by itself, and later changes are pushed as before.
    p.admin(&format!("ALTER DATABASE {} ALLOW_CONNECTIONS true", p.db));
    until("no new listener", || {
        p.state.feed.is_listening() && p.listeners() == 1
    })
    .await;
    p.sent_and_seen(&["after one", "after two"]).await;
}
