//! `cafleet db copy --to <url>`: SQLite to PostgreSQL and back, row for row (docs/postgres.md,
//! "Moving a fleet"). A fleet built by real commands, plus rows that exercise NULLs, unicode,
//! JSON text, booleans and quoting, goes SQLite → PostgreSQL → SQLite and PostgreSQL → SQLite
//! → PostgreSQL, and each end must dump exactly as its start (`isolation::state::dump_db`,
//! every row of every table, the schema and SQLite's `sqlite_sequence` included). Refusals
//! (a target with rows, the source itself, a bad URL, an unreachable server) change nothing,
//! and a copy that fails half-way leaves the target without a row. The list of tables and
//! columns the copy walks must match both live schemas. Each test starts its own PostgreSQL
//! server (`pg::PgServer`), so plain `cargo test` runs them.

use crate::isolation::state::dump_db;
use crate::pg::PgServer;
use crate::support::*;
use cafleet::config::Database;
use cafleet::db::copy::{Kind, TABLES};
use std::collections::BTreeMap;

/// An [`Env`] on a SQLite file, also when the suites run on PostgreSQL.
fn sqlite_env() -> Env {
    let mut env = Env::new();
    env.pg = None;
    env
}

/// `sqlite:///…` for a file.
fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite:///{}", path.display())
}

/// Runs statements on a database (on SQLite without enforcing foreign keys, as a file
/// written carelessly had them).
fn exec(db: &Database, sql: &str) {
    use sqlx::Connection;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        match db {
            Database::Sqlite(path) => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .foreign_keys(false);
                let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
            Database::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
        }
    });
}

/// The task id `message send --json` printed.
fn task_id(sent: &serde_json::Value) -> i64 {
    let id = &sent["task"]["id"];
    id.as_i64()
        .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("no task id in {sent}"))
}

/// [`dump_db`] without what is not the fleet's data and differs between two databases
/// holding the same rows: when PostgreSQL's migrations ran (`_sqlx_migrations`), and the
/// planner statistics SQLite gathers when a connection closes (`sqlite_stat*`).
fn dump(db: &Database) -> BTreeMap<String, Vec<String>> {
    let mut dump = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(dump_db(db));
    dump.retain(|table, _| table != "_sqlx_migrations" && !table.starts_with("sqlite_stat"));
    if let Some(schema) = dump.get_mut("#schema") {
        schema.retain(|entry| !entry.starts_with("table sqlite_stat"));
    }
    dump
}

/// Row counts of the copied tables on `db`, as `db copy --json` reports them.
fn counts(db: &Database) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for t in TABLES {
        let sql = format!("SELECT count(*) FROM {}", t.name);
        let n = match db {
            Database::Sqlite(p) => query_db(p, &sql),
            Database::Postgres(u) => query_pg(u, &sql),
        }[0][0]
            .parse::<i64>()
            .unwrap();
        out.insert(t.name.to_string(), n.into());
    }
    serde_json::Value::Object(out)
}

/// A fleet made by real commands on `env`'s database, and rows the commands never write
/// (odd text, a disabled schedule, a running monitor, an activity report).
fn populate(env: &mut Env) -> TmuxServer {
    let (server, _pane, _log) = fleet_in_tmux(env);
    let agent = env
        .cafleet("agent register")
        .fleet(1)
        .opt("--name", "Zoë 🚀")
        .opt(
            "--description",
            "quotes ' \" and \\ back\\slash\nnew line, tab\t, 日本語",
        )
        .opt(
            "--skills",
            r#"[{"id":"r","name":"Révision \"JSON\"","tags":["ü"]}]"#,
        )
        .value()["agent_id"]
        .as_i64()
        .unwrap();
    let sent = env
        .cafleet("message send")
        .fleet(1)
        .agent(1)
        .opt("--to", agent)
        .opt("--text", "{\"json\": [1, 2.5, null, true]} — ünïcødé ✓ 'q'")
        .opt("--idempotency-key", "key-ü")
        .value();
    let task = task_id(&sent);
    env.cafleet("message broadcast")
        .fleet(1)
        .agent(1)
        .opt("--text", "all hands\n\nsecond paragraph")
        .ok();
    env.cafleet("message ack")
        .fleet(1)
        .agent(agent)
        .task(task)
        .ok();
    env.cafleet("monitor config")
        .fleet(1)
        .agent(1)
        .arg("--disable")
        .ok();
    env.cafleet("fleet create").opt("--label", "gone").ok();
    env.cafleet("fleet delete").arg(2).ok();
    let odd = "INSERT INTO agent_activity (agent_id, activity, source, seen_at)
                 VALUES (1, 'working', 'claude:PreToolUse', '2026-01-01T00:00:00+00:00');
               INSERT INTO monitor_runtime (fleet_id, pid, started_at, last_tick_at, tick_seconds, host)
                 VALUES (1, 4242, '2026-01-01T00:00:00+00:00', NULL, 5, 'höst-α');
               INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at,
                   status_state, status_timestamp, text, delivery_note)
                 VALUES (1, 1, 1, 'unicast', 't', 'completed', 't', '', 'E''\\x00 \\n, not a NUL');";
    exec(&env.database(), odd);
    server
}

