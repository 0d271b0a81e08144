//! The `just bench` report: times the key operations itself from raw samples (so it can give
//! the p99 as well as the median), measures peak memory, and writes a markdown table with a
//! target and met/missed per row (plus the machine it ran on) to `--out <file>`.
//!
//! - in-process (the library's public API on an on-disk database holding 100,000 messages):
//!   `Broker::message_send` (no pane), `message_broadcast` to 50 pane-less agents,
//!   `message_poll` (20 pending), `message_ack`; the monitor's database work per tick over
//!   1,000 watched agents (steady and all-due); the WebUI API through `web::router` and
//!   `oneshot` (`/api/timeline`, an inbox). Peak memory there is the whole bench process's
//!   peak RSS during that row (reset per row through `/proc/self/clear_refs`);
//! - whole-process (the release `cafleet` binary, a fresh process per run): `message send`,
//!   `message poll`, and against a private tmux server with a stand-in `claude`: `member
//!   create`, `member send-input`, `member capture`. Wall time from spawn to reaped; peak RSS
//!   and CPU time of the child from `wait4`;
//! - PostgreSQL beside SQLite (`report/pg.rs`, on a throw-away server): 64 writers from 3
//!   simulated hosts (sends/s), cross-host delivery through `cafleet relay` (latency), and
//!   the monitor tick over 1,000 watched agents.
//!
//! `--logs <dir>` appends every `*.txt` in that directory (the divan and shell benches'
//! output, written by `just bench`) under "Raw output". `--quick` takes fewer samples;
//! `--only broker|monitor|web|cli|members|pg` measures one part; `--only pg --update` rewrites
//! only the "PostgreSQL and hosts" section of `--out`.
//! Run with `cargo build --release && cargo bench --bench report -- --out docs/performance.md`.

#[path = "report/pg.rs"]
mod pg;
#[path = "common/pg_server.rs"]
mod pg_server;
#[path = "common/watched_fleet.rs"]
mod watched_fleet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cafleet::broker::Broker;
use cafleet::config::Database;
use cafleet::db::Db;
use cafleet::model::{AgentId, FleetId, TaskId, format_ts};
use cafleet::tmux::Tmux;
use cafleet::web::{AppState, Security, router};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use http_body_util::BodyExt;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tower::ServiceExt;
use watched_fleet::{WatchedFleet, seed_watched_fleet};

const SEED_MESSAGES: i64 = 100_000;
/// Agents of the messaging fleet; the last [`DEREGISTERED`] leave after seeding, so a
/// broadcast from agent 0 reaches exactly 50.
const AGENTS: i64 = 60;
const DEREGISTERED: i64 = 9;
const BROADCAST_RECIPIENTS: usize = (AGENTS - DEREGISTERED - 1) as usize;
const POLL_PENDING: i64 = 20;
/// Watched agents of the monitor fleet: the Director and 999 members.
const MONITOR_SOCKET: &str = "/tmp/cafleet-report-monitor.sock";
const MAX_TEXT_LEN: usize = 200;
const TEXT: &str = "Please review the diff in src/broker/messages.rs and reply with findings.";
const HOST: &str = "127.0.0.1:8000";
const MIB: u64 = 1024;
/// Writers of one process sending at once (the server under load).
const CONCURRENT_SENDERS: usize = 32;

// ---------------------------------------------------------------------------------------
// Samples, rows, targets.
// ---------------------------------------------------------------------------------------

/// What a row promises.
#[derive(Clone, Copy)]
enum Target {
    None,
    /// Median at most this.
    Median(Duration),
    /// Median at most this and peak RSS at most this many KiB.
    MedianRss(Duration, u64),
    /// At least this many operations per second.
    Rate(f64),
}

struct Row {
    group: &'static str,
    op: String,
    samples: Vec<Duration>,
    /// Peak RSS in KiB (the child's for whole-process rows, the bench's otherwise).
    peak_kib: Option<u64>,
    /// Mean CPU time (user + system) per run, whole-process rows only.
    cpu: Option<Duration>,
    target: Target,
    /// Operations per sample (several for a batch of concurrent ones).
    items: usize,
}

impl Row {
    fn sorted(&self) -> Vec<Duration> {
        let mut s = self.samples.clone();
        s.sort_unstable();
        s
    }

    /// Nearest-rank percentile.
    fn pct(&self, p: f64) -> Duration {
        let s = self.sorted();
        let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
        s[rank.min(s.len()) - 1]
    }

    fn median(&self) -> Duration {
        self.pct(50.0)
    }

    fn ops_per_sec(&self) -> f64 {
        let total: Duration = self.samples.iter().sum();
        (self.samples.len() * self.items) as f64 / total.as_secs_f64()
    }

    fn target_text(&self) -> String {
        match self.target {
            Target::None => "—".into(),
            Target::Median(d) => format!("median ≤ {}", fmt_dur(d)),
            Target::MedianRss(d, kib) => {
                format!("median ≤ {}, peak ≤ {} MiB", fmt_dur(d), kib / MIB)
            }
            Target::Rate(r) => format!("≥ {r:.0}/s"),
        }
    }

    fn met(&self) -> &'static str {
        let ok = match self.target {
            Target::None => return "",
            Target::Median(d) => self.median() <= d,
            Target::MedianRss(d, kib) => {
                self.median() <= d && self.peak_kib.is_some_and(|p| p <= kib)
            }
            Target::Rate(r) => self.ops_per_sec() >= r,
        };
        if ok { "met" } else { "**missed**" }
    }
}

impl Row {
    /// An empty row of the same group, for a second view of the same runs.
    fn clone_shape(&self) -> Row {
        Row {
            group: self.group,
            op: String::new(),
            samples: Vec::new(),
            peak_kib: self.peak_kib,
            cpu: None,
            target: Target::None,
            items: 1,
        }
    }
}

