//! The CLI sweep: every case of `cli_cases` refused exactly and the same as for an id that
//! does not exist, nothing changed anywhere, and reads of one's own fleet that show nothing
//! of the other.

use super::*;

/// Replaces the number `from` (not part of a longer number) by `to`.
fn swap_id(text: &str, from: i64, to: i64) -> String {
    let needle = from.to_string();
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(&needle) {
        let before = rest[..i].chars().last();
        let after = rest[i + needle.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(|c| c.is_ascii_digit()) || after.is_some_and(|c| c.is_ascii_digit()) {
            out.push_str(&needle);
        } else {
            out.push_str(&to.to_string());
        }
        rest = &rest[i + needle.len()..];
    }
    out.push_str(rest);
    out
}

/// Index of the value in id position `pos` (`--member-id`, or `FLEET_ID` after the command).
fn position_index(args: &[String], pos: &str) -> usize {
    if pos.starts_with("--") {
        args.iter()
            .rposition(|a| a == pos)
            .map_or_else(|| panic!("{args:?} has no {pos}"), |i| i + 1)
    } else {
        2
    }
}

fn ghost_for(pos: &str) -> i64 {
    match pos {
        "--fleet-id" | "FLEET_ID" => GHOST_FLEET,
        "--task-id" => GHOST_TASK,
        _ => GHOST_AGENT,
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs one case and checks its answer and that nothing changed.
fn check_case(w: &World, c: &Case, baseline: &Snapshot) -> String {
    let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
    let label = format!("cafleet {} (as {:?})", c.args.join(" "), c.who);
    let out = w.run(c.who, &args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    match &c.expect {
        Expect::Refused(code, msg) => {
            assert_eq!(
                out.status.code(),
                Some(*code),
                "{label}: exit code\nstdout: {stdout}\nstderr: {stderr}"
            );
            assert!(
                stderr.ends_with(&format!("Error: {msg}\n")),
                "{label}: expected 'Error: {msg}'\nstderr: {stderr}"
            );
            assert_eq!(stdout, "", "{label}: a refusal prints nothing on stdout");
        }
    }
    assert_unchanged(baseline, &w.snapshot(), &label);
    stderr
}

/// The sweep over every CLI command: each refusal exact, each refusal the same as for an id
/// that does not exist, and nothing changed anywhere.
#[test]
fn cli_refuses_every_id_of_another_fleet_and_changes_nothing() {
    let started = Instant::now();
    let w = World::new();
    let setup = started.elapsed();
    // Identical layouts: the same pane ids exist on both servers, so a keystroke sent to the
    // right pane id on the wrong server would land in the other fleet's pane
    // (docs/decisions.md, K3).
    assert_eq!(w.a.m1_pane, w.b.m1_pane);
    assert_eq!(w.a.director_pane, w.b.director_pane);

    let tree = command_tree(&w.env);
    let cases = cli_cases(&w);

    // Coverage first (cheap): every id position of every command holds a foreign id in some
    // case; every command without one is listed with its reason.
    let mut covered: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in &cases {
        let cmd = command_of(&tree, &c.args);
        for p in &c.foreign {
            assert!(
                tree[&cmd].contains(*p),
                "{cmd}: the sweep tags {p}, which --help does not list as an id position"
            );
            covered
                .entry(cmd.clone())
                .or_default()
                .insert(p.to_string());
        }
    }
    let no_id: BTreeMap<&str, &str> = NO_ID_COMMANDS.iter().copied().collect();
    let mut missing = Vec::new();
    for (cmd, ids) in &tree {
        if ids.is_empty() {
            if !no_id.contains_key(cmd.as_str()) {
                missing.push(format!("{cmd}: new command with no id position; list it"));
            }
            continue;
        }
        for id in ids {
            if !covered.get(cmd).is_some_and(|s| s.contains(id)) {
                missing.push(format!("{cmd} {id}"));
            }
        }
    }
    for cmd in no_id.keys() {
        if !tree.get(*cmd).is_some_and(BTreeSet::is_empty) {
            missing.push(format!(
                "{cmd}: listed as having no id position, but it has one or is gone"
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "the isolation sweep does not cover:\n  {}",
        missing.join("\n  ")
    );

    let baseline = w.snapshot();
    let mut runs = 0;
    let mut positions = BTreeSet::new();
    for c in &cases {
        let stderr = check_case(&w, c, &baseline);
        runs += 1;
        let cmd = command_of(&tree, &c.args);
        for p in &c.foreign {
            positions.insert(format!("{cmd} {p}"));
        }
        if !c.ghost {
            continue;
        }
        // The same call with an id that exists nowhere: the same answer.
        let pos = c.foreign[0];
        let i = position_index(&c.args, pos);
        let real: i64 = c.args[i].parse().unwrap();
        let ghost = ghost_for(pos);
        if real == ghost {
            continue;
        }
        let mut args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let ghost_text = ghost.to_string();
        args[i] = &ghost_text;
        let out = w.run(c.who, &args);
        runs += 1;
        let label = format!("cafleet {} (as {:?})", args.join(" "), c.who);
        assert_eq!(
            swap_id(&text(&out.stderr), ghost, real),
            stderr,
            "{label}: another fleet's id {real} is answered differently from the unknown id {ghost}"
        );
        let Expect::Refused(code, _) = c.expect;
        assert_eq!(out.status.code(), Some(code), "{label}");
        assert_unchanged(&baseline, &w.snapshot(), &label);
    }

    // Reads of one's own fleet show nothing of the other one, and change nothing but the
    // seen marks of the polls: each of A's deliveries a poll below shows for the first time
    // is marked seen (with its change_log row). B's deliveries stay exactly as they were.
    let polled_agents = [w.a.r1, w.a.r2, w.a.m1, w.a.director];
    let agent_list = polled_agents.map(|a| a.to_string()).join(", ");
    let marked: BTreeSet<i64> = w
        .env
        .query(&format!(
            "SELECT task_id FROM tasks WHERE context_id IN ({agent_list}) AND status_state = 'input_required' AND type = 'unicast' AND delivery_state <> 'seen'"
        ))
        .iter()
        .map(|r| r[0].parse().unwrap())
        .collect();
    for id in [w.a.pending, w.a.to_member, w.a.bcast_delivery, w.a.nudge] {
        assert!(
            marked.contains(&id),
            "task {id} is not pending for a polled agent"
        );
    }
    let since = w.env.query("SELECT max(status_timestamp) FROM tasks")[0][0].clone();
    let tasks_before = split_tasks(&w.env);
    let b_agents = w.b.agents();
    let a_sent: BTreeSet<i64> = w
        .env
        .query(&format!(
            "SELECT task_id FROM tasks WHERE from_agent_id IN (SELECT agent_id FROM agents WHERE fleet_id = {})",
            w.a.fleet
        ))
        .iter()
        .map(|r| r[0].parse().unwrap())
        .collect();
    let ids_of = |v: &Value, key: &str| -> BTreeSet<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| as_i64(&x[key]))
            .collect()
    };
    let fa = w.a.fleet.to_string();
    let listed = ids_of(
        &serde_json::from_str(&w.ok(Who::A, &["--json", "agent", "list", "--fleet-id", &fa]))
            .unwrap(),
        "id",
    );
    assert_eq!(
        listed,
        [w.a.director, w.a.admin, w.a.m1, w.a.mon, w.a.r1, w.a.r2].into()
    );
    let members = ids_of(
        &serde_json::from_str(&w.ok(Who::A, &["--json", "member", "list", "--fleet-id", &fa]))
            .unwrap(),
        "agent_id",
    );
    assert_eq!(members, [w.a.m1, w.a.mon].into());
    for agent in polled_agents {
        let polled: Value = serde_json::from_str(&w.ok(
            Who::A,
            &[
                "--json",
                "message",
                "poll",
                "--fleet-id",
                &fa,
                "--agent-id",
                &agent.to_string(),
            ],
        ))
        .unwrap();
        for t in polled.as_array().unwrap() {
            assert!(
                !b_agents.contains(&as_i64(&t["from"])),
                "A's poll shows B's {t}"
            );
            assert!(a_sent.contains(&as_i64(&t["id"])), "A's poll shows {t}");
        }
    }
    let status: Value =
        serde_json::from_str(&w.ok(Who::A, &["--json", "monitor", "status", "--fleet-id", &fa]))
            .unwrap();
    let watched = ids_of(&status["agents"], "agent_id");
    assert_eq!(watched, [w.a.director, w.a.m1].into());
    let fleets = ids_of(
        &serde_json::from_str(&w.ok(Who::A, &["--json", "fleet", "list"])).unwrap(),
        "fleet_id",
    );
    assert_eq!(fleets, [w.a.fleet, w.b.fleet].into());
    w.ok(Who::A, &["db", "init"]);
    w.ok(Who::A, &["doctor"]);
    runs += 10;
    let after_reads = w.snapshot();
    assert_only_seen_marks(
        &baseline,
        &tasks_before,
        &after_reads,
        &split_tasks(&w.env),
        &marked,
        w.a.fleet,
        &since,
        "the reads of fleet A",
    );

    // Late keystrokes: give every pane time to receive anything still in flight.
    std::thread::sleep(Duration::from_millis(500));
    assert_unchanged(&after_reads, &w.snapshot(), "the sweep (after settling)");

    // Identity is self-asserted by design: a process in A's pane may act as B's agent; the
    // preview then goes to B's pane on B's server, never to the pane with the same id on the
    // caller's server (docs/decisions.md, MSG-4 and K3).
    let before_a = w.outside_state();
    let probe = "cross-server-probe";
    w.ok(
        Who::A,
        &[
            "message",
            "send",
            "--fleet-id",
            &w.b.fleet.to_string(),
            "--agent-id",
            &w.b.r1.to_string(),
            "--to",
            &w.b.m1.to_string(),
            "--text",
            probe,
        ],
    );
    wait_for_bytes(
        &w.b.root
            .join("standin-logs")
            .join(format!("{}.keys", w.b.m1_pane)),
        probe.as_bytes(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let after_a = w.outside_state();
    for (path, bytes) in &after_a.1 {
        if path.starts_with(&w.a.root) {
            assert_eq!(
                Some(bytes),
                before_a.1.get(path),
                "B's preview typed into A's {}",
                path.display()
            );
        }
    }
    eprintln!(
        "isolation CLI sweep: {} cases, {runs} cafleet runs, {} command × id-position pairs, setup {:.1}s, total {:.1}s",
        cases.len(),
        positions.len(),
        setup.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
