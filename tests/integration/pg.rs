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
