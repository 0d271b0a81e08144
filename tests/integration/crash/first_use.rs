//! Scenario 4: first use killed midway (creating a fresh database; adopting an old one).

use super::*;

/// The schema as SQLite records it, for comparing a killed-then-rerun migration with a
/// clean one.
fn schema(path: &Path) -> Vec<Vec<String>> {
    query_db(
        path,
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )
}

#[test]
fn first_use_killed_midway_leaves_a_database_the_next_command_completes() {
    let started = Instant::now();
    let seed = seed("first_use_killed_midway_leaves_a_database_the_next_command_completes");
    let mut rng = Rng::new(seed);
    let rounds = env_count("CAFLEET_CRASH_MIGRATION_KILLS", 12);
    let clean = Env::new();
    must(&clean, &words("db init"));
    let want = schema(&clean.db_path);
    let mut kills = 0;
    for round in 0..rounds {
        let env = Env::new();
        // Three processes meet a missing file at once; each is killed somewhere in start-up.
        let dir = scratch(&env, "first");
        let children: Vec<_> = (0..3)
            .map(|i| {
                let (out, err) = (dir.join(format!("{i}.out")), dir.join(format!("{i}.err")));
                let args = if i == 0 { "db init" } else { "fleet list" };
                (spawn(&env, &words(args), &out, &err), rng.delay(100))
            })
            .collect();
        let t0 = Instant::now();
        for (mut child, at) in children {
            std::thread::sleep(at.saturating_sub(t0.elapsed()));
            let _ = child.kill();
            kills += u64::from(child.wait().expect("wait").signal() == Some(9));
        }
        let out = must(&env, &words("db init"));
        assert!(
            out.starts_with("Created ") || out.starts_with("Already at head"),
            "round {round}: {out}"
        );
        must(&env, &words("fleet list"));
        assert_eq!(schema(&env.db_path), want, "round {round}: schema differs");
        assert_eq!(
            env.query("PRAGMA integrity_check"),
            vec![vec!["ok".to_string()]]
        );
    }
    eprintln!(
        "crash::first_use_killed_midway_leaves_a_database_the_next_command_completes: {kills} kills over {rounds} fresh databases; {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// A CAFleet 0.14 database padded to tens of MB, so that backing it up and migrating it
/// take long enough to be interrupted.
fn big_old_database(dir: &Path) -> PathBuf {
    let path = dir.join("old.db");
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference-0.14.db");
    std::fs::copy(fixture, &path).expect("copy fixture");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    query_db(
        &path,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000) \
         INSERT INTO tasks (context_id, from_agent_id, to_agent_id, type, created_at, status_state, status_timestamp, origin_task_id, text) \
         SELECT 1, 1, 1, 'unicast', '2026-11-24T12:22:28.939428+00:00', 'completed', '2026-11-24T12:22:28.939428+00:00', NULL, 'padding ' || i || ' ' || hex(randomblob(120)) FROM n",
    );
    path
}

/// What must survive adoption: every task, byte for byte (summarised).
fn tasks_digest(path: &Path) -> Vec<Vec<String>> {
    query_db(
        path,
        "SELECT count(*), max(task_id), sum(length(text)), sum(unicode(substr(text, -1))) FROM tasks",
    )
}

#[test]
fn adoption_killed_midway_keeps_every_row_and_a_complete_backup() {
    let started = Instant::now();
    let seed = seed("adoption_killed_midway_keeps_every_row_and_a_complete_backup");
    let mut rng = Rng::new(seed);
    let rounds = env_count("CAFLEET_CRASH_MIGRATION_KILLS", 4);
    let base = Env::new();
    let old = big_old_database(base.dir.path());
    let digest = tasks_digest(&old);
    let mut bad = Vec::new();
    for round in 0..rounds {
        let env = Env::new();
        std::fs::create_dir_all(env.db_path.parent().unwrap()).unwrap();
        std::fs::copy(&old, &env.db_path).unwrap();
        let backup = PathBuf::from(format!("{}.bak-schema0", env.db_path.display()));
        let dir = scratch(&env, "adopt");
        let mut child = spawn(&env, &words("db init"), &dir.join("out"), &dir.join("err"));
        // Half the rounds aim at the backup being written, the rest anywhere in the first
        // two seconds (backup, migration, or after).
        if rng.chance(50) {
            wait_for(Duration::from_secs(30), || backup.exists());
            std::thread::sleep(rng.delay(40));
        } else {
            std::thread::sleep(rng.delay(2000));
        }
        let _ = child.kill();
        let killed = child.wait().expect("wait").signal() == Some(9);
        let rerun = run_killing(&env, &words("db init"), None, &dir);
        let backup_digest = backup
            .exists()
            .then(|| std::panic::catch_unwind(|| tasks_digest(&backup)).map_err(|_| "unreadable"));
        // A copy cut off by the kill is left under a temporary name, never as the backup,
        // and the next run clears it away.
        let leftovers: Vec<String> = std::fs::read_dir(env.db_path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains(".tmp-"))
            .collect();
        let report = format!(
            "round {round} (killed: {killed}): rerun {:?} {:?}; backup {:?} bytes, digest {backup_digest:?}, leftovers {leftovers:?}",
            rerun.code,
            rerun.stdout.trim(),
            std::fs::metadata(&backup).map(|m| m.len()).ok()
        );
        eprintln!("crash: adoption {report}");
        if rerun.code != Some(0)
            || tasks_digest(&env.db_path) != digest
            || env.query("PRAGMA integrity_check") != vec![vec!["ok".to_string()]]
            || backup_digest != Some(Ok(digest.clone()))
            || !leftovers.is_empty()
        {
            bad.push(report);
        }
    }
    eprintln!(
        "crash::adoption_killed_midway_keeps_every_row_and_a_complete_backup: {rounds} rounds; {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        bad.is_empty(),
        "original digest {digest:?}:\n{}",
        bad.join("\n")
    );
}
