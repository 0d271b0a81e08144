//! The report's "PostgreSQL and hosts" part (`--only pg`; docs/performance.md): the same
//! workloads on SQLite and on PostgreSQL, measured in the same run and shown side by side.
//!
//! - **64 writers from 3 hosts**: one fleet with four members placed on each of the hosts
//!   `h1`, `h2`, `h3`; 64 writers take the hosts in turn and each sends to a member on
//!   another host, so every send does what a sender does for another host's pane: store the
//!   delivery, record the relay hold and (PostgreSQL) `NOTIFY` that host's relay. Once as
//!   `cafleet message send` processes (`CAFLEET_HOST` set), once in-process (one broker per
//!   host, `Broker::with_host`). Sends per second of the median round.
//! - **cross-host delivery**: `cafleet relay --interval 1` runs for host `h2`, whose own
//!   tmux server has a pane recording every byte typed into it; a `cafleet message send`
//!   process on `h1` sends to that pane's member, timed until the preview is in the pane.
//! - **monitor tick**: the monitor part's two ticks over 1,000 watched agents, on copies of
//!   the same seeded database.
//!
//! The PostgreSQL server is `CAFLEET_BENCH_PG_URL`'s or a scratch one (`common/pg_server.rs`),
//! stopped when the part ends, a panic included. Without one the part is skipped.

use super::*;
use crate::pg_server::PgServer;
use cafleet::model::{CodingAgent, Placement, now_ts};
use cafleet::tmux::PaneContext;
use std::sync::Barrier;

/// The simulated hosts; a writer on one sends to a member on another.
const HOSTS: [&str; 3] = ["h1", "h2", "h3"];
/// Writers sending at once, spread over [`HOSTS`].
const WRITERS: usize = 64;
/// Members placed on each host (the writers' recipients).
const MEMBERS_PER_HOST: usize = 4;
/// `cafleet relay --interval` in the latency bench: SQLite's relay finds a delivery on its
/// next pass, so its latency is bounded by this.
const RELAY_INTERVAL_MS: u64 = 1_000;
/// The host of the latency bench's recipient and relay.
const RELAY_HOST: &str = "h2";

/// Sends per second of one workload.
pub struct Throughput {
    /// One sample per round, `items` sends each.
    rounds: Row,
    /// Every send's own wall time (under the round's load).
    sends: Row,
}

impl Throughput {
    /// Sends per second of the median round.
    fn rate(&self) -> f64 {
        self.rounds.items as f64 / self.rounds.median().as_secs_f64()
    }
}

/// What the part measured: SQLite first, PostgreSQL second.
pub struct PgReport {
    /// The server, as `PgServer::describe` says.
    server: String,
    throughput: Vec<(String, [Throughput; 2])>,
    latency: Vec<(String, [Row; 2])>,
}

/// A database of this part's own, removed on drop.
struct Scratch<'s> {
    database: Database,
    _dir: Option<TempDir>,
    pg: Option<(&'s PgServer, String)>,
}

impl<'s> Scratch<'s> {
    /// An empty SQLite file.
    fn sqlite() -> Scratch<'s> {
        let dir = tempfile::tempdir().expect("tempdir");
        Scratch {
            database: Database::Sqlite(dir.path().join("bench.db")),
            _dir: Some(dir),
            pg: None,
        }
    }

    /// A new PostgreSQL database, empty or a copy of `template`.
    fn pg(server: &'s PgServer, template: Option<&str>) -> Scratch<'s> {
        let name = server.create_database(template);
        Scratch {
            database: Database::Postgres(server.database_url(&name)),
            _dir: None,
            pg: Some((server, name)),
        }
    }
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.pg {
            server.drop_database(name);
        }
    }
}

/// A row of samples without a target.
fn plain_row(group: &'static str, op: &str, samples: Vec<Duration>, items: usize) -> Row {
    Row {
        group,
        op: op.to_string(),
        samples,
        peak_kib: None,
        cpu: None,
        target: Target::None,
        items,
    }
}

