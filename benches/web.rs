//! WebUI API benchmarks: the HTTP API in-process through `cafleet::web::router(state)` and
//! tower's `oneshot` (routing, the Host/token guard, the handler, the SQL and the JSON body,
//! no TCP), on an on-disk database holding 100,000 messages in one fleet. Target: p50 ≤ 5 ms.
//!
//! - `timeline`: `GET /api/timeline` (the newest 200 of the fleet's 100,000 messages);
//! - `timeline_before`: `GET /api/timeline?before=<id>`, a scrollback page from the middle;
//! - `timeline_10_fleets`: `GET /api/timeline` when the same messages belong to 10 fleets;
//! - `inbox` / `sent`: `GET /api/agents/{id}/inbox` and `/sent` for an agent with 200
//!   messages in each box, spread through the history (the boxes are unbounded by spec, so
//!   the agent is an ordinary one, not one holding most of the 100k);
//! - `agents`: `GET /api/agents` (60 agents, 10 of them deregistered);
//! - `events_poll`: the database work of one `/api/events` poll that finds a new message.
//!
//! Then, outside divan, the live-update latency: `GET /api/events?fleet_id=1` is opened
//! through `oneshot` on a multi-thread runtime (as the server runs), a SEPARATE broker on
//! its own database connection (like a CLI process) sends a message, and the time from the
//! start of that send until the `messages` event carrying it arrives is measured over
//! `LIVE_SENDS` sends with irregular gaps (so the sends fall at every phase of the stream's
//! 100 ms poll). Target: median ≤ 200 ms; expected ≈ 50–150 ms. Under
//! `scripts/with-postgres` (`CAFLEET_TEST_PG_URL`) the same is measured on PostgreSQL, where
//! the stream is pushed by `LISTEN/NOTIFY` (a fresh database with one small fleet), and
//! printed after it.
//!
//! Run with `cargo bench --bench web` (`-- <filter>` runs the matching divan benches only;
//! the live-update measurement runs when there is no filter or the filter contains "live").

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use cafleet::broker::Broker;
use cafleet::db::Db;
use cafleet::model::{AgentId, CodingAgent, FleetId};
use cafleet::tmux::{PaneContext, Tmux};
use cafleet::web::{AppState, Security, router};
use divan::Bencher;
use http_body_util::BodyExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tower::ServiceExt;

const HOST: &str = "127.0.0.1:8000";
/// Messages in the database.
const SEED_MESSAGES: i64 = 100_000;
/// Active agents besides the Director, the Administrator and the mailbox agent.
const OTHERS: i64 = 47;
/// Agents deregistered after seeding (half with history, half without).
const DEREGISTERED: i64 = 10;
/// Messages in the mailbox agent's inbox, and in its sent box.
const BOX: i64 = 200;
/// Sends measured for the live-update latency.
const LIVE_SENDS: usize = 30;
const MAX_TEXT_LEN: usize = 200;

/// The seeded database every benchmark copies.
struct Seed {
    _dir: TempDir,
    path: PathBuf,
    fleet: FleetId,
    /// The agent with `BOX` messages in its inbox and `BOX` in its sent box.
    mailbox: AgentId,
    /// A sender and a recipient for the live-update sends.
    sender: AgentId,
    recipient: AgentId,
    /// A task in the middle of the history (for `?before=`).
    middle_task: i64,
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn pane() -> PaneContext {
    PaneContext {
        session_name: "bench".into(),
        window_id: "@0".into(),
        pane_id: "%0".into(),
        // No server listens here: nothing is ever typed.
        socket_path: "/nonexistent/cafleet-bench.sock".into(),
    }
}

fn seed() -> &'static Seed {
    static SEED: OnceLock<Seed> = OnceLock::new();
    SEED.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("seed.db");
        let ids = runtime().block_on(build_seed(&path));
        Seed {
            _dir: dir,
            path,
            fleet: ids.fleet,
            mailbox: ids.mailbox,
            sender: ids.sender,
            recipient: ids.recipient,
            middle_task: ids.middle_task,
        }
    })
}