/// SQLite write-lock hold times, as the database layer itself reports them (the
/// "write lock released" debug events on `cafleet::db::LOCK_TRACE_TARGET`).
mod lock_holds {
    use std::sync::Mutex;
    use std::time::Duration;
    use tracing_subscriber::layer::{Context, SubscriberExt};
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{Layer, filter::Targets};

    static HOLDS: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

    struct Capture;

    impl<S: tracing::Subscriber> Layer<S> for Capture {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            struct HeldUs(Option<u64>);
            impl tracing::field::Visit for HeldUs {
                fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                    if field.name() == "held_us" {
                        self.0 = Some(value);
                    }
                }
                fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
            }
            let mut held = HeldUs(None);
            event.record(&mut held);
            if let Some(us) = held.0 {
                HOLDS
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(Duration::from_micros(us));
            }
        }
    }

    /// Starts capturing (once, before any measurement).
    pub fn install() {
        let only_locks =
            Targets::new().with_target(cafleet::db::LOCK_TRACE_TARGET, tracing::Level::DEBUG);
        tracing_subscriber::registry()
            .with(Capture.with_filter(only_locks))
            .init();
    }

    /// Every hold captured since the last call.
    pub fn take() -> Vec<Duration> {
        std::mem::take(
            &mut *HOLDS
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

fn fmt_dur(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1_000.0 {
        format!("{us:.0} µs")
    } else if us < 100_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{:.0} ms", us / 1e3)
    }
}

fn fmt_kib(kib: Option<u64>) -> String {
    kib.map_or("—".into(), |k| {
        format!("{:.1} MiB", k as f64 / MIB as f64)
    })
}

/// Runs `f` `warmup` times untimed, then `n` times timed.
fn sample(n: usize, warmup: usize, mut f: impl FnMut()) -> Vec<Duration> {
    for _ in 0..warmup {
        f();
    }
    (0..n)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed()
        })
        .collect()
}

/// Resets this process's peak RSS (Linux ≥ 4.0); false where that is not possible.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// This process's peak RSS in KiB since the last [`reset_peak`].
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// An in-process row: samples `f` with the bench's peak RSS reset first.
fn in_process(
    group: &'static str,
    op: impl Into<String>,
    target: Target,
    n: usize,
    f: impl FnMut(),
) -> Row {
    let can_reset = reset_peak();
    let samples = sample(n, n / 20 + 1, f);
    Row {
        group,
        op: op.into(),
        samples,
        peak_kib: if can_reset { peak_kib() } else { None },
        cpu: None,
        target,
        items: 1,
    }
}

// ---------------------------------------------------------------------------------------
// Whole processes: wall time, and peak RSS and CPU of the child from wait4.
// ---------------------------------------------------------------------------------------

/// How a reaped child ended.
struct Reaped {
    success: bool,
    cpu: Option<Duration>,
}

// The one FFI call of the package (the package denies unsafe code; the library forbids it):
// `wait4`, the only way to get a reaped child's CPU time without a dependency.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[allow(unsafe_code)]
mod reap {
    use super::Reaped;
    use std::time::Duration;

    #[repr(C)]
    struct Timeval {
        sec: i64,
        usec: i64,
    }

    /// `struct rusage` on 64-bit Linux: two timevals, then 14 longs.
    #[repr(C)]
    struct Rusage {
        utime: Timeval,
        stime: Timeval,
        _rest: [i64; 14],
    }

    unsafe extern "C" {
        fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
    }

