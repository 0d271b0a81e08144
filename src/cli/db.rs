//! `cafleet db init`: arguments and handler, and the report `setup` shares.

use super::output::{print, print_json};
use super::{CliResult, Ctx};
use crate::broker::storage::{self, ALEMBIC_HEAD, MigrateOutcome};
use crate::config::Config;
use clap::Subcommand;
use serde_json::json;

/// `cafleet db ...`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the database (and its directory) or upgrade it to the current schema.
    /// Idempotent. A database written by CAFleet 0.14 is adopted in place, after a backup.
    Init,
}

/// Runs a `db` subcommand.
pub async fn run(ctx: &Ctx, cmd: DbCommand) -> CliResult {
    match cmd {
        DbCommand::Init => db_init(ctx).await,
    }
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