/// Measures the part; `None` (said on stderr) without a PostgreSQL server.
pub fn measure(cfg: &Config, bin: &Path, monitor: &MonitorSeed) -> Option<PgReport> {
    let server = match PgServer::start() {
        Ok(s) => s,
        Err(why) => {
            eprintln!("report: no PostgreSQL server ({why}); skipping the PostgreSQL rows");
            return None;
        }
    };
    let mut report = PgReport {
        server: server.describe(),
        throughput: Vec::new(),
        latency: Vec::new(),
    };
    let home = tempfile::tempdir().expect("tempdir");
    let fresh = |on_pg: bool| {
        if on_pg {
            Scratch::pg(&server, None)
        } else {
            Scratch::sqlite()
        }
    };

    // The writers' fleet on each backend (SQLite first, as in every pair).
    let dbs = [false, true].map(fresh);
    let fleets = dbs
        .each_ref()
        .map(|db| runtime().block_on(seed_hosts(&db.database)));
    let rounds = round_count(cfg);
    eprintln!(
        "report: pg: {WRITERS} writer processes from {} hosts",
        HOSTS.len()
    );
    let p = [0, 1].map(|i| Processes::new(bin, &dbs[i], &fleets[i], home.path()));
    report.throughput.push((
        format!("{WRITERS} `cafleet message send` processes at once"),
        alternate("processes", rounds, (cfg.n / 100).max(1), [&p[0], &p[1]]),
    ));
    eprintln!(
        "report: pg: {WRITERS} writer tasks from {} hosts",
        HOSTS.len()
    );
    let t = [0, 1].map(|i| Tasks::new(&dbs[i], &fleets[i]));
    report.throughput.push((
        format!("{WRITERS} tasks at once, one broker per host (in-process)"),
        alternate("in-process", rounds, (cfg.n / 40).max(2), [&t[0], &t[1]]),
    ));
    drop(t);
    drop(dbs);

    let can_type = Command::new("tmux").arg("-V").output().is_ok();
    if can_type {
        eprintln!("report: pg: cross-host delivery latency");
        let [(s_start, s_ret), (p_start, p_ret)] =
            [false, true].map(|pg| cross_host_latency(cfg, bin, &fresh(pg), home.path()));
        report.latency.push((
            format!(
                "cross-host delivery: send spawned on h1 → preview in the pane on {RELAY_HOST}"
            ),
            [s_start, p_start],
        ));
        report.latency.push((
            format!("cross-host delivery: send exited on h1 → preview in the pane on {RELAY_HOST}"),
            [s_ret, p_ret],
        ));
    } else {
        eprintln!("report: tmux missing; skipping the cross-host delivery rows");
    }

    eprintln!("report: pg: monitor ticks");
    const G: &str = "monitor (in-process)";
    let template = server.copy_of_sqlite(&monitor.path);
    let sqlite = monitor_ticks(cfg, monitor, G, || sqlite_copy(&monitor.path));
    let pg = monitor_ticks(cfg, monitor, G, || {
        let s = Scratch::pg(&server, Some(&template));
        let database = s.database.clone();
        (s, database)
    });
    server.drop_database(&template);
    for (s, p) in sqlite.into_iter().zip(pg) {
        report.latency.push((format!("monitor {}", s.op), [s, p]));
    }
    Some(report)
}

/// The fleet of the writers' bench.
struct HostsFleet {
    fleet: FleetId,
    director: AgentId,
    writers: Vec<AgentId>,
    /// Per host (as [`HOSTS`]), the members placed there.
    members: Vec<Vec<AgentId>>,
}

impl HostsFleet {
    /// Writer `w`'s host (an index into [`HOSTS`]) and recipient: the writers take the
    /// hosts in turn, and each sends to a member on one of the other hosts.
    fn route(&self, w: usize) -> (usize, AgentId) {
        let n = HOSTS.len();
        let host = w % n;
        let other = (host + 1 + (w / n) % (n - 1)) % n;
        let members = &self.members[other];
        (host, members[(w / (n * (n - 1))) % members.len()])
    }
}

/// A socket no tmux server listens on: the writers' recipients are never typed into (no
/// relay runs in that bench).
fn unused_socket(host: &str) -> String {
    format!("/tmp/cafleet-bench-{host}-unused.sock")
}

