//! Databases written by CAFleet 0.14 (alembic 0005 and older) are adopted in place.

use crate::support::*;
use std::path::PathBuf;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference-0.14.db")
}

/// An Env whose database is a copy of the reference fixture (never the original).
fn adopted_env() -> Env {
    let env = Env::new();
    std::fs::create_dir_all(env.db_path.parent().unwrap()).unwrap();
    std::fs::copy(fixture(), &env.db_path).expect("copy fixture");
    env
}

/// The columns of `tasks` in a 0.14 database.
pub const TASK_COLUMNS: &str = "task_id, context_id, from_agent_id, to_agent_id, type, created_at, status_state, status_timestamp, origin_task_id, text";

const TABLES: [&str; 6] = [
    "fleets",
    "agents",
    "agent_placements",
    "tasks",
    "monitor_config",
    "monitor_runtime",
];

fn dump(path: &std::path::Path, table: &str) -> Vec<Vec<String>> {
    let cols = match table {
        "agent_placements" => {
            "agent_id, director_agent_id, tmux_session, tmux_window_id, tmux_pane_id, coding_agent, created_at"
        }
        // The 0.14 columns (later migrations add columns, NULL for adopted rows).
        "tasks" => TASK_COLUMNS,
        _ => "*",
    };
    query_db(path, &format!("SELECT {cols} FROM {table} ORDER BY 1"))
}

#[test]
fn a_python_database_is_adopted_without_losing_a_row() {
    let env = adopted_env();
    let before: Vec<_> = TABLES.iter().map(|t| dump(&env.db_path, t)).collect();
    let out = env.ok(&["db", "init"]);
    assert!(out.starts_with("Adopted "), "{out}");
    let after: Vec<_> = TABLES.iter().map(|t| dump(&env.db_path, t)).collect();
    assert_eq!(before, after, "adoption changed existing rows");
    assert_eq!(
        query_db(
            &env.db_path,
            "SELECT COUNT(*) FROM tasks WHERE idempotency_key IS NOT NULL"
        ),
        [["0"]],
        "adopted messages carry no idempotency key"
    );
    assert_eq!(
        env.query("SELECT version_num FROM alembic_version"),
        vec![vec!["0005".to_string()]]
    );
    assert_eq!(env.query("PRAGMA journal_mode")[0][0], "wal");
    // A consistent backup of the original was kept beside it.
    let backup = PathBuf::from(format!("{}.bak-schema0", env.db_path.display()));
    assert_eq!(dump(&backup, "tasks"), before[3]);
    assert_eq!(
        env.ok(&["db", "init"]),
        "Already at head (0005); nothing to do.\n"
    );
}

#[test]
fn messaging_keeps_working_on_an_adopted_database() {
    let env = adopted_env();
    // First use by an ordinary command adopts the file (docs/decisions.md, S1 and C3).
    let polled = env.json(&["message", "poll", "--fleet-id", "1", "--agent-id", "3"]);
    let ids: Vec<i64> = polled
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![3],
        "alice has only the broadcast delivery pending"
    );
    let acked = env.json(&[
        "message",
        "ack",
        "--fleet-id",
        "1",
        "--agent-id",
        "3",
        "--task-id",
        "3",
    ]);
    assert_eq!(acked["task"]["id"], 3);
    // Adopted placements have no recorded tmux server: no preview, the message is queued.
    let sent = env.json(&[
        "message",
        "send",
        "--fleet-id",
        "1",
        "--agent-id",
        "3",
        "--to",
        "1",
        "--text",
        "after adoption",
    ]);
    assert_eq!(sent["task"]["id"], 8, "ids continue after the adopted ones");
    assert_eq!(sent["notification_sent"], false);
    let director = env.json(&["message", "poll", "--fleet-id", "1", "--agent-id", "1"]);
    let ids: Vec<i64> = director
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![8, 6]);
    // Fleet isolation holds across adopted fleets.
    let err = env.fails(
        &[
            "message",
            "send",
            "--fleet-id",
            "1",
            "--agent-id",
            "3",
            "--to",
            "8",
            "--text",
            "x",
        ],
        1,
    );
    assert_eq!(err, "Error: Destination agent not found: 8\n");
    let fleets = env.json(&["fleet", "list"]);
    assert_eq!(fleets.as_array().unwrap().len(), 2);
    let agents = env.ok(&["agent", "list", "--fleet-id", "1"]);
    assert_eq!(
        agents,
        "1 Director active\n\n2 Administrator active\n\n3 alice active\n\n4 bob active\n\n5 carol active\n"
    );
}

#[test]
fn an_older_python_revision_is_upgraded_and_enrollment_rebuilt() {
    let env = adopted_env();
    // Rewind the copy to revision 0003 as CAFleet 0.14's own migrations left it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&env.db_path);
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&opts).await.unwrap();
        sqlx::raw_sql("UPDATE alembic_version SET version_num = '0003'; DELETE FROM monitor_config WHERE agent_id = 4; INSERT INTO monitor_config VALUES (5, 60, NULL, 1);")
            .execute(&mut conn)
            .await
            .unwrap();
    });
    assert_eq!(env.ok(&["db", "init"]), "Upgraded from 0003 to 0005.\n");
    assert_eq!(
        env.query(
            "SELECT agent_id, interval_seconds, enabled FROM monitor_config ORDER BY agent_id"
        ),
        vec![
            vec!["1".to_string(), "180".into(), "1".into()],
            vec!["3".to_string(), "720".into(), "1".into()],
            vec!["4".to_string(), "720".into(), "1".into()],
            vec!["6".to_string(), "180".into(), "1".into()],
        ]
    );
    assert_eq!(
        env.query("SELECT version_num FROM alembic_version"),
        vec![vec!["0005".to_string()]]
    );
}

#[test]
fn foreign_and_unknown_schemas_are_refused_untouched() {
    let env = Env::new();
    std::fs::create_dir_all(env.db_path.parent().unwrap()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let exec = |sql: &str| {
        rt.block_on(async {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&env.db_path)
                .create_if_missing(true);
            let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&opts)
                .await
                .unwrap();
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        });
    };
    exec("CREATE TABLE notes (x INTEGER)");
    let err = env.fails(&["db", "init"], 1);
    assert_eq!(
        err,
        "Error: DB has existing tables but no alembic_version. Run `alembic stamp head` manually if you are sure the schema matches.\n"
    );
    let err = env.fails(&["fleet", "list"], 1);
    assert!(err.contains("no alembic_version"), "{err}");
    assert_eq!(
        env.query("SELECT name FROM sqlite_master WHERE type='table'"),
        vec![vec!["notes".to_string()]]
    );
    exec(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL); INSERT INTO alembic_version VALUES ('9999')",
    );
    let err = env.fails(&["db", "init"], 1);
    assert_eq!(
        err,
        "Error: DB schema is at revision 9999 which is unknown to this version of cafleet. Refusing to downgrade automatically.\n"
    );
}
