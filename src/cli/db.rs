//! `cafleet db init` and `db copy`: arguments and handlers, and the report `setup` shares.

use super::output::{print, print_json};
use super::{CliResult, Ctx, need};
use crate::broker::storage::{self, ALEMBIC_HEAD, MigrateOutcome};
use crate::config::Config;
use clap::{Args, Subcommand};
use serde_json::json;

/// `cafleet db ...`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the database (and its directory) or upgrade it to the current schema.
    /// Idempotent. A database written by CAFleet 0.14 is adopted in place, after a backup.
    Init,
    /// Copy every row of every table from this database ($CAFLEET_DATABASE_URL) into an
    /// empty one: SQLite to PostgreSQL or back. The target is created and migrated if need
    /// be, and must hold no rows. One transaction on the target: ids, timestamps and the
    /// change feed are kept, row counts are checked before the commit, and on any failure
    /// the target is left as it was. Run it while no other cafleet process writes (stop
    /// the monitors, relays and the server), as the schema's owner on PostgreSQL
    /// (docs/postgres.md, "Moving a fleet").
    Copy(CopyArgs),
}

/// Options of `db copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The target database's URL (required): postgres://user@host:port/database or
    /// sqlite:////absolute/path/cafleet.db. A password in it is never printed.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
}

/// Runs a `db` subcommand.
pub async fn run(ctx: &Ctx, cmd: DbCommand) -> CliResult {
    match cmd {
        DbCommand::Init => db_init(ctx).await,
        DbCommand::Copy(args) => db_copy(ctx, args).await,
    }
}

async fn db_copy(ctx: &Ctx, args: CopyArgs) -> CliResult {
    let url = need(args.to, "--to")?;
    let source = Config::from_env()?.database_display;
    let broker = ctx.broker().await?;
    let copied = broker.copy_to(&url).await?;
    let (target, copied) = (copied.target, copied.tables);
    let total: i64 = copied.iter().map(|(_, rows)| rows).sum();
    if ctx.json {
        let tables: serde_json::Map<String, serde_json::Value> = copied
            .iter()
            .map(|(table, rows)| ((*table).to_string(), json!(rows)))
            .collect();
        print_json(&json!({
            "from": source,
            "to": target,
            "tables": tables,
            "rows": total,
        }));
        return Ok(());
    }
    let width = copied.iter().map(|(t, _)| t.len()).max().unwrap_or(0);
    let mut text = format!("Copied {total} rows from {source} to {target}:\n");
    for (table, rows) in &copied {
        text.push_str(&format!("  {table:<width$}  {rows:>8}\n"));
    }
    text.push_str("Point CAFLEET_DATABASE_URL at the target to use it.");
    print(&text);
    Ok(())
}

async fn db_init(ctx: &Ctx) -> CliResult {
    let (value, text) = db_init_report().await?;
    if ctx.json {
        print_json(&value);
    } else {
        print(&text);
    }
    Ok(())
}

/// Creates or upgrades the database (`db init`, and `setup`'s database part): the JSON
/// result and the text line.
pub(crate) async fn db_init_report() -> crate::Result<(serde_json::Value, String)> {
    let config = Config::from_env()?;
    let outcome = storage::init(&config.database).await?;
    let head = ALEMBIC_HEAD;
    let display = &config.database_display;
    let (action, from, text) = match &outcome {
        MigrateOutcome::Created => (
            "created",
            None,
            format!("Created {display} and applied migrations to head ({head})."),
        ),
        MigrateOutcome::Unchanged => (
            "unchanged",
            None,
            format!("Already at head ({head}); nothing to do."),
        ),
        MigrateOutcome::Upgraded { from } => (
            "upgraded",
            Some(from.clone()),
            format!("Upgraded from {from} to {head}."),
        ),
        MigrateOutcome::Adopted { from_version } => (
            "adopted",
            None,
            format!(
                "Adopted {display} (revision {head}, schema {from_version}) and applied cafleet's additions; a backup was kept beside it."
            ),
        ),
    };
    let value = json!({
        "path": display,
        "action": action,
        "from": from,
        "head": head,
        "schema_version": storage::latest_version(),
    });
    Ok((value, text))
}
