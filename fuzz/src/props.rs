//! Property checks on hostile input, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/`)
//! and the CI replay in `tests/integration/hostile/` (which includes this file with
//! `#[path]`, so CI runs every check without cargo-fuzz).
//!
//! Every check takes raw fuzzer bytes, derives its inputs from them, and panics when a
//! guarantee is broken:
//! * [`check_keystrokes`]: the keystroke sanitiser, truncation and preview builder of
//!   `src/tmux.rs` (K1, L2, cli.md §1.7);
//! * [`check_query_decode`]: the `?token=` percent-decoding of the WebUI guard;
//! * [`check_web`]: whole requests through the real router (Host / Origin / token guard of
//!   W1/W2, JSON-only API, no reflected HTML, message text stored byte-exact).
//!
//! Inputs are split into fields at `0xFF` bytes (a byte that never occurs in UTF-8).

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cafleet::model::{AgentId, FleetId, TaskId};
use cafleet::tmux::{preview_payload, sanitize, truncate};
use cafleet::web::{percent_decode, percent_encode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::path::Path;
use tower::ServiceExt;

/// Splits fuzzer bytes into at most `n` fields at `0xFF` (missing fields are empty).
pub fn fields(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = data.splitn(n, |b| *b == 0xFF).collect();
    out.resize(n, &[]);
    out
}

/// The first byte of a field (0 when empty).
fn byte(field: &[u8]) -> u8 {
    field.first().copied().unwrap_or(0)
}

/// Text from bytes: as-is when valid UTF-8, otherwise decoded lossily (as argv and request
/// bodies reach the program only as valid strings).
pub fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

// ---------------------------------------------------------------------------------------
// Keystrokes (K1)

/// Line breaks: typed as `⏎`.
fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Code points a terminal draws as nothing or acts on (stated here independently of
/// `src/tmux.rs`): C0, DEL, C1, Unicode's Default_Ignorable_Code_Point set and the format
/// characters (Cf), except the emoji/text presentation selectors U+FE0E/U+FE0F.
pub fn must_not_be_typed(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || (0x7f..=0x9f).contains(&u)
        || matches!(
            u,
            0xad | 0x34f
                | 0x600..=0x605
                | 0x61c
                | 0x6dd
                | 0x70f
                | 0x890..=0x891
                | 0x8e2
                | 0x115f..=0x1160
                | 0x17b4..=0x17b5
                | 0x180b..=0x180f
                | 0x200b..=0x200f
                | 0x2028..=0x202e
                | 0x2060..=0x206f
                | 0x3164
                | 0xfe00..=0xfe0d
                | 0xfeff
                | 0xffa0
                | 0xfff0..=0xfffb
                | 0x110bd
                | 0x110cd
                | 0x13430..=0x1343f
                | 0x1bca0..=0x1bca3
                | 0x1d173..=0x1d17a
                | 0xe0000..=0xe0fff
        )
}

/// The visible stand-in expected for a code point that must not be typed.
fn stand_in(c: char) -> char {
    match c as u32 {
        _ if is_line_break(c) => '⏎',
        u @ 0..=0x1f => char::from_u32(0x2400 + u).unwrap_or('?'),
        0x7f => '␡',
        _ => '�',
    }
}

/// K1 for one text: nothing non-printing survives, every other character is kept in
/// order, CR LF counts as one line break, and the result is a fixed point.
pub fn check_sanitize(input: &str) {
    let out = sanitize(input);
    if let Some(bad) = out.chars().find(|c| must_not_be_typed(*c)) {
        panic!("sanitize({input:?}) kept U+{:04X}: {out:?}", bad as u32);
    }
    // Character by character: the same character, or its stand-in.
    let mut got = out.chars();
    let mut want = input.chars().peekable();
    while let Some(c) = want.next() {
        if c == '\r' && want.peek() == Some(&'\n') {
            want.next();
        }
        let expected = if must_not_be_typed(c) { stand_in(c) } else { c };
        assert_eq!(
            got.next(),
            Some(expected),
            "sanitize({input:?}) = {out:?}: wrong stand-in for U+{:04X}",
            c as u32
        );
    }
    assert_eq!(got.next(), None, "sanitize({input:?}) = {out:?} grew");
    assert!(out.len() <= input.len() * 3, "sanitize({input:?}) too long");
    assert_eq!(
        sanitize(&out),
        out,
        "sanitize is not idempotent on {input:?}"
    );
}

/// cli.md §1.7: at most `max` code points plus `…`; short texts unchanged.
pub fn check_truncate(input: &str, max: usize) {
    let out = truncate(input, max);
    let n = input.chars().count();
    if n <= max {
        assert_eq!(
            out, input,
            "truncate({input:?}, {max}) changed a short text"
        );
    } else {
        let head: String = input.chars().take(max).collect();
        assert_eq!(out, format!("{head}…"), "truncate({input:?}, {max})");
    }
}

/// L2: `[cafleet msg <id> from <sender> <ts>]`, one LF, the truncated sanitised body;
/// that LF is the only control character typed.
pub fn check_preview(task_id: i64, from: i64, input: &str, max: usize) {
    let ts = "2026-11-24T12:25:24.458526+00:00";
    let payload = preview_payload(TaskId(task_id), AgentId(from), ts, input, max);
    let header = format!("[cafleet msg {task_id} from {from} {ts}]\n");
    let body = payload
        .strip_prefix(&header)
        .unwrap_or_else(|| panic!("preview {payload:?} lacks its header {header:?}"));
    assert!(payload.starts_with('['), "a preview never starts with '-'");
    assert_eq!(
        payload
            .chars()
            .filter(|c| must_not_be_typed(*c))
            .collect::<String>(),
        "\n",
        "preview of {input:?} types control characters: {payload:?}"
    );
    assert!(
        body.chars().count() <= max + 1,
        "preview body of {input:?} longer than {max}+1: {body:?}"
    );
    assert_eq!(body, sanitize(&truncate(input, max)));
}

/// Fuzz entry: byte 0 picks the truncation limit (1..=64 or 200), the rest is the text.
pub fn check_keystrokes(data: &[u8]) {
    let (sel, rest) = data.split_first().map_or((0, data), |(b, r)| (*b, r));
    let max = if sel & 0x80 != 0 {
        200
    } else {
        usize::from(sel % 64) + 1
    };
    let input = text(rest);
    check_sanitize(&input);
    check_truncate(&input, max);
    check_preview(i64::from(sel) * 7919, 2, &input, max);
}

// ---------------------------------------------------------------------------------------
// Query-string decoding (the `?token=` of the WebUI guard)

/// RFC 3986 percent-decoding (`%` and exactly two hex digits; anything else literal; `+`
/// stays `+`), stated independently of `src/web/mod.rs`.
pub fn reference_decode(raw: &str) -> String {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |x: u8| char::from(x).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decoding never panics and follows RFC 3986; encoding round-trips any text and emits
/// only unreserved characters and `%XX`.
pub fn check_query_decode(data: &[u8]) {
    let raw = text(data);
    assert_eq!(
        percent_decode(&raw),
        reference_decode(&raw),
        "percent_decode({raw:?})"
    );
    let enc = percent_encode(&raw);
    assert!(
        enc.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
        "percent_encode({raw:?}) = {enc:?}"
    );
    assert_eq!(percent_decode(&enc), raw, "round trip of {raw:?}");
}

// ---------------------------------------------------------------------------------------
// Whole requests through the router

/// The access token of the token-protected fixture.
pub const TOKEN: &str = "s3cr+t/tok=en";
/// The address the fixture is bound to.
pub const BOUND: &str = "127.0.0.1:8000";
/// The Administrator of fleet 1 (the WebUI's sender).
pub const ADMIN: i64 = 2;

/// Routers over one database: fleet 1 (Director 1, Administrator 2, alice 3, bob 4), one
/// without a token and one requiring [`TOKEN`].
pub struct WebFixture {
    pub open: axum::Router,
    pub locked: axum::Router,
    /// `GET /` as served (the SPA or the not-built page): the only HTML the server sends.
    pub index: Vec<u8>,
}

/// Builds the fixture in `dir` (the Director's pane names a tmux server that does not
/// exist, so previews fail fast and messages stay queued).
pub async fn web_fixture(dir: &Path) -> WebFixture {
    use cafleet::broker::Broker;
    use cafleet::db::Db;
    use cafleet::tmux::{PaneContext, Tmux};
    use cafleet::web::{AppState, Security, router};
    let db = Db::open(&dir.join("fuzz.db"), 4).await.expect("open db");
    db.migrate().await.expect("migrate");
    let broker = Broker::new(db, Tmux::from_env(), 200);
    let pane = PaneContext {
        session_name: "t".into(),
        window_id: "@0".into(),
        pane_id: "%0".into(),
        socket_path: dir.join("no-such-tmux.sock").display().to_string(),
    };
    broker
        .fleet_create(Some("fuzz"), cafleet::model::CodingAgent::Claude, &pane)
        .await
        .expect("fleet");
    for name in ["alice", "bob"] {
        broker
            .agent_register(FleetId(1), name, "fuzz target", None)
            .await
            .expect("agent");
    }
    let state = |token: Option<&str>| {
        AppState::new(
            broker.clone(),
            Security::for_bind("127.0.0.1", 8000, token.map(str::to_string)),
        )
    };
    let open = router(state(None));
    let locked = router(state(Some(TOKEN)));
    let resp = open
        .clone()
        .oneshot(get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let index = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    WebFixture {
        open,
        locked,
        index,
    }
}

fn get(uri: &str) -> axum::http::request::Builder {
    Request::get(uri).header(header::HOST, BOUND)
}

const METHODS: &[&str] = &["GET", "POST", "HEAD", "PATCH", "PUT", "DELETE", "OPTIONS"];
const PATHS: &[&str] = &[
    "/api/messages/send",
    "/api/fleets",
    "/api/agents",
    "/api/timeline",
    "/api/agents/3/inbox",
    "/api/agents/3/monitor",
    "/api/monitor",
    "/",
    "/index.html",
    "/api",
];
const HOSTS: &[&str] = &[
    BOUND,
    "localhost:8000",
    "LOCALHOST:8000",
    "[::1]:8000",
    "evil.example:8000",
    "127.0.0.1:8001",
    "127.0.0.1",
    "127.0.0.1:8000.evil.example",
];

/// How the request presents the token.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Presented {
    /// Known to be the right token, or known not to be.
    Known(bool),
    /// Fuzzed free-form: either may be the case.
    Unknown,
}

/// One request through the router.
///
/// Fields: 0 selectors (method, path, host, token mode, origin mode, body mode, router),
/// 1 path suffix or query, 2 host, 3 origin, 4 token material, 5 body or message text,
/// 6 `X-Fleet-Id`.
pub async fn check_web(fx: &WebFixture, data: &[u8]) {
    let f = fields(data, 7);
    let sel = |i: usize| f[0].get(i).copied().unwrap_or(0);
    let method = METHODS[usize::from(sel(0)) % METHODS.len()];
    let base = PATHS[usize::from(sel(1)) % PATHS.len()];
    let extra = text(f[1]);
    let uri = match sel(1) / 16 {
        0 | 1 => base.to_string(),
        2 => format!("{base}?{extra}"),
        3 => format!("{base}{extra}"),
        _ => extra.clone(),
    };
    let host = match sel(2) % 10 {
        8 => text(f[2]),
        9 => String::new(),
        k => HOSTS[usize::from(k) % HOSTS.len()].to_string(),
    };
    let locked = sel(6) & 1 == 1;
    let mut b = Request::builder().method(method);
    if !host.is_empty() {
        b = b.header(header::HOST, host.as_str());
    }
    let material = text(f[4]);
    let (uri, presented) = match sel(3) % 7 {
        0 => (uri, Presented::Known(false)),
        1 => {
            b = b.header("x-cafleet-token", TOKEN);
            (uri, Presented::Known(true))
        }
        2 => {
            b = b.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
            (uri, Presented::Known(true))
        }
        3 => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            let q = format!("{uri}{sep}token={}", percent_encode(TOKEN));
            (q, Presented::Known(true))
        }
        4 => {
            b = b.header("x-cafleet-token", material.as_str());
            (uri, Presented::Known(material.trim() == TOKEN))
        }
        5 => {
            b = b.header(header::AUTHORIZATION, material.as_str());
            (uri, Presented::Unknown)
        }
        _ => (uri, Presented::Unknown),
    };
    // A token may also hide in the fuzzed query or suffix.
    let presented = if presented == Presented::Known(false) && uri.contains("token=") {
        Presented::Unknown
    } else {
        presented
    };
    let origin = match sel(4) % 5 {
        0 => None,
        1 => Some(format!("http://{host}")),
        2 => Some(format!("http://{}", host.to_ascii_uppercase())),
        3 => Some("null".to_string()),
        _ => Some(text(f[3])),
    };
    if let Some(o) = &origin {
        b = b.header(header::ORIGIN, o.as_str());
    }
    let fleet = if f[6].is_empty() {
        "1".to_string()
    } else {
        text(f[6])
    };
    b = b.header("x-fleet-id", fleet.as_str());
    // Body: raw bytes, or a well-formed send whose text is the fuzzed field.
    let message = text(f[5]);
    let body = match sel(5) % 4 {
        0 => f[5].to_vec(),
        1 => json!({"from_agent_id": ADMIN, "to_agent_id": 3, "text": message})
            .to_string()
            .into_bytes(),
        2 => json!({"from_agent_id": ADMIN, "to_agent_id": "*", "text": message})
            .to_string()
            .into_bytes(),
        _ => json!({"from_agent_id": 3, "to_agent_id": 4, "text": message})
            .to_string()
            .into_bytes(),
    };
    let Ok(req) = b
        .uri(uri.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.clone()))
    else {
        return; // not a request an HTTP client could send
    };
    let path = req.uri().path().to_string();
    if path == "/api/events" {
        return; // an endless stream: covered by the event-stream tests
    }
    // What a browser or client got: status, content type, body.
    let app = if locked { &fx.locked } else { &fx.open };
    let resp = app
        .clone()
        .oneshot(req)
        .await
        .expect("router is infallible");
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    let what = format!(
        "{method} {uri:?} host={host:?} origin={origin:?} locked={locked} token={presented:?} -> {status} {ctype:?} {:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
    );
    assert!(
        !status.is_server_error(),
        "a hostile request caused a server error: {what}"
    );
    let is_api = path == "/api" || path.starts_with("/api/");
    let host_ok = ["127.0.0.1:8000", "localhost:8000", "[::1]:8000"]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(&host));
    if method == "HEAD" {
        // No body to read a reason from: only the status says what the guard did.
        if !host_ok {
            assert_eq!(status, StatusCode::FORBIDDEN, "foreign Host served: {what}");
        } else if locked && is_api && presented == Presented::Known(false) {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "no token, served: {what}");
        }
        return;
    }
    // Never HTML other than the page itself: nothing from the request is reflected.
    if ctype.starts_with("text/html") {
        assert!(bytes == fx.index, "HTML other than the SPA page: {what}");
    }
    let detail = if ctype.starts_with("application/json") {
        let v: Value =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("invalid JSON ({e}): {what}"));
        v.get("detail")
            .map(std::string::ToString::to_string)
            .unwrap_or_default()
    } else {
        assert!(!is_api, "an API response that is not JSON: {what}");
        String::new()
    };
    // W2: a foreign or missing Host is refused before anything else.
    if !host_ok {
        assert_eq!(status, StatusCode::FORBIDDEN, "foreign Host served: {what}");
        return;
    }
    assert!(
        !detail.contains("is not allowed; open the WebUI"),
        "an allowed Host was refused: {what}"
    );
    // W1: with a token configured, no API call gets through without it.
    let token_refused = detail.contains("access token required");
    if locked && is_api {
        match presented {
            Presented::Known(true) => assert!(!token_refused, "right token refused: {what}"),
            Presented::Known(false) => {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "no token, served: {what}");
                return;
            }
            Presented::Unknown => {
                if token_refused {
                    return;
                }
            }
        }
    } else {
        assert!(
            !token_refused,
            "token demanded where none is needed: {what}"
        );
    }
    // W2: state-changing requests need the same Origin or the token.
    let unsafe_method = !matches!(method, "GET" | "HEAD");
    let same_origin = origin.as_deref().is_some_and(|o| {
        o.strip_prefix("http://")
            .is_some_and(|h| h.eq_ignore_ascii_case(&host))
    });
    let cross_refused = detail.contains("cross-origin request refused");
    let token_ok = locked && presented == Presented::Known(true);
    if unsafe_method && !same_origin && !token_ok && presented != Presented::Unknown {
        assert!(cross_refused, "cross-origin change allowed: {what}");
        return;
    }
    if same_origin || token_ok || !unsafe_method {
        assert!(!cross_refused, "same-origin request refused: {what}");
    }
    // A stored message reads back byte-exact through the API.
    if status == StatusCode::OK && method == "POST" && path == "/api/messages/send" {
        let sent: Value = serde_json::from_slice(&body).expect("the server accepted bad JSON");
        let want = sent["text"]
            .as_str()
            .expect("the server accepted a non-string text");
        let id = serde_json::from_slice::<Value>(&bytes).unwrap()["task_id"]
            .as_i64()
            .expect("task_id");
        let mut req = get("/api/timeline")
            .header("x-fleet-id", "1")
            .header("x-cafleet-token", TOKEN);
        req = req.header(header::ORIGIN, format!("http://{BOUND}"));
        let resp = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let page: Value =
            serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
        let found = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["task_id"] == id || m["origin_task_id"] == id)
            .map(|m| m["body"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>();
        assert!(
            !found.is_empty(),
            "sent task {id} missing from the timeline: {what}"
        );
        for got in found {
            assert_eq!(got, want, "stored text differs: {what}");
        }
    }
}