/// `fleet create` (Director, Administrator) and `agents` agents `agent-0`, `agent-1`…
async fn bench_fleet(broker: &Broker, agents: i64) -> (FleetId, Vec<AgentId>) {
    let fleet = broker
        .fleet_create(Some("web bench"), CodingAgent::Claude, &pane())
        .await
        .expect("fleet create")
        .fleet
        .fleet_id;
    let mut ids = Vec::new();
    for i in 0..agents {
        let a = broker
            .agent_register(fleet, &format!("agent-{i}"), "benchmark agent", None)
            .await
            .expect("register");
        ids.push(a.agent_id);
    }
    (fleet, ids)
}

/// `fleet create` (Director, Administrator), `OTHERS` agents, the mailbox agent and
/// `DEREGISTERED` more, then 100,000 unicasts in one `INSERT ... SELECT`: every 500th is
/// to the mailbox agent and every 500th (offset 250) from it, the rest between the others;
/// 1 in 20 still pending; one second apart. Half of the extra agents get a message before
/// all of them are deregistered (so `/api/agents` lists those five).
async fn build_seed(path: &Path) -> SeedIds {
    let db = Db::open(path, 1).await.expect("open db");
    db.migrate().await.expect("migrate");
    let broker = Broker::new(db, Tmux::from_env(), MAX_TEXT_LEN);
    let (fleet, others) = bench_fleet(&broker, OTHERS).await;
    let first = others[0];
    assert!(
        others
            .iter()
            .enumerate()
            .all(|(i, &a)| a.0 == first.0 + i as i64),
        "agent ids must be contiguous for the seeding SQL"
    );
    let mailbox = broker
        .agent_register(fleet, "mailbox", "the agent whose boxes are read", None)
        .await
        .expect("register")
        .agent_id;
    let mut leavers = Vec::new();
    for i in 0..DEREGISTERED {
        let a = broker
            .agent_register(fleet, &format!("leaver-{i}"), "deregistered later", None)
            .await
            .expect("register");
        leavers.push(a.agent_id);
    }
    let db = broker.db();
    let mut tx = db.begin_write().await.expect("begin");
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1),
              pairs(n, a, b) AS (
                SELECT n, ?2 + (n % ?3),
                       ?2 + CASE WHEN (n * 7 + 1) % ?3 = n % ?3 THEN (n + 1) % ?3
                                 ELSE (n * 7 + 1) % ?3 END
                FROM seq),
              rows(n, src, dst, ts) AS (
                SELECT n,
                       CASE WHEN n % 500 = 250 THEN ?4 ELSE a END,
                       CASE WHEN n % 500 = 0 THEN ?4 ELSE b END,
                       strftime('%Y-%m-%dT%H:%M:%S', '2025-01-01', '+' || n || ' seconds') || '.000000+00:00'
                FROM pairs)
         INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at,
                            status_state, status_timestamp, origin_task_id, text)
         SELECT dst, src, dst, 'unicast', ts,
                CASE WHEN n % 20 = 3 THEN 'input_required' ELSE 'completed' END, ts, NULL,
                printf('seed message %d: status update on the refactor, see the PR for details.', n)
         FROM rows",
    )
    .bind(SEED_MESSAGES)
    .bind(first)
    .bind(OTHERS)
    .bind(mailbox)
    .execute(tx.sqlite_conn())
    .await
    .expect("seed tasks");
    tx.commit().await.expect("commit");
    // Half the leavers leave a trace (one message each), so the listing keeps them.
    for &l in &leavers[..leavers.len() / 2] {
        broker
            .message_send(fleet, l, others[0], "a last word before leaving")
            .await
            .expect("send");
    }
    for &l in &leavers {
        broker.agent_deregister(fleet, l).await.expect("deregister");
    }
    let scalar = |sql: &'static str, arg: i64| {
        let pool = db.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(arg)
                .fetch_one(&pool)
                .await
                .expect("count")
        }
    };
    assert_eq!(
        scalar(
            "SELECT count(*) FROM tasks WHERE context_id = ?1",
            mailbox.0
        )
        .await,
        BOX
    );
    assert_eq!(
        scalar(
            "SELECT count(*) FROM tasks WHERE from_agent_id = ?1",
            mailbox.0
        )
        .await,
        BOX
    );
    let middle_task = scalar(
        "SELECT task_id FROM tasks ORDER BY task_id LIMIT 1 OFFSET ?1",
        SEED_MESSAGES / 2,
    )
    .await;
    // Fresh statistics, as a long-lived database has; closing also checkpoints the WAL.
    sqlx::query("ANALYZE")
        .execute(db.pool())
        .await
        .expect("analyze");
    db.close().await;
    SeedIds {
        fleet,
        mailbox,
        sender: others[1],
        recipient: others[2],
        middle_task,
    }
}