/// `fleet create` on `h1` (a fictitious Director pane), [`WRITERS`] pane-less writers and
/// [`MEMBERS_PER_HOST`] members placed on each host, through the library (either backend).
async fn seed_hosts(database: &Database) -> HostsFleet {
    let broker = connect_broker(database, 1).await.with_host(HOSTS[0]);
    let caller = PaneContext {
        session_name: "bench".into(),
        window_id: "@0".into(),
        pane_id: "%0".into(),
        socket_path: unused_socket(HOSTS[0]),
    };
    let created = broker
        .fleet_create(Some("hosts bench"), CodingAgent::Claude, &caller)
        .await
        .expect("fleet create");
    let (fleet, director) = (created.fleet.fleet_id, created.director.agent_id);
    let mut writers = Vec::with_capacity(WRITERS);
    for i in 0..WRITERS {
        let a = broker
            .agent_register(fleet, &format!("writer-{i}"), "benchmark writer", None)
            .await
            .expect("register");
        writers.push(a.agent_id);
    }
    let mut members = Vec::new();
    for host in HOSTS {
        let mut here = Vec::new();
        for i in 0..MEMBERS_PER_HOST {
            let name = format!("{host}-member-{i}");
            here.push(
                place(
                    &broker,
                    fleet,
                    director,
                    &name,
                    host,
                    &unused_socket(host),
                    None,
                )
                .await,
            );
        }
        members.push(here);
    }
    broker.close().await;
    HostsFleet {
        fleet,
        director,
        writers,
        members,
    }
}

/// Registers `name` and places it on `host`, in pane `pane` (default `%<id>`) of the tmux
/// server at `socket`.
async fn place(
    broker: &Broker,
    fleet: FleetId,
    director: AgentId,
    name: &str,
    host: &str,
    socket: &str,
    pane: Option<&str>,
) -> AgentId {
    let agent = broker
        .agent_register(fleet, name, "benchmark member", None)
        .await
        .expect("register")
        .agent_id;
    let mut tx = broker.db().begin_write().await.expect("begin");
    cafleet::db::placements::insert(
        &mut tx,
        &Placement {
            agent_id: agent,
            director_agent_id: Some(director),
            tmux_session: "bench".into(),
            tmux_window_id: "@1".into(),
            tmux_pane_id: Some(pane.map_or_else(|| format!("%{agent}"), str::to_string)),
            coding_agent: "claude".into(),
            created_at: now_ts(),
            tmux_socket: Some(socket.into()),
            host: Some(host.into()),
        },
    )
    .await
    .expect("placement");
    tx.commit().await.expect("commit");
    agent
}

/// One way of running the writers' bench on one backend's database.
trait Writers {
    /// One round: [`WRITERS`] writers sending `per_writer` messages each, all at once;
    /// returns its wall time and each send's.
    fn round(&self, per_writer: usize) -> (Duration, Vec<Duration>);
}

/// `n` rounds on each backend, taking turns (so a change in the machine's load touches both
/// alike), after one untimed round each.
fn alternate(op: &str, n: usize, per_writer: usize, sides: [&dyn Writers; 2]) -> [Throughput; 2] {
    const G: &str = "hosts";
    let mut walls: [Vec<Duration>; 2] = Default::default();
    let mut sends: [Vec<Duration>; 2] = Default::default();
    for side in sides {
        side.round(1);
    }
    for _ in 0..n {
        for (i, side) in sides.iter().enumerate() {
            let (wall, each) = side.round(per_writer);
            assert_eq!(each.len(), WRITERS * per_writer);
            walls[i].push(wall);
            sends[i].extend(each);
        }
    }
    let [w0, w1] = walls;
    let [s0, s1] = sends;
    [(w0, s0), (w1, s1)].map(|(walls, sends)| Throughput {
        rounds: plain_row(G, op, walls, WRITERS * per_writer),
        sends: plain_row(G, op, sends, 1),
    })
}

/// Rounds of the writers' benches on each backend: five (two with `--quick`).
fn round_count(cfg: &Config) -> usize {
    if cfg.n >= 400 { 5 } else { 2 }
}

/// [`WRITERS`] threads, each running `cafleet message send` processes one after another as
/// its host (`CAFLEET_HOST`).
struct Processes<'a> {
    bin: &'a Path,
    url: String,
    fleet: &'a HostsFleet,
    home: &'a Path,
}

