//! Settings from `CAFLEET_*` environment variables, with 0.14's defaults. No I/O
//! beyond reading the environment.

use crate::{Error, Result};
use std::path::PathBuf;

/// Default truncation limit for message text in outputs and previews.
pub const DEFAULT_MAX_TEXT_LEN: usize = 200;

/// Where the database is: the backend is chosen by `CAFLEET_DATABASE_URL`'s scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file (`sqlite:…` URLs, and the default path).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…` or `postgresql://…`; the URL as given, with
    /// any `+driver` suffix of the scheme dropped).
    Postgres(String),
}

impl Database {
    /// The SQLite file, if this is one.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match self {
            Database::Sqlite(p) => Some(p),
            Database::Postgres(_) => None,
        }
    }

    /// Reads a `CAFLEET_DATABASE_URL` value (see [`parse_database_url`]).
    pub fn from_url(url: &str) -> Result<Database> {
        Database::from_setting(url, DATABASE_URL)
    }

    /// Reads a database URL given by `setting` (`CAFLEET_DATABASE_URL`, or an option such
    /// as `db copy --to`), whose name the errors give.
    pub fn from_setting(url: &str, setting: &str) -> Result<Database> {
        if let Some((scheme, rest)) = url.split_once("://") {
            let base = scheme.split('+').next().unwrap_or_default();
            if base.eq_ignore_ascii_case("postgres") || base.eq_ignore_ascii_case("postgresql") {
                return Ok(Database::Postgres(format!("postgres://{rest}")));
            }
        }
        sqlite_path(url, setting).map(|p| Database::Sqlite(PathBuf::from(p)))
    }

    /// The database for messages: the SQLite path as given, or PostgreSQL's
    /// `user@host:port/database` (never a password).
    pub fn display(&self) -> String {
        match self {
            Database::Sqlite(p) => p.display().to_string(),
            Database::Postgres(url) => pg_display(url),
        }
    }
}

/// The environment variable that selects the database.
pub const DATABASE_URL: &str = "CAFLEET_DATABASE_URL";

/// Process-wide settings, read once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The database.
    pub database: Database,
    /// The database as `db init` names it: the SQLite path as written in the URL, or
    /// PostgreSQL's `user@host:port/database` (never a password).
    pub database_display: String,
    /// `CAFLEET_DATABASE_URL` exactly as set, forwarded into member panes.
    pub database_url_env: Option<String>,
    /// Truncation limit in code points (`CAFLEET_MAX_TEXT_LEN`), always positive.
    pub max_text_len: usize,
    /// The host this process runs on (`CAFLEET_HOST`, else the host name; see
    /// [`crate::host`]).
    pub host: String,
}

/// Reads a `CAFLEET_*` variable; the exact upper-case name wins, then any case (as 0.14).
pub fn env_var(name: &str) -> Option<String> {
    if let Ok(v) = std::env::var(name) {
        return Some(v);
    }
    std::env::vars().find_map(|(k, v)| k.eq_ignore_ascii_case(name).then_some(v))
}

impl Config {
    /// Reads the environment. Fails with a clear message on a bad URL or limit.
    pub fn from_env() -> Result<Self> {
        let max_text_len = parse_max_text_len(env_var("CAFLEET_MAX_TEXT_LEN").as_deref())?;
        let host = crate::host::from_env()?;
        let url = env_var("CAFLEET_DATABASE_URL");
        let database = match url.as_deref() {
            Some(u) => Database::from_url(u)?,
            None => Database::Sqlite(default_database_path()?),
        };
        let database_display = database.display();
        Ok(Config {
            database,
            database_display,
            database_url_env: std::env::var("CAFLEET_DATABASE_URL").ok(),
            max_text_len,
            host,
        })
    }
}

/// `url` with the password of its user info (`user:password@`), if any, replaced.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}

/// A PostgreSQL URL as messages name it: without its password, query or scheme.
fn pg_display(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split('?').next().unwrap_or_default();
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{user}@{host}")
        }
        None => rest.to_string(),
    }
}

/// `~/.local/share/cafleet/cafleet.db`, whatever `XDG_DATA_HOME` says: that is where
/// CAFleet 0.14 keeps its database, which must be found to be adopted, and a member pane
/// whose tmux server has another environment must reach the same file (docs/decisions.md,
/// S1 and C3).
pub fn default_database_path() -> Result<PathBuf> {
    let home = std::env::var_os("HOME").filter(|v| !v.is_empty()).ok_or_else(|| {
        Error::invalid(
            "HOME is not set, so the default database path is unknown. Set CAFLEET_DATABASE_URL=sqlite:////absolute/path/cafleet.db",
        )
    })?;
    Ok(PathBuf::from(home).join(".local/share/cafleet/cafleet.db"))
}

