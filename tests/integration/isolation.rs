//! Fleet isolation sweep: two fleets, each with its Director on its own private tmux
//! server, stand-in members, registered-only agents and messages. Every CLI command and
//! every HTTP API route is run, as a caller of one fleet, with ids of the other fleet (or of
//! no fleet at all) in each id position, and must be refused with 0.14's error and change
//! nothing: every row of every table, the pane lists of both servers and every byte typed into
//! any pane stay exactly as they were. A refusal for another fleet's id must read exactly like
//! the refusal for an id that does not exist (no existence leaks: docs/decisions.md, MSG-1).
//!
//! The command tree and each command's id positions are read from `cafleet --help`, and the
//! routes from `src/web/mod.rs`: a new command, id option or route that the sweep does not
//! cover fails the tests.

use crate::support::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use cafleet::broker::Broker;
use cafleet::db::Db;
use cafleet::tmux::Tmux;
use cafleet::web::{AppState, Security, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// Ids that belong to nothing.
const GHOST_AGENT: i64 = 9999;
const GHOST_TASK: i64 = 99999;
const GHOST_FLEET: i64 = 999;

// ---------------------------------------------------------------------------------------
// The world: fleets A and B on two tmux servers, and a deleted fleet C
// ---------------------------------------------------------------------------------------

/// One fleet with its own private tmux server and stand-in coding agents.
struct Side {
    server: TmuxServer,
    root: PathBuf,
    /// `PATH` with this side's stand-ins first.
    path: String,
    director_pane: String,
    /// The tmux server recorded in the Director's placement.
    socket: String,
    fleet: i64,
    director: i64,
    admin: i64,
    /// An ordinary member (stand-in claude) and the monitoring member.
    m1: i64,
    m1_pane: String,
    mon: i64,
    mon_pane: String,
    /// Registered-only agents, and one deregistered.
    r1: i64,
    r2: i64,
    gone: i64,
    /// r2 → r1, pending.
    pending: i64,
    /// r1 → r2, acknowledged.
    acked: i64,
    /// r1 → r2, cancelled.
    canceled: i64,
    /// r1 → m1, pending (its preview was typed into m1's pane).
    to_member: i64,
    /// r1's broadcast: the summary, and its delivery to r2 (pending).
    bcast: i64,
    bcast_delivery: i64,
    /// The monitoring member's nudge to the Director.
    nudge: i64,
}

impl Side {
    /// Every agent id of this fleet.
    fn agents(&self) -> BTreeSet<i64> {
        [
            self.director,
            self.admin,
            self.m1,
            self.mon,
            self.r1,
            self.r2,
            self.gone,
        ]
        .into()
    }
}

/// Who runs a command: the Director's pane of A or of B (TMUX, TMUX_PANE and PATH set as
/// inside it), or a process outside tmux.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    A,
    B,
    Outside,
}

struct World {
    // Declared before `env`, so both servers are killed while their sockets still exist.
    a: Side,
    b: Side,
    /// The deleted fleet C and its (deregistered) Director and Administrator.
    c: i64,
    c_director: i64,
    c_admin: i64,
    env: Env,
}

