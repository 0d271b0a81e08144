//! Shared test helpers: a temp database per test, the real `cafleet` binary, a private tmux
//! server per test, and a stand-in program that records every byte typed into its pane.

#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The PostgreSQL server the suites run against instead of SQLite files, when
/// `scripts/with-postgres` started one (`CAFLEET_TEST_PG_URL`, its `postgres` database):
/// each [`Env`] then gets a fresh, empty database of its own on it.
pub fn pg_server() -> Option<&'static str> {
    static URL: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        std::env::var("CAFLEET_TEST_PG_URL")
            .ok()
            .filter(|u| !u.is_empty())
    })
    .as_deref()
}

/// Whether this run's databases are PostgreSQL ones (see [`pg_server`]).
pub fn on_pg() -> bool {
    pg_server().is_some()
}

/// Creates an empty database on the [`pg_server`] and returns its URL.
pub fn fresh_pg_database(server: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    // Aside: an async test makes its `Env` on a runtime's thread.
    aside(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(server)
                .await
                .expect("reach the test PostgreSQL server");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create a test database");
            let _ = sqlx::Connection::close(conn).await;
        });
    });
    let (base, query) = server.split_once('?').unwrap_or((server, ""));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    format!("{base}/{name}?{query}")
}

/// A scratch directory with its own database; every command runs against it.
pub struct Env {
    pub dir: TempDir,
    /// The SQLite file (unused when [`Env::pg`] is set).
    pub db_path: PathBuf,
    /// The PostgreSQL database's URL, when the suites run on PostgreSQL ([`pg_server`]).
    pub pg: Option<String>,
    /// Extra environment for every command (e.g. TMUX, TMUX_PANE).
    pub vars: Vec<(String, String)>,
}

impl Env {
    pub fn new() -> Env {
        Env::with_dir(tempfile::tempdir().expect("tempdir"))
    }

    /// Like [`Env::new`], with the scratch directory inside `parent`.
    pub fn new_in(parent: &Path) -> Env {
        std::fs::create_dir_all(parent).expect("create the parent of a scratch dir");
        Env::with_dir(tempfile::tempdir_in(parent).expect("tempdir"))
    }

    fn with_dir(dir: TempDir) -> Env {
        let db_path = dir.path().join("data").join("cafleet.db");
        Env {
            dir,
            db_path,
            pg: pg_server().map(fresh_pg_database),
            vars: Vec::new(),
        }
    }

    /// `CAFLEET_DATABASE_URL` for this test's database.
    pub fn db_url(&self) -> String {
        match &self.pg {
            Some(url) => url.clone(),
            None => format!("sqlite:///{}", self.db_path.display()),
        }
    }

    /// This test's database, as the library names it.
    pub fn database(&self) -> cafleet::config::Database {
        match &self.pg {
            Some(url) => cafleet::config::Database::Postgres(url.clone()),
            None => cafleet::config::Database::Sqlite(self.db_path.clone()),
        }
    }

    /// The `cafleet` binary with a clean environment pointing at this test's database.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// The same as a std `Command`, for children that are spawned, signalled or killed.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_cafleet"));
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("LANG", "C.UTF-8")
            .env("CAFLEET_DATABASE_URL", self.db_url())
            .current_dir(self.dir.path())
            .envs(self.vars.iter().map(|(k, v)| (k, v)));
        c
    }

    /// Runs `cafleet <args>` and returns the output (any exit code).
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run cafleet")
    }

    /// Runs `cafleet <args>`, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "cafleet {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs `cafleet --json <args>` and parses the JSON line.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.ok(&full);
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("bad JSON {out:?}: {e}"))
    }

    /// Runs `cafleet <args>`, asserts the exit code, returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "cafleet {args:?}: expected exit {code}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).expect("utf-8 stderr")
    }

    /// The schema version the database is at, and the head this build migrates to:
    /// `PRAGMA user_version` on SQLite, the newest applied migration on PostgreSQL.
    pub fn schema_version(&self) -> (String, String) {
        if self.pg.is_some() {
            (
                self.query("SELECT max(version) FROM _sqlx_migrations WHERE success")[0][0].clone(),
                cafleet::db::pg::latest_version().to_string(),
            )
        } else {
            (
                self.query("PRAGMA user_version")[0][0].clone(),
                cafleet::db::latest_version().to_string(),
            )
        }
    }

    /// SQLite's `PRAGMA integrity_check` and `PRAGMA foreign_key_check` rows: `[["ok"]]`
    /// and none for a sound file. PostgreSQL has no such check to run: its server keeps
    /// pages consistent and enforces foreign keys at every statement, so a database it
    /// serves passes both by construction.
    pub fn integrity_check(&self) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
        if self.pg.is_some() {
            return (vec![vec!["ok".to_string()]], Vec::new());
        }
        (
            self.query("PRAGMA integrity_check"),
            self.query("PRAGMA foreign_key_check"),
        )
    }

    /// Runs one SQL query on this test's database (rows as strings).
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        match &self.pg {
            Some(url) => query_pg(url, sql),
            None => query_db(&self.db_path, sql),
        }
    }

    /// [`Env::query`] from async code (see [`aside`]).
    pub fn query_aside(&self, sql: &str) -> Vec<Vec<String>> {
        aside(|| self.query(sql))
    }
}

