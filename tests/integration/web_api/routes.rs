//! Routing: the SPA fallback, JSON 404s under `/api`, and 405s with each route's `Allow`.

use super::*;

#[tokio::test]
async fn unknown_paths_fall_back_to_the_spa_and_unknown_api_paths_are_json_404() {
    let api = Api::new(None).await;
    for path in ["/api", "/api/", "/api/unknown", "/api/fleets/"] {
        assert_eq!(
            api.get(path, None).await,
            (StatusCode::NOT_FOUND, json!({"detail": "Not Found"})),
            "{path}"
        );
    }
    let req = Request::get("/fleets/1/agents")
        .header("host", HOST)
        .body(Body::empty())
        .unwrap();
    let (s, body, headers) = api.call(req).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.as_str()
            .unwrap()
            .contains("<title>CAFleet Admin</title>")
    );
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-cache")
    );
    let (s, v) = api.send("POST", "/api/fleets", "1", "{}").await;
    assert_eq!(
        (s, v),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"detail": "Method Not Allowed"})
        )
    );
}

#[tokio::test]
async fn wrong_methods_are_405_with_the_routes_own_allow_header() {
    let api = Api::new(None).await;
    for (method, path, allow) in [
        ("GET", "/api/messages/send", "POST"),
        ("DELETE", "/api/messages/send", "POST"),
        ("OPTIONS", "/api/messages/send", "POST"),
        ("PUT", "/api/fleets", "GET,HEAD"),
        ("DELETE", "/api/timeline", "GET,HEAD"),
        ("POST", "/api/agents/1/monitor", "GET,HEAD,PATCH"),
        ("POST", "/api/unknown", "GET, HEAD"),
        ("POST", "/api", "GET, HEAD"),
        ("POST", "/", "GET, HEAD"),
        ("POST", "/fleets/1", "GET, HEAD"),
        ("PUT", "/assets/missing.js", "GET, HEAD"),
        ("DELETE", "/ui/x", "GET, HEAD"),
    ] {
        let req = request(method, path)
            .header("x-fleet-id", "1")
            .body(Body::empty())
            .unwrap();
        let (s, v, headers) = api.call(req).await;
        assert_eq!(
            (s, v),
            (
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"detail": "Method Not Allowed"})
            ),
            "{method} {path}"
        );
        let got: Vec<String> = headers["allow"]
            .to_str()
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_string())
            .collect();
        let want: Vec<String> = allow.split(',').map(|m| m.trim().to_string()).collect();
        let (mut got, mut want) = (got, want);
        got.sort();
        want.sort();
        assert_eq!(got, want, "{method} {path}");
    }
    // HEAD works wherever GET does; unknown API paths stay 404 for GET and HEAD.
    for (method, path, status) in [
        ("HEAD", "/api/fleets", StatusCode::OK),
        ("HEAD", "/fleets/1/agents", StatusCode::OK),
        ("GET", "/api/unknown", StatusCode::NOT_FOUND),
        ("HEAD", "/api/unknown", StatusCode::NOT_FOUND),
    ] {
        let req = request(method, path).body(Body::empty()).unwrap();
        assert_eq!(api.call(req).await.0, status, "{method} {path}");
    }
}