/// What the seeding created.
struct SeedIds {
    fleet: FleetId,
    mailbox: AgentId,
    sender: AgentId,
    recipient: AgentId,
    middle_task: i64,
}

/// A private copy of the seeded database and the app on it, as `cafleet server` builds it
/// (a pool of 8, a router built once).
struct Fixture {
    _dir: TempDir,
    rt: Runtime,
    app: Router,
    state: AppState,
    seed: &'static Seed,
}

impl Fixture {
    fn new(rt: Runtime) -> Fixture {
        Fixture::with(rt, false)
    }

    /// With `split`, the copy's agents are spread over `SPLIT_FLEETS` fleets first (untimed).
    fn with(rt: Runtime, split: bool) -> Fixture {
        let s = seed();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bench.db");
        std::fs::copy(&s.path, &path).expect("copy seed db");
        let broker = rt.block_on(async {
            let db = Db::open(&path, 8).await.expect("open db");
            db.migrate().await.expect("migrate");
            if split {
                split_fleets(&db).await;
            }
            Broker::new(db, Tmux::from_env(), MAX_TEXT_LEN)
        });
        let state = AppState::new(broker, Security::for_bind("127.0.0.1", 8000, None));
        let app = router(state.clone());
        Fixture {
            _dir: dir,
            rt,
            app,
            state,
            seed: s,
        }
    }

    fn request(&self, path: &str) -> Request<Body> {
        Request::get(path)
            .header("host", HOST)
            .header("x-fleet-id", self.seed.fleet.to_string())
            .body(Body::empty())
            .expect("request")
    }

    /// One GET, body read to the end; returns the body's length.
    async fn get(&self, path: &str) -> usize {
        let resp = self
            .app
            .clone()
            .oneshot(self.request(path))
            .await
            .expect("oneshot");
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        resp.into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .len()
    }

    /// Checks the response's shape once (untimed), then benches the GET.
    fn bench_get(&self, bencher: Bencher, path: &str, key: &str, expected: usize) {
        let body = self.rt.block_on(async {
            let resp = self.app.clone().oneshot(self.request(path)).await.unwrap();
            resp.into_body().collect().await.unwrap().to_bytes()
        });
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        let n = v[key].as_array().map_or(0, Vec::len);
        assert_eq!(n, expected, "GET {path}: {key}");
        bencher.bench_local(|| self.rt.block_on(self.get(path)));
    }
}

/// `CAFLEET_BENCH_KEEP_DB=<file>` keeps a copy of the seeded database (for EXPLAIN etc.).
fn keep_seed_copy(seed: &Path) {
    if let Some(target) = std::env::var_os("CAFLEET_BENCH_KEEP_DB") {
        std::fs::copy(seed, &target).expect("copy the seeded database");
        eprintln!(
            "kept the seeded database as {}",
            Path::new(&target).display()
        );
    }
}

/// Fleets in the `timeline_10_fleets` variant.
const SPLIT_FLEETS: i64 = 10;

/// Adds fleets 2..=`SPLIT_FLEETS` and moves every agent but the Director and the
/// Administrator to fleet `1 + agent_id % SPLIT_FLEETS`, so each fleet's timeline is about a
/// tenth of the 100,000 messages (by sender); then refreshes the statistics.
async fn split_fleets(db: &Db) {
    let mut tx = db.begin_write().await.expect("begin");
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 2 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1)
         INSERT INTO fleets (fleet_id, label, created_at)
         SELECT n, 'fleet ' || n, '2025-01-01T00:00:00.000000+00:00' FROM seq",
    )
    .bind(SPLIT_FLEETS)
    .execute(tx.sqlite_conn())
    .await
    .expect("fleets");
    sqlx::query("UPDATE agents SET fleet_id = 1 + (agent_id % ?1) WHERE agent_id > 2")
        .bind(SPLIT_FLEETS)
        .execute(tx.sqlite_conn())
        .await
        .expect("split");
    tx.commit().await.expect("commit");
    sqlx::query("ANALYZE")
        .execute(db.pool())
        .await
        .expect("analyze");
}