fn install_standins(bin: &Path) {
    std::fs::create_dir_all(bin).unwrap();
    for name in ["claude", "codex", "opencode"] {
        let p = bin.join(name);
        std::fs::write(&p, STANDIN).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[track_caller]
fn as_i64(v: &Value) -> i64 {
    match v.as_i64() {
        Some(n) => n,
        None => panic!("not an integer: {v}"),
    }
}

/// Runs `cafleet <args>` in `side`'s Director pane (TMUX, TMUX_PANE and its stand-ins on
/// PATH), or outside tmux.
fn run_as(env: &Env, side: Option<&Side>, args: &[&str]) -> Output {
    let mut c = env.cmd();
    match side {
        None => {
            c.env_remove("TMUX").env_remove("TMUX_PANE");
        }
        Some(s) => {
            c.env("TMUX", s.server.tmux_env())
                .env("TMUX_PANE", &s.director_pane)
                .env("PATH", &s.path);
        }
    }
    c.args(args).output().expect("run cafleet")
}

fn ok_as(env: &Env, side: Option<&Side>, args: &[&str]) -> String {
    let out = run_as(env, side, args);
    assert!(
        out.status.success(),
        "cafleet {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

impl Side {
    /// A private tmux server under `<temp>/<name>` whose panes see this side's stand-ins,
    /// with a byte recorder as the Director's pane.
    fn start(env: &Env, name: &str) -> Side {
        let root = env.dir.path().join(name);
        let bin = root.join("bin");
        install_standins(&bin);
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let server = TmuxServer::start_with_path(&root, &path, &["sleep", "100000"]);
        let (director_pane, _) = server.recorder_pane("director");
        Side {
            server,
            root,
            path,
            director_pane,
            socket: String::new(),
            fleet: 0,
            director: 0,
            admin: 0,
            m1: 0,
            m1_pane: String::new(),
            mon: 0,
            mon_pane: String::new(),
            r1: 0,
            r2: 0,
            gone: 0,
            pending: 0,
            acked: 0,
            canceled: 0,
            to_member: 0,
            bcast: 0,
            bcast_delivery: 0,
            nudge: 0,
        }
    }

    /// `cafleet <words>` (split on spaces) from this side's Director pane; stdout.
    fn ok(&self, env: &Env, words: &str) -> String {
        let args: Vec<&str> = words.split_whitespace().collect();
        ok_as(env, Some(self), &args)
    }

    /// `cafleet --json <words>` from this side's Director pane.
    fn json(&self, env: &Env, words: &str) -> Value {
        let out = self.ok(env, &format!("--json {words}"));
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out}: {e}"))
    }

    /// The fleet, from its Director's pane: two stand-in members (one the monitoring
    /// member), registered-only agents (one deregistered) and messages in every state.
    fn populate(&mut self, env: &Env, label: &str) {
        let made = self.json(env, &format!("fleet create --label {label}"));
        let f = as_i64(&made["fleet_id"]);
        let d = as_i64(&made["director"]["agent_id"]);
        self.fleet = f;
        self.director = d;
        self.admin = as_i64(&made["administrator_agent_id"]);
        self.socket = env.query(&format!(
            "SELECT tmux_socket FROM agent_placements WHERE agent_id = {d}"
        ))[0][0]
            .clone();
        let member = |s: &Side, role: &str| -> (i64, String) {
            let v = s.json(
                env,
                &format!(
                    "member create --fleet-id {f} --agent-id {d} --name {label}-{role} --description a-member --role {role} --coding-agent claude"
                ),
            );
            let pane = v["placement"]["tmux_pane_id"].as_str().unwrap().to_string();
            // Previews are typed only once the stand-in runs in raw mode (it then says so).
            let ready = wait_for(Duration::from_secs(20), || {
                s.server
                    .tmux(&["capture-pane", "-p", "-t", &pane])
                    .contains("stand-in ready")
            });
            assert!(ready, "the stand-in in {pane} never started");
            (as_i64(&v["agent_id"]), pane)
        };
        (self.m1, self.m1_pane) = member(self, "member");
        (self.mon, self.mon_pane) = member(self, "monitor");
        let register = |s: &Side, name: &str| -> i64 {
            as_i64(
                &s.json(
                    env,
                    &format!(
                        "agent register --fleet-id {f} --name {label}-{name} --description registered-only"
                    ),
                )["agent_id"],
            )
        };
        self.r1 = register(self, "r1");
        self.r2 = register(self, "r2");
        self.gone = register(self, "gone");
        self.ok(
            env,
            &format!("agent deregister --fleet-id {f} --agent-id {}", self.gone),
        );
        let send = |s: &Side, from: i64, to: i64, text: &str| -> i64 {
            s.ok(
                env,
                &format!(
                    "message send --fleet-id {f} --agent-id {from} --to {to} --text {label}-{text} --quiet"
                ),
            )
            .trim()
            .parse()
            .unwrap()
        };
        let (r1, r2) = (self.r1, self.r2);
        self.acked = send(self, r1, r2, "acked");
        self.ok(
            env,
            &format!(
                "message ack --fleet-id {f} --agent-id {r2} --task-id {}",
                self.acked
            ),
        );
        self.canceled = send(self, r1, r2, "cancelled");
        self.ok(
            env,
            &format!(
                "message cancel --fleet-id {f} --agent-id {r1} --task-id {}",
                self.canceled
            ),
        );
        self.pending = send(self, r2, r1, "pending");
        self.to_member = send(self, r1, self.m1, "to-member");
        let out = self.ok(
            env,
            &format!("message broadcast --fleet-id {f} --agent-id {r1} --text {label}-broadcast"),
        );
        self.bcast = out
            .strip_prefix("broadcast id=")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("broadcast output {out:?}"));
        self.nudge = as_i64(
            &self.json(
                env,
                &format!(
                    "member nudge --fleet-id {f} --agent-id {} --member-id {d} --text {label}-nudge",
                    self.mon
                ),
            )["task_id"],
        );
        self.bcast_delivery = env.query(&format!(
            "SELECT task_id FROM tasks WHERE origin_task_id = {} AND to_agent_id = {r2}",
            self.bcast
        ))[0][0]
            .parse()
            .unwrap();
        // Every preview has landed before anyone takes a baseline.
        let keys = |pane: &str| self.root.join("standin-logs").join(format!("{pane}.keys"));
        let broadcast = format!("{label}-broadcast");
        for (log, needle) in [
            (keys(&self.m1_pane), format!("{label}-to-member")),
            (keys(&self.m1_pane), broadcast.clone()),
            (keys(&self.mon_pane), broadcast.clone()),
            (self.root.join("director.log"), broadcast),
            (self.root.join("director.log"), format!("{label}-nudge")),
        ] {
            wait_for_bytes(&log, needle.as_bytes());
        }
    }
}

impl World {
    /// Fleets A and B (set up concurrently, each on its own server), and fleet C, created
    /// from a third pane on A's server and deleted.
    fn new() -> World {
        let env = Env::new();
        let (mut a, mut b) = (Side::start(&env, "a"), Side::start(&env, "b"));
        std::thread::scope(|s| {
            s.spawn(|| a.populate(&env, "alpha"));
            s.spawn(|| b.populate(&env, "beta"));
        });
        let (c_pane, _) = a.server.recorder_pane("c-director");
        let out = env
            .cmd()
            .env("TMUX", a.server.tmux_env())
            .env("TMUX_PANE", &c_pane)
            .args(["--json", "fleet", "create", "--label", "gamma"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let c: Value = serde_json::from_slice(&out.stdout).unwrap();
        let w = World {
            a,
            b,
            c: as_i64(&c["fleet_id"]),
            c_director: as_i64(&c["director"]["agent_id"]),
            c_admin: as_i64(&c["administrator_agent_id"]),
            env,
        };
        w.ok(Who::Outside, &["fleet", "delete", &w.c.to_string()]);
        std::thread::sleep(Duration::from_millis(300));
        w
    }

    fn side(&self, who: Who) -> &Side {
        match who {
            Who::A => &self.a,
            Who::B => &self.b,
            Who::Outside => panic!("no side outside tmux"),
        }
    }

    /// `cafleet <args>` as `who`.
    fn run(&self, who: Who, args: &[&str]) -> Output {
        let side = (who != Who::Outside).then(|| self.side(who));
        run_as(&self.env, side, args)
    }

    fn ok(&self, who: Who, args: &[&str]) -> String {
        let side = (who != Who::Outside).then(|| self.side(who));
        ok_as(&self.env, side, args)
    }

    /// Everything a refused call must leave untouched, except the database.
    fn outside_state(&self) -> (BTreeMap<String, String>, BTreeMap<PathBuf, Vec<u8>>) {
        let mut panes = BTreeMap::new();
        let mut bytes = BTreeMap::new();
        for (name, s) in [("a", &self.a), ("b", &self.b)] {
            panes.insert(
                name.to_string(),
                s.server
                    .tmux(&["list-panes", "-a", "-F", "#{pane_id} #{pane_dead}"]),
            );
            let logs = std::fs::read_dir(s.root.join("standin-logs"))
                .into_iter()
                .flatten()
                .chain(std::fs::read_dir(&s.root).into_iter().flatten())
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.extension()
                        .is_some_and(|x| x == "keys" || x == "log" || x == "argv")
                });
            for p in logs {
                let b = std::fs::read(&p).unwrap_or_default();
                bytes.insert(p, b);
            }
        }
        (panes, bytes)
    }

    fn snapshot(&self) -> Snapshot {
        let (panes, bytes) = self.outside_state();
        Snapshot {
            db: dump_db_blocking(&self.env.db_path),
            panes,
            bytes,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Snapshots: every row of every table, the panes of both servers, every byte typed
// ---------------------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    /// Table name → every row (each value through SQLite's `quote()`), plus the schema and
    /// `user_version` under `#schema`.
    db: BTreeMap<String, Vec<String>>,
    /// Server → `list-panes -a` output.
    panes: BTreeMap<String, String>,
    /// Every stand-in and recorder log → the bytes typed into that pane so far.
    bytes: BTreeMap<PathBuf, Vec<u8>>,
}

async fn dump_db(path: &Path) -> BTreeMap<String, Vec<String>> {
    use sqlx::Row;
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(Duration::from_secs(30));
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&opts)
        .await
        .expect("open db");
    let strings = |rows: Vec<sqlx::sqlite::SqliteRow>| -> Vec<String> {
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).unwrap_or_default())
            .collect()
    };
    let mut out = BTreeMap::new();
    let mut schema = strings(
        sqlx::query(
            "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY name",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap(),
    );
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    schema.push(format!("user_version {version}"));
    out.insert("#schema".to_string(), schema);
    let tables = strings(
        sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut conn)
            .await
            .unwrap(),
    );
    assert!(
        tables.iter().any(|t| t == "tasks") && tables.iter().any(|t| t == "change_log"),
        "unexpected schema: {tables:?}"
    );
    for t in tables {
        let cols = strings(
            sqlx::query("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                .bind(&t)
                .fetch_all(&mut conn)
                .await
                .unwrap(),
        );
        let expr = cols
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows = strings(
            sqlx::query(&format!("SELECT {expr} FROM \"{t}\" ORDER BY rowid"))
                .fetch_all(&mut conn)
                .await
                .unwrap(),
        );
        out.insert(t, rows);
    }
    out
}

/// The first column of a query, as integers (for use inside the API's runtime).
async fn query_ids(path: &Path, sql: &str) -> BTreeSet<i64> {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(Duration::from_secs(30));
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&opts)
        .await
        .expect("open db");
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

fn dump_db_blocking(path: &Path) -> BTreeMap<String, Vec<String>> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(dump_db(path))
}

/// Asserts nothing changed, naming exactly what did.
fn assert_unchanged(before: &Snapshot, after: &Snapshot, what: &str) {
    if before == after {
        return;
    }
    let mut diff = Vec::new();
    for (t, rows) in &before.db {
        let now = after.db.get(t).cloned().unwrap_or_default();
        for r in rows.iter().filter(|r| !now.contains(r)) {
            diff.push(format!("  {t}: - {r}"));
        }
        for r in now.iter().filter(|r| !rows.contains(r)) {
            diff.push(format!("  {t}: + {r}"));
        }
    }
    for t in after.db.keys().filter(|t| !before.db.contains_key(*t)) {
        diff.push(format!("  new table {t}"));
    }
    for (s, p) in &before.panes {
        if after.panes.get(s) != Some(p) {
            diff.push(format!(
                "  panes of server {s}: {p:?} -> {:?}",
                after.panes.get(s)
            ));
        }
    }
    for (f, b) in &after.bytes {
        let old = before.bytes.get(f).cloned().unwrap_or_default();
        if &old != b {
            diff.push(format!(
                "  typed into {}: {:?}",
                f.display(),
                String::from_utf8_lossy(b.get(old.len()..).unwrap_or(b))
            ));
        }
    }
    panic!("{what} changed state:\n{}", diff.join("\n"));
}

/// The `tasks` table split for [`assert_only_seen_marks`]: every row without its
/// `delivery_state` and `seen_at`, and those two per task id.
type SplitTasks = (Vec<String>, BTreeMap<i64, (String, String)>);

fn split_tasks(path: &Path) -> SplitTasks {
    let cols: Vec<String> = query_db(
        path,
        "SELECT name FROM pragma_table_info('tasks') ORDER BY cid",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .filter(|c| c != "delivery_state" && c != "seen_at")
    .collect();
    assert!(cols.len() > 2, "unexpected tasks columns: {cols:?}");
    let expr = cols
        .iter()
        .map(|c| format!("quote(\"{c}\")"))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    let rest = query_db(path, &format!("SELECT {expr} FROM tasks ORDER BY rowid"))
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let marks = query_db(path, "SELECT task_id, delivery_state, seen_at FROM tasks")
        .into_iter()
        .map(|r| (r[0].parse().unwrap(), (r[1].clone(), r[2].clone())))
        .collect();
    (rest, marks)
}

/// Asserts that `what` changed nothing but the seen marks of `marked` (deliveries a poll
/// showed for the first time): each one's `delivery_state` became `seen` and its `seen_at`
/// a time after `since`, and `change_log` gained exactly one `task` row of `fleet` for
/// each (and its sequence moved with it). Every other row of every table, every pane and
/// every byte typed is as it was.
#[allow(clippy::too_many_arguments)]
fn assert_only_seen_marks(
    before: &Snapshot,
    tasks_before: &SplitTasks,
    after: &Snapshot,
    tasks_after: &SplitTasks,
    marked: &BTreeSet<i64>,
    fleet: i64,
    since: &str,
    what: &str,
) {
    assert_eq!(before.panes, after.panes, "{what} changed the panes");
    assert_eq!(before.bytes, after.bytes, "{what} typed into a pane");
    let keys = |s: &Snapshot| s.db.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(before), keys(after), "{what} changed the tables");
    for (t, rows) in &before.db {
        if !matches!(t.as_str(), "tasks" | "change_log" | "sqlite_sequence") {
            assert_eq!(rows, &after.db[t], "{what} changed {t}");
        }
    }
    // tasks: only delivery_state and seen_at, only of the marked deliveries.
    assert_eq!(
        tasks_before.0, tasks_after.0,
        "{what} changed a column of tasks"
    );
    let ids = |m: &BTreeMap<i64, (String, String)>| m.keys().copied().collect::<Vec<_>>();
    assert_eq!(ids(&tasks_before.1), ids(&tasks_after.1));
    for (id, (state, seen_at)) in &tasks_before.1 {
        let (new_state, new_seen_at) = &tasks_after.1[id];
        if marked.contains(id) {
            assert!(
                state != "seen" && seen_at == "NULL",
                "task {id} was already seen before {what}"
            );
            assert_eq!(new_state, "seen", "{what} did not mark task {id} seen");
            assert!(
                new_seen_at.as_str() > since,
                "task {id}: seen_at {new_seen_at} is not after {since}"
            );
        } else {
            assert_eq!(
                (state, seen_at),
                (new_state, new_seen_at),
                "{what} changed the delivery of task {id}"
            );
        }
    }
    // change_log: one row per marked delivery, appended.
    let (log_before, log_after) = (&before.db["change_log"], &after.db["change_log"]);
    assert!(
        log_after.len() >= log_before.len() && log_after[..log_before.len()] == log_before[..],
        "{what} rewrote change_log"
    );
    let mut added: Vec<String> = log_after[log_before.len()..]
        .iter()
        .map(|r| r.split_once('|').unwrap().1.to_string())
        .collect();
    added.sort();
    let mut expected: Vec<String> = marked
        .iter()
        .map(|id| format!("{fleet}|'task'|{id}"))
        .collect();
    expected.sort();
    assert_eq!(added, expected, "{what}: change_log rows");
    let last_seq = log_after
        .last()
        .map(|r| r.split_once('|').unwrap().0.to_string())
        .unwrap_or_default();
    let sequence = |s: &Snapshot| {
        s.db["sqlite_sequence"]
            .iter()
            .map(|r| match r.strip_prefix("'change_log'|") {
                Some(_) => "'change_log'|<seq>".to_string(),
                None => r.clone(),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        sequence(before),
        sequence(after),
        "{what} changed sqlite_sequence"
    );
    assert!(
        after.db["sqlite_sequence"].contains(&format!("'change_log'|{last_seq}")),
        "{what}: change_log's sequence is not at its last row {last_seq}"
    );
}

// ---------------------------------------------------------------------------------------
// The command tree, read from --help
// ---------------------------------------------------------------------------------------

/// Lines of one `--help` section (`Commands:`, `Arguments:`, `Options:`).
fn section<'a>(help: &'a str, name: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| *l != name)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter(|l| !l.is_empty())
        .collect()
}

/// Every leaf command (`"member capture"`) with its id positions: options whose value is an
/// `..._ID` (`--member-id`) and `..._ID` arguments (`FLEET_ID`).
fn command_tree(env: &Env) -> BTreeMap<String, BTreeSet<String>> {
    let mut leaves = BTreeMap::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = env.ok(&args);
        let subs: Vec<String> = section(&help, "Commands:")
            .into_iter()
            .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect();
        if !subs.is_empty() {
            for s in subs {
                let mut p = path.clone();
                p.push(s);
                todo.push(p);
            }
            continue;
        }
        let mut ids = BTreeSet::new();
        for l in section(&help, "Arguments:") {
            let arg = l.split_whitespace().next().unwrap_or_default();
            let arg = arg.trim_matches(|c| matches!(c, '[' | ']' | '<' | '>' | '.'));
            if arg.ends_with("_ID") {
                ids.insert(arg.to_string());
            }
        }
        for l in section(&help, "Options:") {
            let body = l.trim_start();
            if l.len() - body.len() > 6 || !body.starts_with('-') {
                continue; // a wrapped description line
            }
            let mut words = body.split_whitespace();
            let Some(opt) = words.find(|w| w.starts_with("--")) else {
                continue;
            };
            let meta = words.next().unwrap_or_default();
            if meta.starts_with('<') && meta.trim_end_matches('>').ends_with("_ID") {
                ids.insert(opt.trim_end_matches(',').to_string());
            }
        }
        leaves.insert(path.join(" "), ids);
    }
    leaves
}

