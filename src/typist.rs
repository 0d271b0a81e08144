//! One typist per pane: every process that types into a pane (a sender's preview, the
//! monitor's wake line, a Director's steering command) first takes an exclusive lock on a
//! file named after the pane, so two key sequences never interleave. The lock is an OS
//! file lock (flock), released when the holder drops it or dies, so a killed process can
//! never leave a pane locked. docs/real-agents.md has why interleaving matters.

use crate::model::PaneTarget;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::time::Duration;

/// How long a typist waits for a pane before giving up (a key sequence takes well under a
/// second, up to ~8 s when the agent is slow to take submitted text; this only bounds a
/// stuck holder).
pub const WAIT: Duration = Duration::from_secs(30);
/// How often a waiting typist retries.
const RETRY: Duration = Duration::from_millis(5);

/// The held lock of one pane; dropping it releases the pane.
#[derive(Debug)]
pub struct Typist {
    _file: File,
}

impl Typist {
    /// Waits (up to [`WAIT`]) until this process is the pane's only typist.
    pub async fn acquire(target: &PaneTarget) -> Result<Typist, String> {
        let path = lock_path(target);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                format!(
                    "cannot create the typist lock directory {}: {e}",
                    dir.display()
                )
            })?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot open the typist lock {}: {e}", path.display()))?;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Typist { _file: file }),
                Err(TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(RETRY).await;
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(format!(
                        "another process kept typing into pane {} for {} s",
                        target.pane_id,
                        WAIT.as_secs()
                    ));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(format!("cannot lock {}: {e}", path.display()));
                }
            }
        }
    }
}

/// `<temp dir>/cafleet-typist-<uid>/<socket path, flattened>@<pane>.lock`: one name per
/// pane of one tmux server, the same for every process of this user on this host.
pub fn lock_path(target: &PaneTarget) -> PathBuf {
    let flat: String = target
        .socket
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let pane: String = target
        .pane_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let user = nix::unistd::getuid();
    std::env::temp_dir()
        .join(format!("cafleet-typist-{user}"))
        .join(format!("{flat}@{pane}.lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(pane: &str) -> PaneTarget {
        PaneTarget::local("/tmp/tmux-0/default", pane)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_pane_has_one_typist_at_a_time_and_is_free_again_after_drop() {
        let first = Typist::acquire(&target("%901")).await.unwrap();
        // Another pane is independent.
        let other = Typist::acquire(&target("%902")).await.unwrap();
        // A second open file description on the same pane must wait.
        let file = OpenOptions::new()
            .write(true)
            .open(lock_path(&target("%901")))
            .unwrap();
        assert!(matches!(file.try_lock(), Err(TryLockError::WouldBlock)));
        drop(first);
        assert!(file.try_lock().is_ok());
        drop(other);
    }

    #[test]
    fn lock_names_differ_per_server_and_pane() {
        let a = lock_path(&target("%1"));
        let b = lock_path(&PaneTarget::local("/tmp/other/sock", "%1"));
        assert_ne!(a, b);
        assert_ne!(a, lock_path(&target("%2")));
        assert!(a.to_string_lossy().ends_with("_tmp_tmux-0_default@1.lock"));
    }
}