    /// Reaps `child` with `wait4`, which also reports its resource usage.
    pub fn wait(child: std::process::Child) -> std::io::Result<Reaped> {
        let pid = child.id() as i32;
        let mut status = 0i32;
        let mut ru = Rusage {
            utime: Timeval { sec: 0, usec: 0 },
            stime: Timeval { sec: 0, usec: 0 },
            _rest: [0; 14],
        };
        loop {
            // SAFETY: `status` and `ru` are valid for writes and laid out as the kernel's
            // `int` and `struct rusage`; `pid` is our own unreaped child.
            let r = unsafe { wait4(pid, &mut status, 0, &mut ru) };
            if r == pid {
                break;
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        let tv = |t: &Timeval| Duration::from_micros((t.sec * 1_000_000 + t.usec) as u64);
        // Exited normally with code 0: WIFEXITED && WEXITSTATUS == 0.
        let success = status & 0x7f == 0 && (status >> 8) & 0xff == 0;
        Ok(Reaped {
            success,
            cpu: Some(tv(&ru.utime) + tv(&ru.stime)),
        })
    }
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
mod reap {
    use super::Reaped;

    pub fn wait(mut child: std::process::Child) -> std::io::Result<Reaped> {
        Ok(Reaped {
            success: child.wait()?.success(),
            cpu: None,
        })
    }
}

/// Runs `cmd` (stdout discarded, stderr inherited) and returns its wall time and usage;
/// panics if it fails, since a failing command's timing means nothing.
fn run_measured(cmd: &mut Command) -> (Duration, Reaped) {
    let t0 = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let reaped = reap::wait(child).expect("wait4");
    let wall = t0.elapsed();
    assert!(reaped.success, "{cmd:?} failed");
    (wall, reaped)
}

/// A whole-process row: `warmup` untimed runs, then `n` measured runs of `make()`.
fn whole_process(
    group: &'static str,
    op: impl Into<String>,
    target: Target,
    n: usize,
    make: impl Fn() -> Command,
) -> Row {
    for _ in 0..3 {
        run_measured(&mut make());
    }
    let mut samples = Vec::with_capacity(n);
    let mut cpu = Duration::ZERO;
    let mut have_cpu = true;
    for _ in 0..n {
        let (wall, r) = run_measured(&mut make());
        samples.push(wall);
        match r.cpu {
            Some(c) => cpu += c,
            None => have_cpu = false,
        }
    }
    Row {
        group,
        op: op.into(),
        cpu: have_cpu.then(|| cpu / n as u32),
        samples,
        peak_kib: peak_rss_kib(n.div_ceil(4), &make),
        target,
        items: 1,
    }
}

/// The largest peak RSS (KiB) of `runs` runs of `make()`, each under GNU time
/// (`/usr/bin/time -f %M`). Not from our own `wait4`: a child spawned by this (large)
/// process starts its peak from ours, since the kernel carries the high-water mark across
/// `exec`; GNU time is small, so its child's figure is the command's own.
fn peak_rss_kib(runs: usize, make: &impl Fn() -> Command) -> Option<u64> {
    let time = Path::new("/usr/bin/time");
    if !time.is_file() {
        return None;
    }
    let out = tempfile::NamedTempFile::new().ok()?;
    let mut peak = None;
    for _ in 0..runs {
        let inner = make();
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(out.path());
        c.arg(inner.get_program()).args(inner.get_args());
        c.env_clear();
        for (k, v) in inner.get_envs() {
            if let Some(v) = v {
                c.env(k, v);
            }
        }
        if inner.get_envs().all(|(k, _)| k != "PATH") {
            c.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        }
        if let Some(d) = inner.get_current_dir() {
            c.current_dir(d);
        }
        run_measured(&mut c);
        let kib: u64 = std::fs::read_to_string(out.path())
            .ok()?
            .lines()
            .last()?
            .trim()
            .parse()
            .ok()?;
        peak = Some(peak.unwrap_or(0).max(kib));
    }
    peak
}

// ---------------------------------------------------------------------------------------
// Databases.
// ---------------------------------------------------------------------------------------

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

async fn open_broker(path: &Path, connections: u32) -> Broker {
    connect_broker(&Database::Sqlite(path.into()), connections).await
}

/// A broker on `database` (either backend) with at most `connections` connections.
async fn connect_broker(database: &Database, connections: u32) -> Broker {
    let db = Db::connect(database, connections).await.expect("open db");
    db.migrate().await.expect("migrate");
    Broker::new(db, Tmux::from_env(), MAX_TEXT_LEN)
}

/// `count` messages among the `n` contiguous agent ids from `first`, timestamps one second
/// apart from `start`; `pending_every`-th one still pending, the rest acknowledged.
async fn insert_history(
    tx: &mut cafleet::db::WriteTx,
    count: i64,
    first: AgentId,
    n: i64,
    pending_every: i64,
    start: &str,
) {
    sqlx::query(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1)
         INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at,
                            status_state, status_timestamp, origin_task_id, text)
         SELECT dst, src, dst, 'unicast', ts,
                CASE WHEN n % ?4 = 0 THEN 'input_required' ELSE 'completed' END, ts, NULL,
                printf('seed message %d: status update on the refactor, see the PR.', n)
         FROM (SELECT n, ?2 + (n % ?3) AS src, ?2 + ((n * 7 + 1) % ?3) AS dst,
                      strftime('%Y-%m-%dT%H:%M:%S', ?5, '+' || n || ' seconds')
                      || '.000000+00:00' AS ts
               FROM seq)",
    )
    .bind(count)
    .bind(first)
    .bind(n)
    .bind(pending_every)
    .bind(start)
    .execute(tx.sqlite_conn())
    .await
    .expect("seed history");
}

/// The messaging database: one fleet (a plain row: nobody has a pane), [`AGENTS`] agents
/// registered through the broker, 100,000 messages among agents 4.. (so agents 0–3 start
/// with empty inboxes), then [`POLL_PENDING`] pending from agent 0 to agent 2 (the poller),
/// and the last [`DEREGISTERED`] agents deregistered.
struct Messaging {
    path: PathBuf,
    fleet: FleetId,
    agents: Vec<AgentId>,
}

async fn seed_messaging(path: &Path) -> Messaging {
    let broker = open_broker(path, 1).await;
    let db = broker.db();
    let mut tx = db.begin_write().await.expect("begin");
    let fleet = cafleet::db::fleets::insert(&mut tx, Some("bench"), &cafleet::model::now_ts())
        .await
        .expect("fleet");
    tx.commit().await.expect("commit");
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        let a = broker
            .agent_register(fleet, &format!("agent-{i}"), "benchmark agent", None)
            .await
            .expect("register");
        agents.push(a.agent_id);
    }
    assert!(
        agents.windows(2).all(|w| w[1].0 == w[0].0 + 1),
        "agent ids must be contiguous for the seeding SQL"
    );
    let mut tx = db.begin_write().await.expect("begin");
    insert_history(
        &mut tx,
        SEED_MESSAGES - POLL_PENDING,
        agents[4],
        AGENTS - 4,
        20,
        "2025-01-01",
    )
    .await;
    tx.commit().await.expect("commit");
    for _ in 0..POLL_PENDING {
        broker
            .message_send(fleet, agents[0], agents[2], TEXT)
            .await
            .expect("pending");
    }
    for &a in &agents[(AGENTS - DEREGISTERED) as usize..] {
        broker.agent_deregister(fleet, a).await.expect("deregister");
    }
    // Fresh statistics, as a long-lived database has; closing checkpoints the WAL.
    sqlx::query("ANALYZE")
        .execute(db.pool())
        .await
        .expect("analyze");
    db.close().await;
    Messaging {
        path: path.to_path_buf(),
        fleet,
        agents,
    }
}

/// The monitor database: `fleet create` from a (fictitious) pane, 999 members with a pane
/// placement and a 720 s schedule, their last wakes spread over the interval before `t0`,
/// 100,000 messages among them (1 in 20 pending), and the monitor slot claimed.
struct MonitorSeed {
    path: PathBuf,
    fleet: FleetId,
    live: HashMap<String, HashSet<String>>,
    t0: DateTime<Utc>,
}

