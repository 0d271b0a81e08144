//! A real PostgreSQL server for the tests, started by the tests themselves: `initdb` and
//! `pg_ctl` from Debian's `postgresql` package (found with `pg_config --bindir`, or under
//! `/usr/lib/postgresql/<version>/bin`), in a temp directory, listening only on a Unix
//! socket in that directory. PostgreSQL refuses to run as root, and CI runs as root: then
//! the server runs as the package's `postgres` user in a directory it owns. [`PgServer`]
//! stops the server (immediate shutdown) and removes the directory when dropped, also when
//! the test panics. The groundwork of docs/postgres.md: the suites that run against both
//! backends will take their PostgreSQL database from here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A running PostgreSQL server in a temp directory.
pub struct PgServer {
    /// Holds the data directory and the socket; removed after the server stops.
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// The user the server runs as when the tests run as root.
    run_as: Option<String>,
}

/// Where the PostgreSQL programs are, or the fix.
fn bindir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CAFLEET_PG_BIN") {
        return PathBuf::from(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists())
        .collect();
    // The newest version: directories are named by major version.
    found.sort_by_key(|b| {
        b.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL's programs (initdb, pg_ctl) were not found: install them (apt-get install postgresql; .ci/run does), or set CAFLEET_PG_BIN to their directory"
        )
    })
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// The uid and gid of `user` from `/etc/passwd`.
fn ids_of(user: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&user))
            .then(|| Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?)))?
    })
}

/// A free TCP port number: the server listens on no TCP address, but the port names its
/// socket file (`.s.PGSQL.<port>`).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl PgServer {
    /// Starts a fresh server (about 1 s: `initdb` then `pg_ctl start -w`).
    pub fn start() -> PgServer {
        let bin = bindir();
        let dir = tempfile::Builder::new()
            .prefix("cafleet-pg-")
            .tempdir()
            .expect("tempdir");
        let run_as = is_root().then(|| "postgres".to_string());
        if let Some(user) = &run_as {
            let (uid, gid) = ids_of(user).unwrap_or_else(|| {
                panic!("running as root, PostgreSQL needs an unprivileged user to run as, and there is no '{user}' user: install the postgresql package, which creates it")
            });
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown the temp dir");
        }
        let server = PgServer {
            port: free_port(),
            dir,
            bin,
            run_as,
        };
        let data = server.data_dir();
        let out = server.run(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
        );
        assert!(out.status.success(), "initdb failed: {}", text(&out));
        let options = format!(
            "-c listen_addresses='' -k {} -p {} -c fsync=on",
            server.dir.path().display(),
            server.port
        );
        let out = server.run(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-l",
                &server.dir.path().join("server.log").display().to_string(),
                "-o",
                &options,
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            text(&out),
            std::fs::read_to_string(server.dir.path().join("server.log")).unwrap_or_default()
        );
        server
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The directory holding the server's socket.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A URL for `database` (created with [`PgServer::create_database`]) as the superuser,
    /// over the Unix socket.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@localhost/{database}?host={}&port={}",
            self.dir.path().display(),
            self.port
        )
    }

    /// Creates a database and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let out = self.run(
            "createdb",
            &[
                "-h",
                &self.dir.path().display().to_string(),
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                name,
            ],
        );
        assert!(
            out.status.success(),
            "createdb {name} failed: {}",
            text(&out)
        );
        self.url(name)
    }

    /// Whether the server answers (`pg_isready`).
    pub fn is_ready(&self) -> bool {
        self.run(
            "pg_isready",
            &[
                "-h",
                &self.dir.path().display().to_string(),
                "-p",
                &self.port.to_string(),
            ],
        )
        .status
        .success()
    }

    /// Stops the server (`fast`: sessions are disconnected, as in a planned restart).
    pub fn stop(&self) {
        let data = self.data_dir().display().to_string();
        let out = self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
        assert!(out.status.success(), "pg_ctl stop failed: {}", text(&out));
    }

    /// Starts the stopped server again, with the options it was first started with.
    pub fn start_again(&self) {
        let data = self.data_dir().display().to_string();
        let log = self.dir.path().join("server.log").display().to_string();
        let options = format!(
            "-c listen_addresses='' -k {} -p {} -c fsync=on",
            self.dir.path().display(),
            self.port
        );
        let out = self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "30", "start",
            ],
        );
        assert!(out.status.success(), "pg_ctl start failed: {}", text(&out));
    }

    /// Runs one of the server's programs, as the server's user when the tests run as root.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let path = self.bin.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()))
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data_dir().display().to_string();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        // The server's files belong to its user; the temp dir (root's to remove) goes next.
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.is_ready() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn a_test_server_starts_answers_sql_and_stops_when_dropped() {
    use sqlx::Connection;
    let server = PgServer::start();
    assert!(server.is_ready());
    let url = server.create_database("cafleet");
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    let (n,): (i32,) = sqlx::query_as("SELECT 1 + 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(
        version.chars().next().is_some_and(|c| c.is_ascii_digit()),
        "{version}"
    );
    conn.close().await.unwrap();
    let socket_dir = server.socket_dir().to_path_buf();
    drop(server);
    assert!(!socket_dir.exists(), "the temp dir is removed");
}

