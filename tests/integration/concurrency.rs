//! Many processes at once on one database file: nothing lost, nobody fails.

use crate::support::*;
use std::sync::{Arc, Barrier};

#[test]
fn thirty_two_processes_sending_two_hundred_messages_each_lose_nothing() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    // Pane-less sender and recipient, so the run measures the database, not tmux pauses.
    for name in ["sender", "receiver"] {
        env.ok(&[
            "agent",
            "register",
            "--fleet-id",
            "1",
            "--name",
            name,
            "--description",
            "load",
        ]);
    }
    let env = Arc::new(env);
    let barrier = Arc::new(Barrier::new(32));
    let workers: Vec<_> = (0..32)
        .map(|w| {
            let env = Arc::clone(&env);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let mut ids = Vec::with_capacity(200);
                for i in 0..200 {
                    let text = format!("worker {w} message {i}");
                    let out = env.run(&[
                        "message",
                        "send",
                        "--fleet-id",
                        "1",
                        "--agent-id",
                        "3",
                        "--to",
                        "4",
                        "--text",
                        &text,
                        "--quiet",
                    ]);
                    assert!(
                        out.status.success(),
                        "send failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    ids.push(
                        String::from_utf8(out.stdout)
                            .unwrap()
                            .trim()
                            .parse::<i64>()
                            .unwrap(),
                    );
                }
                ids
            })
        })
        .collect();
    let mut printed: Vec<i64> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    printed.sort_unstable();
    printed.dedup();
    assert_eq!(printed.len(), 6400, "every send printed a distinct id");
    let rows =
        env.query("SELECT count(*), count(DISTINCT text) FROM tasks WHERE from_agent_id = 3");
    assert_eq!(rows, vec![vec!["6400".to_string(), "6400".to_string()]]);
    let polled = env.json(&["message", "poll", "--fleet-id", "1", "--agent-id", "4"]);
    assert_eq!(polled.as_array().unwrap().len(), 6400);
    assert_eq!(
        env.query("PRAGMA integrity_check"),
        vec![vec!["ok".to_string()]]
    );
}

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
                    &["agent", "list", "--fleet-id", "1"]
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
    assert_eq!(env.query("PRAGMA user_version")[0][0], "6");
    assert_eq!(
        env.query("SELECT version_num FROM alembic_version"),
        vec![vec!["0005".to_string()]]
    );
    assert_eq!(env.query("PRAGMA journal_mode")[0][0], "wal");
}