async fn seed_monitor(path: &Path) -> MonitorSeed {
    let t0: DateTime<Utc> = "2026-06-01T12:00:00Z".parse().expect("t0");
    let broker = open_broker(path, 1).await;
    let (
        WatchedFleet {
            fleet,
            members,
            live,
            ..
        },
        mut tx,
    ) = seed_watched_fleet(&broker, t0, MONITOR_SOCKET).await;
    let db = broker.db();
    insert_history(
        &mut tx,
        SEED_MESSAGES,
        members[0],
        members.len() as i64,
        20,
        "2026-01-01",
    )
    .await;
    tx.commit().await.expect("commit");
    broker
        .monitor_claim(fleet, i64::from(std::process::id()), 5)
        .await
        .expect("claim");
    sqlx::query("ANALYZE")
        .execute(db.pool())
        .await
        .expect("analyze");
    db.close().await;
    MonitorSeed {
        path: path.to_path_buf(),
        fleet,
        live,
        t0,
    }
}

/// A private copy of a seeded database.
fn copy_of(seed: &Path) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.db");
    std::fs::copy(seed, &path).expect("copy seed db");
    (dir, path)
}

/// [`copy_of`] as a database (the directory removes it on drop).
fn sqlite_copy(seed: &Path) -> (TempDir, Database) {
    let (dir, path) = copy_of(seed);
    (dir, Database::Sqlite(path))
}

// ---------------------------------------------------------------------------------------
// The measurements.
// ---------------------------------------------------------------------------------------

struct Config {
    /// Samples for fast operations; slower ones take a fraction.
    n: usize,
    out: Option<PathBuf>,
    logs: Option<PathBuf>,
    /// `--only <part>`: measure one part (broker, monitor, web, cli, members, pg) instead of
    /// all.
    only: Option<String>,
    /// `--update` (with `--only pg`): replace only the "PostgreSQL and hosts" section of
    /// `--out`, keeping the rest of the file.
    update: bool,
}

impl Config {
    fn wants(&self, part: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == part)
    }
}

fn broker_rows(cfg: &Config, seed: &Messaging, rows: &mut Vec<Row>) {
    const G: &str = "broker (in-process)";
    let (_dir, path) = copy_of(&seed.path);
    let rt = runtime();
    let b = rt.block_on(open_broker(&path, 1));
    let (fleet, a) = (seed.fleet, &seed.agents);
    rows.push(in_process(
        G,
        "message send (unicast, no pane)",
        Target::Rate(2_000.0),
        cfg.n,
        || {
            let out = rt
                .block_on(b.message_send(fleet, a[0], a[1], TEXT))
                .expect("send");
            assert!(!out.notification_sent);
        },
    ));
    {
        // As `cafleet server` runs it: concurrent writes share a commit.
        let _guard = rt.enter();
        let grouped = Broker::new(
            b.db().clone().with_group_commit(),
            Tmux::from_env(),
            MAX_TEXT_LEN,
        );
        let mut row = in_process(
            G,
            format!("message send, {CONCURRENT_SENDERS} at once (group commit; per batch)"),
            Target::Rate(2_000.0),
            cfg.n / 4,
            || {
                let sends =
                    (0..CONCURRENT_SENDERS).map(|_| grouped.message_send(fleet, a[0], a[1], TEXT));
                for out in rt.block_on(futures::future::join_all(sends)) {
                    assert!(!out.expect("send").notification_sent);
                }
            },
        );
        row.items = CONCURRENT_SENDERS;
        rows.push(row);
    }
    rows.push(in_process(
        G,
        format!("message poll ({POLL_PENDING} pending)"),
        Target::None,
        cfg.n,
        || {
            let inbox = rt.block_on(b.message_poll(fleet, a[2])).expect("poll");
            assert_eq!(inbox.len() as i64, POLL_PENDING);
        },
    ));
    // After the poll row: every broadcast also lands in the poller's inbox.
    lock_holds::take();
    let broadcast = in_process(
        G,
        format!("message broadcast ({BROADCAST_RECIPIENTS} recipients, no panes), whole call"),
        Target::None,
        cfg.n / 2,
        || {
            let out = rt
                .block_on(b.message_broadcast(fleet, a[0], TEXT))
                .expect("broadcast");
            assert_eq!(out.recipients, BROADCAST_RECIPIENTS);
        },
    );
    // The timed broadcasts are the last ones (after the warm-up).
    let holds = lock_holds::take();
    let timed = holds[holds.len().saturating_sub(broadcast.samples.len())..].to_vec();
    rows.push(Row {
        op: format!("message broadcast ({BROADCAST_RECIPIENTS} recipients): write lock held"),
        samples: timed,
        target: Target::Median(Duration::from_millis(5)),
        peak_kib: None,
        ..broadcast.clone_shape()
    });
    rows.push(broadcast);
    // Each ack needs a fresh pending delivery: send them first (untimed), then ack in order.
    let pending: Vec<TaskId> = (0..cfg.n + cfg.n / 20 + 1)
        .map(|_| {
            rt.block_on(b.message_send(fleet, a[0], a[3], TEXT))
                .expect("send for ack")
                .task
                .task_id
        })
        .collect();
    let mut next = pending.into_iter();
    rows.push(in_process(G, "message ack", Target::None, cfg.n, || {
        let id = next.next().expect("a pending delivery");
        rt.block_on(b.message_ack(fleet, a[3], id)).expect("ack");
    }));
    rt.block_on(b.db().close());
}

/// The database work of one monitor tick at `now` (what `monitor::tick_once` asks of the
/// database, without tmux): heartbeat, fleet, due candidates, plan, stamp. Returns how many
/// agents were due.
async fn monitor_tick(b: &Broker, seed: &MonitorSeed, pid: i64, now: &str) -> usize {
    assert!(
        b.monitor_heartbeat(seed.fleet, pid, now)
            .await
            .expect("heartbeat"),
        "monitor slot lost"
    );
    let director = b.monitor_fleet(seed.fleet).await.expect("fleet");
    let (watched, watcher) = b.monitor_targets(seed.fleet, now).await.expect("targets");
    let plan = Broker::monitor_plan(watched, watcher, &seed.live, now, director);
    let ids: Vec<AgentId> = plan.due.iter().map(|d| d.agent_id).collect();
    b.monitor_stamp(&ids, now).await.expect("stamp");
    ids.len()
}