/// The leaf command an argument list runs (longest prefix that is a leaf).
fn command_of(tree: &BTreeMap<String, BTreeSet<String>>, args: &[String]) -> String {
    (1..=args.len().min(3))
        .rev()
        .map(|n| args[..n].join(" "))
        .find(|p| tree.contains_key(p))
        .unwrap_or_else(|| panic!("{args:?} runs no known command"))
}

/// Commands with no id position, and why the sweep only runs the safe ones.
const NO_ID_COMMANDS: &[(&str, &str)] = &[
    ("db init", "run: must not change a row"),
    ("doctor", "run from A's pane: must not change a row"),
    (
        "fleet list",
        "run: lists every live fleet by design, never a deleted one",
    ),
    (
        "fleet create",
        "makes a new, independent fleet from any pane by design (L1); no id to misuse",
    ),
    ("server", "the HTTP API is swept route by route below"),
    (
        "demo",
        "its own private tmux server and scratch database; no ids",
    ),
    (
        "setup",
        "installs skills into $HOME and runs db init; no ids",
    ),
    ("completions", "prints a script; touches no database"),
    (
        "hook",
        "takes no id: records only for the agent of the pane it runs in (hooks::)",
    ),
];

// ---------------------------------------------------------------------------------------
// CLI cases
// ---------------------------------------------------------------------------------------

enum Expect {
    /// Exit code and the message after `Error: ` (the last stderr line); stdout empty.
    Refused(i32, String),
}

struct Case {
    who: Who,
    args: Vec<String>,
    /// The id positions holding an id of another fleet, a deleted fleet or no fleet.
    foreign: Vec<&'static str>,
    expect: Expect,
    /// Also run it with the first foreign id replaced by one that does not exist, and
    /// require the same answer (modulo the id).
    ghost: bool,
}

