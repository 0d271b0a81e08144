//! Where a member runs: the pane layout, its placement row, its working directory and the
//! environment forwarded to it.

use super::*;

#[test]
fn members_are_stacked_right_of_the_director_in_main_vertical_layout() {
    let team = Team::new();
    let window = pane_format(&team, &team.director_pane, "#{window_id}");
    let (_, p3) = spawn(&team, "m1", &[]);
    let (_, p4) = spawn(&team, "m2", &[]);
    let (_, p5) = spawn(&team, "m3", &[]);
    let panes = layout(&team, &window);
    assert_eq!(panes.len(), 4, "{panes:?}");
    // The Director is the main pane: first, at the left edge, full height.
    let (dpane, dleft, dtop, dwidth, dheight) = panes[0].clone();
    assert_eq!(dpane, team.director_pane);
    assert_eq!((dleft, dtop, dheight), (0, 0, 50));
    assert!(dwidth < 200, "{panes:?}");
    // Members share one column to its right, stacked top to bottom, newest on top.
    let members: Vec<_> = panes[1..].to_vec();
    assert_eq!(
        members.iter().map(|m| m.0.clone()).collect::<Vec<_>>(),
        [p5, p4, p3]
    );
    let mut expected_top = 0;
    for (pane, left, top, width, height) in &members {
        assert_eq!(
            *left,
            dwidth + 1,
            "{pane} not right of the Director: {panes:?}"
        );
        assert_eq!(*width, 200 - dwidth - 1, "{panes:?}");
        assert_eq!(*top, expected_top, "{panes:?}");
        expected_top = top + height + 1;
    }
    assert_eq!(expected_top, 51, "the column fills the height: {panes:?}");
    // Focus stays on the Director's pane.
    assert_eq!(
        pane_format(&team, &team.director_pane, "#{pane_active}"),
        "1"
    );
}

#[test]
fn members_follow_the_directors_pane_after_it_moved_to_another_window() {
    let team = Team::new();
    let (_, p3) = spawn(&team, "m1", &[]);
    let old = pane_format(&team, &p3, "#{window_id}");
    // The user moves the Director's pane into a window of its own.
    team.server
        .tmux(&["break-pane", "-d", "-s", &team.director_pane]);
    let window = pane_format(&team, &team.director_pane, "#{window_id}");
    assert_ne!(window, old);
    let v = team.create("m2", &[]);
    let pane = pane_of(&v);
    assert_eq!(pane_format(&team, &pane, "#{window_id}"), window);
    assert_eq!(v["placement"]["tmux_window_id"], window.as_str());
    assert_eq!(
        team.env
            .query("SELECT tmux_window_id FROM agent_placements WHERE agent_id = 4"),
        vec![vec![window.clone()]]
    );
    // Laid out with the Director as the main pane of its new window.
    let panes = layout(&team, &window);
    assert_eq!(panes.len(), 2, "{panes:?}");
    assert_eq!(panes[0].0, team.director_pane);
    assert_eq!((panes[0].1, panes[1].0.as_str()), (0, pane.as_str()));
}

#[test]
fn member_pane_starts_in_the_callers_cwd_with_the_database_url_forwarded() {
    let team = Team::new();
    let work = team.env.dir.path().join("project").join("sub dir");
    std::fs::create_dir_all(&work).unwrap();
    // The tmux server itself has no CAFLEET_DATABASE_URL: the pane can only get it from
    // member create.
    let shown = std::process::Command::new("tmux")
        .arg("-S")
        .arg(&team.server.socket)
        .args(["show-environment", "-g", "CAFLEET_DATABASE_URL"])
        .output()
        .unwrap();
    assert!(!shown.status.success(), "server env has the DB URL");
    let out = team
        .env
        .cmd()
        .current_dir(&work)
        .args([
            "--json",
            "member",
            "create",
            "--fleet-id",
            "1",
            "--agent-id",
            "1",
            "--name",
            "m1",
            "--description",
            "d",
        ])
        .output()
        .unwrap();
    expect_code(&out, 0);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pane = pane_of(&v);
    let rec = team.argv(&pane);
    assert_eq!(rec["cwd"], canonical(&work));
    assert_eq!(rec["db"], team.env.db_url());
    assert_eq!(
        pane_format(&team, &pane, "#{pane_current_path}"),
        canonical(&work)
    );
    // The Director's pane is elsewhere: the cwd came from the caller, not the target pane.
    assert_ne!(
        pane_format(&team, &team.director_pane, "#{pane_current_path}"),
        canonical(&work)
    );
}