/// Runs `f` on a thread of its own and waits for it: how async code calls the helpers that
/// start a runtime of their own ([`query_pg`], [`query_db`]), which a runtime's thread may
/// not.
pub fn aside<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("the helper thread panicked"))
}

/// One `cafleet` command line, built up and then run against an [`Env`]:
/// `env.cafleet("message ack").fleet(1).agent(4).task(7).ok()`. Values take anything
/// printable, so ids can be numbers or the strings other commands returned.
#[must_use = "a command line does nothing until it is run"]
#[derive(Clone)]
pub struct Cli<'a> {
    env: &'a Env,
    args: Vec<String>,
    vars: Vec<(String, String)>,
}

impl Env {
    /// Starts `cafleet <words>` (`words` split on white space, e.g. `"message send"`).
    pub fn cafleet(&self, words: &str) -> Cli<'_> {
        Cli {
            env: self,
            args: words.split_whitespace().map(str::to_string).collect(),
            vars: Vec::new(),
        }
    }
}

impl Cli<'_> {
    /// Adds one argument as it is (a flag such as `--full`, or a positional value).
    pub fn arg(mut self, arg: impl std::fmt::Display) -> Self {
        self.args.push(arg.to_string());
        self
    }

    /// Adds an option and its value: `.opt("--to", 4)`.
    pub fn opt(self, name: &str, value: impl std::fmt::Display) -> Self {
        self.arg(name).arg(value)
    }

    /// `--fleet-id <id>`.
    pub fn fleet(self, id: impl std::fmt::Display) -> Self {
        self.opt("--fleet-id", id)
    }

    /// `--agent-id <id>`: the agent the command acts as.
    pub fn agent(self, id: impl std::fmt::Display) -> Self {
        self.opt("--agent-id", id)
    }

    /// `--task-id <id>`.
    pub fn task(self, id: impl std::fmt::Display) -> Self {
        self.opt("--task-id", id)
    }

    /// Puts the global `--json` in front of the command words.
    pub fn json(mut self) -> Self {
        if self.args.first().is_none_or(|a| a != "--json") {
            self.args.insert(0, "--json".into());
        }
        self
    }

    /// Sets one more environment variable for this run only.
    pub fn env(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        self.vars.push((key.into(), value.to_string()));
        self
    }

    /// The argv after `cafleet`.
    pub fn args(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }

    /// Runs it and returns the output, whatever the exit code.
    pub fn run(&self) -> Output {
        self.env
            .cmd()
            .args(&self.args)
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run cafleet")
    }

    /// Runs it, asserts success, returns stdout.
    pub fn ok(&self) -> String {
        let out = self.run();
        assert!(
            out.status.success(),
            "cafleet {:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            self.args,
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs it with `--json`, asserts success, and parses stdout.
    pub fn value(self) -> serde_json::Value {
        let out = self.json().ok();
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("bad JSON {out:?}: {e}"))
    }

    /// Runs it, asserts the exit code, returns stderr.
    pub fn fails(&self, code: i32) -> String {
        let out = self.run();
        assert_eq!(
            out.status.code(),
            Some(code),
            "cafleet {:?}: expected exit {code}\nstdout: {}\nstderr: {}",
            self.args,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).expect("utf-8 stderr")
    }
}

/// Asserts a command's output against the snapshot file `name` (insta) byte for byte:
/// `assert_output_snapshot!("poll_text", redact_ts(&out))`. insta drops trailing white
/// space, so the single final newline every output ends with is checked here and the rest
/// goes to the snapshot. A mismatch fails the test (and, outside CI, leaves a `.snap.new`
/// beside the snapshot: review it with `cargo insta review` or by reading it).
macro_rules! assert_output_snapshot {
    ($name:expr, $out:expr $(,)?) => {{
        let out: &str = &$out;
        insta::assert_snapshot!($name, $crate::support::snapshot_body(out), stringify!($out));
    }};
}
pub(crate) use assert_output_snapshot;

