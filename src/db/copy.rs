//! `db copy`: every row of every CAFleet table from one database into an empty one, SQLite
//! or PostgreSQL either way, in one transaction on the target (docs/postgres.md, "Moving a
//! fleet").
//!
//! The statements are built at run time from [`TABLES`], the tables and their columns in
//! foreign-key order; `db_copy::` tests compare it with both live schemas, so a new table
//! or column cannot be skipped silently. Rows keep their ids. The triggers that feed
//! `change_log` fire on the target while the other tables are copied; `change_log` comes
//! last, after the rows those triggers appended are deleted, so it ends up exactly the
//! source's. The counters of generated keys (SQLite's `sqlite_sequence`, PostgreSQL's
//! identity sequences) are then set to the source's, so new rows get ids after the copied
//! ones. This needs no privilege beyond the schema owner's (`setval` needs UPDATE on the
//! sequences), unlike switching the triggers off.

use super::{AsConn, Conn, Db, Store, WriteTx};
use crate::config::Database;
use crate::{Error, Result};
use futures::TryStreamExt;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Postgres, Row, Sqlite, Type};
use std::path::Path;

/// How a column's values are stored on each backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SQLite INTEGER, PostgreSQL BIGINT.
    Int,
    /// SQLite VARCHAR or TEXT, PostgreSQL TEXT.
    Text,
    /// SQLite INTEGER holding 0 or 1, PostgreSQL BOOLEAN.
    Bool,
}

/// One table as `db copy` copies it.
#[derive(Debug)]
pub struct Table {
    /// The table's name.
    pub name: &'static str,
    /// Every column; the first is the integer primary key the rows are read in order of.
    pub columns: &'static [(&'static str, Kind)],
    /// Whether that key is generated (SQLite AUTOINCREMENT, a PostgreSQL identity), so
    /// that its counter is carried over.
    pub generated: bool,
}

use Kind::{Bool, Int, Text};

/// The table the triggers append to; copied last.
const CHANGE_LOG: &str = "change_log";

/// Every CAFleet table and column, parents before children. SQLite's `alembic_version`
/// belongs to the adoption of 0.14 files (its migrations write it) and has no PostgreSQL
/// twin; it is not copied.
pub const TABLES: &[Table] = &[
    Table {
        name: "fleets",
        columns: &[
            ("fleet_id", Int),
            ("label", Text),
            ("created_at", Text),
            ("deleted_at", Text),
            // Refers to `agents`, copied next: checked at commit (deferred).
            ("director_agent_id", Int),
        ],
        generated: true,
    },
    Table {
        name: "agents",
        columns: &[
            ("agent_id", Int),
            ("fleet_id", Int),
            ("name", Text),
            ("description", Text),
            ("status", Text),
            ("registered_at", Text),
            ("deregistered_at", Text),
            ("agent_card_json", Text),
        ],
        generated: true,
    },
    Table {
        name: "tasks",
        columns: &[
            ("task_id", Int),
            ("context_id", Int),
            ("from_agent_id", Int),
            ("to_agent_id", Int),
            ("type", Text),
            ("created_at", Text),
            ("status_state", Text),
            ("status_timestamp", Text),
            ("origin_task_id", Int),
            ("text", Text),
            ("idempotency_key", Text),
            ("delivery_mode", Text),
            ("delivery_state", Text),
            ("delivery_attempts", Int),
            ("delivery_last_at", Text),
            ("delivery_note", Text),
            ("typed_at", Text),
            ("submitted_at", Text),
            ("seen_at", Text),
            ("dead_at", Text),
        ],
        generated: true,
    },
    Table {
        name: "agent_placements",
        columns: &[
            ("agent_id", Int),
            ("director_agent_id", Int),
            ("tmux_session", Text),
            ("tmux_window_id", Text),
            ("tmux_pane_id", Text),
            ("coding_agent", Text),
            ("created_at", Text),
            ("tmux_socket", Text),
            ("host", Text),
        ],
        generated: false,
    },
    Table {
        name: "monitor_config",
        columns: &[
            ("agent_id", Int),
            ("interval_seconds", Int),
            ("last_ping_at", Text),
            ("enabled", Bool),
        ],
        generated: false,
    },
    Table {
        name: "monitor_runtime",
        columns: &[
            ("fleet_id", Int),
            ("pid", Int),
            ("started_at", Text),
            ("last_tick_at", Text),
            ("tick_seconds", Int),
            ("host", Text),
        ],
        generated: false,
    },
    Table {
        name: "agent_activity",
        columns: &[
            ("agent_id", Int),
            ("activity", Text),
            ("source", Text),
            ("seen_at", Text),
        ],
        generated: false,
    },
    Table {
        name: "pane_requests",
        columns: &[
            ("request_id", Int),
            ("host", Text),
            ("agent_id", Int),
            ("kind", Text),
            ("payload", Text),
            ("state", Text),
            ("result", Text),
            ("created_at", Text),
            ("claimed_at", Text),
            ("done_at", Text),
        ],
        generated: true,
    },
    Table {
        name: CHANGE_LOG,
        columns: &[
            ("seq", Int),
            ("fleet_id", Int),
            ("kind", Text),
            ("ref_id", Int),
        ],
        generated: true,
    },
];

