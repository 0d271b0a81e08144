//! Members against a real private tmux server with stand-in coding agents.

use crate::support::*;

#[test]
fn member_create_spawns_the_exact_claude_argv_in_the_directors_window() {
    let team = Team::new();
    let v = team.create("m1", &[]);
    let pane = v["placement"]["tmux_pane_id"].as_str().unwrap().to_string();
    let rec = team.argv(&pane);
    assert_eq!(
        rec["argv"],
        serde_json::json!([
            "claude",
            "--permission-mode",
            "dontAsk",
            "--name",
            "m1",
            "Member of cafleet fleet 1 (agent=3, director=1).\nLoad skill 'cafleet'. Bash auto-approves. Poll: cafleet message poll --fleet-id 1 --agent-id 3"
        ])
    );
    assert_eq!(rec["db"], team.env.db_url());
    assert_eq!(
        rec["cwd"],
        team.env
            .dir
            .path()
            .canonicalize()
            .unwrap()
            .to_str()
            .unwrap()
    );
    let window = team
        .server
        .tmux(&["display-message", "-p", "-t", &pane, "#{window_id}"]);
    let dwindow = team.server.tmux(&[
        "display-message",
        "-p",
        "-t",
        &team.director_pane,
        "#{window_id}",
    ]);
    assert_eq!(window, dwindow);
    assert_eq!(
        team.env.query("SELECT agent_id, director_agent_id, tmux_pane_id, coding_agent FROM agent_placements WHERE agent_id = 3"),
        vec![vec!["3".to_string(), "1".into(), pane.clone(), "claude".into()]]
    );
    assert_eq!(
        team.env
            .query("SELECT interval_seconds FROM monitor_config WHERE agent_id = 3")[0][0],
        "720"
    );
}