/// `out` without its final newline; panics unless `out` ends in exactly one newline after
/// text with no trailing white space (what [`assert_output_snapshot!`] can store exactly).
pub fn snapshot_body(out: &str) -> &str {
    let body = out
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("output does not end in a newline: {out:?}"));
    assert_eq!(
        body.trim_end(),
        body,
        "trailing white space a snapshot cannot keep: {out:?}"
    );
    body
}

/// Runs one SQL query on a database file and returns every row as strings (NULL → "NULL").
/// [`query_db`] on a PostgreSQL database; booleans read as SQLite stores them (1 and 0).
pub fn query_pg(url: &str, sql: &str) -> Vec<Vec<String>> {
    use sqlx::{Row, ValueRef};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
            .await
            .expect("open db");
        let rows = sqlx::query(sql).fetch_all(&mut conn).await.expect("query");
        rows.iter()
            .map(|r| {
                (0..r.columns().len())
                    .map(|i| {
                        let raw = r.try_get_raw(i).unwrap();
                        if raw.is_null() {
                            "NULL".to_string()
                        } else if let Ok(v) = r.try_get::<i64, _>(i) {
                            v.to_string()
                        } else if let Ok(v) = r.try_get::<i32, _>(i) {
                            v.to_string()
                        } else if let Ok(v) = r.try_get::<bool, _>(i) {
                            i64::from(v).to_string()
                        } else {
                            r.try_get::<String, _>(i).unwrap_or_default()
                        }
                    })
                    .collect()
            })
            .collect()
    })
}

pub fn query_db(path: &Path, sql: &str) -> Vec<Vec<String>> {
    use sqlx::{Row, ValueRef};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .busy_timeout(Duration::from_secs(30));
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&opts)
            .await
            .expect("open db");
        let rows = sqlx::query(sql).fetch_all(&mut conn).await.expect("query");
        rows.iter()
            .map(|r| {
                (0..r.columns().len())
                    .map(|i| {
                        let raw = r.try_get_raw(i).unwrap();
                        if raw.is_null() {
                            "NULL".to_string()
                        } else if let Ok(v) = r.try_get::<i64, _>(i) {
                            v.to_string()
                        } else {
                            r.try_get::<String, _>(i).unwrap_or_default()
                        }
                    })
                    .collect()
            })
            .collect()
    })
}

/// A private tmux server (`tmux -S <tmp>/sock`), killed on drop.
pub struct TmuxServer {
    pub socket: PathBuf,
    pub dir: PathBuf,
}

/// A stand-in program that records every byte typed into its pane (raw tty mode).
pub const RECORDER: &str = r#"
import os, sys, tty
log = open(sys.argv[1], 'ab', buffering=0)
tty.setraw(0)
open(sys.argv[1] + '.ready', 'w').close()
while True:
    b = os.read(0, 4096)
    if not b:
        break
    log.write(b)
"#;

impl TmuxServer {
    /// Starts a server whose first pane (the "Director" pane) runs `cmd` via `sh -c`.
    pub fn start(dir: &Path, first: &[&str]) -> TmuxServer {
        let socket = dir.join("tmux.sock");
        let mut args: Vec<&str> = vec!["new-session", "-d", "-s", "t", "-x", "200", "-y", "50"];
        args.extend_from_slice(first);
        let s = TmuxServer {
            socket,
            dir: dir.to_path_buf(),
        };
        s.tmux(&args);
        s
    }

