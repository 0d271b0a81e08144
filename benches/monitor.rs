//! Monitor benchmarks: the DATABASE work of one monitor tick over a fleet of 1,000 watched
//! agents (the root Director and 999 pane-bound members, all panes alive) on an on-disk
//! database that also holds 100,000 messages (1 in 20 still pending). Target: one tick ≤ 5 ms.
//!
//! A tick is what `crate::monitor::tick_once` asks of the database, minus tmux:
//! `monitor_heartbeat` (a write transaction), `monitor_fleet`, `monitor_targets` (one read of
//! the watched agents whose interval has elapsed), `Broker::monitor_plan` against an
//! in-memory live-pane map, and `monitor_stamp` for the due agents (one write transaction,
//! whether they are woken through the monitoring member or by their own poll triggers). The clock is simulated so
//! every iteration is a later tick:
//!
//! - `tick_steady`: ticks 5 s apart with the agents' last wakes spread over their intervals,
//!   so about 1,000 × 5 / 720 ≈ 7 agents are due per tick (the steady state);
//! - `tick_all_due`: ticks a day apart, so all 1,000 are due and stamped every tick (the
//!   worst case: the first tick after a start or a long pause);
//! - the parts alone: `heartbeat`, `targets` (steady), `targets_all_due`, `plan` over all
//!   1,000, `stamp_all`.
//!
//! Every benchmark that touches the database runs on both backends (`SQLite`, `PostgreSQL`
//! beside it): the seed is built once on SQLite and copied into PostgreSQL with `db copy`,
//! so both hold the same rows. The PostgreSQL server is `CAFLEET_BENCH_PG_URL`'s, or a
//! throw-away one (`scripts/pg-scratch start DIR --durable`) started on first use and
//! stopped when the bench ends, a panic included; without PostgreSQL's binaries those
//! benchmarks are skipped with a warning.
//!
//! Seeding is not measured; every benchmark runs on its own copy of the seeded database.
//! Run with `cargo bench --bench monitor` (`-- SQLite` or `-- PostgreSQL` for one backend).

#[path = "common/pg_server.rs"]
mod pg_server;
#[path = "common/watched_fleet.rs"]
mod watched_fleet;

use cafleet::broker::Broker;
use cafleet::config::Database;
use cafleet::db::Db;
use cafleet::db::monitor::{Watched, Watcher};
use cafleet::model::{AgentId, FleetId, format_ts};
use cafleet::tmux::Tmux;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use divan::Bencher;
use pg_server::PgServer;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tempfile::TempDir;
use tokio::runtime::Runtime;
use watched_fleet::{WATCHED, WatchedFleet, seed_watched_fleet};

/// Messages already in the database.
const SEED_MESSAGES: i64 = 100_000;
/// The monitor's default tick.
const TICK_SECS: i64 = 5;
/// The one tmux server every pane lives on.
const SOCKET: &str = "/tmp/cafleet-bench-monitor.sock";

/// The seeded database every benchmark copies.
struct Seed {
    _dir: TempDir,
    path: PathBuf,
    fleet: FleetId,
    director: AgentId,
    /// Live panes: every watched agent's.
    live: HashMap<String, HashSet<String>>,
    /// The simulated time of the seed: every last wake is before it.
    t0: DateTime<Utc>,
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

async fn open_broker(database: &Database) -> Broker {
    let db = Db::connect(database, 1).await.expect("open db");
    db.migrate().await.expect("migrate");
    Broker::new(db, Tmux::from_env(), 200)
}

/// Where a benchmark's copy of the seed lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    SQLite,
    PostgreSQL,
}

const BACKENDS: [Backend; 2] = [Backend::SQLite, Backend::PostgreSQL];

/// The PostgreSQL server and the seed copied into it (the template of every copy), or why
/// there is none; started by the first PostgreSQL benchmark.
static PG: OnceLock<Result<(PgServer, String), String>> = OnceLock::new();

fn pg_seed() -> Option<&'static (PgServer, String)> {
    let pg = PG.get_or_init(|| {
        let server = PgServer::start()?;
        let template = server.copy_of_sqlite(&seed().path);
        Ok((server, template))
    });
    match pg {
        Ok(pg) => Some(pg),
        Err(why) => {
            eprintln!("warning: no PostgreSQL ({why}); its benchmarks are skipped");
            None
        }
    }
}

/// Stops the scratch PostgreSQL server when `main` returns or unwinds (a static is never
/// dropped).
struct StopPg;

impl Drop for StopPg {
    fn drop(&mut self) {
        if let Some(Ok((server, _))) = PG.get() {
            server.stop();
        }
    }
}

fn seed() -> &'static Seed {
    static SEED: OnceLock<Seed> = OnceLock::new();
    SEED.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("seed.db");
        let t0: DateTime<Utc> = "2026-06-01T12:00:00Z".parse().expect("t0");
        let (fleet, director, live) = runtime().block_on(build_seed(&path, t0));
        Seed {
            _dir: dir,
            path,
            fleet,
            director,
            live,
            t0,
        }
    })
}