impl<'a> Processes<'a> {
    /// Checks (untimed) that a send is held for the relay of the recipient's host, and
    /// says so.
    fn new(bin: &'a Path, db: &Scratch, fleet: &'a HostsFleet, home: &'a Path) -> Processes<'a> {
        let p = Processes {
            bin,
            url: database_url(&db.database),
            fleet,
            home,
        };
        let out = p.send(0, true).output().expect("message send");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let note = v["delivery"]["note"].as_str().unwrap_or_default();
        assert!(
            v["delivery"]["state"] == "stored" && note.contains("relay"),
            "a send to another host's pane was not held for its relay: {v}"
        );
        p
    }

    /// Writer `w`'s `message send` (`--json`, a global option, where the output is read).
    fn send(&self, w: usize, json: bool) -> Command {
        let (host, to) = self.fleet.route(w);
        let host = [("CAFLEET_HOST", HOSTS[host].to_string())];
        let mut c = cafleet_cmd_on(self.bin, &self.url, self.home, &host);
        if json {
            c.arg("--json");
        }
        c.args(["message", "send", "--fleet-id"])
            .arg(self.fleet.fleet.to_string())
            .arg("--agent-id")
            .arg(self.fleet.writers[w].to_string())
            .arg("--to")
            .arg(to.to_string())
            .args(["--text", TEXT]);
        c
    }
}

impl Writers for Processes<'_> {
    fn round(&self, per_writer: usize) -> (Duration, Vec<Duration>) {
        let barrier = Barrier::new(WRITERS + 1);
        std::thread::scope(|s| {
            let writers: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        (0..per_writer)
                            .map(|_| run_measured(&mut self.send(w, false)).0)
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            barrier.wait();
            let t0 = Instant::now();
            let each = writers
                .into_iter()
                .flat_map(|h| h.join().expect("writer thread"))
                .collect();
            (t0.elapsed(), each)
        })
    }
}

/// [`WRITERS`] tasks on a two-thread runtime, each sending one message after another
/// through its host's broker. One broker per host, as one process per host would have,
/// with a connection for each writer it runs and no group commit: every send is its own
/// transactions, as a process's is.
struct Tasks<'a> {
    rt: Runtime,
    /// Per host, as [`HOSTS`].
    brokers: Vec<Broker>,
    fleet: &'a HostsFleet,
}

impl<'a> Tasks<'a> {
    fn new(db: &Scratch, fleet: &'a HostsFleet) -> Tasks<'a> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let per_host = WRITERS.div_ceil(HOSTS.len()) as u32;
        let brokers = HOSTS
            .iter()
            .map(|h| {
                rt.block_on(connect_broker(&db.database, per_host))
                    .with_host(h)
            })
            .collect();
        Tasks { rt, brokers, fleet }
    }
}

impl Writers for Tasks<'_> {
    fn round(&self, per_writer: usize) -> (Duration, Vec<Duration>) {
        let fleet_id = self.fleet.fleet;
        self.rt.block_on(async {
            let t0 = Instant::now();
            let writers = (0..WRITERS).map(|w| {
                let (host, to) = self.fleet.route(w);
                let (broker, from) = (self.brokers[host].clone(), self.fleet.writers[w]);
                tokio::spawn(async move {
                    let mut each = Vec::with_capacity(per_writer);
                    for _ in 0..per_writer {
                        let t = Instant::now();
                        let out = broker
                            .message_send(fleet_id, from, to, TEXT)
                            .await
                            .expect("send");
                        each.push(t.elapsed());
                        assert!(
                            out.delivery.note.is_some_and(|n| n.contains("relay")),
                            "a send to another host's pane was not held for its relay"
                        );
                    }
                    each
                })
            });
            let each = futures::future::join_all(writers)
                .await
                .into_iter()
                .flat_map(|r| r.expect("writer task"))
                .collect();
            (t0.elapsed(), each)
        })
    }
}

impl Drop for Tasks<'_> {
    fn drop(&mut self) {
        for b in &self.brokers {
            self.rt.block_on(b.close());
        }
    }
}

/// A `cafleet relay` child with its output file; killed on drop.
struct Relay {
    child: std::process::Child,
    out: PathBuf,
}