    /// Runs `tmux -S sock <args>` and returns stdout (panics on failure).
    pub fn tmux(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// The `TMUX` value a process inside this server would see.
    pub fn tmux_env(&self) -> String {
        format!("{},1,0", self.socket.display())
    }

    /// Pane ids in creation order.
    pub fn panes(&self) -> Vec<String> {
        self.tmux(&["list-panes", "-a", "-F", "#{pane_id}"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Opens a new window running `argv`; returns its pane id.
    pub fn new_pane(&self, argv: &[&str]) -> String {
        let mut args = vec!["new-window", "-d", "-P", "-F", "#{pane_id}"];
        args.extend_from_slice(argv);
        self.tmux(&args)
    }

    /// Opens a pane running the byte recorder, logging into `<dir>/<name>.log`.
    pub fn recorder_pane(&self, name: &str) -> (String, PathBuf) {
        let script = self.dir.join("recorder.py");
        std::fs::write(&script, RECORDER).unwrap();
        let log = self.dir.join(format!("{name}.log"));
        std::fs::write(&log, b"").unwrap();
        let pane = self.new_pane(&["python3", script.to_str().unwrap(), log.to_str().unwrap()]);
        // The recorder marks itself ready once its tty is in raw mode.
        let ready = PathBuf::from(format!("{}.ready", log.display()));
        assert!(
            wait_for(Duration::from_secs(20), || ready.exists()),
            "the recorder in {pane} never became ready"
        );
        (pane, log)
    }

    /// Opens a pane running an interactive shell.
    pub fn shell_pane(&self) -> String {
        let pane = self.new_pane(&["bash", "--norc", "--noprofile"]);
        wait_for(Duration::from_secs(10), || {
            self.tmux(&[
                "display-message",
                "-p",
                "-t",
                &pane,
                "#{pane_current_command}",
            ]) == "bash"
        });
        pane
    }

    /// Sets TMUX/TMUX_PANE so commands look as if run from `pane`.
    pub fn enter(&self, env: &mut Env, pane: &str) {
        env.vars.retain(|(k, _)| k != "TMUX" && k != "TMUX_PANE");
        env.vars.push(("TMUX".into(), self.tmux_env()));
        env.vars.push(("TMUX_PANE".into(), pane.into()));
    }
}

impl Drop for TmuxServer {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// Polls `cond` until true or the deadline passes; returns whether it became true.
pub fn wait_for(deadline: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Waits until the recorder log contains `needle`, returning the whole log.
pub fn wait_for_bytes(log: &Path, needle: &[u8]) -> Vec<u8> {
    let mut last = Vec::new();
    let found = wait_for(Duration::from_secs(10), || {
        last = std::fs::read(log).unwrap_or_default();
        last.windows(needle.len().max(1)).any(|w| w == needle)
    });
    assert!(
        found,
        "{} never received {:?}; got {:?}",
        log.display(),
        String::from_utf8_lossy(needle),
        String::from_utf8_lossy(&last)
    );
    last
}

/// Replaces timestamps (and nothing else) with `<TS>` for snapshot-style comparisons.
pub fn redact_ts(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if i + 19 <= b.len() && is_ts_start(&b[i..]) {
            let mut j = i + 19;
            if j < b.len() && b[j] == b'.' {
                j += 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
            }
            if s[j..].starts_with("+00:00") {
                j += 6;
            }
            out.push_str("<TS>");
            i = j;
        } else {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn is_ts_start(b: &[u8]) -> bool {
    let pat = b"dddd-dd-ddTdd:dd:dd";
    pat.iter().zip(b).all(|(p, c)| match p {
        b'd' => c.is_ascii_digit(),
        other => other == c,
    })
}

/// Creates a fleet from a fresh private tmux server whose first pane is a recorder.
/// Returns (server, director pane, director log).
pub fn fleet_in_tmux(env: &mut Env) -> (TmuxServer, String, PathBuf) {
    let server = TmuxServer::start(env.dir.path(), &["sleep", "100000"]);
    let (pane, log) = server.recorder_pane("director");
    server.enter(env, &pane);
    env.ok(&["fleet", "create", "--label", "main"]);
    (server, pane, log)
}

/// A stand-in coding agent (installed as `claude`, `codex` and `opencode`): records its argv,
/// working directory and `CAFLEET_DATABASE_URL` in `<logs>/<pane>.argv` (JSON), appends every
/// byte typed into it to `<logs>/<pane>.keys`, echoes each read as `RECV b'...'`, and exits
/// when it receives `/exit` followed by Enter.
/// One script for these tests and the WebUI e2e suite.
pub const STANDIN: &str = include_str!("../../frontend/e2e/standin-agent.py");

/// A private tmux server plus stand-in agents on PATH, and a fleet whose Director pane is
/// a byte recorder. Commands run as if typed in the Director's pane.
pub struct Team {
    // Declared first so it is dropped first: the server is killed while its socket (inside
    // `env`'s temp dir) still exists.
    pub server: TmuxServer,
    pub env: Env,
    pub director_pane: String,
    pub director_log: PathBuf,
    pub bin: PathBuf,
    pub logs: PathBuf,
}

/// Installs the stand-in as `claude`, `codex` and `opencode` in `bin` (created); returns a
/// `PATH` that finds them first. Their logs go to `standin-logs` beside `bin`.
pub fn install_standins(bin: &Path) -> String {
    std::fs::create_dir_all(bin).unwrap();
    for name in ["claude", "codex", "opencode"] {
        let p = bin.join(name);
        std::fs::write(&p, STANDIN).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

impl Team {
    pub fn new() -> Team {
        Team::with_vars(&[])
    }

    /// A team whose commands run as host `host` (`CAFLEET_HOST`), the fleet's included.
    pub fn new_on_host(host: &str) -> Team {
        Team::with_vars(&[("CAFLEET_HOST", host)])
    }

    fn with_vars(vars: &[(&str, &str)]) -> Team {
        let mut env = Env::new();
        env.vars
            .extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let bin = env.dir.path().join("bin");
        let path = install_standins(&bin);
        env.vars.push(("PATH".into(), path.clone()));
        // The tmux server (and so every pane it spawns) sees the stand-ins on PATH too.
        let server = TmuxServer::start_with_path(env.dir.path(), &path, &["sleep", "100000"]);
        let (director_pane, director_log) = server.recorder_pane("director");
        server.enter(&mut env, &director_pane);
        env.ok(&["fleet", "create", "--label", "team"]);
        let logs = env.dir.path().join("standin-logs");
        Team {
            env,
            server,
            director_pane,
            director_log,
            bin,
            logs,
        }
    }

    /// `member create` of `name` in fleet 1, as its Director.
    pub fn member(&self, name: &str, description: &str) -> Cli<'_> {
        self.env
            .cafleet("member create")
            .fleet(1)
            .agent(1)
            .opt("--name", name)
            .opt("--description", description)
    }

    /// `member create` with extra args; returns the JSON output.
    pub fn create(&self, name: &str, extra: &[&str]) -> serde_json::Value {
        let cli = extra.iter().fold(self.member(name, "a member"), Cli::arg);
        cli.value()
    }

    /// The argv record of the stand-in running in `pane` (waits for it).
    pub fn argv(&self, pane: &str) -> serde_json::Value {
        let path = self.logs.join(format!("{pane}.argv"));
        assert!(
            wait_for(Duration::from_secs(10), || path.exists()),
            "stand-in in {pane} never started"
        );
        let mut text = String::new();
        wait_for(Duration::from_secs(5), || {
            text = std::fs::read_to_string(&path).unwrap_or_default();
            serde_json::from_str::<serde_json::Value>(&text).is_ok()
        });
        serde_json::from_str(&text).unwrap()
    }

    /// Waits until the stand-in in `pane` has received `needle`; returns everything it got.
    pub fn keys_contain(&self, pane: &str, needle: &[u8]) -> Vec<u8> {
        self.argv(pane);
        wait_for_bytes(&self.logs.join(format!("{pane}.keys")), needle)
    }

    /// Everything the stand-in in `pane` has received so far.
    pub fn keys(&self, pane: &str) -> Vec<u8> {
        std::fs::read(self.logs.join(format!("{pane}.keys"))).unwrap_or_default()
    }
}

impl TmuxServer {
    /// Like [`TmuxServer::start`], with `PATH` set for the server and its panes.
    pub fn start_with_path(dir: &Path, path: &str, first: &[&str]) -> TmuxServer {
        let socket = dir.join("tmux.sock");
        let mut args: Vec<&str> = vec![
            "-S",
            socket.to_str().unwrap(),
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "200",
            "-y",
            "50",
        ];
        args.extend_from_slice(first);
        let out = std::process::Command::new("tmux")
            .args(&args)
            .env_remove("TMUX")
            .env("PATH", path)
            .output()
            .expect("tmux");
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        TmuxServer {
            socket,
            dir: dir.to_path_buf(),
        }
    }
}

/// A calling pane on a tmux server that does not exist, for in-process brokers: previews
/// fail fast and messages stay queued.
pub fn unreachable_pane() -> cafleet::tmux::PaneContext {
    cafleet::tmux::PaneContext {
        session_name: "t".into(),
        window_id: "@0".into(),
        pane_id: "%0".into(),
        socket_path: "/nonexistent/cafleet-test.sock".into(),
    }
}

/// Runs one request through the router of `state`: its status, its body as JSON (or as a
/// JSON string when it is not JSON) and its headers.
pub async fn answer(
    state: &cafleet::web::AppState,
    req: axum::http::Request<axum::body::Body>,
) -> (
    axum::http::StatusCode,
    serde_json::Value,
    axum::http::HeaderMap,
) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let resp = cafleet::web::router(state.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
    });
    (status, body, headers)
}