fn main() {
    // Build the seed before any timing starts.
    let s = seed();
    keep_seed_copy(&s.path);
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    divan::main();
    if filters.is_empty() || filters.iter().any(|f| f.contains("live")) {
        live_update_latency(s);
        match std::env::var("CAFLEET_TEST_PG_URL") {
            Ok(server) if !server.is_empty() => live_update_latency_pg(&server),
            _ => println!(
                "live update (PostgreSQL): skipped; run under scripts/with-postgres to measure it"
            ),
        }
    }
}

#[divan::bench(sample_count = 200)]
fn timeline(bencher: Bencher) {
    let f = Fixture::new(runtime());
    f.bench_get(bencher, "/api/timeline", "messages", 200);
}

#[divan::bench(sample_count = 200)]
fn timeline_before(bencher: Bencher) {
    let f = Fixture::new(runtime());
    let path = format!("/api/timeline?before={}", f.seed.middle_task);
    f.bench_get(bencher, &path, "messages", 200);
}

/// The same 100,000 messages spread over 10 fleets (agents moved, see [`split_fleets`]):
/// fleet 1's newest 200 of its ~10,000.
#[divan::bench(sample_count = 100)]
fn timeline_10_fleets(bencher: Bencher) {
    let f = Fixture::with(runtime(), true);
    f.bench_get(bencher, "/api/timeline", "messages", 200);
}

#[divan::bench(sample_count = 200)]
fn inbox(bencher: Bencher) {
    let f = Fixture::new(runtime());
    let path = format!("/api/agents/{}/inbox", f.seed.mailbox);
    f.bench_get(bencher, &path, "messages", BOX as usize);
}

#[divan::bench(sample_count = 200)]
fn sent(bencher: Bencher) {
    let f = Fixture::new(runtime());
    let path = format!("/api/agents/{}/sent", f.seed.mailbox);
    f.bench_get(bencher, &path, "messages", BOX as usize);
}

#[divan::bench(sample_count = 200)]
fn agents(bencher: Bencher) {
    let f = Fixture::new(runtime());
    // Director, Administrator, the others, the mailbox agent, the leavers with history.
    let listed = 2 + OTHERS as usize + 1 + DEREGISTERED as usize / 2;
    f.bench_get(bencher, "/api/agents", "agents", listed);
}

/// The database work of one `/api/events` poll that finds one new message (sent untimed
/// just before): the `change_log` range read and the message's row, as the stream's
/// `next_events` does every 100 ms. Bounds the poll's share of the live-update latency.
#[divan::bench(sample_count = 200, sample_size = 1)]
fn events_poll(bencher: Bencher) {
    let f = Fixture::new(runtime());
    let s = f.seed;
    let broker = &f.state.broker;
    bencher
        .with_inputs(|| {
            f.rt.block_on(async {
                let mut conn = broker.db().pool().acquire().await.expect("conn");
                let seq = cafleet::db::changes::latest(&mut conn).await.expect("seq");
                drop(conn);
                broker
                    .message_send(s.fleet, s.sender, s.recipient, "for the poll")
                    .await
                    .expect("send");
                seq
            })
        })
        .bench_local_values(|seq| {
            f.rt.block_on(async {
                let mut conn = broker.db().pool().acquire().await.expect("conn");
                let changes = cafleet::db::changes::since(&mut conn, s.fleet, seq, 1000)
                    .await
                    .expect("since");
                let ids: Vec<i64> = changes
                    .iter()
                    .filter(|c| c.kind == "task")
                    .filter_map(|c| c.ref_id)
                    .collect();
                assert_eq!(ids.len(), 1);
                let ids = serde_json::to_string(&ids).expect("json");
                let messages = cafleet::db::messages::messages_by_id(&mut conn, s.fleet, &ids)
                    .await
                    .expect("messages");
                assert_eq!(messages.len(), 1);
                messages
            })
        });
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

/// The live-update latency: CLI-style send → `messages` event on an open `/api/events`.
fn live_update_latency(s: &'static Seed) {
    let rt = live_runtime();
    let f = Fixture::new(rt);
    let other = f.state.broker.db().database();
    let (send_ms, total_ms) =
        f.rt.block_on(live_sends(&f.app, &other, (s.fleet, s.sender, s.recipient)));
    print_live("SQLite, polled every 100 ms", send_ms, total_ms);
}

/// The same on PostgreSQL, pushed by `LISTEN/NOTIFY`, when `scripts/with-postgres` gave a
/// server (`CAFLEET_TEST_PG_URL`): a fresh database with a fleet of two agents (not the
/// 100,000-message seed; the stream's read is the same indexed range read).
fn live_update_latency_pg(server: &str) {
    let rt = live_runtime();
    let url = rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(server)
            .await
            .expect("reach the PostgreSQL server");
        let name = format!("bench_web_{}", std::process::id());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create the bench database");
        let (base, query) = server.split_once('?').unwrap_or((server, ""));
        let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
        format!("{base}/{name}?{query}")
    });
    let database = cafleet::config::Database::Postgres(url);
    let (send_ms, total_ms) = rt.block_on(async {
        let db = Db::connect(&database, 8).await.expect("open db");
        db.migrate().await.expect("migrate");
        let broker = Broker::new(db, Tmux::from_env(), MAX_TEXT_LEN);
        let (fleet, agents) = bench_fleet(&broker, 2).await;
        let app = router(AppState::new(
            broker.clone(),
            Security::for_bind("127.0.0.1", 8000, None),
        ));
        let r = live_sends(&app, &database, (fleet, agents[0], agents[1])).await;
        broker.close().await;
        r
    });
    print_live("PostgreSQL, pushed by LISTEN/NOTIFY", send_ms, total_ms);
}

