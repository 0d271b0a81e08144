//! Settings from `CAFLEET_*` environment variables, with 0.14's defaults. No I/O
//! beyond reading the environment.

use crate::{Error, Result};
use std::path::PathBuf;

/// Default truncation limit for message text in outputs and previews.
pub const DEFAULT_MAX_TEXT_LEN: usize = 200;

/// Process-wide settings, read once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The SQLite file.
    pub database_path: PathBuf,
    /// The path as written in the URL (what `db init` prints).
    pub database_display: String,
    /// `CAFLEET_DATABASE_URL` exactly as set, forwarded into member panes.
    pub database_url_env: Option<String>,
    /// Truncation limit in code points (`CAFLEET_MAX_TEXT_LEN`), always positive.
    pub max_text_len: usize,
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
        let url = env_var("CAFLEET_DATABASE_URL");
        let (database_path, database_display) = match url.as_deref() {
            Some(u) => {
                let p = parse_database_url(u)?;
                (PathBuf::from(&p), p)
            }
            None => {
                let p = default_database_path()?;
                let d = p.display().to_string();
                (p, d)
            }
        };
        Ok(Config {
            database_path,
            database_display,
            database_url_env: std::env::var("CAFLEET_DATABASE_URL").ok(),
            max_text_len,
        })
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
    let bad = || {
        Error::invalid(format!(
            "CAFLEET_DATABASE_URL is not a SQLite URL: '{url}'. Use sqlite:////absolute/path/cafleet.db (four slashes) or sqlite:///relative/path.db."
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
        return Err(Error::invalid(
            "database URL has no file path. Set CAFLEET_DATABASE_URL=sqlite:////absolute/path/cafleet.db",
        ));
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
    fn max_text_len_must_be_positive() {
        assert_eq!(parse_max_text_len(None).unwrap(), 200);
        assert_eq!(parse_max_text_len(Some(" 5 ")).unwrap(), 5);
        for bad in ["0", "-2", "abc", "", "1.5"] {
            assert!(parse_max_text_len(Some(bad)).is_err(), "{bad}");
        }
    }
}