fn case(who: Who, args: String, foreign: &[&'static str], code: i32, msg: String) -> Case {
    Case {
        who,
        args: args.split_whitespace().map(str::to_string).collect(),
        foreign: foreign.to_vec(),
        expect: Expect::Refused(code, msg),
        ghost: true,
    }
}

impl Case {
    fn no_ghost(mut self) -> Case {
        self.ghost = false;
        self
    }
}

fn not_member(agent: i64, fleet: i64) -> String {
    format!("agent {agent} is not a member of fleet {fleet}.")
}
fn agent_nf(id: i64) -> String {
    format!("Agent {id} not found")
}
fn dest_nf(id: i64) -> String {
    format!("Destination agent not found: {id}")
}
fn sender_nf(id: i64) -> String {
    format!("Sender agent not found or not active in fleet: {id}")
}
fn task_nf(id: i64) -> String {
    format!("Task {id} not found")
}
fn not_enrolled(agent: i64, fleet: i64) -> String {
    format!("agent {agent} is not enrolled in monitoring for fleet {fleet}.")
}
fn director_nf(d: i64, f: i64) -> String {
    format!("Director agent '{d}' not found or not active in fleet '{f}'.")
}

/// The refusal of a caller that is not the fleet's Director pane (docs/decisions.md, K4).
/// The same pane id on another server names both servers (else it would read "pane %1 is
/// not pane %1").
fn director_only(w: &World, command: &str, caller: Who, fleet: &Side) -> String {
    let c = w.side(caller);
    let (mine, theirs) = if c.director_pane == fleet.director_pane {
        (
            format!(
                "{} on tmux server {}",
                c.director_pane,
                c.server.socket.display()
            ),
            format!("{} on tmux server {}", fleet.director_pane, fleet.socket),
        )
    } else {
        (c.director_pane.clone(), fleet.director_pane.clone())
    };
    assert_ne!(mine, theirs);
    format!(
        "cafleet member {command} is Director-only: the calling pane ({mine}) is not the Director's pane ({theirs}) of fleet {}. Run it from the Director's pane.",
        fleet.fleet
    )
}

/// Every refused call of the sweep (the caller is in A unless stated).
fn cli_cases(w: &World) -> Vec<Case> {
    use Who::*;
    let (a, b) = (&w.a, &w.b);
    let (fa, fb, fc) = (a.fleet, b.fleet, w.c);
    let mut v = Vec::new();

    // agent show: target, caller and fleet from elsewhere.
    for target in [b.r1, b.director, b.admin, b.m1, b.gone] {
        v.push(case(
            A,
            format!(
                "agent show --fleet-id {fa} --agent-id {} --id {target}",
                a.r1
            ),
            &["--id"],
            1,
            agent_nf(target),
        ));
    }
    v.push(case(
        A,
        format!(
            "agent show --fleet-id {fa} --agent-id {} --id {}",
            b.r1, a.r1
        ),
        &["--agent-id"],
        1,
        not_member(b.r1, fa),
    ));
    v.push(case(
        A,
        format!(
            "agent show --fleet-id {fb} --agent-id {} --id {}",
            a.r1, b.r1
        ),
        &["--fleet-id"],
        1,
        not_member(a.r1, fb),
    ));
    v.push(case(
        B,
        format!(
            "agent show --fleet-id {fa} --agent-id {} --id {}",
            b.director, a.r1
        ),
        &["--agent-id"],
        1,
        not_member(b.director, fa),
    ));

    // agent deregister: nothing of B can be retired through A (not even with the special
    // texts of the Director or the Administrator, which would reveal them).
    for target in [b.r1, b.m1, b.director, b.admin, b.gone] {
        v.push(case(
            A,
            format!("agent deregister --fleet-id {fa} --agent-id {target}"),
            &["--agent-id"],
            1,
            not_member(target, fa),
        ));
    }
    v.push(case(
        A,
        format!("agent deregister --fleet-id {fb} --agent-id {}", a.r1),
        &["--fleet-id"],
        1,
        not_member(a.r1, fb),
    ));

    // agent register into a fleet that does not exist or was deleted.
    v.push(case(
        A,
        format!("agent register --fleet-id {GHOST_FLEET} --name x --description y"),
        &["--fleet-id"],
        2,
        format!("Fleet '{GHOST_FLEET}' not found."),
    ));
    v.push(
        case(
            A,
            format!("agent register --fleet-id {fc} --name x --description y"),
            &["--fleet-id"],
            2,
            format!("fleet {fc} is deleted"),
        )
        .no_ghost(),
    );

    // message send: recipient, sender and fleet from elsewhere; previews never typed.
    for to in [b.r1, b.m1, b.mon, b.director, b.admin, w.c_director] {
        v.push(case(
            A,
            format!(
                "message send --fleet-id {fa} --agent-id {} --to {to} --text probe",
                a.r1
            ),
            &["--to"],
            1,
            dest_nf(to),
        ));
    }
    v.push(case(
        A,
        format!(
            "message send --fleet-id {fa} --agent-id {} --to {} --text probe",
            a.admin, b.m1
        ),
        &["--to"],
        1,
        dest_nf(b.m1),
    ));
    v.push(case(
        A,
        format!(
            "message send --fleet-id {fa} --agent-id {} --to {} --text probe",
            b.r1, a.m1
        ),
        &["--agent-id"],
        1,
        not_member(b.r1, fa),
    ));
    v.push(case(
        B,
        format!(
            "message send --fleet-id {fa} --agent-id {} --to {} --text probe",
            b.director, a.director
        ),
        &["--agent-id"],
        1,
        not_member(b.director, fa),
    ));
    v.push(case(
        A,
        format!(
            "message send --fleet-id {fb} --agent-id {} --to {} --text probe",
            a.r1, b.m1
        ),
        &["--fleet-id"],
        1,
        not_member(a.r1, fb),
    ));

    // message broadcast: a sender of B into A, of A into B, of the deleted fleet.
    for sender in [b.r1, b.admin, b.director] {
        v.push(case(
            A,
            format!("message broadcast --fleet-id {fa} --agent-id {sender} --text probe"),
            &["--agent-id"],
            1,
            sender_nf(sender),
        ));
    }
    v.push(case(
        A,
        format!(
            "message broadcast --fleet-id {fb} --agent-id {} --text probe",
            a.r1
        ),
        &["--fleet-id"],
        1,
        sender_nf(a.r1),
    ));
    v.push(
        case(
            A,
            format!(
                "message broadcast --fleet-id {fc} --agent-id {} --text probe",
                w.c_director
            ),
            &["--fleet-id"],
            1,
            sender_nf(w.c_director),
        )
        .no_ghost(),
    );

    // message poll: only one's own inbox, of one's own fleet.
    v.push(case(
        A,
        format!("message poll --fleet-id {fa} --agent-id {}", b.r1),
        &["--agent-id"],
        1,
        not_member(b.r1, fa),
    ));
    v.push(case(
        A,
        format!("message poll --fleet-id {fb} --agent-id {}", a.r1),
        &["--fleet-id"],
        1,
        not_member(a.r1, fb),
    ));

    // message ack / cancel / show with B's tasks through A: "not found", whatever the
    // task's state or kind, exactly like a task that does not exist.
    let b_tasks = [
        b.pending,
        b.acked,
        b.canceled,
        b.to_member,
        b.bcast,
        b.bcast_delivery,
        b.nudge,
    ];
    for op in ["ack", "cancel", "show"] {
        for t in b_tasks {
            v.push(case(
                A,
                format!(
                    "message {op} --fleet-id {fa} --agent-id {} --task-id {t}",
                    a.r1
                ),
                &["--task-id"],
                1,
                task_nf(t),
            ));
        }
        // The true recipient / sender of B's task, claimed inside A.
        let owner = if op == "ack" { b.r1 } else { b.r2 };
        v.push(case(
            A,
            format!(
                "message {op} --fleet-id {fa} --agent-id {owner} --task-id {}",
                b.pending
            ),
            &["--agent-id"],
            1,
            not_member(owner, fa),
        ));
        v.push(case(
            A,
            format!(
                "message {op} --fleet-id {fb} --agent-id {} --task-id {}",
                a.r1, a.pending
            ),
            &["--fleet-id"],
            1,
            not_member(a.r1, fb),
        ));
    }

    // member create: B's Director named in A, B's fleet from A's pane, and the reverse.
    let create = |f: i64, d: i64, extra: &str| {
        format!(
            "member create --fleet-id {f} --agent-id {d} --name intruder --description x{extra}"
        )
    };
    let monitor_nf = format!(
        "cannot resolve the monitor's coding agent: Director {} not found in fleet {fa}. Re-run with an explicit --coding-agent.",
        b.director
    );
    let creates: [(Who, String, &'static str, i32, String, bool); 7] = [
        (
            A,
            create(fa, b.director, ""),
            "--agent-id",
            2,
            director_nf(b.director, fa),
            true,
        ),
        (
            A,
            create(fa, b.director, " --role monitor"),
            "--agent-id",
            1,
            monitor_nf,
            true,
        ),
        (
            A,
            create(fb, b.director, ""),
            "--fleet-id",
            1,
            director_only(w, "create", A, b),
            false,
        ),
        (
            B,
            create(fa, a.director, " --coding-agent codex"),
            "--fleet-id",
            1,
            director_only(w, "create", B, a),
            false,
        ),
        (
            A,
            create(fb, a.director, ""),
            "--fleet-id",
            2,
            director_nf(a.director, fb),
            false,
        ),
        (
            A,
            create(GHOST_FLEET, a.director, ""),
            "--fleet-id",
            2,
            format!("Fleet '{GHOST_FLEET}' not found."),
            true,
        ),
        (
            A,
            create(fc, w.c_director, ""),
            "--fleet-id",
            2,
            format!("fleet {fc} is deleted"),
            false,
        ),
    ];
    for (who, args, pos, code, msg, ghost) in creates {
        let mut c = case(who, args, &[pos], code, msg);
        c.ghost = ghost;
        v.push(c);
    }

    // member delete / capture / send-input / exec / ping: B's agents through A are unknown;
    // B's fleet named from A's pane is refused by the Director check; nothing is typed and
    // no pane is killed.
    let steer: [(&str, &str, &str); 6] = [
        ("delete", "delete", ""),
        ("delete", "delete", " --force"),
        ("capture", "capture", " --lines 5"),
        ("send-input", "send-input", " --choice 1"),
        ("exec", "exec", " -- id"),
        ("ping", "ping", ""),
    ];
    for (sub, check, extra) in steer {
        for target in [b.m1, b.mon, b.r1, b.admin, b.gone] {
            v.push(case(
                A,
                format!("member {sub} --fleet-id {fa} --member-id {target}{extra}"),
                &["--member-id"],
                1,
                agent_nf(target),
            ));
        }
        if sub != "delete" {
            // A's root Director would be the root-Director refusal for delete, below.
            v.push(case(
                A,
                format!(
                    "member {sub} --fleet-id {fa} --member-id {}{extra}",
                    b.director
                ),
                &["--member-id"],
                1,
                agent_nf(b.director),
            ));
        }
        for target in [b.m1, b.mon] {
            v.push(
                case(
                    A,
                    format!("member {sub} --fleet-id {fb} --member-id {target}{extra}"),
                    &["--fleet-id"],
                    1,
                    director_only(w, check, A, b),
                )
                .no_ghost(),
            );
        }
        v.push(
            case(
                B,
                format!("member {sub} --fleet-id {fa} --member-id {}{extra}", a.m1),
                &["--fleet-id"],
                1,
                director_only(w, check, B, a),
            )
            .no_ghost(),
        );
        v.push(case(
            A,
            format!(
                "member {sub} --fleet-id {GHOST_FLEET} --member-id {}{extra}",
                a.m1
            ),
            &["--fleet-id"],
            1,
            agent_nf(a.m1),
        ));
    }
    v.push(case(
        A,
        format!("member delete --fleet-id {fa} --member-id {}", b.director),
        &["--member-id"],
        1,
        agent_nf(b.director),
    ));

    // member nudge: target, sender and fleet from elsewhere.
    for target in [b.director, b.m1, b.r1] {
        v.push(case(
            A,
            format!(
                "member nudge --fleet-id {fa} --agent-id {} --member-id {target} --text probe",
                a.mon
            ),
            &["--member-id"],
            1,
            agent_nf(target),
        ));
    }
    v.push(case(
        A,
        format!(
            "member nudge --fleet-id {fa} --agent-id {} --member-id {} --text probe",
            b.mon, a.director
        ),
        &["--agent-id"],
        1,
        sender_nf(b.mon),
    ));
    v.push(
        case(
            A,
            format!(
                "member nudge --fleet-id {fb} --agent-id {} --member-id {} --text probe",
                a.mon, b.director
            ),
            &["--fleet-id", "--agent-id"],
            1,
            sender_nf(a.mon),
        )
        .no_ghost(),
    );

    // monitor: config of B's agents through A (and the reverse), unknown or deleted fleets.
    for (target, extra) in [
        (b.m1, ""),
        (b.director, " --disable"),
        (b.m1, " --interval 5"),
        (b.r1, " --enable"),
    ] {
        v.push(case(
            A,
            format!("monitor config --fleet-id {fa} --agent-id {target}{extra}"),
            &["--agent-id"],
            1,
            not_enrolled(target, fa),
        ));
    }
    v.push(
        case(
            A,
            format!(
                "monitor config --fleet-id {fb} --agent-id {} --disable",
                a.m1
            ),
            &["--fleet-id"],
            1,
            not_enrolled(a.m1, fb),
        )
        .no_ghost(),
    );
    v.push(case(
        A,
        format!(
            "monitor config --fleet-id {GHOST_FLEET} --agent-id {} --disable",
            a.m1
        ),
        &["--fleet-id"],
        1,
        format!("fleet {GHOST_FLEET} not found. List live fleets with 'cafleet fleet list'."),
    ));
    for sub in ["status", "start"] {
        for f in [GHOST_FLEET, fc] {
            v.push(
                case(
                    A,
                    format!("monitor {sub} --fleet-id {f}"),
                    &["--fleet-id"],
                    1,
                    format!("fleet {f} not found. List live fleets with 'cafleet fleet list'."),
                )
                .no_ghost(),
            );
        }
    }

    // fleet show / delete of a fleet that does not exist.
    for sub in ["show", "delete"] {
        v.push(
            case(
                A,
                format!("fleet {sub} {GHOST_FLEET}"),
                &["FLEET_ID"],
                1,
                format!("fleet '{GHOST_FLEET}' not found."),
            )
            .no_ghost(),
        );
    }

    // Lists of an unknown or deleted fleet are refused (docs/decisions.md, CLI-1).
    for f in [GHOST_FLEET, fc] {
        v.push(
            case(
                A,
                format!("agent list --fleet-id {f}"),
                &["--fleet-id"],
                1,
                format!("fleet {f} not found. List live fleets with 'cafleet fleet list'."),
            )
            .no_ghost(),
        );
        v.push(
            case(
                Outside,
                format!("member list --fleet-id {f}"),
                &["--fleet-id"],
                1,
                format!("fleet {f} not found. List live fleets with 'cafleet fleet list'."),
            )
            .no_ghost(),
        );
    }
    v
}

/// Replaces the number `from` (not part of a longer number) by `to`.
fn swap_id(text: &str, from: i64, to: i64) -> String {
    let needle = from.to_string();
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(&needle) {
        let before = rest[..i].chars().last();
        let after = rest[i + needle.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(|c| c.is_ascii_digit()) || after.is_some_and(|c| c.is_ascii_digit()) {
            out.push_str(&needle);
        } else {
            out.push_str(&to.to_string());
        }
        rest = &rest[i + needle.len()..];
    }
    out.push_str(rest);
    out
}

/// Index of the value in id position `pos` (`--member-id`, or `FLEET_ID` after the command).
fn position_index(args: &[String], pos: &str) -> usize {
    if pos.starts_with("--") {
        args.iter()
            .rposition(|a| a == pos)
            .map_or_else(|| panic!("{args:?} has no {pos}"), |i| i + 1)
    } else {
        2
    }
}

fn ghost_for(pos: &str) -> i64 {
    match pos {
        "--fleet-id" | "FLEET_ID" => GHOST_FLEET,
        "--task-id" => GHOST_TASK,
        _ => GHOST_AGENT,
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs one case and checks its answer and that nothing changed.
fn check_case(w: &World, c: &Case, baseline: &Snapshot) -> String {
    let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
    let label = format!("cafleet {} (as {:?})", c.args.join(" "), c.who);
    let out = w.run(c.who, &args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    match &c.expect {
        Expect::Refused(code, msg) => {
            assert_eq!(
                out.status.code(),
                Some(*code),
                "{label}: exit code\nstdout: {stdout}\nstderr: {stderr}"
            );
            assert!(
                stderr.ends_with(&format!("Error: {msg}\n")),
                "{label}: expected 'Error: {msg}'\nstderr: {stderr}"
            );
            assert_eq!(stdout, "", "{label}: a refusal prints nothing on stdout");
        }
    }
    assert_unchanged(baseline, &w.snapshot(), &label);
    stderr
}

/// The sweep over every CLI command: each refusal exact, each refusal the same as for an id
/// that does not exist, and nothing changed anywhere.
#[test]
fn cli_refuses_every_id_of_another_fleet_and_changes_nothing() {
    let started = Instant::now();
    let w = World::new();
    let setup = started.elapsed();
    // Identical layouts: the same pane ids exist on both servers, so a keystroke sent to the
    // right pane id on the wrong server would land in the other fleet's pane
    // (docs/decisions.md, K3).
    assert_eq!(w.a.m1_pane, w.b.m1_pane);
    assert_eq!(w.a.director_pane, w.b.director_pane);

    let tree = command_tree(&w.env);
    let cases = cli_cases(&w);

    // Coverage first (cheap): every id position of every command holds a foreign id in some
    // case; every command without one is listed with its reason.
    let mut covered: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in &cases {
        let cmd = command_of(&tree, &c.args);
        for p in &c.foreign {
            assert!(
                tree[&cmd].contains(*p),
                "{cmd}: the sweep tags {p}, which --help does not list as an id position"
            );
            covered
                .entry(cmd.clone())
                .or_default()
                .insert(p.to_string());
        }
    }
    let no_id: BTreeMap<&str, &str> = NO_ID_COMMANDS.iter().copied().collect();
    let mut missing = Vec::new();
    for (cmd, ids) in &tree {
        if ids.is_empty() {
            if !no_id.contains_key(cmd.as_str()) {
                missing.push(format!("{cmd}: new command with no id position; list it"));
            }
            continue;
        }
        for id in ids {
            if !covered.get(cmd).is_some_and(|s| s.contains(id)) {
                missing.push(format!("{cmd} {id}"));
            }
        }
    }
    for cmd in no_id.keys() {
        if !tree.get(*cmd).is_some_and(BTreeSet::is_empty) {
            missing.push(format!(
                "{cmd}: listed as having no id position, but it has one or is gone"
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "the isolation sweep does not cover:\n  {}",
        missing.join("\n  ")
    );

    let baseline = w.snapshot();
    let mut runs = 0;
    let mut positions = BTreeSet::new();
    for c in &cases {
        let stderr = check_case(&w, c, &baseline);
        runs += 1;
        let cmd = command_of(&tree, &c.args);
        for p in &c.foreign {
            positions.insert(format!("{cmd} {p}"));
        }
        if !c.ghost {
            continue;
        }
        // The same call with an id that exists nowhere: the same answer.
        let pos = c.foreign[0];
        let i = position_index(&c.args, pos);
        let real: i64 = c.args[i].parse().unwrap();
        let ghost = ghost_for(pos);
        if real == ghost {
            continue;
        }
        let mut args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let ghost_text = ghost.to_string();
        args[i] = &ghost_text;
        let out = w.run(c.who, &args);
        runs += 1;
        let label = format!("cafleet {} (as {:?})", args.join(" "), c.who);
        assert_eq!(
            swap_id(&text(&out.stderr), ghost, real),
            stderr,
            "{label}: another fleet's id {real} is answered differently from the unknown id {ghost}"
        );
        let Expect::Refused(code, _) = c.expect;
        assert_eq!(out.status.code(), Some(code), "{label}");
        assert_unchanged(&baseline, &w.snapshot(), &label);
    }

    // Reads of one's own fleet show nothing of the other one, and change nothing but the
    // seen marks of the polls: each of A's deliveries a poll below shows for the first time
    // is marked seen (with its change_log row). B's deliveries stay exactly as they were.
    let polled_agents = [w.a.r1, w.a.r2, w.a.m1, w.a.director];
    let agent_list = polled_agents.map(|a| a.to_string()).join(", ");
    let marked: BTreeSet<i64> = w
        .env
        .query(&format!(
            "SELECT task_id FROM tasks WHERE context_id IN ({agent_list}) AND status_state = 'input_required' AND type = 'unicast' AND delivery_state <> 'seen'"
        ))
        .iter()
        .map(|r| r[0].parse().unwrap())
        .collect();
    for id in [w.a.pending, w.a.to_member, w.a.bcast_delivery, w.a.nudge] {
        assert!(
            marked.contains(&id),
            "task {id} is not pending for a polled agent"
        );
    }
    let since = w.env.query("SELECT max(status_timestamp) FROM tasks")[0][0].clone();
    let tasks_before = split_tasks(&w.env.db_path);
    let b_agents = w.b.agents();
    let a_sent: BTreeSet<i64> = w
        .env
        .query(&format!(
            "SELECT task_id FROM tasks WHERE from_agent_id IN (SELECT agent_id FROM agents WHERE fleet_id = {})",
            w.a.fleet
        ))
        .iter()
        .map(|r| r[0].parse().unwrap())
        .collect();
    let ids_of = |v: &Value, key: &str| -> BTreeSet<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| as_i64(&x[key]))
            .collect()
    };
    let fa = w.a.fleet.to_string();
    let listed = ids_of(
        &serde_json::from_str(&w.ok(Who::A, &["--json", "agent", "list", "--fleet-id", &fa]))
            .unwrap(),
        "id",
    );
    assert_eq!(
        listed,
        [w.a.director, w.a.admin, w.a.m1, w.a.mon, w.a.r1, w.a.r2].into()
    );
    let members = ids_of(
        &serde_json::from_str(&w.ok(Who::A, &["--json", "member", "list", "--fleet-id", &fa]))
            .unwrap(),
        "agent_id",
    );
    assert_eq!(members, [w.a.m1, w.a.mon].into());
    for agent in polled_agents {
        let polled: Value = serde_json::from_str(&w.ok(
            Who::A,
            &[
                "--json",
                "message",
                "poll",
                "--fleet-id",
                &fa,
                "--agent-id",
                &agent.to_string(),
            ],
        ))
        .unwrap();
        for t in polled.as_array().unwrap() {
            assert!(
                !b_agents.contains(&as_i64(&t["from"])),
                "A's poll shows B's {t}"
            );
            assert!(a_sent.contains(&as_i64(&t["id"])), "A's poll shows {t}");
        }
    }
    let status: Value =
        serde_json::from_str(&w.ok(Who::A, &["--json", "monitor", "status", "--fleet-id", &fa]))
            .unwrap();
    let watched = ids_of(&status["agents"], "agent_id");
    assert_eq!(watched, [w.a.director, w.a.m1].into());
    let fleets = ids_of(
        &serde_json::from_str(&w.ok(Who::A, &["--json", "fleet", "list"])).unwrap(),
        "fleet_id",
    );
    assert_eq!(fleets, [w.a.fleet, w.b.fleet].into());
    w.ok(Who::A, &["db", "init"]);
    w.ok(Who::A, &["doctor"]);
    runs += 10;
    let after_reads = w.snapshot();
    assert_only_seen_marks(
        &baseline,
        &tasks_before,
        &after_reads,
        &split_tasks(&w.env.db_path),
        &marked,
        w.a.fleet,
        &since,
        "the reads of fleet A",
    );

    // Late keystrokes: give every pane time to receive anything still in flight.
    std::thread::sleep(Duration::from_millis(500));
    assert_unchanged(&after_reads, &w.snapshot(), "the sweep (after settling)");

    // Identity is self-asserted by design: a process in A's pane may act as B's agent; the
    // preview then goes to B's pane on B's server, never to the pane with the same id on the
    // caller's server (docs/decisions.md, MSG-4 and K3).
    let before_a = w.outside_state();
    let probe = "cross-server-probe";
    w.ok(
        Who::A,
        &[
            "message",
            "send",
            "--fleet-id",
            &w.b.fleet.to_string(),
            "--agent-id",
            &w.b.r1.to_string(),
            "--to",
            &w.b.m1.to_string(),
            "--text",
            probe,
        ],
    );
    wait_for_bytes(
        &w.b.root
            .join("standin-logs")
            .join(format!("{}.keys", w.b.m1_pane)),
        probe.as_bytes(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let after_a = w.outside_state();
    for (path, bytes) in &after_a.1 {
        if path.starts_with(&w.a.root) {
            assert_eq!(
                Some(bytes),
                before_a.1.get(path),
                "B's preview typed into A's {}",
                path.display()
            );
        }
    }
    eprintln!(
        "isolation CLI sweep: {} cases, {runs} cafleet runs, {} command × id-position pairs, setup {:.1}s, total {:.1}s",
        cases.len(),
        positions.len(),
        setup.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------
// HTTP API
// ---------------------------------------------------------------------------------------

const HOST: &str = "127.0.0.1:8000";
const ORIGIN: &str = "http://127.0.0.1:8000";

/// `(method, route)` of every API route in `src/web/mod.rs`'s router.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web/mod.rs"))
        .unwrap();
    let mut routes = BTreeSet::new();
    for chunk in src.split(".route(").skip(1) {
        let path = chunk.split('"').nth(1).expect("route path");
        let end = chunk
            .find(".route(")
            .or_else(|| chunk.find(".fallback("))
            .unwrap_or(chunk.len());
        let handlers = &chunk[..end];
        for m in ["get", "post", "patch", "put", "delete", "head"] {
            for pre in ["(", ".", " "] {
                if handlers.contains(&format!("{pre}{m}(")) {
                    routes.insert((m.to_uppercase(), path.to_string()));
                }
            }
        }
    }
    assert!(routes.len() >= 5, "could not read the router: {routes:?}");
    routes
}

struct Api {
    state: AppState,
    db_path: PathBuf,
    covered: BTreeSet<(String, String)>,
}

impl Api {
    async fn call(&self, req: Request<Body>) -> (StatusCode, Value) {
        let (status, body, _) = answer(&self.state, req).await;
        (status, body)
    }

    fn request(method: &str, uri: &str, fleet: Option<i64>, body: Option<&Value>) -> Request<Body> {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", HOST)
            .header("origin", ORIGIN);
        if let Some(f) = fleet {
            b = b.header("x-fleet-id", f.to_string());
        }
        match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        }
    }

    /// A call that must be refused with exactly `status` and `detail`, changing nothing.
    #[allow(clippy::too_many_arguments)]
    async fn refused(
        &mut self,
        w: &World,
        baseline: &Snapshot,
        route: (&str, &str),
        uri: &str,
        fleet: Option<i64>,
        body: Option<Value>,
        status: StatusCode,
        detail: &str,
    ) -> Value {
        self.covered
            .insert((route.0.to_string(), route.1.to_string()));
        let (s, v) = self
            .call(Self::request(route.0, uri, fleet, body.as_ref()))
            .await;
        let label = format!("{} {uri} (X-Fleet-Id {fleet:?}, body {body:?})", route.0);
        assert_eq!((s, &v), (status, &json!({ "detail": detail })), "{label}");
        self.unchanged(w, baseline, &label).await;
        v
    }

    async fn unchanged(&self, w: &World, baseline: &Snapshot, label: &str) {
        let (panes, bytes) = w.outside_state();
        let now = Snapshot {
            db: dump_db(&self.db_path).await,
            panes,
            bytes,
        };
        assert_unchanged(baseline, &now, label);
    }

    /// A read that must succeed; returns the body.
    async fn read(&mut self, route: (&str, &str), uri: &str, fleet: Option<i64>) -> Value {
        self.covered
            .insert((route.0.to_string(), route.1.to_string()));
        let (s, v) = self.call(Self::request(route.0, uri, fleet, None)).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {v}");
        v
    }
}

/// One server-sent event.
#[derive(Debug)]
struct Sse {
    event: String,
    data: Value,
}

/// Reads an SSE body until `done` holds for the events so far, or `deadline` passes.
async fn read_events(
    body: &mut Body,
    buf: &mut String,
    events: &mut Vec<Sse>,
    deadline: Duration,
    mut done: impl FnMut(&[Sse]) -> bool,
) -> bool {
    let end = tokio::time::Instant::now() + deadline;
    loop {
        while let Some(i) = buf.find("\n\n") {
            let block: String = buf.drain(..i + 2).collect();
            let mut ev = Sse {
                event: "message".into(),
                data: Value::Null,
            };
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event:") {
                    ev.event = e.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            if !data.is_empty() {
                ev.data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                events.push(ev);
            }
        }
        if done(events) {
            return true;
        }
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        match tokio::time::timeout(left, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(d) = frame.into_data() {
                    buf.push_str(&String::from_utf8_lossy(&d));
                }
            }
            Ok(_) => return done(events),
            Err(_) => return false,
        }
    }
}

/// Every id in a `messages` or `agents` event.
fn event_ids(events: &[Sse]) -> (BTreeSet<i64>, BTreeSet<i64>, BTreeSet<i64>) {
    let (mut tasks, mut agents, mut parties) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for e in events {
        match e.event.as_str() {
            "messages" => {
                for m in e.data["messages"].as_array().unwrap() {
                    tasks.insert(as_i64(&m["task_id"]));
                    for k in ["from_agent_id", "to_agent_id"] {
                        if let Some(id) = m[k].as_i64() {
                            parties.insert(id);
                        }
                    }
                }
            }
            "agents" => {
                for a in e.data["agents"].as_array().unwrap() {
                    agents.insert(as_i64(&a["agent_id"]));
                }
            }
            _ => {}
        }
    }
    (tasks, agents, parties)
}

/// The sweep over every HTTP route: ids of the other fleet in the path, the body and the
/// fleet header are refused exactly, nothing changes, and reads (including the live event
/// stream) never show the other fleet's rows.
#[test]
fn api_refuses_every_id_of_another_fleet_and_changes_nothing() {
    let started = Instant::now();
    let w = World::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(api_sweep(&w, started));
}

async fn api_sweep(w: &World, started: Instant) {
    let db = Db::open(&w.env.db_path, 4).await.unwrap();
    let broker = Broker::new(db, Tmux::from_env(), 200);
    let mut api = Api {
        state: AppState {
            broker,
            security: Arc::new(Security::for_bind("127.0.0.1", 8000, None)),
        },
        db_path: w.env.db_path.clone(),
        covered: BTreeSet::new(),
    };
    let (a, b) = (&w.a, &w.b);
    let (fa, fb) = (Some(a.fleet), Some(b.fleet));
    let baseline = {
        let (panes, bytes) = w.outside_state();
        Snapshot {
            db: dump_db(&w.env.db_path).await,
            panes,
            bytes,
        }
    };
    let mut calls = 0;
    const MON: &str = "/agents/{agent_id}/monitor";

    // Per-agent routes: B's agents through A's header, A's through B's, and unknown ids all
    // get the same 404.
    for (target, fleet) in [
        (b.m1, fa),
        (b.director, fa),
        (b.mon, fa),
        (b.r1, fa),
        (a.m1, fb),
        (GHOST_AGENT, fa),
    ] {
        let uri = format!("/api/agents/{target}/monitor");
        api.refused(
            w,
            &baseline,
            ("GET", MON),
            &uri,
            fleet,
            None,
            StatusCode::NOT_FOUND,
            "Agent not enrolled",
        )
        .await;
        for body in [
            json!({"enabled": false}),
            json!({"interval_seconds": 7}),
            json!({"interval_seconds": 7, "enabled": true}),
        ] {
            api.refused(
                w,
                &baseline,
                ("PATCH", MON),
                &uri,
                fleet,
                Some(body),
                StatusCode::NOT_FOUND,
                "Agent not enrolled",
            )
            .await;
        }
        calls += 4;
    }
    for (target, fleet) in [
        (b.r1, fa),
        (b.m1, fa),
        (b.admin, fa),
        (b.gone, fa),
        (a.r1, fb),
        (w.c_director, fa),
        (GHOST_AGENT, fa),
    ] {
        for sub in ["inbox", "sent"] {
            let route = format!("/agents/{{agent_id}}/{sub}");
            api.refused(
                w,
                &baseline,
                ("GET", &route),
                &format!("/api/agents/{target}/{sub}"),
                fleet,
                None,
                StatusCode::NOT_FOUND,
                "Agent not found",
            )
            .await;
            calls += 1;
        }
    }

    // Sending: a recipient of B through A, a sender of B through A, A's Administrator through
    // B's header, broadcasts alike, and the deleted fleet's Administrator.
    const SEND: (&str, &str) = ("POST", "/messages/send");
    for to in [b.r1, b.m1, b.director, b.admin, w.c_director, GHOST_AGENT] {
        api.refused(
            w,
            &baseline,
            SEND,
            "/api/messages/send",
            fa,
            Some(json!({"from_agent_id": a.admin, "to_agent_id": to, "text": "probe"})),
            StatusCode::NOT_FOUND,
            "Agent not found",
        )
        .await;
        calls += 1;
    }
    for (from, to, fleet) in [
        (json!(b.admin), json!(a.r1), fa),
        (json!(b.admin), json!("*"), fa),
        (json!(b.admin), json!(b.r1), fa),
        (json!(a.admin), json!(b.r1), fb),
        (json!(a.admin), json!("*"), fb),
        (json!(GHOST_AGENT), json!("*"), fa),
    ] {
        api.refused(
            w,
            &baseline,
            SEND,
            "/api/messages/send",
            fleet,
            Some(json!({"from_agent_id": from, "to_agent_id": to, "text": "probe"})),
            StatusCode::BAD_REQUEST,
            "from_agent not in fleet",
        )
        .await;
        calls += 1;
    }

    // The deleted fleet is gone for the API too, whoever sends (docs/decisions.md, WEB-1).
    for from in [w.c_admin, a.admin] {
        api.refused(
            w,
            &baseline,
            SEND,
            "/api/messages/send",
            Some(w.c),
            Some(json!({"from_agent_id": from, "to_agent_id": "*", "text": "probe"})),
            StatusCode::NOT_FOUND,
            "Fleet not found",
        )
        .await;
        calls += 1;
    }

    // Fleet-scoped reads of a fleet that does not exist or was deleted.
    for fleet in [GHOST_FLEET, w.c] {
        for (route, uri) in [
            ("/agents", "/api/agents"),
            ("/monitor", "/api/monitor"),
            ("/timeline", "/api/timeline"),
            ("/events", "/api/events"),
            (MON, "/api/agents/1/monitor"),
            ("/agents/{agent_id}/inbox", "/api/agents/1/inbox"),
        ] {
            api.refused(
                w,
                &baseline,
                ("GET", route),
                uri,
                Some(fleet),
                None,
                StatusCode::NOT_FOUND,
                "Fleet not found",
            )
            .await;
            calls += 1;
        }
    }
    api.refused(
        w,
        &baseline,
        ("GET", "/events"),
        &format!("/api/events?fleet_id={GHOST_FLEET}"),
        None,
        None,
        StatusCode::NOT_FOUND,
        "Fleet not found",
    )
    .await;
    calls += 1;

    // Reads of A never contain B's rows.
    let a_agents = a.agents();
    let b_agents = b.agents();
    let v = api.read(("GET", "/agents"), "/api/agents", fa).await;
    let listed: BTreeSet<i64> = v["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| as_i64(&x["agent_id"]))
        .collect();
    // Deregistered agents are listed only when they have messages (as in 0.14).
    let mut a_listed = a_agents.clone();
    a_listed.remove(&a.gone);
    assert_eq!(listed, a_listed);
    let b_tasks = query_ids(
        &w.env.db_path,
        &format!(
            "SELECT task_id FROM tasks WHERE from_agent_id IN (SELECT agent_id FROM agents WHERE fleet_id = {})",
            b.fleet
        ),
    )
    .await;
    let max_task = *b_tasks.iter().max().unwrap();
    for uri in [
        "/api/timeline".to_string(),
        format!("/api/timeline?before={}", max_task + 1),
        format!("/api/timeline?before={}", b.pending),
    ] {
        let v = api.read(("GET", "/timeline"), &uri, fa).await;
        let msgs = v["messages"].as_array().unwrap();
        assert!(!msgs.is_empty() || uri.contains("before"), "{uri}: {v}");
        for m in msgs {
            assert!(
                !b_tasks.contains(&as_i64(&m["task_id"])),
                "{uri} shows B's {m}"
            );
            assert!(
                a_agents.contains(&as_i64(&m["from_agent_id"])),
                "{uri} shows {m}"
            );
        }
    }
    for agent in [a.r1, a.r2, a.m1, a.director, a.admin] {
        for sub in ["inbox", "sent"] {
            let route = format!("/agents/{{agent_id}}/{sub}");
            let v = api
                .read(("GET", &route), &format!("/api/agents/{agent}/{sub}"), fa)
                .await;
            for m in v["messages"].as_array().unwrap() {
                assert!(!b_tasks.contains(&as_i64(&m["task_id"])), "{m}");
            }
        }
    }
    let v = api
        .read(("GET", MON), &format!("/api/agents/{}/monitor", a.m1), fa)
        .await;
    assert_eq!(v["interval_seconds"], 720, "{v}");
    api.read(("GET", "/monitor"), "/api/monitor", fa).await;
    let v = api.read(("GET", "/fleets"), "/api/fleets", None).await;
    let fleets: BTreeSet<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| as_i64(&f["fleet_id"]))
        .collect();
    assert_eq!(fleets, [a.fleet, b.fleet].into());
    calls += 18;
    api.unchanged(w, &baseline, "the API reads of fleet A")
        .await;

    // The live stream of A: its replay from the start and its live changes hold only A's
    // messages and agents, while B changes too.
    api.covered
        .insert(("GET".to_string(), "/events".to_string()));
    let req = Request::get(format!("/api/events?fleet_id={}", a.fleet))
        .header("host", HOST)
        .header("last-event-id", "0")
        .body(Body::empty())
        .unwrap();
    let resp = router(api.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let (mut buf, mut events) = (String::new(), Vec::new());
    let replayed = read_events(
        &mut body,
        &mut buf,
        &mut events,
        Duration::from_secs(10),
        |e| e.iter().any(|x| x.event == "messages") && e.iter().any(|x| x.event == "agents"),
    )
    .await;
    assert!(replayed, "no replay: {events:?}");
    assert_eq!(events[0].event, "hello");
    assert_eq!(events[0].data["fleet_id"], a.fleet);
    let b_msg = "b-live-change";
    let b_task: i64 = w
        .ok(
            Who::B,
            &[
                "message",
                "send",
                "--fleet-id",
                &b.fleet.to_string(),
                "--agent-id",
                &b.r2.to_string(),
                "--to",
                &b.r1.to_string(),
                "--text",
                b_msg,
                "--quiet",
            ],
        )
        .trim()
        .parse()
        .unwrap();
    let b_new = as_i64(
        &serde_json::from_str::<Value>(&w.ok(
            Who::B,
            &[
                "--json",
                "agent",
                "register",
                "--fleet-id",
                &b.fleet.to_string(),
                "--name",
                "b-late",
                "--description",
                "x",
            ],
        ))
        .unwrap()["agent_id"],
    );
    let a_task: i64 = w
        .ok(
            Who::A,
            &[
                "message",
                "send",
                "--fleet-id",
                &a.fleet.to_string(),
                "--agent-id",
                &a.r2.to_string(),
                "--to",
                &a.r1.to_string(),
                "--text",
                "a-live-change",
                "--quiet",
            ],
        )
        .trim()
        .parse()
        .unwrap();
    let live = read_events(
        &mut body,
        &mut buf,
        &mut events,
        Duration::from_secs(10),
        |e| event_ids(e).0.contains(&a_task),
    )
    .await;
    assert!(live, "A's live change never arrived: {events:?}");
    let (tasks, agents, parties) = event_ids(&events);
    assert!(!tasks.contains(&b_task), "A's stream carried B's message");
    assert!(
        tasks.is_disjoint(&b_tasks),
        "A's stream carried B's messages: {tasks:?}"
    );
    assert!(
        !agents.contains(&b_new) && agents.is_disjoint(&b_agents),
        "{agents:?}"
    );
    assert!(parties.is_disjoint(&b_agents), "{parties:?}");
    assert!(tasks.contains(&a.pending) && agents.contains(&a.r1));
    drop(body);
    calls += 1;

    // A broadcast from A's WebUI reaches A's panes only (its previews go to A's server).
    let before = w.outside_state();
    let (s, v) = api
        .call(Api::request(
            "POST",
            "/api/messages/send",
            fa,
            Some(&json!({"from_agent_id": a.admin, "to_agent_id": "*", "text": "web-broadcast"})),
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    calls += 1;
    // The previews are pushed by a task of this runtime: wait without blocking it.
    let keys = a
        .root
        .join("standin-logs")
        .join(format!("{}.keys", a.m1_pane));
    let end = Instant::now() + Duration::from_secs(10);
    while !std::fs::read(&keys)
        .unwrap_or_default()
        .windows(13)
        .any(|x| x == b"web-broadcast")
    {
        assert!(
            Instant::now() < end,
            "A's member never got the WebUI's broadcast"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = w.outside_state();
    assert_eq!(before.0, after.0, "panes changed");
    for (path, bytes) in &after.1 {
        if path.starts_with(&b.root) {
            assert_eq!(
                Some(bytes),
                before.1.get(path),
                "typed into B's {}",
                path.display()
            );
        }
    }
    let reached = query_ids(
        &w.env.db_path,
        &format!(
            "SELECT DISTINCT a.fleet_id FROM tasks t JOIN agents a ON a.agent_id = t.to_agent_id WHERE t.origin_task_id = {}",
            as_i64(&v["task_id"])
        ),
    )
    .await;
    assert_eq!(
        reached,
        [a.fleet].into(),
        "the WebUI's broadcast reached another fleet"
    );

    let missing: Vec<_> = routes_in_source()
        .difference(&api.covered)
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "routes the isolation sweep does not cover: {missing:?}"
    );
    let extra: Vec<_> = api
        .covered
        .difference(&routes_in_source())
        .cloned()
        .collect();
    assert!(
        extra.is_empty(),
        "the sweep names routes the router lacks: {extra:?}"
    );
    eprintln!(
        "isolation API sweep: {calls} requests over {} routes, total {:.1}s",
        api.covered.len(),
        started.elapsed().as_secs_f64()
    );
}
