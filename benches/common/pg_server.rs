//! Shared by `benches/monitor.rs` and `benches/report.rs`: the PostgreSQL server the benches
//! measure beside SQLite (docs/performance.md, "PostgreSQL and hosts").
//!
//! `CAFLEET_BENCH_PG_URL` names a server that already runs (any database on it; the benches
//! create and drop databases of their own there). Otherwise [`PgServer::start`] starts a
//! throw-away one with `scripts/pg-scratch start DIR --durable` in a temporary directory,
//! and dropping the handle stops it and removes the directory, after a panic too. Durable:
//! unlike the test suites' server its commits flush the WAL (fsync on), as SQLite's
//! `synchronous=FULL` commits do, so commit times compare.
//!
//! The methods block on a runtime of their own: call them outside any Tokio runtime.

// Each bench binary compiles its own copy and uses a subset.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use tempfile::TempDir;

/// A PostgreSQL server for the benches.
pub struct PgServer {
    /// Its `postgres` database (or the one `CAFLEET_BENCH_PG_URL` names).
    url: String,
    /// The scratch server's directory, when we started it (stopped on drop).
    scratch: Option<(TempDir, PathBuf)>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-scratch")
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

impl PgServer {
    /// The server of `CAFLEET_BENCH_PG_URL`, or a scratch one; `Err` says why there is
    /// none (no PostgreSQL server binaries, say), for the caller to skip its PostgreSQL part.
    pub fn start() -> Result<PgServer, String> {
        if let Some(url) = std::env::var("CAFLEET_BENCH_PG_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            return Ok(PgServer { url, scratch: None });
        }
        let parent = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        // As root the server runs as `postgres`, which must reach its directory.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("chmod: {e}"))?;
        }
        let dir = parent.path().join("pg");
        let out = Command::new(script())
            .arg("start")
            .arg(&dir)
            .arg("--durable")
            .output()
            .map_err(|e| format!("{}: {e}", script().display()))?;
        let server = PgServer {
            url: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            scratch: Some((parent, dir)),
        };
        if !out.status.success() || server.url.is_empty() {
            // Dropping `server` stops whatever started.
            return Err(format!(
                "pg-scratch start failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(server)
    }

    /// The URL of database `name` on this server (the server URL with its path replaced).
    pub fn database_url(&self, name: &str) -> String {
        let (base, query) = match self.url.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (self.url.as_str(), String::new()),
        };
        let after_scheme = base.find("://").map_or(0, |i| i + 3);
        let authority_end = base[after_scheme..]
            .find('/')
            .map_or(base.len(), |i| after_scheme + i);
        format!("{}/{name}{query}", &base[..authority_end])
    }

    /// Runs one statement on the server's own database (CREATE / DROP DATABASE).
    fn admin(&self, sql: &str) {
        block_on(async {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&self.url)
                .await
                .unwrap_or_else(|e| panic!("connect to the bench PostgreSQL server: {e}"));
            sqlx::query(sql)
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            let _ = sqlx::Connection::close(conn).await;
        });
    }

    /// A new database (a copy of `template` when given); returns its name. Names are
    /// unique to this process.
    pub fn create_database(&self, template: Option<&str>) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "cafleet_bench_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        match template {
            Some(t) => self.admin(&format!("CREATE DATABASE {name} TEMPLATE {t}")),
            None => self.admin(&format!("CREATE DATABASE {name}")),
        }
        name
    }

    /// Drops database `name`, closing any connection still on it.
    pub fn drop_database(&self, name: &str) {
        self.admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }

    /// A new database holding every row of the SQLite database at `sqlite` (`db copy`),
    /// vacuumed and analysed as a long-lived database is; returns its name. The seeds are
    /// built once on SQLite and copied, so both backends hold the same rows.
    pub fn copy_of_sqlite(&self, sqlite: &Path) -> String {
        let name = self.create_database(None);
        let url = self.database_url(&name);
        block_on(async {
            let source = cafleet::db::Db::open(sqlite, 1).await.expect("open seed");
            cafleet::db::copy::copy(
                &source,
                &cafleet::config::Database::Postgres(url.clone()),
                "the bench's PostgreSQL database",
            )
            .await
            .expect("db copy of the seed");
            source.close().await;
            let target = cafleet::db::Db::open_pg(&url, 1).await.expect("open copy");
            let pool = target.pg_pool().expect("a PostgreSQL pool");
            sqlx::query("VACUUM ANALYZE")
                .execute(pool)
                .await
                .expect("vacuum analyze");
            target.close().await;
        });
        name
    }

    /// `PostgreSQL 15.18 (fsync on, synchronous_commit on)`, for the report.
    pub fn describe(&self) -> String {
        block_on(async {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&self.url)
                .await
                .expect("connect");
            let mut show = async |setting: &str| -> String {
                sqlx::query_scalar(&format!("SHOW {setting}"))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap_or_default()
            };
            let version = show("server_version").await;
            let fsync = show("fsync").await;
            let sync = show("synchronous_commit").await;
            let _ = sqlx::Connection::close(conn).await;
            // `15.18 (Debian 15.18-0+deb12u1)`: the number is enough.
            let version = version.split_whitespace().next().unwrap_or_default();
            format!("PostgreSQL {version} (fsync {fsync}, synchronous_commit {sync})")
        })
    }

    /// Stops the scratch server (nothing for `CAFLEET_BENCH_PG_URL`'s); again is harmless.
    pub fn stop(&self) {
        if let Some((_parent, dir)) = &self.scratch {
            let _ = Command::new(script()).arg("stop").arg(dir).output();
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}
