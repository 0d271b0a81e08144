//! Who may call the API: the Host and Origin checks, the access token, and the rules of
//! each bind address.

use super::*;

#[tokio::test]
async fn a_foreign_host_or_origin_is_refused() {
    let api = Api::new(None).await;
    let req = Request::get("/api/fleets")
        .header("host", "evil.example:8000")
        .body(Body::empty())
        .unwrap();
    let (s, _, _) = api.call(req).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for origin in [Some("http://evil.example"), None] {
        let mut b = Request::post("/api/messages/send")
            .header("host", HOST)
            .header("x-fleet-id", "1")
            .header("content-type", "application/json");
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        let req = b
            .body(Body::from(
                r#"{"from_agent_id":2,"to_agent_id":3,"text":"csrf"}"#,
            ))
            .unwrap();
        let (s, v, _) = api.call(req).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{origin:?}: {v}");
    }
    let (_, v) = api.get("/api/timeline", Some("1")).await;
    assert!(v["messages"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_configured_token_is_required_on_every_api_call() {
    let api = Api::new(Some("s3cret")).await;
    let (s, _) = api.get("/api/fleets", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let req = Request::get("/api/fleets")
        .header("host", HOST)
        .header("authorization", "Bearer s3cret")
        .body(Body::empty())
        .unwrap();
    assert_eq!(api.call(req).await.0, StatusCode::OK);
    let req = Request::get("/api/fleets?token=wrong")
        .header("host", HOST)
        .body(Body::empty())
        .unwrap();
    assert_eq!(api.call(req).await.0, StatusCode::UNAUTHORIZED);
    // With the token, a script may send without an Origin.
    let req = Request::post("/api/messages/send")
        .header("host", HOST)
        .header("x-fleet-id", "1")
        .header("x-cafleet-token", "s3cret")
        .body(Body::from(
            r#"{"from_agent_id":2,"to_agent_id":3,"text":"scripted"}"#,
        ))
        .unwrap();
    assert_eq!(api.call(req).await.0, StatusCode::OK);
    // The page itself needs no token.
    let (s, _) = api.get("/", None).await;
    assert_eq!(s, StatusCode::OK);
}

/// The same database served with the access rules of another bind address.
struct Bound {
    state: AppState,
}

impl Api {
    fn bound(&self, host: &str, port: u16, token: Option<&str>) -> Bound {
        Bound {
            state: AppState {
                security: Arc::new(Security::for_bind(host, port, token.map(str::to_string))),
                ..self.state.clone()
            },
        }
    }
}

impl Bound {
    async fn status(&self, req: Request<Body>) -> (StatusCode, Value) {
        let (status, body, _) = crate::support::answer(&self.state, req).await;
        (status, body)
    }
}

#[tokio::test]
async fn a_wildcard_or_lan_bind_with_a_token_accepts_any_host_with_the_token() {
    let api = Api::new(None).await;
    for bind in ["0.0.0.0", "::", "192.168.1.7"] {
        let srv = api.bound(bind, 8000, Some("T0k"));
        for host in [
            "192.168.1.7:8000",
            "cafleet.lan:8000",
            "[fe80::1]:8000",
            "example.org",
        ] {
            let req = Request::get("/api/fleets")
                .header("host", host)
                .header("authorization", "Bearer T0k")
                .body(Body::empty())
                .unwrap();
            assert_eq!(srv.status(req).await.0, StatusCode::OK, "{bind} {host}");
            // Without the token, the API still refuses.
            let req = Request::get("/api/fleets")
                .header("host", host)
                .body(Body::empty())
                .unwrap();
            assert_eq!(
                srv.status(req).await.0,
                StatusCode::UNAUTHORIZED,
                "{bind} {host}"
            );
            // The page itself loads from that address (it then calls the API with the token).
            let req = Request::get("/?token=T0k")
                .header("host", host)
                .body(Body::empty())
                .unwrap();
            assert_eq!(srv.status(req).await.0, StatusCode::OK, "{bind} {host}");
        }
        // A scripted send from another machine: the token, no Origin.
        let req = Request::post("/api/messages/send")
            .header("host", "192.168.1.7:8000")
            .header("x-fleet-id", "1")
            .header("x-cafleet-token", "T0k")
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"from_agent_id":2,"to_agent_id":3,"text":"from the lan"}"#,
            ))
            .unwrap();
        assert_eq!(srv.status(req).await.0, StatusCode::OK, "{bind}");
    }
    // Loopback binds keep the strict Host check, with or without a token.
    for token in [None, Some("T0k")] {
        let srv = api.bound("127.0.0.1", 8000, token);
        let req = Request::get("/api/fleets")
            .header("host", "192.168.1.7:8000")
            .header("authorization", "Bearer T0k")
            .body(Body::empty())
            .unwrap();
        let (s, v) = srv.status(req).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{token:?}");
        assert!(v["detail"].as_str().unwrap().contains("is not allowed"));
    }
    // A non-loopback bind without a token (the CLI refuses it) is strict too.
    let srv = api.bound("0.0.0.0", 8000, None);
    let req = Request::get("/api/fleets")
        .header("host", "192.168.1.7:8000")
        .body(Body::empty())
        .unwrap();
    assert_eq!(srv.status(req).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_host_without_a_port_means_port_80() {
    let api = Api::new(None).await;
    let on80 = api.bound("127.0.0.1", 80, None);
    for host in [
        "localhost",
        "LOCALHOST:80",
        "127.0.0.1",
        "[::1]",
        "[::1]:80",
    ] {
        let req = Request::get("/api/fleets")
            .header("host", host)
            .body(Body::empty())
            .unwrap();
        assert_eq!(on80.status(req).await.0, StatusCode::OK, "{host}");
    }
    // The browser leaves the default port out of Origin and Host alike; either may carry it.
    for (host, origin) in [
        ("localhost", "http://localhost"),
        ("localhost:80", "http://localhost"),
        ("localhost", "http://localhost:80"),
    ] {
        let req = Request::patch("/api/agents/1/monitor")
            .header("host", host)
            .header("origin", origin)
            .header("x-fleet-id", "1")
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        assert_eq!(on80.status(req).await.0, StatusCode::OK, "{host} {origin}");
    }
    for (host, origin) in [
        ("localhost", "http://localhost:8000"),
        ("localhost", "https://localhost"),
        ("localhost", "http://evil.example"),
        ("localhost", "null"),
    ] {
        let req = Request::patch("/api/agents/1/monitor")
            .header("host", host)
            .header("origin", origin)
            .header("x-fleet-id", "1")
            .body(Body::from("{}"))
            .unwrap();
        assert_eq!(
            on80.status(req).await.0,
            StatusCode::FORBIDDEN,
            "{host} {origin}"
        );
    }
    // On another port a portless Host is port 80, so it is foreign.
    let req = Request::get("/api/fleets")
        .header("host", "localhost")
        .body(Body::empty())
        .unwrap();
    assert_eq!(api.call(req).await.0, StatusCode::FORBIDDEN);
    for host in [
        "",
        "localhost:x",
        "localhost:08000",
        "localhost:8000/x",
        "a@localhost:8000",
    ] {
        let req = Request::get("/api/fleets")
            .header("host", host)
            .body(Body::empty())
            .unwrap();
        assert_eq!(api.call(req).await.0, StatusCode::FORBIDDEN, "{host:?}");
    }
}
