//! Migrations (`migrations/`, embedded at build time) and the adoption of databases written
//! by CAFleet 0.14, which carry an alembic revision instead of our `user_version`
//! (docs/ARCHITECTURE.md, "Adopting a 0.14 database").

use super::{Db, Store, suffixed};
use crate::{Error, Result};
use std::path::Path;

/// The migrations in `migrations/`, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The alembic revision CAFleet 0.14 stamps; our baseline is exactly that schema.
pub const ALEMBIC_HEAD: &str = "0005";
const ALEMBIC_KNOWN: [&str; 5] = ["0001", "0002", "0003", "0004", "0005"];

/// What [`Db::migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrateOutcome {
    /// The database had no tables; the whole schema was created.
    Created,
    /// Already at head.
    Unchanged,
    /// A CAFleet 0.14 database below alembic head was upgraded from this revision.
    Upgraded {
        /// The alembic revision found.
        from: String,
    },
    /// A CAFleet 0.14 database at alembic head (or an older one of ours) got our additions.
    Adopted {
        /// The schema version (`PRAGMA user_version`) found.
        from_version: i64,
    },
}

impl Db {
    /// Brings the database to head. Cheap when already there (one pragma read); otherwise
    /// serialised across processes by `BEGIN IMMEDIATE`, after backing up an existing file.
    pub async fn migrate(&self) -> Result<MigrateOutcome> {
        if self.opened_at_head {
            return Ok(MigrateOutcome::Unchanged);
        }
        let (pool, path) = match &self.store {
            Store::Sqlite { pool, path } => (pool, path),
            Store::Pg(pg) => return pg.migrate().await,
        };
        let head = latest_version();
        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(pool)
            .await?;
        if version == head {
            return Ok(MigrateOutcome::Unchanged);
        }
        if version > head {
            return Err(Error::failed(format!(
                "the database {} has schema version {version}, newer than this cafleet understands ({head}). Upgrade cafleet, or point CAFLEET_DATABASE_URL at another file.",
                path.display()
            )));
        }
        let mut conn = pool.acquire().await?;
        let has_tables = !user_tables(&mut conn).await?.is_empty();
        if has_tables {
            Db::backup(path, &mut conn, version).await;
        }
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let result = migrate_locked(&mut conn, head).await;
        match result {
            Ok(outcome) => {
                sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
                Ok(outcome)
            }
            Err(e) => {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                Err(e)
            }
        }
    }

    /// Keeps a consistent copy of an existing database before its first migration by this
    /// version (STYLE rule 9). The copy is written under a temporary name, synced, and renamed
    /// into place, so `<file>.bak-schema<N>` is always complete: a process killed while
    /// copying leaves only a temporary file, which the next run removes and redoes. Best
    /// effort: a failed backup is logged, not fatal; a finished backup (another process got
    /// there first) is kept.
    async fn backup(db: &Path, conn: &mut sqlx::SqliteConnection, version: i64) {
        let target = suffixed(db, &format!(".bak-schema{version}"));
        if target.exists() {
            return;
        }
        remove_stale_backup_temps(&target);
        let temp = suffixed(&target, &format!(".tmp-{}", std::process::id()));
        let _ = std::fs::remove_file(&temp);
        let temp_str = temp.display().to_string();
        let written = sqlx::query("VACUUM INTO ?1")
            .bind(&temp_str)
            .execute(&mut *conn)
            .await
            .map_err(|e| e.to_string())
            .and_then(|_| {
                std::fs::File::open(&temp)
                    .and_then(|f| f.sync_all())
                    .and_then(|()| std::fs::rename(&temp, &target))
                    .map_err(|e| e.to_string())
            });
        match written {
            Ok(()) => {
                tracing::info!(backup = %target.display(), "backed up the database before migrating");
            }
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                tracing::warn!(error = %e, "could not back up the database before migrating");
            }
        }
    }
}

/// Removes `<backup>.tmp-<pid>` files (and their journals) left by processes that died while writing them.
fn remove_stale_backup_temps(target: &Path) {
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return;
    };
    let prefix = format!("{}.tmp-", name.to_string_lossy());
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .map(|rest| rest.trim_end_matches("-journal"))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let alive = pid > 0
            && matches!(
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
                Ok(()) | Err(nix::errno::Errno::EPERM)
            );
        if !alive {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The highest migration version embedded in the binary.
pub fn latest_version() -> i64 {
    head_of(&MIGRATOR)
}

/// The highest version among `migrator`'s migrations (0 when it has none).
pub(super) fn head_of(migrator: &sqlx::migrate::Migrator) -> i64 {
    migrator
        .migrations
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

pub(super) async fn user_tables(conn: &mut sqlx::SqliteConnection) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Runs inside the `BEGIN IMMEDIATE` of [`Db::migrate`]: re-checks the version (another
/// process may have migrated meanwhile), refuses foreign or unknown schemas, applies the
/// missing migrations and stamps `user_version`.
/// For a database without our schema version (`user_version` 0) holding `tables`: the
/// alembic revision of a CAFleet 0.14 database we can adopt (`None` when there are no
/// tables), or the refusal for anything else.
pub(super) async fn check_adoptable(
    conn: &mut sqlx::SqliteConnection,
    tables: &[String],
) -> Result<Option<String>> {
    if tables.is_empty() {
        return Ok(None);
    }
    if !tables.iter().any(|t| t == "alembic_version") {
        return Err(Error::failed(
            "DB has existing tables but no alembic_version. Run `alembic stamp head` manually if you are sure the schema matches.",
        ));
    }
    let rev: Option<String> = sqlx::query_scalar("SELECT version_num FROM alembic_version")
        .fetch_optional(&mut *conn)
        .await?;
    let rev = rev.unwrap_or_default();
    if !ALEMBIC_KNOWN.contains(&rev.as_str()) {
        return Err(Error::failed(format!(
            "DB schema is at revision {rev} which is unknown to this version of cafleet. Refusing to downgrade automatically."
        )));
    }
    Ok(Some(rev))
}

async fn migrate_locked(conn: &mut sqlx::SqliteConnection, head: i64) -> Result<MigrateOutcome> {
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await?;
    if version == head {
        return Ok(MigrateOutcome::Unchanged);
    }
    let tables = user_tables(conn).await?;
    let mut outcome = if tables.is_empty() {
        MigrateOutcome::Created
    } else {
        MigrateOutcome::Adopted {
            from_version: version,
        }
    };
    if version == 0
        && let Some(rev) = check_adoptable(conn, &tables).await?
        && rev != ALEMBIC_HEAD
    {
        outcome = MigrateOutcome::Upgraded { from: rev };
    }
    for m in MIGRATOR.migrations.iter().filter(|m| m.version > version) {
        tracing::info!(version = m.version, description = %m.description, "applying migration");
        sqlx::raw_sql(&m.sql).execute(&mut *conn).await?;
    }
    let stamp = format!("PRAGMA user_version = {head}");
    sqlx::raw_sql(&stamp).execute(&mut *conn).await?;
    Ok(outcome)
}
