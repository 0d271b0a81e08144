//! Many processes at once on one database file: nothing lost, nobody fails. (32 processes x
//! 200 sends beside pollers, a monitor and the server: `load.rs`.)

use crate::support::*;
use std::sync::{Arc, Barrier};

#[test]
fn thirty_two_processes_starting_on_a_fresh_database_all_succeed() {
    let env = Arc::new(Env::new());
    assert!(!env.db_path.exists());
    let barrier = Arc::new(Barrier::new(32));
    let workers: Vec<_> = (0..32)
        .map(|i| {
            let env = Arc::clone(&env);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let args: &[&str] = if i % 2 == 0 {
                    &["fleet", "list"]
                } else {
                    &["db", "init"]
                };
                env.run(args)
            })
        })
        .collect();
    for w in workers {
        let out = w.join().unwrap();
        assert!(
            out.status.success(),
            "first use failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (version, head) = env.schema_version();
    assert_eq!(version, head);
    if !on_pg() {
        assert_eq!(
            env.query("SELECT version_num FROM alembic_version"),
            vec![vec!["0005".to_string()]]
        );
        assert_eq!(env.query("PRAGMA journal_mode")[0][0], "wal");
    }
}

/// Two first commands racing to switch a new file to WAL: SQLite answers the loser with an
/// immediate "busy" that skips the busy timeout, so the switch must be retried (without the
/// retry about one round in two fails, hence 20 rounds).
#[test]
fn two_first_commands_racing_on_new_databases_both_succeed_every_round() {
    for round in 0..20 {
        let env = Arc::new(Env::new());
        let barrier = Arc::new(Barrier::new(2));
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let env = Arc::clone(&env);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let mut cmd = env.std_cmd();
                    cmd.args(["db", "init"]);
                    barrier.wait();
                    cmd.output().expect("run cafleet")
                })
            })
            .collect();
        for r in racers {
            let out = r.join().unwrap();
            assert!(
                out.status.success(),
                "round {round}: first use failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if !on_pg() {
            assert_eq!(env.query("PRAGMA journal_mode")[0][0], "wal");
        }
        let (version, head) = env.schema_version();
        assert_eq!(version, head);
    }
}