fn monitor_rows(cfg: &Config, seed: &MonitorSeed, rows: &mut Vec<Row>) {
    rows.extend(monitor_ticks(cfg, seed, "monitor (in-process)", || {
        sqlite_copy(&seed.path)
    }));
}

/// The labels of the two monitor tick rows.
const TICK_STEADY: &str = "tick, 1,000 watched (steady: ~7 due)";
const TICK_ALL_DUE: &str = "tick, 1,000 watched (all due)";

/// The monitor's tick rows (steady, all due), each on a private copy of the seed that
/// `fresh` makes (a guard that removes it on drop, and the database).
fn monitor_ticks<G>(
    cfg: &Config,
    seed: &MonitorSeed,
    group: &'static str,
    fresh: impl Fn() -> (G, Database),
) -> Vec<Row> {
    let pid = i64::from(std::process::id());
    let mut rows = Vec::new();
    for (op, step, n) in [
        (TICK_STEADY, ChronoDuration::seconds(5), cfg.n),
        (TICK_ALL_DUE, ChronoDuration::days(1), cfg.n / 2),
    ] {
        let (guard, database) = fresh();
        let rt = runtime();
        let b = rt.block_on(connect_broker(&database, 1));
        let mut k = 0;
        let mut due = 0;
        rows.push(in_process(
            group,
            op,
            Target::Median(Duration::from_millis(5)),
            n,
            || {
                k += 1;
                let now = format_ts(seed.t0 + step * k);
                due += rt.block_on(monitor_tick(&b, seed, pid, &now));
            },
        ));
        assert!(due > 0, "{op}: no agent was ever due");
        rt.block_on(b.db().close());
        drop(guard);
    }
    rows
}

fn web_rows(cfg: &Config, seed: &Messaging, rows: &mut Vec<Row>) {
    const G: &str = "WebUI API (in-process)";
    let (_dir, path) = copy_of(&seed.path);
    let rt = runtime();
    // As `cafleet server` builds it: a pool of 8, the router built once.
    let broker = rt.block_on(open_broker(&path, 8));
    let app = router(AppState::new(
        broker.clone(),
        Security::for_bind("127.0.0.1", 8000, None),
    ));
    let get = |path: &str| -> (StatusCode, usize) {
        rt.block_on(async {
            let req = Request::get(path)
                .header("host", HOST)
                .header("x-fleet-id", seed.fleet.to_string())
                .body(Body::empty())
                .expect("request");
            let resp = app.clone().oneshot(req).await.expect("oneshot");
            let status = resp.status();
            let body = resp.into_body().collect().await.expect("body").to_bytes();
            (status, body.len())
        })
    };
    let poller = seed.agents[2];
    for (path, target) in [
        (
            "/api/timeline".to_string(),
            Target::Median(Duration::from_millis(5)),
        ),
        (format!("/api/agents/{poller}/inbox"), Target::None),
        ("/api/agents".to_string(), Target::None),
    ] {
        let label = format!("GET {}", path.replace(&poller.to_string(), "{id}"));
        rows.push(in_process(G, label, target, cfg.n, || {
            let (status, len) = get(&path);
            assert_eq!(status, StatusCode::OK, "GET {path}");
            assert!(len > 2, "GET {path}: empty body");
        }));
    }
    rt.block_on(broker.db().close());
}

/// The release binary next to this bench's directory (`target/release/cafleet`), or
/// `CAFLEET_BENCH_BIN`.
fn cafleet_bin() -> PathBuf {
    let bin = std::env::var_os("CAFLEET_BENCH_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.parent()?.join("cafleet"))
        })
        .expect("the bench's own path");
    if !bin.is_file() {
        eprintln!(
            "report: {} not found; run `cargo build --release` first (`just bench` does), or set CAFLEET_BENCH_BIN",
            bin.display()
        );
        std::process::exit(1);
    }
    bin
}

/// The binary with a clean environment on the SQLite file `db` (plus `extra` variables).
fn cafleet_cmd(bin: &Path, db: &Path, home: &Path, extra: &[(&str, String)]) -> Command {
    cafleet_cmd_on(
        bin,
        &database_url(&Database::Sqlite(db.into())),
        home,
        extra,
    )
}

/// `CAFLEET_DATABASE_URL` for `database`.
fn database_url(database: &Database) -> String {
    match database {
        Database::Sqlite(path) => format!("sqlite:///{}", path.display()),
        Database::Postgres(url) => url.clone(),
    }
}

/// The binary with a clean environment on the database `url` (plus `extra` variables).
fn cafleet_cmd_on(bin: &Path, url: &str, home: &Path, extra: &[(&str, String)]) -> Command {
    let mut c = Command::new(bin);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .env("CAFLEET_DATABASE_URL", url)
        .current_dir(home);
    for (k, v) in extra {
        c.env(k, v);
    }
    c
}

