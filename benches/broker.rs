//! Broker benchmarks for the "broker core" targets, on an on-disk database that already
//! holds 100,000 messages:
//!
//! - `message_send` (unicast, recipient without a pane): ≥ 2,000/s, i.e. median ≤ 500 µs;
//! - `message_broadcast` to 50 pane-less agents: < 5 ms. No previews are typed, so the
//!   call is the `BEGIN IMMEDIATE` transaction (write lock held) plus the commit's fsync;
//! - `message_poll` (an inbox with 20 pending among the 100k) and `message_ack`, for
//!   reference;
//! - `cli_cycle_poll` / `cli_cycle_send`: the database work of one CLI process (open the
//!   pool, migration check, the command, close), i.e. `benches/cli.sh` minus process start-up.
//!
//! The seeded database is built once (not measured) and every benchmark runs on its own
//! copy, so one benchmark's writes never change another's inbox. Run with
//! `cargo bench --bench broker`.

use cafleet::broker::Broker;
use cafleet::db::Db;
use cafleet::model::{AgentId, FleetId, TaskId};
use cafleet::tmux::Tmux;
use divan::Bencher;
use divan::counter::ItemsCount;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tempfile::TempDir;
use tokio::runtime::Runtime;

/// Messages already in the database before any benchmark runs.
const SEED_MESSAGES: i64 = 100_000;
/// Agents registered in the fleet (some deregistered later, see [`DEREGISTERED`]).
const AGENTS: usize = 60;
/// Agents deregistered after seeding, so a broadcast from one agent reaches exactly
/// [`BROADCAST_RECIPIENTS`] active agents.
const DEREGISTERED: usize = 9;
/// Deliveries one broadcast stores.
const BROADCAST_RECIPIENTS: usize = AGENTS - DEREGISTERED - 1;
/// Pending messages in the polled inbox.
const POLL_PENDING: i64 = 20;
const MAX_TEXT_LEN: usize = 200;
const TEXT: &str = "Please review the diff in src/broker/messages.rs and reply with findings.";

/// The seeded database every benchmark copies.
struct Seed {
    _dir: TempDir,
    path: PathBuf,
    fleet: FleetId,
    agents: Vec<AgentId>,
}

impl Seed {
    fn sender(&self) -> AgentId {
        self.agents[0]
    }
    fn recipient(&self) -> AgentId {
        self.agents[1]
    }
    fn poller(&self) -> AgentId {
        self.agents[2]
    }
    fn acker(&self) -> AgentId {
        self.agents[3]
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

async fn open_broker(path: &Path) -> Broker {
    let db = Db::open(path, 1).await.expect("open db");
    db.migrate().await.expect("migrate");
    Broker::new(db, Tmux::from_env(), MAX_TEXT_LEN)
}

fn seed() -> &'static Seed {
    static SEED: OnceLock<Seed> = OnceLock::new();
    SEED.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("seed.db");
        let (fleet, agents) = runtime().block_on(build_seed(&path));
        Seed {
            _dir: dir,
            path,
            fleet,
            agents,
        }
    })
}