/// `fleet create` (Director pane `%0`, enrolled at 180 s; an Administrator), then 999
/// members with a placement on pane `%<id>` and a schedule at 720 s, in one transaction;
/// last wakes spread evenly over the interval before `t0`. Then the message history and the
/// monitor slot claimed by this process.
async fn build_seed(
    path: &Path,
    t0: DateTime<Utc>,
) -> (FleetId, AgentId, HashMap<String, HashSet<String>>) {
    let broker = open_broker(&Database::Sqlite(path.to_path_buf())).await;
    let (
        WatchedFleet {
            fleet,
            director,
            members,
            live,
        },
        mut tx,
    ) = seed_watched_fleet(&broker, t0, SOCKET).await;
    let db = broker.db();
    // History among the members: 1 in 20 still pending.
    let first = members[0];
    let n_members = members.len() as i64;
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1),
              rows(n, src, dst, ts) AS (
                SELECT n, ?2 + (n % ?3), ?2 + ((n * 7 + 1) % ?3),
                       strftime('%Y-%m-%dT%H:%M:%S', '2026-01-01', '+' || n || ' seconds') || '.000000+00:00'
                FROM seq)
         INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at,
                            status_state, status_timestamp, origin_task_id, text)
         SELECT dst, src, dst, 'unicast', ts,
                CASE WHEN n % 20 = 0 THEN 'input_required' ELSE 'completed' END, ts, NULL,
                printf('seed message %d: status update on the refactor, see the PR for details.', n)
         FROM rows",
    )
    .bind(SEED_MESSAGES)
    .bind(first)
    .bind(n_members)
    .execute(tx.sqlite_conn())
    .await
    .expect("seed tasks");
    tx.commit().await.expect("commit");
    broker
        .monitor_claim(fleet, i64::from(std::process::id()), TICK_SECS)
        .await
        .expect("claim");
    let watched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM monitor_config m JOIN agent_placements p USING (agent_id)",
    )
    .fetch_one(db.pool())
    .await
    .expect("count");
    assert_eq!(watched, WATCHED);
    sqlx::query("ANALYZE")
        .execute(db.pool())
        .await
        .expect("analyze");
    db.close().await;
    (fleet, director, live)
}

/// A private copy of the seeded database and a long-lived broker on it (as `monitor start`
/// has: one connection).
struct Fixture {
    copy: SeedCopy,
    rt: Runtime,
    broker: Broker,
    seed: &'static Seed,
    pid: i64,
}

/// A private copy of the seed: a file in a temporary directory, or a PostgreSQL database
/// made from the seed's (dropped with the fixture).
enum SeedCopy {
    Sqlite { _dir: TempDir },
    Pg(&'static PgServer, String),
}

impl Fixture {
    /// `None` for PostgreSQL without a server (the benchmark is skipped).
    fn new(backend: Backend) -> Option<Fixture> {
        let s = seed();
        let (copy, database) = match backend {
            Backend::SQLite => {
                let dir = tempfile::tempdir().expect("tempdir");
                let path = dir.path().join("bench.db");
                std::fs::copy(&s.path, &path).expect("copy seed db");
                (SeedCopy::Sqlite { _dir: dir }, Database::Sqlite(path))
            }
            Backend::PostgreSQL => {
                let (server, template) = pg_seed()?;
                let name = server.create_database(Some(template));
                let url = server.database_url(&name);
                (SeedCopy::Pg(server, name), Database::Postgres(url))
            }
        };
        let rt = runtime();
        let broker = rt.block_on(open_broker(&database));
        Some(Fixture {
            copy,
            rt,
            broker,
            seed: s,
            pid: i64::from(std::process::id()),
        })
    }

    /// The simulated clock of tick `n` (`step` apart, starting just after the seed).
    fn now(&self, n: i64, step: ChronoDuration) -> String {
        format_ts(self.seed.t0 + step * (n as i32 + 1))
    }

    /// The tick's read at `now`.
    fn targets(&self, now: &str) -> (Vec<Watched>, Option<Watcher>) {
        self.rt
            .block_on(self.broker.monitor_targets(self.seed.fleet, now))
            .expect("targets")
    }

    /// All 1,000 watched agents (a day after the seed every one is due).
    fn all_watched(&self) -> (Vec<Watched>, Option<Watcher>) {
        let t = self.targets(&self.now(0, ChronoDuration::days(1)));
        assert_eq!(t.0.len() as i64, WATCHED);
        t
    }