fn cli_rows(cfg: &Config, bin: &Path, seed: &Messaging, rows: &mut Vec<Row>) {
    const G: &str = "CLI (whole process)";
    let (dir, path) = copy_of(&seed.path);
    let (fleet, a) = (seed.fleet.to_string(), &seed.agents);
    let ids: Vec<String> = a.iter().map(std::string::ToString::to_string).collect();
    let target = Target::MedianRss(Duration::from_millis(3), 10 * MIB);
    let n = cfg.n / 2;
    let t = which("true");
    rows.push(whole_process(
        G,
        "(spawn `true`, for scale)",
        Target::None,
        n,
        || Command::new(&t),
    ));
    rows.push(whole_process(
        G,
        "(`cafleet --version`: start-up only, for scale)",
        Target::None,
        n,
        || {
            let mut c = cafleet_cmd(bin, &path, dir.path(), &[]);
            c.arg("--version");
            c
        },
    ));
    sqlite3_floor_rows(cfg, &path, &fleet, &ids, rows);
    rows.push(whole_process(
        G,
        "cafleet message send (no pane)",
        target,
        n,
        || {
            let mut c = cafleet_cmd(bin, &path, dir.path(), &[]);
            c.args([
                "message",
                "send",
                "--fleet-id",
                &fleet,
                "--agent-id",
                &ids[0],
                "--to",
                &ids[1],
                "--text",
                TEXT,
            ]);
            c
        },
    ));
    rows.push(whole_process(
        G,
        format!("cafleet message poll ({POLL_PENDING} pending)"),
        target,
        n,
        || {
            let mut c = cafleet_cmd(bin, &path, dir.path(), &[]);
            c.args([
                "message",
                "poll",
                "--fleet-id",
                &fleet,
                "--agent-id",
                &ids[2],
            ]);
            c
        },
    ));
}