/// What [`copy`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The target, as messages name it (a path, or `user@host:port/database`).
    pub target: String,
    /// Each table's row count, in [`TABLES`] order.
    pub tables: Vec<(&'static str, i64)>,
}

/// At most this many values are bound to one INSERT (SQLite allows 32766, PostgreSQL
/// 65535).
const BINDS_PER_STATEMENT: usize = 10_000;

/// Copies every row of `source` into the empty database `target` names (given by
/// `setting`, which the errors name). The target is created if need be and migrated to head; one that holds rows, or
/// that is the source itself, is refused before anything changes. The copy is one
/// transaction on the target: on any failure, or row counts that differ, nothing is kept.
pub async fn copy(source: &Db, target: &Database, setting: &str) -> Result<Copied> {
    if let (Store::Sqlite { path, .. }, Database::Sqlite(to)) = (&source.store, target)
        && same_file(path, to)
    {
        return Err(same_database(&target.display(), setting));
    }
    let to = Db::connect_from(target, 1, setting).await?;
    let result = copy_into(source, &to, setting).await;
    to.close().await;
    Ok(Copied {
        target: to.display(),
        tables: result?,
    })
}

async fn copy_into(source: &Db, target: &Db, setting: &str) -> Result<Vec<(&'static str, i64)>> {
    if source.is_pg()
        && target.is_pg()
        && server_identity(source).await? == server_identity(target).await?
    {
        return Err(same_database(&target.display(), setting));
    }
    // Before migrating, so that a refused target is left exactly as it was.
    refuse_rows(&mut target.read().await?, &target.display()).await?;
    target.migrate().await?;
    let mut from = source.snapshot().await?;
    let mut to = target.begin_write().await?;
    // Again inside the transaction: someone may have written since.
    refuse_rows(&mut to, &target.display()).await?;
    check_privileges(&mut to, &target.display()).await?;
    if !target.is_pg() {
        // `fleets` refers to `agents` and the other way round: check at commit. (On
        // PostgreSQL that one reference is deferred by the schema.)
        run(&mut to, "PRAGMA defer_foreign_keys = ON").await?;
    }
    let mut copied = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        if table.name == CHANGE_LOG {
            // What the triggers appended while the other tables were copied.
            run(&mut to, "DELETE FROM change_log").await?;
        }
        let (rows, max_key) = copy_rows(&mut from, &mut to, table)
            .await
            .map_err(|e| in_table(e, table.name))?;
        if table.generated {
            let last = last_id(&mut from, table).await?.max(max_key);
            set_last_id(&mut to, table, last).await?;
        }
        copied.push((table.name, rows));
    }
    if !target.is_pg() {
        check_references(&mut to).await?;
    }
    for &(table, rows) in &copied {
        let found = count(&mut to, table).await?;
        if found != rows {
            return Err(Error::failed(format!(
                "copying {table}: {rows} rows read from the source but {found} in the target; rolled back, the target is unchanged. Retry; if it happens again, report it."
            )));
        }
    }
    to.commit().await?;
    from.end().await;
    Ok(copied)
}

/// The refusal of a target that is the source itself.
fn same_database(display: &str, setting: &str) -> Error {
    Error::invalid(format!(
        "{setting} names the database being copied ({display}, from CAFLEET_DATABASE_URL). Give {setting} another, empty database."
    ))
}

/// Whether two SQLite paths name one file (the target may not exist yet).
fn same_file(source: &Path, target: &Path) -> bool {
    let resolve = |p: &Path| {
        p.canonicalize().ok().or_else(|| {
            let parent = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            Some(parent.canonicalize().ok()?.join(p.file_name()?))
        })
    };
    match (resolve(source), resolve(target)) {
        (Some(a), Some(b)) => a == b,
        _ => source == target,
    }
}