    /// The database work of one tick at `now`; returns how many agents were due.
    async fn tick(&self, now: &str) -> usize {
        let s = self.seed;
        let b = &self.broker;
        assert!(
            b.monitor_heartbeat(s.fleet, self.pid, now)
                .await
                .expect("heartbeat"),
            "slot lost"
        );
        let director = b.monitor_fleet(s.fleet).await.expect("fleet");
        let (watched, watcher) = b.monitor_targets(s.fleet, now).await.expect("targets");
        let plan = Broker::monitor_plan(watched, watcher, &s.live, now, director);
        let ids: Vec<AgentId> = plan.due.iter().map(|d| d.agent_id).collect();
        b.monitor_stamp(&ids, now).await.expect("stamp");
        ids.len()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.rt.block_on(self.broker.close());
        if let SeedCopy::Pg(server, name) = &self.copy {
            server.drop_database(name);
        }
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

fn main() {
    let _stop = StopPg;
    // Build the seed before any timing starts (PostgreSQL's copy on first use).
    keep_seed_copy(&seed().path);
    divan::main();
}

/// One steady-state tick: ~7 of 1,000 due, stamped in one transaction.
#[divan::bench(args = BACKENDS, sample_count = 300)]
fn tick_steady(bencher: Bencher, backend: Backend) {
    let Some(f) = Fixture::new(backend) else {
        return;
    };
    let mut n = 0;
    let mut due_total = 0;
    bencher.bench_local(|| {
        let now = f.now(n, ChronoDuration::seconds(TICK_SECS));
        n += 1;
        due_total += f.rt.block_on(f.tick(&now));
    });
    assert!(n == 0 || due_total > 0, "no agent was ever due");
}

/// The worst tick: all 1,000 due and stamped in one transaction.
#[divan::bench(args = BACKENDS, sample_count = 200)]
fn tick_all_due(bencher: Bencher, backend: Backend) {
    let Some(f) = Fixture::new(backend) else {
        return;
    };
    let mut n = 0;
    bencher.bench_local(|| {
        let now = f.now(n, ChronoDuration::days(1));
        n += 1;
        let due = f.rt.block_on(f.tick(&now));
        assert_eq!(due as i64, WATCHED);
    });
}

/// The heartbeat alone: one write transaction (SQLite's `BEGIN IMMEDIATE`, PostgreSQL's
/// writers' lock), one UPDATE, the commit's flush.
#[divan::bench(args = BACKENDS, sample_count = 300)]
fn heartbeat(bencher: Bencher, backend: Backend) {
    let Some(f) = Fixture::new(backend) else {
        return;
    };
    let mut n = 0;
    bencher.bench_local(|| {
        let now = f.now(n, ChronoDuration::seconds(TICK_SECS));
        n += 1;
        f.rt.block_on(f.broker.monitor_heartbeat(f.seed.fleet, f.pid, &now))
            .expect("heartbeat")
    });
}

/// `monitor_targets` in the steady state: the few agents whose interval has elapsed, and
/// the watcher.
#[divan::bench(args = BACKENDS, sample_count = 300)]
fn targets(bencher: Bencher, backend: Backend) {
    let Some(f) = Fixture::new(backend) else {
        return;
    };
    let now = f.now(0, ChronoDuration::seconds(TICK_SECS));
    bencher.bench_local(|| {
        let t = f.targets(&now);
        assert!(
            (t.0.len() as i64) < WATCHED / 10,
            "steady state reads few rows"
        );
        t
    });
}

/// `monitor_targets` when all 1,000 are due (the first tick after a start).
#[divan::bench(args = BACKENDS, sample_count = 200)]
fn targets_all_due(bencher: Bencher, backend: Backend) {
    let Some(f) = Fixture::new(backend) else {
        return;
    };
    bencher.bench_local(|| f.all_watched());
}

/// `Broker::monitor_plan` over 1,000 watched agents (pure CPU; the input is cloned untimed).
#[divan::bench(sample_count = 300)]
fn plan(bencher: Bencher) {
    let f = Fixture::new(Backend::SQLite).expect("SQLite");
    let (watched, watcher) = f.all_watched();
    let now = f.now(0, ChronoDuration::seconds(TICK_SECS));
    bencher
        .with_inputs(|| (watched.clone(), watcher.clone()))
        .bench_local_values(|(w, m)| {
            Broker::monitor_plan(w, m, &f.seed.live, &now, f.seed.director)
        });
}

/// `monitor_stamp` of all 1,000 agents in one transaction.
#[divan::bench(args = BACKENDS, sample_count = 200)]
fn stamp_all(bencher: Bencher, backend: Backend) {
    let Some(f) = Fixture::new(backend) else {
        return;
    };
    let ids: Vec<AgentId> = f.all_watched().0.iter().map(|w| w.agent_id).collect();
    let mut n = 0;
    bencher.bench_local(|| {
        let now = f.now(n, ChronoDuration::days(1));
        n += 1;
        f.rt.block_on(f.broker.monitor_stamp(&ids, &now))
            .expect("stamp");
    });
}