/// One fleet (no Director pane: created with a plain row, so no recipient has a pane),
/// [`AGENTS`] agents registered through the broker, [`SEED_MESSAGES`] tasks inserted by one
/// `INSERT ... SELECT` over a recursive CTE in a single transaction.
async fn build_seed(path: &Path) -> (FleetId, Vec<AgentId>) {
    let broker = open_broker(path).await;
    let db = broker.db();
    let fleet = {
        let mut tx = db.begin_write().await.expect("begin");
        let now = cafleet::model::now_ts();
        let id = cafleet::db::fleets::insert(&mut tx, Some("bench"), &now)
            .await
            .expect("fleet");
        tx.commit().await.expect("commit");
        id
    };
    let mut agents = Vec::with_capacity(AGENTS);
    for i in 0..AGENTS {
        let a = broker
            .agent_register(fleet, &format!("agent-{i}"), "benchmark agent", None)
            .await
            .expect("register");
        agents.push(a.agent_id);
    }
    let first = agents[0];
    assert!(
        agents
            .iter()
            .enumerate()
            .all(|(i, &a)| a.0 == first.0 + i as i64),
        "agent ids must be contiguous for the seeding SQL"
    );
    let poller_idx: usize = 2;
    let bulk = SEED_MESSAGES - POLL_PENDING;
    let mut tx = db.begin_write().await.expect("begin");
    // Bulk history: 1 in 20 still pending, the rest acknowledged; never to the poller, so its
    // inbox holds exactly POLL_PENDING. Timestamps one second apart, ending before now.
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1),
              rows(n, src, dst, ts) AS (
                SELECT n,
                       ?2 + (n % ?3),
                       ?2 + CASE WHEN ((n * 7 + 1) % ?3) = ?4 THEN ?4 + 1 ELSE (n * 7 + 1) % ?3 END,
                       strftime('%Y-%m-%dT%H:%M:%S', '2025-01-01', '+' || n || ' seconds') || '.000000+00:00'
                FROM seq)
         INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at,
                            status_state, status_timestamp, origin_task_id, text)
         SELECT dst, src, dst, 'unicast', ts,
                CASE WHEN (n / ?3) % 20 = 0 THEN 'input_required' ELSE 'completed' END, ts, NULL,
                printf('seed message %d: status update on the refactor, see the PR for details.', n)
         FROM rows",
    )
    .bind(bulk)
    .bind(first)
    .bind(AGENTS as i64)
    .bind(poller_idx as i64)
    .execute(tx.sqlite_conn())
    .await
    .expect("seed tasks");
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1)
         INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at,
                            status_state, status_timestamp, origin_task_id, text)
         SELECT ?2, ?3, ?2, 'unicast', ts, 'input_required', ts, NULL,
                printf('pending message %d for the poller', n)
         FROM (SELECT n, strftime('%Y-%m-%dT%H:%M:%S', '2026-01-01', '+' || n || ' seconds')
                         || '.000000+00:00' AS ts FROM seq)",
    )
    .bind(POLL_PENDING)
    .bind(agents[poller_idx])
    .bind(agents[0])
    .execute(tx.sqlite_conn())
    .await
    .expect("seed poller inbox");
    tx.commit().await.expect("commit");
    for &a in &agents[AGENTS - DEREGISTERED..] {
        broker.agent_deregister(fleet, a).await.expect("deregister");
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks")
        .fetch_one(db.pool())
        .await
        .expect("count");
    assert_eq!(count, SEED_MESSAGES);
    // Fresh statistics, as a long-lived database has; closing also checkpoints the WAL.
    sqlx::query("ANALYZE")
        .execute(db.pool())
        .await
        .expect("analyze");
    db.close().await;
    (fleet, agents)
}

/// A private copy of the seeded database.
fn copy_seed() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.db");
    std::fs::copy(&seed().path, &path).expect("copy seed db");
    (dir, path)
}

/// A private copy of the seeded database and a long-lived broker on it (as the server has).
struct Fixture {
    _dir: TempDir,
    rt: Runtime,
    broker: Broker,
    seed: &'static Seed,
}

impl Fixture {
    fn new() -> Fixture {
        let (dir, path) = copy_seed();
        let rt = runtime();
        let broker = rt.block_on(open_broker(&path));
        Fixture {
            _dir: dir,
            rt,
            broker,
            seed: seed(),
        }
    }
}

fn main() {
    // Build the seed before any timing starts.
    let _ = seed();
    divan::main();
}

/// Unicast to a pane-less recipient: one `BEGIN IMMEDIATE` transaction plus its fsync.
#[divan::bench(sample_count = 500)]
fn message_send(bencher: Bencher) {
    let f = Fixture::new();
    let s = f.seed;
    bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
        let out =
            f.rt.block_on(
                f.broker
                    .message_send(s.fleet, s.sender(), s.recipient(), TEXT),
            )
            .expect("send");
        assert!(!out.notification_sent);
        out
    });
}

/// Writers of one process sending at once (the server under load).
const CONCURRENT_SENDERS: usize = 32;