impl Relay {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `until` every millisecond for at most `limit`; whether it became true.
fn poll(limit: Duration, mut until: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if until() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    until()
}

/// Host `h2` with its own tmux server, a pane that records what is typed into it (`cat`
/// on a raw tty) placed as a member, and its relay running; `message send` processes on
/// `h1` send to that member. Returns the samples from spawning the send and from its exit
/// to the preview's text in the record.
fn cross_host_latency(cfg: &Config, bin: &Path, db: &Scratch, home: &Path) -> (Row, Row) {
    const G: &str = "hosts";
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join(format!("{RELAY_HOST}.sock"));
    let server = Tmuxd::start(&socket, &std::env::var("PATH").unwrap_or_default());
    let record = dir.path().join("typed.log");
    let pane = server.tmux(&[
        "new-window",
        "-d",
        "-P",
        "-F",
        "#{pane_id}",
        &format!("stty raw -echo && exec cat > '{}'", record.display()),
    ]);
    assert!(
        poll(Duration::from_secs(10), || server.tmux(&[
            "display-message",
            "-p",
            "-t",
            &pane,
            "#{pane_current_command}"
        ]) == "cat"),
        "the recording pane never ran cat"
    );
    let socket = socket.display().to_string();
    let (fleet, receiver) = runtime().block_on(async {
        let fleet = seed_hosts(&db.database).await;
        let broker = connect_broker(&db.database, 1).await;
        let receiver = place(
            &broker,
            fleet.fleet,
            fleet.director,
            "receiver",
            RELAY_HOST,
            &socket,
            Some(&pane),
        )
        .await;
        broker.close().await;
        (fleet, receiver)
    });
    let url = database_url(&db.database);
    let out = dir.path().join("relay.out");
    let mut relay = cafleet_cmd_on(bin, &url, home, &[("CAFLEET_HOST", RELAY_HOST.into())]);
    relay
        .args([
            "relay",
            "--interval",
            &(RELAY_INTERVAL_MS / 1000).to_string(),
        ])
        // Nothing is typed twice while the bench runs (the recipient never polls).
        .args(["--redeliver-after", "86400", "--tmux-socket", &socket])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("relay output"))
        .stderr(std::fs::File::create(dir.path().join("relay.err")).expect("relay errors"));
    let relay = Relay {
        child: relay.spawn().expect("spawn cafleet relay"),
        out,
    };
    assert!(
        poll(Duration::from_secs(20), || relay
            .output()
            .contains("relay running for host")),
        "the relay never started: {}",
        relay.output()
    );
    let (fleet_id, sender, to) = (
        fleet.fleet.to_string(),
        fleet.writers[0].to_string(),
        receiver.to_string(),
    );
    let n = (cfg.n / 8).max(10);
    let warmup = 2;
    let (mut from_spawn, mut from_exit) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..warmup + n {
        // Sends at a varying point of the relay's interval (SQLite's passes are a second
        // apart: one right after a pass would wait for all of the next).
        std::thread::sleep(Duration::from_millis(i as u64 * 618 % RELAY_INTERVAL_MS));
        let probe = format!("latency probe {i:04}");
        let mut send = cafleet_cmd_on(bin, &url, home, &[("CAFLEET_HOST", HOSTS[0].into())]);
        send.args([
            "message",
            "send",
            "--fleet-id",
            &fleet_id,
            "--agent-id",
            &sender,
        ])
        .args(["--to", &to, "--text", &format!("{probe}, please ignore")]);
        let t0 = Instant::now();
        run_measured(&mut send);
        let exited = t0.elapsed();
        let arrived = poll(Duration::from_secs(10), || {
            String::from_utf8_lossy(&std::fs::read(&record).unwrap_or_default()).contains(&probe)
        });
        let typed = t0.elapsed();
        assert!(
            arrived,
            "{probe} never reached the pane on {RELAY_HOST}; the relay said: {}",
            relay.output()
        );
        if i >= warmup {
            from_spawn.push(typed);
            from_exit.push(typed - exited);
        }
    }
    (
        plain_row(G, "from spawn", from_spawn, 1),
        plain_row(G, "from exit", from_exit, 1),
    )
}

/// `b ÷ a`, as the report prints it.
fn ratio(a: f64, b: f64) -> String {
    if a > 0.0 {
        format!("{:.2}×", b / a)
    } else {
        "—".into()
    }
}

/// The heading of the section [`section`] writes (and [`splice`] replaces).
const HEADING: &str = "\n## PostgreSQL and hosts\n";