/// Asserts that no table `db copy` fills has a row on `db`.
#[track_caller]
fn assert_no_rows(db: &Database) {
    let dump = dump(db);
    for t in TABLES {
        assert_eq!(dump[t.name], Vec::<String>::new(), "{}", t.name);
    }
}

#[test]
fn sqlite_to_postgres_to_sqlite_is_row_for_row_the_same() {
    let pg = PgServer::start();
    let mut env = sqlite_env();
    let _tmux = populate(&mut env);
    let source = env.database();
    let before = dump(&source);
    assert!(before["tasks"].len() >= 3, "{:?}", before["tasks"]);
    assert!(before["monitor_config"].iter().any(|r| r.ends_with("|0")));

    let middle = pg.create_database("middle");
    let report = env.cafleet("db copy").opt("--to", &middle).value();
    assert_eq!(report["tables"], counts(&source));
    assert_eq!(report["from"], env.db_path.display().to_string());
    assert!(
        report["to"].as_str().unwrap().ends_with("/middle"),
        "{report}"
    );
    let total: i64 = report["tables"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(report["rows"], total);
    assert_eq!(dump(&source), before, "the source is only read");

    let back = env.dir.path().join("back").join("cafleet.db");
    let text = env
        .cafleet("db copy")
        .env("CAFLEET_DATABASE_URL", &middle)
        .opt("--to", sqlite_url(&back))
        .ok();
    assert!(text.starts_with("Copied "), "{text}");
    assert!(text.contains("  change_log"), "{text}");
    let back_db = Database::Sqlite(back.clone());
    assert_eq!(dump(&back_db), before);

    // New rows continue after the copied ids, on both targets.
    let last_task: i64 = env.query("SELECT max(task_id) FROM tasks")[0][0]
        .parse()
        .unwrap();
    let last_seq: i64 = env.query("SELECT max(seq) FROM change_log")[0][0]
        .parse()
        .unwrap();
    for url in [middle.clone(), sqlite_url(&back)] {
        let sent = env
            .cafleet("message send")
            .env("CAFLEET_DATABASE_URL", &url)
            .fleet(1)
            .agent(1)
            .opt("--to", 3)
            .opt("--text", "after the move")
            .value();
        assert_eq!(task_id(&sent), last_task + 1, "{url}: {sent}");
        let db = Database::from_url(&url).unwrap();
        let seq = dump(&db)["change_log"]
            .last()
            .map(|r| r.split('|').next().unwrap().parse::<i64>().unwrap());
        assert!(seq > Some(last_seq), "{url}: change_log went on at {seq:?}");
    }
}

#[test]
fn postgres_to_sqlite_to_postgres_is_row_for_row_the_same() {
    let pg = PgServer::start();
    let mut env = sqlite_env();
    env.pg = Some(pg.create_database("origin"));
    let _tmux = populate(&mut env);
    let source = env.database();
    let before = dump(&source);
    assert!(before["tasks"].len() >= 3, "{:?}", before["tasks"]);

    let file = env.dir.path().join("moved.db");
    let report = env
        .cafleet("db copy")
        .opt("--to", sqlite_url(&file))
        .value();
    assert_eq!(report["tables"], counts(&source));
    let again = pg.create_database("again");
    env.cafleet("db copy")
        .env("CAFLEET_DATABASE_URL", sqlite_url(&file))
        .opt("--to", &again)
        .ok();
    assert_eq!(dump(&Database::Postgres(again)), before);
    // SQLite to SQLite too.
    let copy = env.dir.path().join("copy.db");
    env.cafleet("db copy")
        .env("CAFLEET_DATABASE_URL", sqlite_url(&file))
        .opt("--to", sqlite_url(&copy))
        .ok();
    assert_eq!(dump(&Database::Sqlite(copy)), dump(&Database::Sqlite(file)));
}

#[test]
fn a_target_with_rows_or_the_source_itself_is_refused_and_left_as_it_was() {
    let pg = PgServer::start();
    let mut env = sqlite_env();
    let _tmux = populate(&mut env);
    let target = pg.create_database("target");
    env.cafleet("db copy").opt("--to", &target).ok();
    let target_db = Database::Postgres(target.clone());
    let filled = dump(&target_db);
    let source = dump(&env.database());

    let e = env.cafleet("db copy").opt("--to", &target).fails(1);
    assert!(
        e.contains("is not empty (fleets has 2 rows, agents has"),
        "{e}"
    );
    assert!(
        e.contains("changed nothing") && e.contains("createdb"),
        "{e}"
    );
    assert_eq!(dump(&target_db), filled);

    // A SQLite file with rows, the other way.
    let e = env
        .cafleet("db copy")
        .env("CAFLEET_DATABASE_URL", &target)
        .opt("--to", sqlite_url(&env.db_path))
        .fails(1);
    assert!(e.contains("is not empty"), "{e}");

    // The source itself, however spelt.
    let relative = "sqlite:///data/../data/cafleet.db";
    for url in [sqlite_url(&env.db_path), relative.to_string()] {
        let e = env.cafleet("db copy").opt("--to", &url).fails(1);
        assert!(
            e.contains("--to names the database being copied"),
            "{url}: {e}"
        );
    }
    let spelt_otherwise = target.replace("postgres://postgres@localhost/", "postgresql:///");
    assert_ne!(spelt_otherwise, target);
    let e = env
        .cafleet("db copy")
        .env("CAFLEET_DATABASE_URL", &target)
        .opt("--to", format!("{spelt_otherwise}&user=postgres"))
        .fails(1);
    assert!(e.contains("--to names the database being copied"), "{e}");
    assert_eq!(dump(&target_db), filled);
    assert_eq!(dump(&env.database()), source);
}

#[test]
fn bad_and_unreachable_targets_name_the_fix_and_never_the_password() {
    let env = sqlite_env();
    env.ok(&["db", "init"]);
    let e = env
        .cafleet("db copy")
        .opt("--to", "mysql://u:pw-s3cret@h/d")
        .fails(1);
    assert!(
        e.contains("--to is not a SQLite or PostgreSQL URL: 'mysql://u:***@h/d'"),
        "{e}"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = env
        .cafleet("db copy")
        .opt(
            "--to",
            format!("postgres://cafleet:pw-s3cret@127.0.0.1:{port}/x?connect_timeout=2"),
        )
        .fails(1);
    assert!(
        e.contains("cannot reach the PostgreSQL server for cafleet@127.0.0.1"),
        "{e}"
    );
    assert!(e.contains("that --to names its host and port"), "{e}");
    assert!(!e.contains("s3cret"), "{e}");
    let e = env.cafleet("db copy").fails(2);
    assert!(e.contains("Missing option '--to'."), "{e}");
}

#[test]
fn a_copy_that_fails_half_way_leaves_the_target_without_a_row() {
    let pg = PgServer::start();
    let mut env = sqlite_env();
    let _tmux = populate(&mut env);
    // A schedule whose flag is neither 0 nor 1 cannot become a PostgreSQL boolean.
    exec(&env.database(), "UPDATE monitor_config SET enabled = 2");
    let target = pg.create_database("target");
    let e = env.cafleet("db copy").opt("--to", &target).fails(1);
    assert!(
        e.contains("monitor_config.enabled of the row with agent_id 1: 2 is not a boolean"),
        "{e}"
    );
    assert!(e.contains("Rolled back: the target is unchanged."), "{e}");
    let target_db = Database::Postgres(target.clone());
    assert_no_rows(&target_db);
    // A message that refers to an agent that is gone (a file written without foreign keys):
    // SQLite checks at commit; the copy names the rows.
    exec(
        &env.database(),
        "UPDATE monitor_config SET enabled = 1; UPDATE tasks SET context_id = 999 WHERE task_id = 1",
    );
    let file = env.dir.path().join("target.db");
    let e = env
        .cafleet("db copy")
        .opt("--to", sqlite_url(&file))
        .fails(1);
    assert!(
        e.contains("the source has 1 rows whose references are missing (tasks row 1 refers to a missing agents row)"),
        "{e}"
    );
    assert_no_rows(&Database::Sqlite(file));
    // Fixed, the same targets take the copy.
    exec(
        &env.database(),
        "UPDATE tasks SET context_id = 1 WHERE task_id = 1",
    );
    env.cafleet("db copy").opt("--to", &target).ok();
    assert_eq!(
        dump(&target_db)["tasks"].len(),
        dump(&env.database())["tasks"].len()
    );
}

/// The tables and columns `db copy` walks, with each column's kind as `db copy` sees it:
/// from [`TABLES`].
fn listed() -> BTreeMap<String, Vec<(String, Kind)>> {
    TABLES
        .iter()
        .map(|t| {
            (
                t.name.to_string(),
                t.columns
                    .iter()
                    .map(|(c, k)| ((*c).to_string(), *k))
                    .collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_copied_tables_and_columns_are_sqlites_in_foreign_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = cafleet::db::Db::open(&dir.path().join("schema.db"), 1)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'
           AND name NOT LIKE 'sqlite_%' AND name <> 'alembic_version'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut live = BTreeMap::new();
    for t in &tables {
        let cols: Vec<(String, String)> =
            sqlx::query_as("SELECT name, upper(type) FROM pragma_table_info(?1) ORDER BY cid")
                .bind(t)
                .fetch_all(db.pool())
                .await
                .unwrap();
        let kinds = cols
            .into_iter()
            .map(|(name, ty)| {
                let kind = match (ty.as_str(), name.as_str()) {
                    ("INTEGER", "enabled") => Kind::Bool,
                    ("INTEGER", _) => Kind::Int,
                    ("VARCHAR" | "TEXT", _) => Kind::Text,
                    other => panic!("{t}.{name}: a type db copy does not know: {other:?}"),
                };
                (name, kind)
            })
            .collect::<Vec<_>>();
        live.insert(t.clone(), kinds);
    }
    assert_eq!(listed(), live);
    // Parents come first; the one exception is the director reference of `fleets`, which
    // both backends check at commit.
    for (i, table) in TABLES.iter().enumerate() {
        let parents: Vec<(String, String)> =
            sqlx::query_as("SELECT \"table\", \"from\" FROM pragma_foreign_key_list(?1)")
                .bind(table.name)
                .fetch_all(db.pool())
                .await
                .unwrap();
        for (parent, column) in parents {
            let at = TABLES.iter().position(|t| t.name == parent).unwrap();
            assert!(
                at < i || (table.name == "fleets" && column == "director_agent_id"),
                "{}.{column} refers to {parent}, copied later",
                table.name
            );
        }
        assert_eq!(
            table.columns[0].1,
            Kind::Int,
            "{}: rows are read in the order of an integer key",
            table.name
        );
    }
    db.close().await;
}

#[tokio::test]
async fn the_copied_tables_and_columns_are_postgres() {
    let server = PgServer::start();
    let url = server.create_database("schema");
    let db = cafleet::db::pg::PgDb::open(&url, 1).await.unwrap();
    db.migrate().await.unwrap();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text
           FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'
          ORDER BY table_name, ordinal_position",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut live = BTreeMap::<String, Vec<(String, Kind)>>::new();
    for (table, column, ty) in rows {
        let kind = match ty.as_str() {
            "bigint" => Kind::Int,
            "text" => Kind::Text,
            "boolean" => Kind::Bool,
            other => panic!("{table}.{column}: a type db copy does not know: {other}"),
        };
        live.entry(table).or_default().push((column, kind));
    }
    assert_eq!(listed(), live);
    db.close().await;
}

/// README "PostgreSQL"'s least-privileged role for `database` on `pg`, and its URL.
fn agents_role(pg: &PgServer, database: &str) -> String {
    let owner = pg.url(database);
    exec(
        &Database::Postgres(owner.clone()),
        &format!(
            "DO $$ BEGIN CREATE ROLE cafleet_agents LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
             GRANT CONNECT ON DATABASE {database} TO cafleet_agents;
             GRANT USAGE ON SCHEMA public TO cafleet_agents;
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO cafleet_agents;
             GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO cafleet_agents;"
        ),
    );
    owner.replace("postgres://postgres@", "postgres://cafleet_agents@")
}

#[test]
fn the_least_privileged_role_may_read_a_source_but_not_fill_a_target() {
    let pg = PgServer::start();
    let mut env = sqlite_env();
    let source = pg.create_database("source");
    env.pg = Some(source.clone());
    let _tmux = populate(&mut env);
    let as_agents = agents_role(&pg, "source");
    let file = env.dir.path().join("from-agents.db");
    env.cafleet("db copy")
        .env("CAFLEET_DATABASE_URL", &as_agents)
        .opt("--to", sqlite_url(&file))
        .ok();
    let as_owner = env.dir.path().join("from-owner.db");
    env.cafleet("db copy")
        .opt("--to", sqlite_url(&as_owner))
        .ok();
    assert_eq!(
        dump(&Database::Sqlite(file.clone())),
        dump(&Database::Sqlite(as_owner))
    );
    // The owner migrated the target; the agents' role may write rows but not set the
    // id sequences: refused up front, naming what it lacks.
    let target = pg.create_database("target");
    cafleet_db_init(&env, &target);
    let target_as_agents = agents_role(&pg, "target");
    let e = env
        .cafleet("db copy")
        .env("CAFLEET_DATABASE_URL", sqlite_url(&file))
        .opt("--to", &target_as_agents)
        .fails(1);
    assert!(
        e.contains("the role cafleet_agents may not fill the target database"),
        "{e}"
    );
    assert!(e.contains("UPDATE on sequence"), "{e}");
    assert!(e.contains("owner of the target's schema"), "{e}");
    assert_no_rows(&Database::Postgres(target.clone()));
    env.cafleet("db copy")
        .env("CAFLEET_DATABASE_URL", sqlite_url(&file))
        .opt("--to", &target)
        .ok();
}

/// `db init` on `url`, as its owner.
fn cafleet_db_init(env: &Env, url: &str) {
    env.cafleet("db init").env("CAFLEET_DATABASE_URL", url).ok();
}

#[test]
fn a_large_fleet_goes_over_in_many_statements_with_its_pruned_change_feed() {
    let pg = PgServer::start();
    let env = sqlite_env();
    env.ok(&["db", "init"]);
    // 12,345 messages: many INSERTs per table, and a change feed that SQLite pruned to its
    // newest 10,000 rows (its trigger prunes again as the rows arrive on a SQLite target).
    exec(
        &env.database(),
        "INSERT INTO fleets (label, created_at) VALUES ('big', 't');
         INSERT INTO agents (fleet_id, name, description, status, registered_at, agent_card_json)
           VALUES (1, 'a', 'd', 'active', 't', '{}'), (1, 'b', 'd', 'active', 't', '{}');
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12345)
         INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at,
             status_state, status_timestamp, text)
           SELECT 2, 1, 2, 'unicast', 't', 'input_required', 't', 'message ' || i FROM n;",
    );
    let source = dump(&env.database());
    assert_eq!(source["tasks"].len(), 12_345);
    assert!(source["change_log"].len() < 12_000, "pruned");
    let middle = pg.create_database("middle");
    let report = env.cafleet("db copy").opt("--to", &middle).value();
    assert_eq!(report["tables"]["tasks"], 12_345);
    let back = env.dir.path().join("back.db");
    env.cafleet("db copy")
        .env("CAFLEET_DATABASE_URL", &middle)
        .opt("--to", sqlite_url(&back))
        .ok();
    assert_eq!(dump(&Database::Sqlite(back)), source);
}
