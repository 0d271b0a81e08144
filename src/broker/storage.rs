//! Opening the store and looking after it: the broker every command and the server work
//! through, `db init`, and `doctor`'s read-only look at a file.

use super::Broker;
use crate::Result;
use crate::config::{Config, Database};
use crate::db::Db;
use crate::tmux::Tmux;
use std::path::Path;

pub use crate::db::copy::Copied;
pub use crate::db::{ALEMBIC_HEAD, DbInfo, MigrateOutcome, latest_version};

/// How a process uses the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// One command: one connection, each write its own commit.
    Command,
    /// A long-running server: a pool, and concurrent writes share commits and fsyncs
    /// (group commit; docs/ARCHITECTURE.md, "Writing the database").
    Server,
}

impl Broker {
    /// Opens the configured database, migrating it on first use (docs/decisions.md, S1).
    pub async fn open(config: &Config, usage: Usage) -> Result<Broker> {
        let connections = match usage {
            Usage::Command => 1,
            Usage::Server => 8,
        };
        let db = Db::connect(&config.database, connections).await?;
        db.migrate().await?;
        let db = match usage {
            Usage::Command => db,
            Usage::Server => db.with_group_commit(),
        };
        Ok(Broker::new(db, Tmux::from_env(), config.max_text_len).with_host(&config.host))
    }
}

impl Broker {
    /// `db copy`: copies every row of this broker's database into the empty database `url`
    /// names (given as `--to`), creating and migrating it if need be, in one transaction
    /// on it (docs/postgres.md, "Moving a fleet").
    pub async fn copy_to(&self, url: &str) -> Result<Copied> {
        const SETTING: &str = "--to";
        let target = Database::from_setting(url, SETTING)?;
        crate::db::copy::copy(&self.db, &target, SETTING).await
    }
}

/// `db init`: creates the database or brings it to head (adopting a 0.14 one), and closes it.
pub async fn init(database: &Database) -> Result<MigrateOutcome> {
    let db = Db::connect(database, 1).await?;
    let outcome = db.migrate().await;
    db.close().await;
    outcome
}

/// Reads an existing database's schema state without changing it (never creates or
/// migrates it).
pub async fn inspect(path: &Path) -> Result<DbInfo> {
    crate::db::inspect(path).await
}

/// Reads a PostgreSQL database's schema version without changing it: `(version, head)`.
pub async fn inspect_pg(url: &str) -> Result<(i64, i64)> {
    let db = crate::db::pg::PgDb::open(url, 1).await?;
    let version = db.version().await;
    db.close().await;
    Ok((version?, crate::db::pg::latest_version()))
}
