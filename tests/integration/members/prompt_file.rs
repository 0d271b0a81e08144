//! `member create --prompt-file`: the spawn prompt read from a file, and its refusals.

use super::*;

#[test]
fn prompt_file_is_used_byte_for_byte_with_placeholders_and_crlf_kept() {
    let team = Team::new();
    let file = team.env.dir.path().join("prompt.txt");
    std::fs::write(
        &file,
        "File prompt {agent_id}/{fleet_id} by {director_agent_id} on {coding_agent}\r\nline2 {{literal}}\n\n  ",
    )
    .unwrap();
    let v = team.create("m1", &["--prompt-file", file.to_str().unwrap()]);
    assert_eq!(
        team.argv(&pane_of(&v))["argv"],
        argv(
            claude_head("m1"),
            &[json!(
                "File prompt 3/1 by 1 on claude\r\nline2 {literal}\n\n  "
            )]
        )
    );
}

#[test]
fn prompt_file_and_positional_words_are_mutually_exclusive() {
    let team = Team::new();
    let file = team.env.dir.path().join("prompt.txt");
    std::fs::write(&file, "hello").unwrap();
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
            "m1",
            "--description",
            "d",
            "--prompt-file",
            file.to_str().unwrap(),
            "also",
            "words",
        ],
        2,
    );
    assert_create_usage(
        &err,
        "--prompt-file and the positional prompt argument are mutually exclusive.",
    );
    assert_eq!(rows(&team.env), before);
    assert_eq!(live_panes(&team), panes);
}

#[test]
fn member_create_usage_line_shows_optional_prompt_words() {
    let team = Team::new();
    let err = team.env.fails(
        &[
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
            "--prompt-file",
            "/x",
            "word",
        ],
        2,
    );
    assert_eq!(
        err,
        usage(
            "create",
            "--prompt-file and the positional prompt argument are mutually exclusive."
        )
    );
}
