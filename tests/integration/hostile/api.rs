//! Hostile input through the real HTTP API, over the same database as the CLI, with the
//! Director in a real pane.

use super::*;

struct Web {
    app: axum::Router,
}

const HOST: &str = "127.0.0.1:8000";

impl Web {
    async fn over(env: &Env) -> Web {
        let db = Db::open(&env.db_path, 4).await.unwrap();
        let broker = Broker::new(db, Tmux::from_env(), 200);
        let state = AppState::new(broker, Security::for_bind("127.0.0.1", 8000, None));
        Web { app: router(state) }
    }

    async fn call(&self, req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let ctype = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, ctype, body)
    }

    async fn send_raw(&self, body: Vec<u8>) -> (StatusCode, Value) {
        let req = Request::post("/api/messages/send")
            .header(header::HOST, HOST)
            .header(header::ORIGIN, format!("http://{HOST}"))
            .header("x-fleet-id", "1")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let (s, ctype, bytes) = self.call(req).await;
        assert!(
            ctype.starts_with("application/json"),
            "{s} {ctype}: {:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        );
        (s, serde_json::from_slice(&bytes).unwrap())
    }

    /// Sends `text` as the Administrator (2) to the Director (1) over the API, checks the
    /// preview typed into the Director's recorder pane and the stored row; returns the id.
    async fn send_to_director(&self, env: &Env, log: &Path, text: &str) -> i64 {
        let before = std::fs::read(log).unwrap().len();
        let body = json!({"from_agent_id": 2, "to_agent_id": 1, "text": text}).to_string();
        let (s, v) = self.send_raw(body.into_bytes()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let id = v["task_id"].as_i64().unwrap();
        let stored = sql(env, &format!("SELECT text FROM tasks WHERE task_id = {id}"));
        assert!(
            stored[0][0] == text,
            "stored text differs from {:?}",
            truncate(text, 40)
        );
        let chunk = next_preview_async(log, before).await;
        let got = String::from_utf8_lossy(&chunk).to_string();
        let header_end = got.find('\n').unwrap();
        assert!(got[..header_end].starts_with(&format!("[cafleet msg {id} from 2 ")));
        assert_inert_preview(&chunk, &got[..header_end], text, 200);
        id
    }

    async fn get(&self, path: &str) -> (StatusCode, String, Vec<u8>) {
        let req = Request::get(path)
            .header(header::HOST, HOST)
            .header("x-fleet-id", "1")
            .body(Body::empty())
            .unwrap();
        self.call(req).await
    }
}

/// Waits (without blocking the runtime) for the next complete preview in `log`.
async fn next_preview_async(log: &Path, from: usize) -> Vec<u8> {
    for _ in 0..400 {
        let all = std::fs::read(log).unwrap_or_default();
        let chunk = all.get(from..).unwrap_or_default();
        if chunk.contains(&b'\r') {
            return chunk.to_vec();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no preview arrived in {}", log.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_json_escapes_are_stored_exactly_and_typed_inert() {
    let mut env = Env::new();
    let (_server, _pane, log) = fleet_in_tmux(&mut env);
    let web = Web::over(&env).await;
    // JSON escapes no argv can carry: NUL, and every C0 as \u escapes; a surrogate pair.
    let texts: Vec<String> = vec![
        "nul\u{0}byte".into(),
        (0u32..0x20).filter_map(char::from_u32).collect::<String>() + "end",
        "\u{0}\u{1b}[2J\u{9b}\u{202e}".into(),
        "pair \u{1F600}".into(),
    ];
    for text in &texts {
        let id = web.send_to_director(&env, &log, text).await;
        let (_, _, page) = web.get("/api/timeline").await;
        let page: Value = serde_json::from_slice(&page).unwrap();
        let found = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["task_id"] == id)
            .unwrap();
        assert_eq!(found["body"], text.as_str());
    }
    // A lone surrogate is not a string: a clear 422, nothing stored.
    let tasks = count(&env, "tasks");
    for raw in [
        r#"{"from_agent_id":2,"to_agent_id":1,"text":"\ud800"}"#,
        r#"{"from_agent_id":2,"to_agent_id":1,"text":"a\udfffb"}"#,
        r#"{"from_agent_id":2,"to_agent_id":"*","text":"\ud83d"}"#,
    ] {
        let (s, v) = web.send_raw(raw.as_bytes().to_vec()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{raw}: {v}");
        assert_eq!(v["detail"][0]["type"], "json_invalid", "{raw}: {v}");
    }
    // Invalid UTF-8 inside the JSON string: refused the same way.
    let mut raw = br#"{"from_agent_id":2,"to_agent_id":1,"text":"caf"#.to_vec();
    raw.extend_from_slice(b"\xe9\"}");
    let (s, v) = web.send_raw(raw).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        count(&env, "tasks"),
        tasks,
        "a refused request stored something"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_megabyte_text_is_stored_intact_through_the_api() {
    let mut env = Env::new();
    let (_server, _pane, log) = fleet_in_tmux(&mut env);
    let web = Web::over(&env).await;
    let text: String = "0123456789\x1b[2J\u{202e}日本\n".repeat((1 << 20) / 24 + 1);
    assert!(text.len() >= 1 << 20);
    web.send_to_director(&env, &log, &text).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_api_body_gets_a_json_error() {
    let env = Env::new();
    env.ok(&["db", "init"]);
    let web = Web::over(&env).await;
    let text = "x".repeat(3 << 20);
    let body = json!({"from_agent_id": 2, "to_agent_id": 1, "text": text}).to_string();
    let (s, v) = web.send_raw(body.into_bytes()).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(v["detail"].is_string(), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_endpoint_reflects_hostile_text_as_html() {
    let mut env = Env::new();
    let (_server, _pane, _log) = fleet_in_tmux(&mut env);
    let script = "<script>alert(1)</script>";
    register(&env, script);
    env.ok(&[
        "message",
        "send",
        "--fleet-id",
        "1",
        "--agent-id",
        "1",
        "--to",
        "3",
        "--text",
        script,
    ]);
    let web = Web::over(&env).await;
    let (_, index_type, index) = web.get("/").await;
    assert!(index_type.starts_with("text/html"), "{index_type}");
    let paths = [
        "/api/fleets",
        "/api/agents",
        "/api/timeline",
        "/api/monitor",
        "/api/agents/3/inbox",
        "/api/agents/1/sent",
        "/api/agents/3/monitor",
        "/api/%3Cscript%3Ealert(1)%3C/script%3E",
        "/api/timeline?before=%3Cscript%3E",
        "/api/agents/%3Cscript%3E/inbox",
        "/%3Cscript%3Ealert(1)%3C/script%3E",
        "/ui/%3Cscript%3E",
        "/assets/%3Cscript%3E.js",
        "/index.html?x=%3Cscript%3E",
    ];
    let mut reflected = 0;
    for path in paths {
        let (s, ctype, body) = web.get(path).await;
        let text = String::from_utf8_lossy(&body);
        if path.starts_with("/api/") || path.starts_with("/ui/") {
            assert!(ctype.starts_with("application/json"), "{path}: {s} {ctype}");
            serde_json::from_slice::<Value>(&body).unwrap();
            if text.contains(script) {
                reflected += 1; // inside JSON, as a string: inert
            }
        } else {
            // The only HTML is the page itself, whatever the path asked for.
            assert!(ctype.starts_with("text/html"), "{path}: {ctype}");
            assert_eq!(body, index, "{path}: HTML depends on the request");
        }
        assert!(!text.contains("alert(1)</script>") || ctype.starts_with("application/json"));
    }
    assert!(
        reflected >= 3,
        "the stored script should come back as JSON data"
    );
}