#[test]
fn a_test_that_panics_still_stops_its_server() {
    let dir = std::sync::Mutex::new(None::<PathBuf>);
    let panicked = std::panic::catch_unwind(|| {
        let server = PgServer::start();
        *dir.lock().unwrap() = Some(server.socket_dir().to_path_buf());
        panic!("a failing test");
    });
    assert!(panicked.is_err());
    let dir = dir.lock().unwrap().clone().expect("the server started");
    assert!(
        !dir.exists(),
        "the server was stopped and its directory removed"
    );
}

/// The PostgreSQL schema (`migrations/postgres/`), applied to a fresh database.
async fn pg_schema(server: &PgServer) -> sqlx::PgConnection {
    use sqlx::Connection;
    let url = server.create_database("schema");
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no migrations in {}", dir.display());
    for f in files {
        let sql = std::fs::read_to_string(&f).unwrap();
        sqlx::raw_sql(&sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
    conn
}

/// The same schema on SQLite, as the migrations build it.
async fn sqlite_schema(dir: &Path) -> cafleet::db::Db {
    let db = cafleet::db::Db::open(&dir.join("schema.db"), 1)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    db
}

#[tokio::test]
async fn the_postgres_schema_has_sqlites_tables_columns_and_nullability() {
    let server = PgServer::start();
    let mut pg = pg_schema(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let lite = sqlite_schema(dir.path()).await;
    // Table -> [(column, nullable)] in column order.
    let mut sqlite = std::collections::BTreeMap::<String, Vec<(String, bool)>>::new();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'
           AND name NOT LIKE 'sqlite_%' AND name <> 'alembic_version'",
    )
    .fetch_all(lite.pool())
    .await
    .unwrap();
    for t in tables {
        let cols: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT name, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid")
                .bind(&t)
                .fetch_all(lite.pool())
                .await
                .unwrap();
        sqlite.insert(
            t,
            cols.into_iter()
                .map(|(name, notnull, pk)| (name, notnull == 0 && pk == 0))
                .collect(),
        );
    }
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, is_nullable::text
           FROM information_schema.columns WHERE table_schema = 'public'
          ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut pg)
    .await
    .unwrap();
    let mut postgres = std::collections::BTreeMap::<String, Vec<(String, bool)>>::new();
    for (table, column, nullable) in rows {
        postgres
            .entry(table)
            .or_default()
            .push((column, nullable == "YES"));
    }
    assert_eq!(postgres, sqlite);
    lite.close().await;
}

/// The same statements on both backends leave the same change feed: the triggers agree.
#[tokio::test]
async fn the_postgres_triggers_feed_change_log_as_sqlites_do() {
    let statements = [
        "INSERT INTO fleets (fleet_id, label, created_at) VALUES (1, 'a', 't')",
        "INSERT INTO agents (agent_id, fleet_id, name, description, status, registered_at, agent_card_json) VALUES (1, 1, 'd', 'd', 'active', 't', '{}')",
        "UPDATE fleets SET director_agent_id = 1 WHERE fleet_id = 1",
        "INSERT INTO agents (agent_id, fleet_id, name, description, status, registered_at, agent_card_json) VALUES (2, 1, 'b', 'b', 'active', 't', '{}')",
        "INSERT INTO tasks (task_id, context_id, from_agent_id, to_agent_id, type, created_at, status_state, status_timestamp, text) VALUES (1, 2, 1, 2, 'unicast', 't', 'input_required', 't', 'hi')",
        "INSERT INTO tasks (task_id, context_id, from_agent_id, to_agent_id, type, created_at, status_state, status_timestamp, text) VALUES (2, 1, 1, 0, 'broadcast_summary', 't', 'completed', 't', 'all')",
        "UPDATE tasks SET delivery_state = 'typed' WHERE task_id = 1",
        "UPDATE tasks SET delivery_state = 'typed' WHERE task_id = 1",
        "UPDATE tasks SET status_state = 'completed', status_timestamp = 'u' WHERE task_id = 1",
        "UPDATE tasks SET status_state = 'completed' WHERE task_id = 2",
        "INSERT INTO monitor_config (agent_id, interval_seconds, enabled) VALUES (2, 60, TRUE)",
        "UPDATE monitor_config SET last_ping_at = 'u' WHERE agent_id = 2",
        "UPDATE monitor_config SET enabled = FALSE WHERE agent_id = 2",
        "INSERT INTO agent_activity (agent_id, activity, source, seen_at) VALUES (2, 'idle', 'pane', 't')",
        "UPDATE agent_activity SET activity = 'idle', seen_at = 'u' WHERE agent_id = 2",
        "UPDATE agent_activity SET activity = 'working' WHERE agent_id = 2",
        "INSERT INTO monitor_runtime (fleet_id, pid, tick_seconds) VALUES (1, 42, 5)",
        "UPDATE monitor_runtime SET last_tick_at = 'u' WHERE fleet_id = 1",
        "UPDATE monitor_runtime SET pid = NULL WHERE fleet_id = 1",
        "DELETE FROM monitor_runtime WHERE fleet_id = 1",
        "DELETE FROM monitor_config WHERE agent_id = 2",
    ];
    let feed = "SELECT fleet_id, kind, ref_id FROM change_log ORDER BY seq";
    let server = PgServer::start();
    let mut pg = pg_schema(&server).await;
    for s in statements {
        sqlx::query(s)
            .execute(&mut pg)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL: {s}: {e}"));
    }
    let on_pg: Vec<(Option<i64>, String, Option<i64>)> =
        sqlx::query_as(feed).fetch_all(&mut pg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lite = sqlite_schema(dir.path()).await;
    for s in statements {
        sqlx::query(s)
            .execute(lite.pool())
            .await
            .unwrap_or_else(|e| panic!("SQLite: {s}: {e}"));
    }
    let on_sqlite: Vec<(Option<i64>, String, Option<i64>)> =
        sqlx::query_as(feed).fetch_all(lite.pool()).await.unwrap();
    lite.close().await;
    assert!(on_pg.len() >= 10, "{on_pg:?}");
    assert_eq!(on_pg, on_sqlite);
}

#[tokio::test]
async fn open_and_migrate_bring_a_fresh_database_to_head_once() {
    let server = PgServer::start();
    let url = server.create_database("cafleet");
    let db = cafleet::db::pg::PgDb::open(&url, 2).await.expect("open");
    db.migrate().await.expect("migrate");
    db.migrate().await.expect("a second migrate is a no-op");
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables
          WHERE table_schema = 'public' AND table_name IN ('fleets', 'agents', 'tasks', 'change_log')",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(tables, 4);
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(versions.last(), Some(&cafleet::db::pg::latest_version()));
    assert!(
        db.display().starts_with("postgres@") && db.display().ends_with("/cafleet"),
        "{}",
        db.display()
    );
    db.close().await;
}

#[tokio::test]
async fn a_schema_from_a_newer_cafleet_is_refused_with_the_fix() {
    let server = PgServer::start();
    let url = server.create_database("cafleet");
    let db = cafleet::db::pg::PgDb::open(&url, 1).await.unwrap();
    db.migrate().await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', TRUE, '\\x00', 0)",
    )
    .execute(db.pool())
    .await
    .unwrap();
    let e = db.migrate().await.expect_err("a newer schema").to_string();
    assert!(
        e.contains("schema version 9999, newer than this cafleet understands"),
        "{e}"
    );
    assert!(e.contains("Upgrade cafleet"), "{e}");
    db.close().await;
}

#[tokio::test]
async fn a_missing_database_names_the_createdb_that_fixes_it() {
    let server = PgServer::start();
    let e = cafleet::db::pg::PgDb::open(&server.url("nope"), 1)
        .await
        .expect_err("no such database")
        .to_string();
    assert!(e.contains("does not exist"), "{e}");
    assert!(e.contains("`createdb nope`"), "{e}");
}

#[tokio::test]
async fn an_unreachable_server_fails_in_bounded_time_without_the_password() {
    let port = free_port();
    let url = format!("postgres://cafleet:s3cret@127.0.0.1:{port}/cafleet?connect_timeout=2");
    let started = Instant::now();
    let e = cafleet::db::pg::PgDb::open(&url, 1)
        .await
        .expect_err("nothing listens there")
        .to_string();
    assert!(
        started.elapsed() < cafleet::db::pg::CONNECT_TIMEOUT + Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(e.contains("cannot reach the PostgreSQL server"), "{e}");
    assert!(
        e.contains(&format!("cafleet@127.0.0.1:{port}/cafleet")),
        "{e}"
    );
    assert!(!e.contains("s3cret"), "{e}");
}

#[tokio::test]
async fn offline_query_data_matches_a_fresh_pg_schema() {
    use sqlx::Executor;
    let server = PgServer::start();
    let url = server.create_database("fresh");
    let db = cafleet::db::pg::PgDb::open(&url, 1).await.unwrap();
    db.migrate().await.unwrap();
    let mut conn = db.pool().acquire().await.unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(".sqlx");
    let (mut differ, mut seen) = (Vec::new(), 0);
    for e in std::fs::read_dir(root).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let stored: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        if stored["db_name"] != "PostgreSQL" {
            continue;
        }
        seen += 1;
        let query = stored["query"].as_str().unwrap_or_default();
        let fresh = match conn.describe(query).await {
            Ok(d) => crate::hygiene::describe_json(&d),
            Err(e) => serde_json::Value::String(format!("does not prepare: {e}")),
        };
        if fresh != stored["describe"] {
            differ.push(format!(
                "{}: stored {} but the schema gives {fresh}",
                p.file_name().unwrap().to_string_lossy(),
                stored["describe"]
            ));
        }
    }
    drop(conn);
    db.close().await;
    assert!(seen > 50, "only {seen} PostgreSQL queries in .sqlx/");
    assert!(
        differ.is_empty(),
        "stale offline query data (regenerate .sqlx/: `just prepare`):\n{}",
        differ.join("\n")
    );
}
