//! Repository hygiene checked with every test run: each dependency in Cargo.toml is used
//! by some source, and each file of sqlx's offline query data in `.sqlx/` belongs to a
//! query that is still in the sources (a missing one already fails the build, which runs
//! with `SQLX_OFFLINE=true`). docs/ARCHITECTURE.md, "Writing the database", explains the
//! offline data.

use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// All Rust sources of the package, concatenated.
fn sources() -> String {
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches"] {
        rust_files(&Path::new(ROOT).join(dir), &mut files);
    }
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The dependency names of one `[section]` of Cargo.toml.
fn dependencies(manifest: &str, section: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = t == section;
            continue;
        }
        if inside && let Some((name, _)) = t.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                names.push(name.to_string());
            }
        }
    }
    names
}

#[test]
fn every_dependency_is_used() {
    let manifest = std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).unwrap();
    let src = sources();
    let mut unused = Vec::new();
    for section in ["[dependencies]", "[dev-dependencies]"] {
        for dep in dependencies(&manifest, section) {
            let krate = dep.replace('-', "_");
            // Used as a path (`krate::`), imported (`use krate`), or as a derive/attribute
            // crate; tokio and friends appear as `krate::` anyway.
            let used = src.contains(&format!("{krate}::"))
                || src.contains(&format!("use {krate}"))
                || src.contains(&format!("extern crate {krate}"));
            if !used {
                unused.push(format!("{dep} ({section})"));
            }
        }
    }
    assert!(
        unused.is_empty(),
        "dependencies no source uses: {unused:?}. Remove them from Cargo.toml."
    );
}

#[test]
fn every_offline_query_file_belongs_to_a_query_in_the_sources() {
    let src = sources();
    let dir = Path::new(ROOT).join(".sqlx");
    let mut stale = Vec::new();
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        n += 1;
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let query = v["query"].as_str().unwrap_or_default();
        if query.is_empty() || !src.contains(query) {
            stale.push(p.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(n > 0, "no offline query data in {}", dir.display());
    assert!(
        stale.is_empty(),
        "offline query data for queries no longer in the sources: {stale:?}. Delete them (or regenerate .sqlx/: `just prepare`)."
    );
}

/// The `.rs` files under `src/<dir>`, with their text, as (path from the root, text).
fn sources_under(dir: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src").join(dir), &mut files);
    files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(ROOT).unwrap_or(f).display().to_string();
            (rel, std::fs::read_to_string(f).unwrap_or_default())
        })
        .collect()
}

/// The layering rule of docs/ARCHITECTURE.md: only `src/db/` knows SQL, the pool and the
/// SQLite driver, and the entry points (`cli/`, `web/`, the hook handler, the monitor loop)
/// reach storage only through broker operations (no `crate::db`, no `Broker::db`).
#[test]
fn only_db_knows_storage_and_the_entry_points_go_through_the_broker() {
    let mut offences = Vec::new();
    for (path, text) in sources_under("") {
        let in_db = path.starts_with("src/db/");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if !in_db && (code.contains("sqlx") || code.contains(".pool()")) {
                offences.push(format!("{path}:{}: storage outside src/db: {line}", n + 1));
            }
            let entry = ["src/cli/", "src/web/", "src/hook.rs", "src/monitor.rs"]
                .iter()
                .any(|p| path.starts_with(p));
            if entry && (code.contains("crate::db") || code.contains(".db()")) {
                offences.push(format!(
                    "{path}:{}: entry point past the broker: {line}",
                    n + 1
                ));
            }
        }
    }
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}

/// `cargo sqlx prepare --check` without sqlx-cli: every query's offline data in `.sqlx/`
/// (columns, their types and nullability, parameters) equals what SQLite describes for it
/// on a database freshly built from `migrations/`. A migration that changes a column under
/// an unchanged query therefore fails here instead of building with stale types.
#[tokio::test]
async fn offline_query_data_matches_a_fresh_schema() {
    use sqlx::Executor;
    let dir = tempfile::tempdir().unwrap();
    let db = cafleet::db::Db::open(&dir.path().join("fresh.db"), 1)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let mut conn = db.pool().acquire().await.unwrap();
    let mut differ = Vec::new();
    for e in std::fs::read_dir(Path::new(ROOT).join(".sqlx"))
        .unwrap()
        .flatten()
    {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let stored: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        if stored["db_name"] != "SQLite" {
            continue; // PostgreSQL's: pg::offline_query_data_matches_a_fresh_pg_schema
        }
        let query = stored["query"].as_str().unwrap_or_default();
        let fresh = match conn.describe(query).await {
            Ok(d) => describe_json(&d),
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
    assert!(
        differ.is_empty(),
        "stale offline query data (regenerate .sqlx/: `just prepare`):\n{}",
        differ.join("\n")
    );
}

/// A description in the shape sqlx's offline data stores it (either backend).
pub fn describe_json<DB: sqlx::Database>(d: &sqlx::Describe<DB>) -> serde_json::Value {
    use sqlx::Column;
    // `SqliteTypeInfo(Integer)` -> `Integer`, `PgTypeInfo(Int8)` -> `Int8`: the offline
    // data's spelling.
    let type_name = |t: &DB::TypeInfo| {
        let debug = format!("{t:?}");
        let inner = debug
            .split_once('(')
            .map_or(debug.as_str(), |(_, rest)| rest);
        inner.strip_suffix(')').unwrap_or(inner).to_string()
    };
    let columns: Vec<_> = d
        .columns()
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name(),
                "ordinal": c.ordinal(),
                "type_info": type_name(c.type_info()),
            })
        })
        .collect();
    let parameters = match d.parameters() {
        Some(sqlx::Either::Right(n)) => serde_json::json!({ "Right": n }),
        Some(sqlx::Either::Left(types)) => {
            serde_json::json!({ "Left": types.iter().map(type_name).collect::<Vec<_>>() })
        }
        None => serde_json::Value::Null,
    };
    let nullable: Vec<Option<bool>> = (0..d.columns().len()).map(|i| d.nullable(i)).collect();
    serde_json::json!({ "columns": columns, "parameters": parameters, "nullable": nullable })
}
