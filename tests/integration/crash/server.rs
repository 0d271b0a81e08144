//! Scenario 3: `cafleet server` killed while HTTP clients and CLI senders work.

use super::*;

/// `POST /api/messages/send` as a same-origin page would; (status, body) or a transport
/// error (the server died under us).
fn http_send(port: u16, body: &str) -> Result<(u16, String), String> {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let req = format!(
        "POST /api/messages/send HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\nX-Fleet-Id: 1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).map_err(|e| e.to_string())?;
    let (head, body) = raw.split_once("\r\n\r\n").ok_or("truncated response")?;
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status line")?;
    Ok((code, body.to_string()))
}

/// Where the server is listening right now (None while it is down).
type Port = Arc<Mutex<Option<u16>>>;

/// An HTTP client sending as the Administrator (the only sender the API accepts) until told
/// to stop; confirmed ids go into the ledger.
fn http_client(port: Port, ledger: Shared, seed: u64, n: u64) {
    let mut rng = Rng::new(seed ^ (0xA11CE + n));
    let mut i = 0;
    while !ledger.lock().unwrap().stop {
        let Some(p) = *port.lock().unwrap() else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        i += 1;
        let text = format!("http-s{seed}-c{n} {i}");
        let to = if rng.chance(20) {
            Value::from("*")
        } else {
            Value::from(rng.pick(&broadcast_recipients(2)))
        };
        ledger.lock().unwrap().attempted.insert(text.clone());
        let body = serde_json::json!({"from_agent_id": 2, "to_agent_id": to, "text": text});
        let res = http_send(p, &body.to_string());
        let mut l = ledger.lock().unwrap();
        match res {
            Ok((200, out)) => {
                let v: Value = serde_json::from_str(&out).unwrap_or_default();
                match (v["task_id"].as_i64(), to.as_i64()) {
                    (Some(id), Some(to)) => {
                        l.sends.insert(id, (2, to, text));
                    }
                    (Some(id), None) => {
                        l.broadcasts.insert(id, (2, text));
                    }
                    _ => l.failures.push(format!("odd API answer {out:?}")),
                }
                l.counts.http_confirmed += 1;
            }
            Ok((code, out)) => l.failures.push(format!("API send refused {code}: {out}")),
            // Refused: the server is already dead and not yet marked down.
            Err(e) if e.contains("refused") => {
                drop(l);
                std::thread::sleep(Duration::from_millis(5));
            }
            // Cut off mid-request by the kill: the send may or may not have committed.
            Err(_) => l.counts.http_failed += 1,
        }
    }
}

/// Starts `cafleet server --port 0` and waits for the line naming its port.
fn start_server(env: &Env, name: &str) -> (Child, u16) {
    let dir = scratch(env, "server");
    let (out, err) = (
        dir.join(format!("{name}.out")),
        dir.join(format!("{name}.err")),
    );
    let mut child = spawn(env, &["server", "--port", "0"], &out, &err);
    let prefix = "CAFleet WebUI on http://127.0.0.1:";
    let mut port = None;
    let up = wait_for(Duration::from_secs(30), || {
        port = std::fs::read_to_string(&out)
            .ok()
            .and_then(|o| o.strip_prefix(prefix)?.split('/').next()?.parse().ok());
        port.is_some() || matches!(child.try_wait(), Ok(Some(_)))
    });
    match port {
        Some(p) if up => (child, p),
        _ => panic!(
            "server {name} did not start: {}",
            std::fs::read_to_string(&err).unwrap_or_default()
        ),
    }
}

#[test]
fn a_killed_server_loses_no_confirmed_message() {
    let started = Instant::now();
    let seed = seed("a_killed_server_loses_no_confirmed_message");
    let mut rng = Rng::new(seed);
    let rounds = env_count("CAFLEET_CRASH_SERVER_KILLS", 10);
    let (env, _tmux) = crash_fleet();
    let env = Arc::new(env);
    // Re-bound after `env` so the tmux server is killed before the temp dir holding its
    // socket is removed (otherwise the server outlives the test).
    let _tmux = _tmux;
    let ledger: Shared = Arc::default();
    let port: Port = Arc::default();
    let clients: Vec<_> = (0..2)
        .map(|n| {
            let (port, ledger) = (Arc::clone(&port), Arc::clone(&ledger));
            std::thread::spawn(move || http_client(port, ledger, seed, n))
        })
        .collect();
    // Two CLI workers send and ack beside the server, themselves killed at random.
    let cli: Vec<_> = (0..2)
        .map(|w| {
            let mut worker = Worker::new(&env, &ledger, w, seed, "srv-cli");
            std::thread::spawn(move || {
                while !worker.ledger.lock().unwrap().stop {
                    worker.step();
                }
            })
        })
        .collect();
    let mut server_kills = 0;
    for round in 0..rounds {
        let (mut child, p) = start_server(&env, &format!("s{round}"));
        *port.lock().unwrap() = Some(p);
        std::thread::sleep(Duration::from_millis(100) + rng.delay(600));
        let _ = child.kill();
        let st = child.wait().expect("wait");
        *port.lock().unwrap() = None;
        assert_eq!(st.signal(), Some(9), "server {round} exited on its own");
        server_kills += 1;
    }
    // Restart: the server comes back on the same file and serves again.
    let (mut child, p) = start_server(&env, "final");
    *port.lock().unwrap() = Some(p);
    std::thread::sleep(Duration::from_millis(300));
    ledger.lock().unwrap().stop = true;
    for t in clients.into_iter().chain(cli) {
        t.join().expect("client thread");
    }
    for to in broadcast_recipients(2) {
        let text = format!("http-s{seed} after the crashes {to}");
        ledger.lock().unwrap().attempted.insert(text.clone());
        let body = serde_json::json!({"from_agent_id": 2, "to_agent_id": to, "text": text});
        let (code, out) = http_send(p, &body.to_string()).expect("API after restart");
        assert_eq!(code, 200, "{out}");
        let id = serde_json::from_str::<Value>(&out).unwrap()["task_id"]
            .as_i64()
            .unwrap();
        ledger.lock().unwrap().sends.insert(id, (2, to, text));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    resume(&env, &ledger, "srv");
    let checked = verify(&env, &ledger, seed);
    let (http_ok, http_lost) = {
        let c = &ledger.lock().unwrap().counts;
        (c.http_confirmed, c.http_failed)
    };
    report(
        "a_killed_server_loses_no_confirmed_message",
        started,
        &ledger,
        checked,
        &format!(
            "; {server_kills} server kills, HTTP sends confirmed {http_ok}, cut off {http_lost}"
        ),
    );
}
