//! The library's typed error. Every variant carries the exact user-facing message, 0.14's
//! wherever 0.14 has one (docs/decisions.md, C1); the CLI decides the exit code and banner
//! from the variant.

use std::fmt;

/// Convenience alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors raised by the broker, the database layer and the tmux driver.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A runtime error the user can fix (exit 1, `Error: <msg>`).
    #[error("{0}")]
    Runtime(String),
    /// An error 0.14 classes as a usage error (exit 2, with the Usage/Try banner;
    /// docs/decisions.md, L7).
    #[error("{0}")]
    Usage(String),
    /// The database stayed locked by other writers beyond the busy timeout.
    #[error(
        "the database is busy: other cafleet processes kept it locked (a command waits up to {0} seconds for its turn). Retry the command; if it keeps failing, look for a stuck cafleet process (e.g. with `ps`)."
    )]
    Busy(u64),
    /// Any other database failure; the detail is SQLite's message, never SQL text.
    #[error(
        "database error: {0}. Check the file CAFLEET_DATABASE_URL names (run 'cafleet db init' to see its state) and retry."
    )]
    Db(String),
    /// A tmux invocation failed (0.14's exact texts).
    #[error("{0}")]
    Tmux(#[from] TmuxError),
}

/// SQLite's primary result codes for "locked by someone else".
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;

/// The busy timeout every connection uses, in seconds (see `db::open`).
pub const BUSY_TIMEOUT_SECS: u64 = 30;

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            let code = db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .map(|c| c & 0xff);
            if matches!(code, Some(SQLITE_BUSY | SQLITE_LOCKED)) {
                return Error::Busy(BUSY_TIMEOUT_SECS);
            }
            return Error::Db(db.message().to_string());
        }
        Error::Db(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Error::Db(format!("migration failed: {e}"))
    }
}

impl Error {
    /// A runtime error (exit 1).
    pub fn runtime(msg: impl Into<String>) -> Self {
        Self::Runtime(msg.into())
    }

    /// A usage error (exit 2 with banner).
    pub fn usage(msg: impl Into<String>) -> Self {
        Self::Usage(msg.into())
    }
}

/// A failed tmux call, with 0.14's message texts (docs/decisions.md, C1).
#[derive(Debug, Clone, PartialEq)]
pub enum TmuxError {
    /// The `tmux` executable could not be started.
    NotFound(String),
    /// The call did not finish within its timeout (docs/decisions.md, K5).
    Timeout {
        /// Seconds waited.
        seconds: f64,
        /// The argv, joined by spaces.
        argv: String,
    },
    /// tmux exited non-zero.
    Failed {
        /// The argv, joined by spaces.
        argv: String,
        /// tmux's stderr, stripped.
        stderr: String,
    },
    /// A caller-side refusal (bad argument, unsafe target) before tmux ran.
    Refused(String),
}

impl TmuxError {
    /// "Pane gone": tmux said the pane does not exist.
    pub fn is_pane_gone(&self) -> bool {
        match self {
            TmuxError::Failed { stderr, .. } => {
                let s = stderr.to_lowercase();
                s.contains("can't find pane") || s.contains("no such pane")
            }
            _ => false,
        }
    }
}

impl fmt::Display for TmuxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TmuxError::NotFound(e) => write!(f, "tmux binary not found: {e}"),
            TmuxError::Timeout { seconds, argv } => {
                write!(f, "tmux command timed out after {seconds}s: {argv}")
            }
            TmuxError::Failed { argv, stderr } => {
                write!(f, "tmux command failed: {argv}\nstderr: {stderr}")
            }
            TmuxError::Refused(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for TmuxError {}