/// A multi-thread runtime, as the server runs.
fn live_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Opens `/api/events` of `fleet` on `app` and makes `LIVE_SENDS` sends from `sender` to
/// `recipient` through another connection to `database`: the send call's and the whole
/// send → event times, in ms.
async fn live_sends(
    app: &Router,
    database: &cafleet::config::Database,
    (fleet, sender, recipient): (FleetId, AgentId, AgentId),
) -> (Vec<f64>, Vec<f64>) {
    let req = Request::get(format!("/api/events?fleet_id={fleet}"))
        .header("host", HOST)
        .body(Body::empty())
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("oneshot");
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    // Frames are read on their own task and time-stamped on arrival.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, String)>();
    let reader = tokio::spawn(async move {
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                let text = String::from_utf8_lossy(&data).into_owned();
                if tx.send((Instant::now(), text)).is_err() {
                    break;
                }
            }
        }
    });
    let wait_for = async |rx: &mut tokio::sync::mpsc::UnboundedReceiver<(Instant, String)>,
                          needle: &str| {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let (at, text) = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .unwrap_or_else(|_| panic!("no {needle:?} within 5 s"))
                .expect("stream ended");
            if text.contains(needle) {
                return (at, text);
            }
        }
    };
    wait_for(&mut rx, "event: hello").await;
    // The other writer: its own pool of one connection, like a CLI process.
    let other = Db::connect(database, 1).await.expect("open db");
    let cli = Broker::new(other, Tmux::from_env(), MAX_TEXT_LEN);
    let mut send_ms = Vec::with_capacity(LIVE_SENDS);
    let mut total_ms = Vec::with_capacity(LIVE_SENDS);
    for i in 0..LIVE_SENDS {
        // Irregular gaps (150–250 ms) so sends land at every phase of the 100 ms poll.
        tokio::time::sleep(Duration::from_millis(150 + (i as u64 * 37) % 100)).await;
        let text = format!("live update {i}");
        let t0 = Instant::now();
        cli.message_send(fleet, sender, recipient, &text)
            .await
            .expect("send");
        let sent = t0.elapsed();
        let (at, frame) = wait_for(&mut rx, &text).await;
        assert!(frame.contains("event: messages"), "frame: {frame:?}");
        send_ms.push(sent.as_secs_f64() * 1e3);
        total_ms.push(at.duration_since(t0).as_secs_f64() * 1e3);
    }
    reader.abort();
    cli.close().await;
    (send_ms, total_ms)
}

fn print_live(backend: &str, mut send_ms: Vec<f64>, mut total_ms: Vec<f64>) {
    println!();
    println!(
        "live update ({backend}): send (separate connection) -> `messages` event on /api/events"
    );
    println!(
        "  {LIVE_SENDS} sends: median {:.1} ms, p90 {:.1} ms, min {:.1} ms, max {:.1} ms (target: median <= 200 ms)",
        median(&mut total_ms),
        percentile(&mut total_ms, 90.0),
        total_ms[0],
        total_ms[total_ms.len() - 1]
    );
    println!(
        "  of which the send call itself: median {:.2} ms, p90 {:.2} ms",
        median(&mut send_ms),
        percentile(&mut send_ms, 90.0)
    );
}