/// Parses `CAFLEET_MAX_TEXT_LEN`: a positive integer, surrounding whitespace tolerated
/// (docs/decisions.md, L4).
pub fn parse_max_text_len(raw: Option<&str>) -> Result<usize> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_MAX_TEXT_LEN);
    };
    match raw.trim().parse::<i64>() {
        Ok(n) if n > 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(Error::invalid(format!(
            "CAFLEET_MAX_TEXT_LEN must be a positive integer (got '{raw}'). Unset it for the default of {DEFAULT_MAX_TEXT_LEN}, or set e.g. CAFLEET_MAX_TEXT_LEN=500."
        ))),
    }
}

/// Extracts the file path from an SQLAlchemy-style SQLite URL, as 0.14 reads it:
/// `sqlite:////abs.db` is absolute, `sqlite:///rel.db` relative; any `+driver` is ignored.
pub fn parse_database_url(url: &str) -> Result<String> {
    sqlite_path(url, DATABASE_URL)
}

/// [`parse_database_url`] of a URL given by `setting`, whose name the errors give.
fn sqlite_path(url: &str, setting: &str) -> Result<String> {
    let bad = || {
        Error::invalid(format!(
            "{setting} is not a SQLite or PostgreSQL URL: '{}'. Use sqlite:////absolute/path/cafleet.db (four slashes), sqlite:///relative/path.db or postgres://user@host/database.",
            without_password(url)
        ))
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let base = scheme.split('+').next().unwrap_or_default();
    if !base.eq_ignore_ascii_case("sqlite") {
        return Err(bad());
    }
    let rest = rest.split('?').next().unwrap_or_default();
    let path = rest.strip_prefix('/').unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        return Err(Error::invalid(format!(
            "database URL has no file path. Set {setting}=sqlite:////absolute/path/cafleet.db"
        )));
    }
    Ok(path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_shapes() {
        assert_eq!(
            parse_database_url("sqlite:////abs/x.db").unwrap(),
            "/abs/x.db"
        );
        assert_eq!(
            parse_database_url("sqlite:///rel/x.db").unwrap(),
            "rel/x.db"
        );
        assert_eq!(
            parse_database_url("sqlite+aiosqlite:////x.db").unwrap(),
            "/x.db"
        );
        assert!(parse_database_url("sqlite://").is_err());
        assert!(parse_database_url("not a url").is_err());
        assert!(parse_database_url("postgres://x/y").is_err());
    }

    #[test]
    fn the_scheme_picks_the_backend() {
        assert_eq!(
            Database::from_url("sqlite:////abs/x.db").unwrap(),
            Database::Sqlite(PathBuf::from("/abs/x.db"))
        );
        for url in [
            "postgres://u@h/d",
            "postgresql://u@h/d",
            "postgresql+psycopg://u@h/d",
            "POSTGRES://u@h/d",
        ] {
            assert_eq!(
                Database::from_url(url).unwrap(),
                Database::Postgres("postgres://u@h/d".into()),
                "{url}"
            );
        }
        let e = Database::from_url("mysql://u:pw@h/d")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'mysql://u:***@h/d'"), "{e}");
        assert_eq!(
            pg_display("postgres://u:s3cret@h:5433/d?sslmode=require"),
            "u@h:5433/d"
        );
        assert_eq!(pg_display("postgres://h/d"), "h/d");
    }

    #[test]
    fn a_url_given_by_an_option_is_refused_naming_it_and_shown_without_its_password() {
        let e = Database::from_setting("mysql://u:pw@h/d", "--to")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--to is not a SQLite or PostgreSQL URL: 'mysql://u:***@h/d'"),
            "{e}"
        );
        let e = Database::from_setting("sqlite://", "--to")
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("Set --to=sqlite:////absolute/path/cafleet.db"),
            "{e}"
        );
        let pg = Database::from_setting("postgresql://u:s3cret@h:5433/d?sslmode=require", "--to");
        assert_eq!(pg.unwrap().display(), "u@h:5433/d");
        assert_eq!(
            Database::from_url("sqlite:///rel/x.db").unwrap().display(),
            "rel/x.db"
        );
    }

    #[test]
    fn max_text_len_must_be_positive() {
        assert_eq!(parse_max_text_len(None).unwrap(), 200);
        assert_eq!(parse_max_text_len(Some(" 5 ")).unwrap(), 5);
        for bad in ["0", "-2", "abc", "", "1.5"] {
            assert!(parse_max_text_len(Some(bad)).is_err(), "{bad}");
        }
    }
}