/// The floor under any one-process-per-command design: SQLite's own shell (C, no async
/// runtime, no argument parser to speak of) doing a send's INSERT and a poll's SELECT on the
/// same database with the same pragmas (WAL, `synchronous=FULL`), one process each. Skipped
/// when `sqlite3` is not installed.
fn sqlite3_floor_rows(cfg: &Config, path: &Path, fleet: &str, ids: &[String], rows: &mut Vec<Row>) {
    const G: &str = "CLI (whole process)";
    let Some(sqlite3) = find_on_path("sqlite3") else {
        return;
    };
    let n = cfg.n / 2;
    let pragmas =
        "PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;";
    let insert = format!(
        "{pragmas} BEGIN IMMEDIATE; INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, \
         created_at, status_state, status_timestamp, origin_task_id, text) SELECT r.agent_id, \
         s.agent_id, r.agent_id, 'unicast', '2026-01-01T00:00:00.000000+00:00', 'input_required', \
         '2026-01-01T00:00:00.000000+00:00', NULL, '{TEXT}' FROM agents s, agents r WHERE \
         s.agent_id = {s} AND s.fleet_id = {fleet} AND s.status = 'active' AND r.agent_id = {r} \
         AND r.fleet_id = {fleet} AND r.status = 'active'; COMMIT;",
        s = ids[0],
        r = ids[1],
    );
    let select = format!(
        "{pragmas} SELECT task_id, from_agent_id, created_at, text FROM tasks WHERE context_id = \
         {r} AND status_state = 'input_required' AND type <> 'broadcast_summary' ORDER BY \
         status_timestamp DESC, task_id DESC;",
        r = ids[2],
    );
    for (op, sql) in [
        (
            "(`sqlite3` shell: the same INSERT, floor for scale)",
            insert,
        ),
        (
            "(`sqlite3` shell: the same inbox SELECT, floor for scale)",
            select,
        ),
    ] {
        rows.push(whole_process(G, op, Target::None, n, || {
            let mut c = Command::new(&sqlite3);
            c.arg(path).arg(&sql);
            c
        }));
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

fn which(name: &str) -> PathBuf {
    find_on_path(name).unwrap_or_else(|| panic!("{name} not found on PATH"))
}

/// The stand-in coding agent: a raw tty that reads and discards forever.
const STANDIN: &str = "import os, tty
try:
    tty.setraw(0)
except Exception:
    pass
os.write(1, b'? for shortcuts\\r\\n')
while True:
    try:
        if not os.read(0, 4096):
            break
    except OSError:
        break
";

/// A private tmux server (killed on drop) whose panes find the stand-in `claude` on PATH.
struct Tmuxd {
    socket: PathBuf,
}

impl Tmuxd {
    /// Starts a server on `socket` whose panes get `path` as `PATH`; its first pane sleeps.
    fn start(socket: &Path, path: &str) -> Tmuxd {
        let server = Tmuxd {
            socket: socket.to_path_buf(),
        };
        let session = "-f /dev/null new-session -d -s bench -x 200 -y 50";
        let mut args: Vec<&str> = session.split(' ').collect();
        args.push("sleep 1000000");
        server.run(&args, Some(path));
        server
    }

    fn tmux(&self, args: &[&str]) -> String {
        self.run(args, None)
    }

    /// `tmux -S <socket> <args>` (with `PATH` set to `path`, for a server it starts);
    /// panics on failure, returns stdout.
    fn run(&self, args: &[&str], path: Option<&str>) -> String {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket).args(args).env_remove("TMUX");
        if let Some(path) = path {
            c.env("PATH", path);
        }
        let out = c.output().expect("tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Tmuxd {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

fn member_rows(cfg: &Config, bin: &Path, rows: &mut Vec<Row>) {
    const G: &str = "members (whole process, tmux)";
    if Command::new("tmux").arg("-V").output().is_err()
        || Command::new("python3").arg("-V").output().is_err()
    {
        eprintln!("report: tmux or python3 missing; skipping the member rows");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let db = home.join("members.db");
    let python = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3");
    let python = String::from_utf8_lossy(&python.stdout).trim().to_string();
    let bindir = home.join("bin");
    std::fs::create_dir_all(&bindir).expect("bin dir");
    let claude = bindir.join("claude");
    std::fs::write(&claude, format!("#!{python}\n{STANDIN}")).expect("stand-in");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let path = format!(
        "{}:{}",
        bindir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let server = Tmuxd::start(&home.join("tmux.sock"), &path);
    let director_pane = server.tmux(&["display-message", "-p", "-t", "bench", "#{pane_id}"]);
    let env = [
        ("PATH", path.clone()),
        ("TMUX", format!("{},1,0", server.socket.display())),
        ("TMUX_PANE", director_pane.clone()),
    ];
    let cmd = || cafleet_cmd(bin, &db, home, &env);
    let json = |args: &[&str]| -> serde_json::Value {
        let out = cmd().arg("--json").args(args).output().expect("cafleet");
        assert!(
            out.status.success(),
            "cafleet {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    };
    let fleet = json(&["fleet", "create", "--label", "member bench"]);
    let (Some(fleet_id), Some(director)) = (
        fleet["fleet_id"].as_i64(),
        fleet["director"]["agent_id"].as_i64(),
    ) else {
        panic!("fleet create said {fleet}");
    };
    let (fleet_id, director) = (fleet_id.to_string(), director.to_string());
    let create_args = |name: &str| -> Vec<String> {
        [
            "member",
            "create",
            "--fleet-id",
            &fleet_id,
            "--agent-id",
            &director,
            "--name",
            name,
            "--description",
            "benchmark member",
        ]
        .iter()
        .map(std::string::ToString::to_string)
        .collect()
    };
    let delete = |id: &str| {
        let st = cmd()
            .args([
                "member",
                "delete",
                "--fleet-id",
                &fleet_id,
                "--member-id",
                id,
                "--force",
            ])
            .stdout(Stdio::null())
            .status()
            .expect("member delete");
        assert!(st.success(), "member delete {id}");
    };
    // member create: each measured run is followed by an untimed forced delete. The id is
    // the newest placement's agent.
    let newest = |db: &Path| -> String {
        let rt = runtime();
        rt.block_on(async {
            let b = open_broker(db, 1).await;
            let id: i64 = sqlx::query_scalar("SELECT max(agent_id) FROM agent_placements")
                .fetch_one(b.db().pool())
                .await
                .expect("newest member");
            b.db().close().await;
            id.to_string()
        })
    };
    let creates = (cfg.n / 10).max(5);
    let mut samples = Vec::new();
    let mut cpu = Duration::ZERO;
    for i in 0..=creates {
        let (wall, r) = run_measured(cmd().args(create_args(&format!("m{i}"))));
        if i > 0 {
            samples.push(wall);
            cpu += r.cpu.unwrap_or_default();
        }
        delete(&newest(&db));
    }
    let peak = peak_rss_kib(1, &|| {
        let mut c = cmd();
        c.args(create_args("rss"));
        c
    });
    delete(&newest(&db));
    rows.push(Row {
        group: G,
        op: "cafleet member create".into(),
        samples,
        peak_kib: peak,
        cpu: Some(cpu / creates as u32),
        target: Target::None,
        items: 1,
    });
    // One long-lived member for the rest; keystrokes wait until it runs the stand-in.
    run_measured(cmd().args(create_args("target")));
    let member = newest(&db);
    let pane = server
        .tmux(&["list-panes", "-a", "-F", "#{pane_id}"])
        .lines()
        .find(|p| *p != director_pane)
        .expect("member pane")
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let current = server.tmux(&[
            "display-message",
            "-p",
            "-t",
            &pane,
            "#{pane_current_command}",
        ]);
        if !matches!(current.as_str(), "bash" | "sh" | "dash" | "zsh" | "") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let m = [
        "--fleet-id",
        fleet_id.as_str(),
        "--member-id",
        member.as_str(),
    ];
    rows.push(whole_process(
        G,
        "cafleet member send-input --choice 1",
        Target::None,
        (cfg.n / 10).max(5),
        || {
            let mut c = cmd();
            c.args(["member", "send-input"])
                .args(m)
                .args(["--choice", "1"]);
            c
        },
    ));
    rows.push(whole_process(
        G,
        "cafleet member capture --lines 20",
        Target::None,
        (cfg.n / 4).max(10),
        || {
            let mut c = cmd();
            c.args(["member", "capture"])
                .args(m)
                .args(["--lines", "20"]);
            c
        },
    ));
    delete(&member);
}

// ---------------------------------------------------------------------------------------
// The report.
// ---------------------------------------------------------------------------------------

fn sh(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

struct Machine {
    date: String,
    nproc: usize,
    cpu: String,
    load_at_start: String,
    kernel: String,
    commit: String,
    rustc: String,
    tmp: String,
}

fn machine(logs: Option<&Path>) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or_else(
            || "unknown".into(),
            |v| v.trim_start_matches([' ', '\t', ':']).to_string(),
        );
    // `just bench` records the load average before its first bench; otherwise it is now.
    let load = logs
        .and_then(|d| std::fs::read_to_string(d.join("loadavg")).ok())
        .or_else(|| std::fs::read_to_string("/proc/loadavg").ok())
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "unknown".into());
    let commit =
        sh("git", &["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = sh("git", &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|s| !s.is_empty());
    let tmp = std::env::temp_dir();
    let fs = sh("df", &["-T", "--output=fstype", &tmp.display().to_string()])
        .and_then(|s| s.lines().nth(1).map(str::trim).map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    Machine {
        date: Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        nproc: std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        cpu,
        load_at_start: load,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| std::env::consts::OS.into(), |s| s.trim().to_string()),
        commit: if dirty {
            format!("{commit} (with uncommitted changes)")
        } else {
            commit
        },
        rustc: sh("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
        tmp: format!("{} ({fs})", tmp.display()),
    }
}

/// Drops terminal escape sequences (ESC [ ... letter) from captured output.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn markdown(
    m: &Machine,
    rows: &[Row],
    pg: Option<&pg::PgReport>,
    logs: Option<&Path>,
    took: Duration,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Performance\n");
    let _ = writeln!(
        s,
        "Generated by `just bench` (`benches/report.rs`); do not edit by hand. Medians and p99s come from raw \
         samples (nearest rank). Wall times on a shared, loaded machine vary from run to run: \
         compare rows from the same run, and read the load average below.\n"
    );
    let _ = writeln!(s, "| machine | |\n|---|---|");
    for (k, v) in [
        ("date", m.date.clone()),
        ("nproc", m.nproc.to_string()),
        ("CPU", m.cpu.clone()),
        (
            "load average at start (1, 5, 15 min)",
            m.load_at_start.clone(),
        ),
        ("kernel", m.kernel.clone()),
        ("git commit", m.commit.clone()),
        ("rustc", m.rustc.clone()),
        ("databases in", m.tmp.clone()),
        ("report took", format!("{:.0} s", took.as_secs_f64())),
    ] {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    let _ = writeln!(
        s,
        "\n| group | operation | runs | median | p99 | ops/s | CPU/run | peak RSS | target | |\n\
         |---|---|--:|--:|--:|--:|--:|--:|---|---|"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.0} | {} | {} | {} | {} |",
            r.group,
            r.op,
            r.samples.len(),
            fmt_dur(r.median()),
            fmt_dur(r.pct(99.0)),
            r.ops_per_sec(),
            r.cpu.map_or("—".into(), fmt_dur),
            fmt_kib(r.peak_kib),
            r.target_text(),
            r.met()
        );
    }
    let _ = writeln!(
        s,
        "\nHow each row is measured:\n\n\
         - **in-process** rows call the library (`cafleet::broker::Broker`, `cafleet::web::router` \
         with `oneshot`) on an on-disk database (WAL, `synchronous=FULL`) holding 100,000 \
         messages, one call per sample; *ops/s* is one call after another. *Peak RSS* is the \
         whole bench process's (runtime, pool, SQLite cache) during that row.\n\
         - The **monitor tick** is the database work of one tick (heartbeat, fleet, due \
         candidates, plan, stamp; no tmux) over a fleet of 1,000 watched agents with a \
         simulated clock: *steady* ticks 5 s apart (~7 due each), *all due* a day apart.\n\
         - **whole-process** rows spawn the release binary once per sample (stdout to \
         /dev/null) and time spawn → reaped; *CPU/run* the children's mean user + system time (`wait4`); *peak RSS* is the \
         largest of a quarter as many extra runs under GNU time (`/usr/bin/time -f %M`). \
         The `true` row is the cost of starting any process here.\n\
         - **member** rows drive a private tmux server whose members run a stand-in `claude`; \
         `send-input --choice 1` types one digit (no pause); `create` is followed by an \
         untimed `member delete --force`.\n\
         - The load test (`cargo test --test integration load::`) prints the throughput and \
         per-send latency of 32 concurrent processes × 200 sends with pollers, a monitor and \
         the server running; it is not repeated here."
    );
    if let Some(pg) = pg {
        s.push_str(&pg::section(pg, m, took));
    }
    if let Some(dir) = logs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|f| f.extension().is_some_and(|e| e == "txt"));
        files.sort();
        if !files.is_empty() {
            let _ = writeln!(s, "\n## Raw output of the other benches (same run)\n");
        }
        for f in files {
            let name = f.file_stem().unwrap_or_default().to_string_lossy();
            let text = strip_ansi(&std::fs::read_to_string(&f).unwrap_or_default());
            let text: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("Compiling") && !l.contains("Finished `"))
                .collect();
            let _ = writeln!(
                s,
                "<details><summary>{name}</summary>\n\n```text\n{}\n```\n\n</details>\n",
                text.join("\n").trim()
            );
        }
    }
    s
}

fn parse_args() -> Config {
    let mut cfg = Config {
        n: 400,
        out: None,
        logs: None,
        only: None,
        update: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => cfg.out = args.next().map(PathBuf::from),
            "--logs" => cfg.logs = args.next().map(PathBuf::from),
            "--quick" => cfg.n = 60,
            "--only" => cfg.only = args.next(),
            "--update" => cfg.update = true,
            // `cargo bench` passes `--bench`; anything else is not ours either.
            _ => {}
        }
    }
    cfg
}

fn main() {
    let cfg = parse_args();
    lock_holds::install();
    let started = Instant::now();
    let m = machine(cfg.logs.as_deref());
    let bin = cafleet_bin();
    eprintln!("report: seeding two databases of {SEED_MESSAGES} messages");
    let seeds = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let messaging = rt.block_on(seed_messaging(&seeds.path().join("messaging.db")));
    let monitor = rt.block_on(seed_monitor(&seeds.path().join("monitor.db")));
    drop(rt);
    let mut rows = Vec::new();
    if cfg.wants("broker") {
        eprintln!("report: broker");
        broker_rows(&cfg, &messaging, &mut rows);
    }
    if cfg.wants("monitor") {
        eprintln!("report: monitor");
        monitor_rows(&cfg, &monitor, &mut rows);
    }
    if cfg.wants("web") {
        eprintln!("report: web API");
        web_rows(&cfg, &messaging, &mut rows);
    }
    if cfg.wants("cli") {
        eprintln!("report: CLI processes");
        cli_rows(&cfg, &bin, &messaging, &mut rows);
    }
    if cfg.wants("members") {
        eprintln!("report: member commands");
        member_rows(&cfg, &bin, &mut rows);
    }
    let pg = if cfg.wants("pg") {
        eprintln!("report: PostgreSQL and hosts");
        pg::measure(&cfg, &bin, &monitor)
    } else {
        None
    };
    let md = match (&cfg.out, cfg.update, &pg) {
        // Only the PostgreSQL section changes; the rest of the file stays as it was.
        (Some(out), true, Some(pg)) => {
            let old = std::fs::read_to_string(out)
                .unwrap_or_else(|e| panic!("read {}: {e}", out.display()));
            pg::splice(&old, &pg::section(pg, &m, started.elapsed()))
        }
        _ => markdown(
            &m,
            &rows,
            pg.as_ref(),
            cfg.logs.as_deref(),
            started.elapsed(),
        ),
    };
    match &cfg.out {
        Some(out) => {
            std::fs::write(out, &md).unwrap_or_else(|e| panic!("write {}: {e}", out.display()));
            eprintln!("report: wrote {}", out.display());
        }
        None => print!("{md}"),
    }
}