/// The "PostgreSQL and hosts" section: its own run's date, load and commit, then the tables.
pub fn section(r: &PgReport, m: &Machine, took: Duration) -> String {
    let mut s = String::from(HEADING);
    let _ = writeln!(
        s,
        "\nMeasured {} (load average at start {}, commit {}; the report took {:.0} s). The \
         same workloads on both backends: SQLite (WAL, `synchronous=FULL`) beside {}, a server on \
         this machine reached over its Unix socket (`scripts/pg-scratch start DIR --durable`). \
         *PostgreSQL ÷ SQLite* is PostgreSQL's figure over SQLite's: above 1, PostgreSQL sends \
         more per second, or takes longer.\n",
        m.date,
        m.load_at_start,
        m.commit,
        took.as_secs_f64(),
        r.server
    );
    let _ = writeln!(
        s,
        "| {WRITERS} writers from {} hosts | rounds × sends | SQLite sends/s | PostgreSQL sends/s | PostgreSQL ÷ SQLite | SQLite per send (median, p99) | PostgreSQL per send (median, p99) |\n\
         |---|--:|--:|--:|--:|--:|--:|",
        HOSTS.len()
    );
    for (op, [sq, pg]) in &r.throughput {
        let per_send = |t: &Throughput| {
            format!(
                "{}, {}",
                fmt_dur(t.sends.median()),
                fmt_dur(t.sends.pct(99.0))
            )
        };
        let _ = writeln!(
            s,
            "| {op} | {} × {} | {:.0} | {:.0} | {} | {} | {} |",
            sq.rounds.samples.len(),
            sq.rounds.items,
            sq.rate(),
            pg.rate(),
            ratio(sq.rate(), pg.rate()),
            per_send(sq),
            per_send(pg)
        );
    }
    let _ = writeln!(
        s,
        "\n| operation | runs | SQLite median | SQLite p99 | PostgreSQL median | PostgreSQL p99 | PostgreSQL ÷ SQLite (median) | target | |\n\
         |---|--:|--:|--:|--:|--:|--:|---|---|"
    );
    for (op, [sq, pg]) in &r.latency {
        let _ = writeln!(
            s,
            "| {op} | {} | {} | {} | {} | {} | {} | {} | {} |",
            pg.samples.len(),
            fmt_dur(sq.median()),
            fmt_dur(sq.pct(99.0)),
            fmt_dur(pg.median()),
            fmt_dur(pg.pct(99.0)),
            ratio(sq.median().as_secs_f64(), pg.median().as_secs_f64()),
            pg.target_text(),
            pg.met()
        );
    }
    let _ = writeln!(
        s,
        "\nHow these are measured (`benches/report/pg.rs`):\n\n\
         - **{WRITERS} writers from {hosts} hosts**: one fleet with {MEMBERS_PER_HOST} members \
         placed on each of the hosts {names}; the writers take the hosts in turn ({split}) \
         and each sends to a member on another host, so every send stores the delivery, \
         records the hold for that host's relay and, on PostgreSQL, `NOTIFY`s it (no relay \
         runs here; nothing is typed). *processes*: each send is a whole `cafleet message \
         send` process with `CAFLEET_HOST` set, {WRITERS} running at once; *in-process*: one \
         broker per host (`Broker::with_host`) with a connection for each of its writers and \
         no group commit, {WRITERS} tasks on two threads. After one untimed round, *sends/s* \
         is the median round's; *per send* is each send's wall time under that load.\n\
         - **cross-host delivery**: host {RELAY_HOST} has its own tmux server, whose pane \
         records every byte typed into it (`cat` on a raw tty), and `cafleet relay --interval \
         1` running for it; a `cafleet message send` process on h1 sends to that pane's member, \
         timed from its spawn (and from its exit) until the preview's text is in the record \
         (polled every millisecond). Sends start at a varying point of the relay's second. On \
         PostgreSQL the sender's `NOTIFY` wakes the relay at once; SQLite has no notifications, \
         so its relay finds the delivery on its next pass: there the median is about half the \
         interval and the p99 about all of it (`--interval` sets it; 1 s is the least).\n\
         - **monitor tick**: as in the table above (1,000 watched agents, 100,000 messages), \
         each backend on its own copy of the same seeded database (built on SQLite, copied \
         with `db copy`, then `VACUUM ANALYZE` on PostgreSQL); one connection, as `monitor \
         start` has.",
        hosts = HOSTS.len(),
        names = HOSTS.join(", "),
        split = (0..HOSTS.len())
            .map(|h| (0..WRITERS)
                .filter(|w| w % HOSTS.len() == h)
                .count()
                .to_string())
            .collect::<Vec<_>>()
            .join(", "),
    );
    s
}

/// `doc` with its "PostgreSQL and hosts" section replaced by `section` (up to the next
/// `## ` heading), or `section` inserted before the raw output (or at the end).
pub fn splice(doc: &str, section: &str) -> String {
    let (start, end) = match doc.find(HEADING) {
        Some(at) => {
            let after = at + HEADING.len();
            let end = doc[after..].find("\n## ").map_or(doc.len(), |i| after + i);
            (at, end)
        }
        None => {
            let at = doc.find("\n## Raw output").unwrap_or(doc.len());
            (at, at)
        }
    };
    let mut out = String::with_capacity(doc.len() + section.len());
    out.push_str(doc[..start].trim_end_matches('\n'));
    out.push('\n');
    out.push_str(section);
    out.push_str(&doc[end..]);
    out
}
