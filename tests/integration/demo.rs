//! `cafleet demo`: stand-ins exchange real messages through the real broker, the WebUI
//! answers, and everything stops cleanly.

use crate::support::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;

fn http_get(port: u16, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_demo_exchanges_real_messages_and_stops_cleanly() {
    let env = Env::new();
    let dir = env.dir.path().join("demo");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cafleet"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", env.dir.path())
        .env("CAFLEET_DATABASE_URL", env.db_url())
        .args([
            "demo",
            "--seconds",
            "8",
            "--keep",
            "--dir",
            dir.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start demo");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a first line").unwrap();
    assert!(
        first.starts_with("CAFleet demo is running: fleet 1"),
        "{first}"
    );
    let webui = lines.next().unwrap().unwrap();
    let port: u16 = webui
        .rsplit_once("127.0.0.1:")
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {webui}"));
    let fleets = http_get(port, "/api/fleets");
    assert!(fleets.starts_with("HTTP/1.1 200"), "{fleets}");
    assert!(fleets.contains("\"label\":\"demo\""), "{fleets}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "demo failed: {err}");
    assert!(rest.iter().any(|l| l == "Stopping the demo."), "{rest:?}");
    let db = dir.join("demo.db");
    // The Director's tasks went out, members replied through the real CLI, and every
    // delivery was acked by its recipient.
    let tasks = query_db(
        &db,
        "SELECT from_agent_id, to_agent_id, status_state, text FROM tasks ORDER BY task_id",
    );
    assert!(tasks.len() >= 2, "{tasks:?}");
    assert!(
        tasks
            .iter()
            .any(|t| t[0] == "1" && t[1] == "3" && t[3].starts_with("Round 1")),
        "{tasks:?}"
    );
    assert!(
        tasks
            .iter()
            .any(|t| t[0] == "3" && t[1] == "1" && t[3].starts_with("Done with task")),
        "{tasks:?}"
    );
    assert!(
        tasks.iter().filter(|t| t[2] == "completed").count() >= 2,
        "{tasks:?}"
    );
    // Nothing is left running.
    let ls = std::process::Command::new("tmux")
        .arg("-S")
        .arg(dir.join("tmux.sock"))
        .arg("ls")
        .output()
        .unwrap();
    assert!(!ls.status.success(), "the demo's tmux server survived");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the WebUI survived"
    );
}
