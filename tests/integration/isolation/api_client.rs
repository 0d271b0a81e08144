//! Calling the HTTP API in process for the sweep: the routes in the router's source, one
//! request helper that records which routes were covered, and a reader of the live event
//! stream.

use super::*;

pub(super) const HOST: &str = "127.0.0.1:8000";
pub(super) const ORIGIN: &str = "http://127.0.0.1:8000";

/// `(method, route)` of every API route in `src/web/mod.rs`'s router.
pub(super) fn routes_in_source() -> BTreeSet<(String, String)> {
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web/mod.rs"))
        .unwrap();
    let mut routes = BTreeSet::new();
    for chunk in src.split(".route(").skip(1) {
        let path = chunk.split('"').nth(1).expect("route path");
        let end = chunk
            .find(".route(")
            .or_else(|| chunk.find(".fallback("))
            .unwrap_or(chunk.len());
        let handlers = &chunk[..end];
        for m in ["get", "post", "patch", "put", "delete", "head"] {
            for pre in ["(", ".", " "] {
                if handlers.contains(&format!("{pre}{m}(")) {
                    routes.insert((m.to_uppercase(), path.to_string()));
                }
            }
        }
    }
    assert!(routes.len() >= 5, "could not read the router: {routes:?}");
    routes
}

pub(super) struct Api {
    pub(super) state: AppState,
    pub(super) database: Database,
    pub(super) covered: BTreeSet<(String, String)>,
}

impl Api {
    pub(super) async fn call(&self, req: Request<Body>) -> (StatusCode, Value) {
        let (status, body, _) = answer(&self.state, req).await;
        (status, body)
    }

    pub(super) fn request(
        method: &str,
        uri: &str,
        fleet: Option<i64>,
        body: Option<&Value>,
    ) -> Request<Body> {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", HOST)
            .header("origin", ORIGIN);
        if let Some(f) = fleet {
            b = b.header("x-fleet-id", f.to_string());
        }
        match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        }
    }

    /// A call that must be refused with exactly `status` and `detail`, changing nothing.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn refused(
        &mut self,
        w: &World,
        baseline: &Snapshot,
        route: (&str, &str),
        uri: &str,
        fleet: Option<i64>,
        body: Option<Value>,
        status: StatusCode,
        detail: &str,
    ) -> Value {
        self.covered
            .insert((route.0.to_string(), route.1.to_string()));
        let (s, v) = self
            .call(Self::request(route.0, uri, fleet, body.as_ref()))
            .await;
        let label = format!("{} {uri} (X-Fleet-Id {fleet:?}, body {body:?})", route.0);
        assert_eq!((s, &v), (status, &json!({ "detail": detail })), "{label}");
        self.unchanged(w, baseline, &label).await;
        v
    }

    pub(super) async fn unchanged(&self, w: &World, baseline: &Snapshot, label: &str) {
        let (panes, bytes) = w.outside_state();
        let now = Snapshot {
            db: dump_db(&self.database).await,
            panes,
            bytes,
        };
        assert_unchanged(baseline, &now, label);
    }

    /// A read that must succeed; returns the body.
    pub(super) async fn read(
        &mut self,
        route: (&str, &str),
        uri: &str,
        fleet: Option<i64>,
    ) -> Value {
        self.covered
            .insert((route.0.to_string(), route.1.to_string()));
        let (s, v) = self.call(Self::request(route.0, uri, fleet, None)).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {v}");
        v
    }
}

/// One server-sent event.
#[derive(Debug)]
pub(super) struct Sse {
    pub(super) event: String,
    pub(super) data: Value,
}

/// Reads an SSE body until `done` holds for the events so far, or `deadline` passes.
pub(super) async fn read_events(
    body: &mut Body,
    buf: &mut String,
    events: &mut Vec<Sse>,
    deadline: Duration,
    mut done: impl FnMut(&[Sse]) -> bool,
) -> bool {
    let end = tokio::time::Instant::now() + deadline;
    loop {
        while let Some(i) = buf.find("\n\n") {
            let block: String = buf.drain(..i + 2).collect();
            let mut ev = Sse {
                event: "message".into(),
                data: Value::Null,
            };
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event:") {
                    ev.event = e.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            if !data.is_empty() {
                ev.data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                events.push(ev);
            }
        }
        if done(events) {
            return true;
        }
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        match tokio::time::timeout(left, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(d) = frame.into_data() {
                    buf.push_str(&String::from_utf8_lossy(&d));
                }
            }
            Ok(_) => return done(events),
            Err(_) => return false,
        }
    }
}

/// Every id in a `messages` or `agents` event.
pub(super) fn event_ids(events: &[Sse]) -> (BTreeSet<i64>, BTreeSet<i64>, BTreeSet<i64>) {
    let (mut tasks, mut agents, mut parties) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for e in events {
        match e.event.as_str() {
            "messages" => {
                for m in e.data["messages"].as_array().unwrap() {
                    tasks.insert(as_i64(&m["task_id"]));
                    for k in ["from_agent_id", "to_agent_id"] {
                        if let Some(id) = m[k].as_i64() {
                            parties.insert(id);
                        }
                    }
                }
            }
            "agents" => {
                for a in e.data["agents"].as_array().unwrap() {
                    agents.insert(as_i64(&a["agent_id"]));
                }
            }
            _ => {}
        }
    }
    (tasks, agents, parties)
}
