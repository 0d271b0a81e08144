//! The state a refused call must leave as it was: every row of every table, the panes of
//! both servers and every byte typed into any pane; and the checks that compare two states.

use super::*;

#[derive(Debug, PartialEq, Eq)]
pub(super) struct Snapshot {
    /// Table name → every row (each value through SQLite's `quote()`), plus the schema and
    /// `user_version` under `#schema`.
    pub(super) db: BTreeMap<String, Vec<String>>,
    /// Server → `list-panes -a` output.
    pub(super) panes: BTreeMap<String, String>,
    /// Every stand-in and recorder log → the bytes typed into that pane so far.
    pub(super) bytes: BTreeMap<PathBuf, Vec<u8>>,
}

/// A read-only connection to the database at `path` (it waits out writers' locks).
async fn open_read_only(path: &Path) -> sqlx::SqliteConnection {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(Duration::from_secs(30));
    <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&opts)
        .await
        .expect("open db")
}

/// Every table's rows and the schema, as [`Snapshot::db`] holds them (also what
/// `db_copy::` compares).
pub(crate) async fn dump_db(db: &Database) -> BTreeMap<String, Vec<String>> {
    let path = match db {
        Database::Sqlite(path) => path,
        Database::Postgres(url) => return dump_pg(url).await,
    };
    use sqlx::Row;
    let mut conn = open_read_only(path).await;
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

/// [`dump_db`] on PostgreSQL: the columns of every table and the migrations applied under
/// `#schema`, and every row (each value through `quote_nullable`, in a stable order).
async fn dump_pg(url: &str) -> BTreeMap<String, Vec<String>> {
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
        .await
        .expect("open db");
    let mut out = BTreeMap::new();
    let schema: Vec<String> = sqlx::query_scalar(
        "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
           FROM information_schema.columns WHERE table_schema = 'public'
          ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    out.insert("#schema".to_string(), schema);
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(
        tables.iter().any(|t| t == "tasks") && tables.iter().any(|t| t == "change_log"),
        "unexpected schema: {tables:?}"
    );
    for t in tables {
        let typed: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
              WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(&t)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        // Each value as SQLite's quote() writes it: numbers bare, text quoted, booleans 1/0.
        let expr = typed
            .iter()
            .map(|(c, ty)| match ty.as_str() {
                "bigint" | "integer" | "smallint" => {
                    format!("coalesce(\"{c}\"::text, 'NULL')")
                }
                "boolean" => format!("coalesce(CASE WHEN \"{c}\" THEN '1' ELSE '0' END, 'NULL')"),
                _ => format!("quote_nullable(\"{c}\")"),
            })
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let cols: Vec<&String> = typed.iter().map(|(c, _)| c).collect();
        let order = cols
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT {expr} FROM \"{t}\" ORDER BY {order}"))
                .fetch_all(&mut conn)
                .await
                .unwrap();
        out.insert(t, rows);
    }
    out
}

/// The first column of a query, as integers (for use inside the API's runtime).
pub(super) async fn query_ids(db: &Database, sql: &str) -> BTreeSet<i64> {
    let ids: Vec<i64> = match db {
        Database::Sqlite(path) => {
            let mut conn = open_read_only(path).await;
            sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
        }
        Database::Postgres(url) => {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
                .await
                .expect("open db");
            sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
        }
    };
    ids.into_iter().collect()
}

pub(super) fn dump_db_blocking(db: &Database) -> BTreeMap<String, Vec<String>> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(dump_db(db))
}

/// Asserts nothing changed, naming exactly what did.
pub(super) fn assert_unchanged(before: &Snapshot, after: &Snapshot, what: &str) {
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
pub(super) type SplitTasks = (Vec<String>, BTreeMap<i64, (String, String)>);

pub(super) fn split_tasks(env: &Env) -> SplitTasks {
    let (columns, quote, order) = if on_pg() {
        (
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'tasks' ORDER BY ordinal_position",
            "quote_nullable",
            "task_id",
        )
    } else {
        (
            "SELECT name FROM pragma_table_info('tasks') ORDER BY cid",
            "quote",
            "rowid",
        )
    };
    let cols: Vec<String> = env
        .query(columns)
        .into_iter()
        .map(|r| r[0].clone())
        .filter(|c| c != "delivery_state" && c != "seen_at")
        .collect();
    assert!(cols.len() > 2, "unexpected tasks columns: {cols:?}");
    let expr = cols
        .iter()
        .map(|c| format!("{quote}(\"{c}\")"))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    let rest = env
        .query(&format!("SELECT {expr} FROM tasks ORDER BY {order}"))
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let marks = env
        .query("SELECT task_id, delivery_state, seen_at FROM tasks")
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
pub(super) fn assert_only_seen_marks(
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
    // SQLite's AUTOINCREMENT counters; PostgreSQL's identity sequences are outside the
    // tables (and may skip values a rolled-back insert took), so there is nothing to compare.
    if !before.db.contains_key("sqlite_sequence") {
        return;
    }
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