/// [`CONCURRENT_SENDERS`] unicasts issued at once on a group-committing broker (as `cafleet
/// server` runs it): they share one transaction and one fsync, and each call still returns
/// only after the commit. Items/s is the broker's send throughput.
#[divan::bench(sample_count = 200)]
fn message_send_concurrent(bencher: Bencher) {
    let f = Fixture::new();
    let s = f.seed;
    let broker = f.rt.block_on(async {
        Broker::new(
            f.broker.db().clone().with_group_commit(),
            Tmux::from_env(),
            MAX_TEXT_LEN,
        )
    });
    bencher
        .counter(ItemsCount::new(CONCURRENT_SENDERS))
        .bench_local(|| {
            let sends = (0..CONCURRENT_SENDERS)
                .map(|_| broker.message_send(s.fleet, s.sender(), s.recipient(), TEXT));
            let outs = f.rt.block_on(futures::future::join_all(sends));
            for out in &outs {
                assert!(!out.as_ref().expect("send").notification_sent);
            }
            outs
        });
}

/// The inbox query: 20 pending among 100,000 messages.
#[divan::bench(sample_count = 500)]
fn message_poll(bencher: Bencher) {
    let f = Fixture::new();
    let s = f.seed;
    bencher.bench_local(|| {
        let inbox =
            f.rt.block_on(f.broker.message_poll(s.fleet, s.poller()))
                .expect("poll");
        assert_eq!(inbox.len() as i64, POLL_PENDING);
        inbox
    });
}

/// Acknowledging a pending delivery; each input is a fresh delivery sent (untimed) just before.
#[divan::bench(sample_count = 300, sample_size = 1)]
fn message_ack(bencher: Bencher) {
    let f = Fixture::new();
    let s = f.seed;
    bencher
        .with_inputs(|| -> TaskId {
            f.rt.block_on(f.broker.message_send(s.fleet, s.sender(), s.acker(), TEXT))
                .expect("send for ack")
                .task
                .task_id
        })
        .bench_local_values(|task_id| {
            f.rt.block_on(f.broker.message_ack(s.fleet, s.acker(), task_id))
                .expect("ack")
        });
}

/// Broadcast to 50 pane-less agents: the whole call is the write transaction (51 inserts and
/// the commit); no previews are typed.
#[divan::bench(sample_count = 200)]
fn message_broadcast(bencher: Bencher) {
    let f = Fixture::new();
    let s = f.seed;
    bencher
        .counter(ItemsCount::new(BROADCAST_RECIPIENTS))
        .bench_local(|| {
            let out =
                f.rt.block_on(f.broker.message_broadcast(s.fleet, s.sender(), TEXT))
                    .expect("broadcast");
            assert_eq!(out.recipients, BROADCAST_RECIPIENTS);
            assert_eq!(out.notified, 0);
            out
        });
}

/// The database work of one `cafleet message poll` process: open the pool (pragmas), the
/// migration check, the poll and the close, on a database no other connection holds open.
/// Process start-up is what benches/cli.sh adds on top.
#[divan::bench(sample_count = 200)]
fn cli_cycle_poll(bencher: Bencher) {
    let (_dir, path) = copy_seed();
    let s = seed();
    let rt = runtime();
    bencher.bench_local(|| {
        rt.block_on(async {
            let broker = open_broker(&path).await;
            let inbox = broker
                .message_poll(s.fleet, s.poller())
                .await
                .expect("poll");
            broker.db().close().await;
            inbox
        })
    });
}

/// The database work of one `cafleet message send` process (no pane): open, migration
/// check, the send transaction, close. Closing the last connection checkpoints the WAL.
#[divan::bench(sample_count = 200)]
fn cli_cycle_send(bencher: Bencher) {
    let (_dir, path) = copy_seed();
    let s = seed();
    let rt = runtime();
    bencher.bench_local(|| {
        rt.block_on(async {
            let broker = open_broker(&path).await;
            let out = broker
                .message_send(s.fleet, s.sender(), s.recipient(), TEXT)
                .await
                .expect("send");
            broker.db().close().await;
            out
        })
    });
}

/// Building the clap command tree and parsing `message poll` argv, as `cafleet::cli::run`
/// does before any database work: one slice of the CLI's per-process start-up.
#[divan::bench(sample_count = 200)]
fn cli_parse(bencher: Bencher) {
    let argv = [
        "cafleet",
        "message",
        "poll",
        "--fleet-id",
        "1",
        "--agent-id",
        "5",
    ];
    bencher.bench_local(|| {
        let cmd = cafleet::cli::command();
        cmd.clone().try_get_matches_from(argv).expect("parse")
    });
}
