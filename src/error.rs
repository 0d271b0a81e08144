//! The library's typed error: one enum of failure kinds, each carrying the exact user-facing
//! text, 0.14's wherever 0.14 has one (docs/decisions.md, C1). The CLI maps it to exit codes
//! ([`Error::exit_code`]) and the HTTP API to statuses (`web::error`), each in one place.

use std::fmt;

/// Convenience alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure the library reports, by kind. `Display` is the exact text the user sees
/// (0.14's wherever 0.14 has one); [`Error::exit_code`] is the CLI's one mapping to exit
/// codes and `web::error` holds the API's one mapping to HTTP statuses
/// (docs/ARCHITECTURE.md, "Errors").
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Something the caller named does not exist, or not where it was looked for (an agent of
    /// another fleet, a task, a placement, a pane).
    #[error("{0}")]
    NotFound(String),
    /// The caller exists but may not do this (Director-only commands, the Administrator's
    /// protections, a retired agent acting, another agent's message).
    #[error("{0}")]
    Forbidden(String),
    /// A value the user gave is not acceptable: blank text, bad JSON, a bad environment
    /// variable, an unreadable prompt file.
    #[error("{0}")]
    Invalid(String),
    /// The request clashes with the current state: an idempotency key used for another
    /// message, a task no longer open, a second monitoring member.
    #[error("{0}")]
    Conflict(String),
    /// An error 0.14 classes as a usage error: the CLI prints the Usage/Try banner and exits
    /// 2 (docs/decisions.md, L7).
    #[error("{0}")]
    Usage(String),
    /// The operation could not be carried out: no tmux, a pane that would not take the
    /// keystrokes, a file that could not be written, a rolled-back member.
    #[error("{0}")]
    Failed(String),
    /// The database stayed locked by other writers beyond the busy timeout.
    #[error(
        "the database is busy: other cafleet processes kept it locked (a command waits up to {0} seconds for its turn). Retry the command; if it keeps failing, look for a stuck cafleet process (e.g. with `ps`)."
    )]
    Busy(u64),
    /// Any other database failure; the detail is SQLite's message, never SQL text.
    #[error(
        "database error: {0}. Check the file CAFLEET_DATABASE_URL names (run 'cafleet db init' to see its state) and retry."
    )]
    Storage(String),
    /// The connection to a database server was lost or refused mid-command (a PostgreSQL
    /// restart, a network cut); nothing this command had not committed was stored.
    #[error(
        "lost the connection to the database ({0}). The server may be restarting or unreachable: retry the command once it is back (a message sent again with the same --idempotency-key is never stored twice)."
    )]
    Disconnected(String),
    /// A tmux invocation failed (0.14's exact texts).
    #[error("{0}")]
    Tmux(#[from] TmuxError),
    /// Already reported on stderr (or a deliberate quiet failure): the CLI exits with this
    /// code and prints nothing more.
    #[error("exit status {0}")]
    Exit(i32),
}

/// The busy timeout every connection uses, in seconds (see `db::open`).
pub const BUSY_TIMEOUT_SECS: u64 = 30;

impl Error {
    /// [`Error::NotFound`].
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::NotFound(msg.into())
    }

    /// [`Error::Forbidden`].
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::Forbidden(msg.into())
    }

    /// [`Error::Invalid`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::Invalid(msg.into())
    }

    /// [`Error::Conflict`].
    pub fn conflict(msg: impl Into<String>) -> Self {
        Self::Conflict(msg.into())
    }

    /// [`Error::Usage`].
    pub fn usage(msg: impl Into<String>) -> Self {
        Self::Usage(msg.into())
    }

    /// [`Error::Failed`].
    pub fn failed(msg: impl Into<String>) -> Self {
        Self::Failed(msg.into())
    }

    /// The CLI's exit code: 2 for a usage error (with the banner), the given code for an
    /// already reported failure, 1 for everything else (`Error: <text>`).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Exit(code) => *code,
            _ => 1,
        }
    }

    /// The same error again, for each waiter of a shared failure (errors are not `Clone`:
    /// a storage or busy error keeps its kind, anything else becomes a storage error).
    pub fn again(&self) -> Error {
        match self {
            Error::Busy(secs) => Error::Busy(*secs),
            Error::Storage(msg) => Error::Storage(msg.clone()),
            Error::Disconnected(msg) => Error::Disconnected(msg.clone()),
            other => Error::Storage(other.to_string()),
        }
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
