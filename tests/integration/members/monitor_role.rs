//! `member create --role monitor`: the monitoring member of a fleet.

use super::*;

fn create_in_fleet2(team: &Team, name: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "--json",
        "member",
        "create",
        "--fleet-id",
        "2",
        "--agent-id",
        "3",
        "--name",
        name,
        "--description",
        "watcher",
    ];
    args.extend_from_slice(extra);
    team.env.run(&args)
}

#[test]
fn monitor_role_inherits_the_directors_backend_and_is_not_itself_watched() {
    let team = Team::new();
    // Fleet 2 (Director 3, Administrator 4) runs codex; the monitor inherits it.
    team.env.ok(&[
        "fleet",
        "create",
        "--label",
        "codex",
        "--coding-agent",
        "codex",
    ]);
    let out = create_in_fleet2(&team, "mon", &["--role", "monitor"]);
    expect_code(&out, 0);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["agent_id"], 5);
    assert_eq!(v["placement"]["coding_agent"], "codex");
    assert_eq!(v["placement"]["director_agent_id"], 3);
    let pane = pane_of(&v);
    let argv = team.argv(&pane)["argv"].clone();
    assert_eq!(argv.as_array().unwrap()[..12], codex_head(&team)[..]);
    // Without a prompt, a monitoring member gets its own default: the overlay line, its
    // role file and the start-up steps, all with the numbers written out.
    let prompt = argv[12].as_str().unwrap();
    assert!(
        prompt.starts_with(
            "Monitoring member of cafleet fleet 2 (agent=5, director=3).\nCODING AGENT: codex\nLoad skill 'cafleet' and read its roles/monitor.md"
        ),
        "{prompt}"
    );
    for line in [
        "cafleet message send --fleet-id 2 --agent-id 5 --to 3 --text \"ready: monitoring member\"",
        "cafleet monitor start --fleet-id 2",
        "cafleet monitor status --fleet-id 2",
        "cafleet message send --fleet-id 2 --agent-id 5 --to 3 --text \"ready: monitor live\"",
    ] {
        assert!(
            prompt.lines().any(|l| l == line),
            "{line:?} missing:\n{prompt}"
        );
    }
    assert_eq!(argv.as_array().unwrap().len(), 13);
    let card: Value = serde_json::from_str(
        &team
            .env
            .query("SELECT agent_card_json FROM agents WHERE agent_id = 5")[0][0],
    )
    .unwrap();
    assert_eq!(card["cafleet"]["kind"], "monitoring-member");
    assert_eq!(card["name"], "mon");
    assert!(
        team.env
            .query("SELECT * FROM monitor_config WHERE agent_id = 5")
            .is_empty(),
        "the monitoring member must not be enrolled in monitoring"
    );
    // An ordinary member of the same fleet is enrolled at 720 s and has a plain card.
    let out = create_in_fleet2(&team, "worker", &[]);
    expect_code(&out, 0);
    assert_eq!(
        team.env.query(
            "SELECT agent_id, interval_seconds FROM monitor_config WHERE agent_id IN (5, 6)"
        ),
        vec![vec!["6".to_string(), "720".into()]]
    );
    let card: Value = serde_json::from_str(
        &team
            .env
            .query("SELECT agent_card_json FROM agents WHERE agent_id = 6")[0][0],
    )
    .unwrap();
    assert!(card.get("cafleet").is_none(), "{card}");
    // Both show up in member list, the monitor included.
    let list = team.env.json(&["member", "list", "--fleet-id", "2"]);
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["agent_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [5, 6]);
}

#[test]
fn explicit_coding_agent_overrides_the_monitors_inherited_backend() {
    let team = Team::new();
    let v = team.create("mon", &["--role", "monitor", "--coding-agent", "opencode"]);
    assert_eq!(team.argv(&pane_of(&v))["argv"][0], "opencode");
    assert_eq!(v["placement"]["coding_agent"], "opencode");
}

#[test]
fn a_second_monitoring_member_is_refused_and_leaves_nothing_behind() {
    let team = Team::new();
    let v = team.create("mon", &["--role", "monitor"]);
    assert_eq!(v["placement"]["coding_agent"], "claude");
    let before = rows(&team.env);
    let panes = live_panes(&team);
    let err = team.env.fails(
        &[
            "member",
            "create",
            "--fleet-id",
            "1",
            "--agent-id",
            "1",
            "--name",
            "mon2",
            "--description",
            "d",
            "--role",
            "monitor",
        ],
        1,
    );
    assert_eq!(
        err,
        "Error: fleet 1 already has an active monitoring member (agent 3); only one is allowed.\n"
    );
    assert_eq!(rows(&team.env), before);
    assert_eq!(live_panes(&team), panes);
    // Once the monitor is deleted, a new one may be created.
    team.env.ok(&[
        "member",
        "delete",
        "--fleet-id",
        "1",
        "--member-id",
        "3",
        "--force",
    ]);
    let v = team.create("mon2", &["--role", "monitor"]);
    assert_eq!(v["name"], "mon2");
}
