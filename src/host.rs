//! Which host this process runs on, as placements record it (docs/postgres.md, "Hosts and
//! the relay"): `CAFLEET_HOST` when set (a container, or several simulated hosts on one
//! machine), else the machine's host name. A command types only into panes of its own
//! host; the relay of the pane's host types the rest.

use crate::{Error, Result};

/// The longest host identity accepted.
pub const MAX_LEN: usize = 253;

/// The machine's host name (`/proc/sys/kernel/hostname`, then `HOSTNAME`).
pub fn machine_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "localhost".into())
}

/// Whether `raw` can be a host identity: printable, no spaces, at most [`MAX_LEN`] bytes.
fn is_valid(raw: &str) -> bool {
    !raw.is_empty() && raw.len() <= MAX_LEN && raw.chars().all(|c| c.is_ascii_graphic())
}

/// Checks a `CAFLEET_HOST` value (see [`is_valid`]).
pub fn validate(raw: &str) -> Result<String> {
    if is_valid(raw) {
        return Ok(raw.to_string());
    }
    Err(Error::usage(format!(
        "CAFLEET_HOST must be 1-{MAX_LEN} printable ASCII characters without spaces (got {raw:?}). Unset it to use this machine's host name, or set e.g. CAFLEET_HOST=build-box-2."
    )))
}

/// Checks `member create --host` (see [`is_valid`]).
pub fn validate_option(raw: &str) -> Result<String> {
    if is_valid(raw) {
        return Ok(raw.to_string());
    }
    Err(Error::usage(format!(
        "--host must name a host as its relay knows itself: 1-{MAX_LEN} printable ASCII characters without spaces (got {raw:?}), e.g. --host build-box-2."
    )))
}

/// This process's host identity: `CAFLEET_HOST` (checked) or the machine's name.
pub fn from_env() -> Result<String> {
    match crate::config::env_var("CAFLEET_HOST") {
        Some(raw) => validate(&raw),
        None => Ok(machine_name()),
    }
}

/// The identity without the check, for places that cannot report an error (a bad
/// `CAFLEET_HOST` then falls back to the machine's name; commands refuse it first).
pub fn current() -> String {
    from_env().unwrap_or_else(|_| machine_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_identity_is_one_printable_word() {
        assert_eq!(validate("build-box-2").unwrap(), "build-box-2");
        assert!(validate("").is_err());
        assert!(validate("two words").is_err());
        assert!(validate("esc\u{1b}[1m").is_err());
        assert!(validate(&"h".repeat(MAX_LEN + 1)).is_err());
        let option = validate_option("two words").unwrap_err().to_string();
        assert!(option.starts_with("--host must"), "{option}");
    }
}