/// Which database of which PostgreSQL server this is, however the URL reached it (host
/// name, address or socket): its name, the server's port and its start time.
async fn server_identity(db: &Db) -> Result<String> {
    let mut conn = db.read().await?;
    match conn.conn() {
        Conn::Sqlite(_) => Ok(db.display()),
        Conn::Pg(c) => Ok(sqlx::query_scalar(
            "SELECT current_database()::text || ':' || current_setting('port') || ':' || pg_postmaster_start_time()::text",
        )
        .fetch_one(c)
        .await?),
    }
}

/// Refuses a target with rows in any CAFleet table that exists there yet.
async fn refuse_rows(c: &mut impl AsConn, display: &str) -> Result<()> {
    let mut found = Vec::new();
    for table in TABLES {
        let exists: bool = match c.conn() {
            Conn::Sqlite(c) => {
                sqlx::query_scalar(
                    "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                )
                .bind(table.name)
                .fetch_one(c)
                .await?
            }
            Conn::Pg(c) => {
                sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                    .bind(table.name)
                    .fetch_one(c)
                    .await?
            }
        };
        if exists {
            let rows = count(c, table.name).await?;
            if rows > 0 {
                found.push(format!("{} has {rows} rows", table.name));
            }
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    Err(Error::conflict(format!(
        "the target database {display} is not empty ({}): db copy only copies into an empty database, and changed nothing. Give --to a new database (PostgreSQL: `createdb <name>`; SQLite: a path where no file is), or empty this one first.",
        found.join(", ")
    )))
}

/// On PostgreSQL, refuses a role that could not finish the copy, before it starts: it
/// must insert into every table, delete from `change_log` and set the id sequences (which
/// the least-privileged role of README "PostgreSQL" may not: run `db copy` as the owner).
async fn check_privileges(to: &mut WriteTx, display: &str) -> Result<()> {
    let Conn::Pg(c) = to.conn() else {
        return Ok(());
    };
    let mut missing = Vec::new();
    for table in TABLES {
        let mut needs = vec![(table.name.to_string(), "table", "INSERT")];
        if table.name == CHANGE_LOG {
            needs.push((table.name.to_string(), "table", "DELETE"));
        }
        if table.generated {
            needs.push((sequence_of(&mut *c, table).await?, "sequence", "UPDATE"));
        }
        for (object, kind, privilege) in needs {
            let sql = format!("SELECT has_{kind}_privilege($1, $2)");
            let held: bool = sqlx::query_scalar(&sql)
                .bind(&object)
                .bind(privilege)
                .fetch_one(&mut *c)
                .await?;
            if !held {
                missing.push(format!("{privilege} on {kind} {object}"));
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let role: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(c)
        .await?;
    Err(Error::forbidden(format!(
        "the role {role} may not fill the target database {display}: it lacks {}. Run db copy with a --to URL that logs in as the owner of the target's schema (docs/postgres.md, \"Moving a fleet\"); no row was copied.",
        missing.join(", ")
    )))
}

/// `SELECT count(*)` of one of [`TABLES`].
async fn count(c: &mut impl AsConn, table: &str) -> Result<i64> {
    let sql = format!("SELECT count(*) FROM {table}");
    Ok(match c.conn() {
        Conn::Sqlite(c) => sqlx::query_scalar(&sql).fetch_one(c).await?,
        Conn::Pg(c) => sqlx::query_scalar(&sql).fetch_one(c).await?,
    })
}

/// Runs one statement without results.
async fn run(c: &mut impl AsConn, sql: &str) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(c) => sqlx::query(sql).execute(c).await.map(drop)?,
        Conn::Pg(c) => sqlx::query(sql).execute(c).await.map(drop)?,
    }
    Ok(())
}

/// A read-only view of the source as of one moment, for reading every table consistently.
enum Snapshot {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Pg(sqlx::Transaction<'static, Postgres>),
}

impl AsConn for Snapshot {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            Snapshot::Sqlite(tx) => Conn::Sqlite(tx),
            Snapshot::Pg(tx) => Conn::Pg(tx),
        }
    }
}

impl Snapshot {
    /// Ends the read transaction (it wrote nothing).
    async fn end(self) {
        let _ = match self {
            Snapshot::Sqlite(tx) => tx.rollback().await,
            Snapshot::Pg(tx) => tx.rollback().await,
        };
    }
}

impl Db {
    /// A read transaction: on SQLite (WAL) its first read fixes the snapshot, on
    /// PostgreSQL it is REPEATABLE READ.
    async fn snapshot(&self) -> Result<Snapshot> {
        Ok(match &self.store {
            Store::Sqlite { pool, .. } => Snapshot::Sqlite(pool.begin().await?),
            Store::Pg(pg) => Snapshot::Pg(
                pg.pool()
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?,
            ),
        })
    }
}

/// One value, typed by its column's [`Kind`] (PostgreSQL wants a NULL typed too).
#[derive(Debug, Clone)]
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
}

/// Copies one table's rows in key order, in INSERTs of many rows: their number, and the
/// largest key.
async fn copy_rows(
    from: &mut Snapshot,
    to: &mut WriteTx,
    table: &Table,
) -> Result<(i64, Option<i64>)> {
    let select = format!(
        "SELECT {} FROM {} ORDER BY {}",
        column_list(table),
        table.name,
        table.columns[0].0
    );
    match from.conn() {
        Conn::Sqlite(c) => pump::<Sqlite>(c, &select, to, table, true).await,
        Conn::Pg(c) => pump::<Postgres>(c, &select, to, table, false).await,
    }
}

fn column_list(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|(c, _)| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Streams `select` from a source connection of backend `DB` into `to`. SQLite keeps a
/// boolean as an integer (`bools_as_ints`).
async fn pump<DB>(
    conn: &mut DB::Connection,
    select: &str,
    to: &mut WriteTx,
    table: &Table,
    bools_as_ints: bool,
) -> Result<(i64, Option<i64>)>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    i64: Type<DB> + for<'r> Decode<'r, DB>,
    String: Type<DB> + for<'r> Decode<'r, DB>,
    bool: Type<DB> + for<'r> Decode<'r, DB>,
{
    let per_statement = (BINDS_PER_STATEMENT / table.columns.len()).max(1);
    let mut rows = sqlx::query::<DB>(select).fetch(conn);
    let mut batch = Vec::with_capacity(per_statement);
    let (mut copied, mut max_key) = (0, None);
    while let Some(row) = rows.try_next().await? {
        let values = read_row(&row, table, bools_as_ints)?;
        if let Some(Value::Int(key)) = values.first() {
            max_key = max_key.max(*key);
        }
        batch.push(values);
        copied += 1;
        if batch.len() == per_statement {
            insert(to, table, &batch).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        insert(to, table, &batch).await?;
    }
    Ok((copied, max_key))
}

/// One row's values, each checked against its column's kind.
fn read_row<R>(row: &R, table: &Table, bools_as_ints: bool) -> Result<Vec<Value>>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    String: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    bool: Type<R::Database> + for<'r> Decode<'r, R::Database>,
{
    let bad = |column: &str, e: &dyn std::fmt::Display| {
        Error::failed(format!(
            "{}.{column} of the row with {} {}: {e}. Fix that value in the source, then copy again.",
            table.name,
            table.columns[0].0,
            row.try_get::<Option<i64>, _>(0)
                .ok()
                .flatten()
                .map_or_else(|| "?".to_string(), |k| k.to_string())
        ))
    };
    let mut values = Vec::with_capacity(table.columns.len());
    for (i, &(column, kind)) in table.columns.iter().enumerate() {
        let value = match kind {
            Int => row.try_get(i).map(Value::Int),
            Text => row.try_get(i).map(Value::Text),
            Bool if bools_as_ints => match row.try_get::<Option<i64>, _>(i) {
                Ok(None) => Ok(Value::Bool(None)),
                Ok(Some(n @ (0 | 1))) => Ok(Value::Bool(Some(n == 1))),
                Ok(Some(n)) => return Err(bad(column, &format!("{n} is not a boolean (0 or 1)"))),
                Err(e) => Err(e),
            },
            Bool => row.try_get(i).map(Value::Bool),
        };
        values.push(value.map_err(|e| bad(column, &e))?);
    }
    Ok(values)
}

/// Inserts rows into the target.
async fn insert(to: &mut WriteTx, table: &Table, rows: &[Vec<Value>]) -> Result<()> {
    match to.conn() {
        Conn::Sqlite(c) => insert_into::<Sqlite>(c, table, rows).await,
        Conn::Pg(c) => insert_into::<Postgres>(c, table, rows).await,
    }
}

async fn insert_into<DB>(
    conn: &mut DB::Connection,
    table: &Table,
    rows: &[Vec<Value>],
) -> Result<()>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> Option<i64>: Type<DB> + Encode<'q, DB>,
    for<'q> Option<&'q str>: Type<DB> + Encode<'q, DB>,
    for<'q> Option<bool>: Type<DB> + Encode<'q, DB>,
{
    use sqlx::Arguments;
    let mut sql = format!(
        "INSERT INTO {} ({}) VALUES ",
        table.name,
        column_list(table)
    );
    let mut arguments = DB::Arguments::default();
    for (r, values) in rows.iter().enumerate() {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            match value {
                Value::Int(v) => arguments.add(*v),
                Value::Text(v) => arguments.add(v.as_deref()),
                Value::Bool(v) => arguments.add(*v),
            }
            .map_err(|e| Error::Storage(e.to_string()))?;
            arguments
                .format_placeholder(&mut sql)
                .map_err(|e| Error::Storage(e.to_string()))?;
        }
        sql.push(')');
    }
    sqlx::query_with::<DB, _>(&sql, arguments)
        .execute(conn)
        .await?;
    Ok(())
}

/// The last key a generated key's counter handed out (`None`: never used).
async fn last_id(c: &mut impl AsConn, table: &Table) -> Result<Option<i64>> {
    match c.conn() {
        Conn::Sqlite(c) => Ok(sqlx::query_scalar(
            "SELECT seq FROM sqlite_sequence WHERE name = ?1",
        )
        .bind(table.name)
        .fetch_optional(c)
        .await?),
        Conn::Pg(c) => {
            let sequence = sequence_of(&mut *c, table).await?;
            Ok(sqlx::query_scalar(&format!(
                "SELECT CASE WHEN is_called THEN last_value END FROM {sequence}"
            ))
            .fetch_one(c)
            .await?)
        }
    }
}

/// The PostgreSQL sequence of a generated key (schema-qualified and quoted as needed).
async fn sequence_of(c: &mut sqlx::PgConnection, table: &Table) -> Result<String> {
    Ok(sqlx::query_scalar("SELECT pg_get_serial_sequence($1, $2)")
        .bind(table.name)
        .bind(table.columns[0].0)
        .fetch_one(c)
        .await?)
}

/// Sets a generated key's counter: the next key will be `last + 1` (1 when `None`).
async fn set_last_id(c: &mut impl AsConn, table: &Table, last: Option<i64>) -> Result<()> {
    match c.conn() {
        Conn::Sqlite(c) => {
            let updated = sqlx::query("UPDATE sqlite_sequence SET seq = ?2 WHERE name = ?1")
                .bind(table.name)
                .bind(last)
                .execute(&mut *c)
                .await?
                .rows_affected();
            let sql = match (last, updated) {
                (Some(_), 0) => "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)",
                (None, _) => "DELETE FROM sqlite_sequence WHERE name = ?1",
                (Some(_), _) => return Ok(()),
            };
            sqlx::query(sql)
                .bind(table.name)
                .bind(last)
                .execute(c)
                .await?;
        }
        Conn::Pg(c) => {
            sqlx::query("SELECT setval(pg_get_serial_sequence($1, $2), $3, $4)")
                .bind(table.name)
                .bind(table.columns[0].0)
                .bind(last.unwrap_or(1))
                .bind(last.is_some())
                .execute(c)
                .await?;
        }
    }
    Ok(())
}

/// SQLite checks the deferred references only at commit, and then says only that one
/// failed: name the rows instead.
async fn check_references(to: &mut WriteTx) -> Result<()> {
    let Conn::Sqlite(c) = to.conn() else {
        return Ok(());
    };
    let broken: Vec<(String, Option<i64>, String)> =
        sqlx::query_as(r#"SELECT "table", rowid, parent FROM pragma_foreign_key_check"#)
            .fetch_all(c)
            .await?;
    if broken.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = broken
        .iter()
        .take(5)
        .map(|(table, row, parent)| {
            format!(
                "{table} row {} refers to a missing {parent} row",
                row.unwrap_or(0)
            )
        })
        .collect();
    Err(Error::failed(format!(
        "the source has {} rows whose references are missing ({}{}); nothing was copied. Fix or delete them in the source, then copy again.",
        broken.len(),
        shown.join(", "),
        if broken.len() > shown.len() {
            ", …"
        } else {
            ""
        }
    )))
}

/// An error while copying `table`, naming it and saying that nothing was kept.
fn in_table(e: Error, table: &str) -> Error {
    match e {
        Error::Busy(_) => e,
        Error::Storage(detail) => Error::failed(format!(
            "copying {table} failed: {detail}. Rolled back: the target is unchanged."
        )),
        other => Error::failed(format!(
            "copying {table} failed: {other} Rolled back: the target is unchanged."
        )),
    }
}
