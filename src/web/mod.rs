//! The admin WebUI: `router(state)` serves the HTTP API under `/api` (JSON, fleet-scoped by
//! `X-Fleet-Id`), a live change stream (`/api/events`, SSE) and the embedded SPA. Every
//! request passes [`guard`]: on a loopback bind the Host must be the bound address or
//! localhost (DNS rebinding; a bind beyond loopback has a token, which every API call must
//! carry, so any Host is served there), a configured token is required on every API call
//! (W1), and state-changing requests need a same-origin `Origin` or the token (W2; both in
//! docs/decisions.md).

mod api;
mod assets;
mod error;
mod events;
mod wire;

pub use error::{ApiError, ApiResult};

use crate::broker::Broker;
use crate::broker::feed::{ChangeFeed, FALLBACK};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;

/// Who may talk to the server.
#[derive(Debug, Clone)]
pub struct Security {
    /// Required on every API call when set (`Authorization: Bearer`, `X-CAFleet-Token`, or
    /// `?token=` for the event stream).
    pub token: Option<String>,
    /// Acceptable `Host` header values (`host:port`; a Host without a port means port 80).
    pub allowed_hosts: Vec<String>,
    /// Any `Host` is accepted: the server listens beyond loopback with a token, so it is
    /// reached under names and addresses it cannot know (LAN address, DNS name, a proxy's),
    /// and the token every API call must carry already defeats DNS rebinding.
    pub any_host: bool,
}

impl Security {
    /// Rules for a server bound to `host:port`. A loopback bind (or any bind without a
    /// token) accepts only that address and the loopback names as `Host`; a wildcard
    /// (`0.0.0.0`, `::`) or other non-loopback bind with a token accepts any `Host`.
    pub fn for_bind(host: &str, port: u16, token: Option<String>) -> Security {
        let mut allowed_hosts = vec![
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ];
        let bound = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        if !allowed_hosts.contains(&bound) {
            allowed_hosts.push(bound);
        }
        let any_host = token.is_some() && !is_loopback(host);
        Security {
            token,
            allowed_hosts,
            any_host,
        }
    }

    /// Whether a request's `Host` header value may be served.
    pub fn host_allowed(&self, host: &str) -> bool {
        if self.any_host {
            return true;
        }
        let Some(given) = authority(host, 80) else {
            return false;
        };
        self.allowed_hosts
            .iter()
            .filter_map(|h| authority(h, 80))
            .any(|h| h == given)
    }
}

/// Whether `host` (a name or an address, IPv6 with or without brackets) is loopback.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `host` is a wildcard bind address (every interface).
pub fn is_wildcard(host: &str) -> bool {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified())
}

/// What `cafleet server` should print as the address to open for a bind of `host:port`:
/// the URL (with `?token=` when one is set) and, for a wildcard bind, a note that
/// `0.0.0.0`/`::` is not an address to browse to.
pub fn browse_url(host: &str, port: u16, token: Option<&str>) -> String {
    let wildcard = is_wildcard(host);
    let shown = if wildcard {
        "<this-machine>".to_string()
    } else if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let url = match token {
        Some(t) => format!("http://{shown}:{port}/?token={}", percent_encode(t)),
        None => format!("http://{shown}:{port}/"),
    };
    if wildcard {
        format!(
            "{url} (listening on every interface of {host}: replace <this-machine> with this machine's LAN address or host name, or 127.0.0.1 locally)"
        )
    } else {
        url
    }
}

/// `(lower-cased name, port)` of a `Host` value or an Origin's authority; a missing port is
/// `default_port`. `None` for an empty or malformed value (a port must be written plainly:
/// `08000` is not `8000`).
fn authority(raw: &str, default_port: u16) -> Option<(String, u16)> {
    if raw.is_empty() || raw.contains(|c: char| c.is_whitespace() || matches!(c, '/' | '@')) {
        return None;
    }
    let (name, port) = if let Some(rest) = raw.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{}]", inside.to_ascii_lowercase()), port)
    } else {
        match raw.rsplit_once(':') {
            Some((n, p)) if !n.contains(':') => (n.to_ascii_lowercase(), Some(p)),
            Some(_) => return None,
            None => (raw.to_ascii_lowercase(), None),
        }
    };
    if name.is_empty() || name == "[]" {
        return None;
    }
    let port = match port {
        None => default_port,
        Some(p) => p.parse::<u16>().ok().filter(|n| n.to_string() == p)?,
    };
    Some((name, port))
}

/// Whether an `Origin` header is `http://` plus the request's own `Host` (the server has no
/// TLS), ports compared after filling in the default: `http://h` is `h:80`.
fn same_origin(origin: &str, host: &str) -> bool {
    let Some(rest) = origin.strip_prefix("http://") else {
        return false;
    };
    match (authority(rest, 80), authority(host, 80)) {
        (Some(o), Some(h)) => o == h,
        _ => false,
    }
}

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The broker (one pool, shared in-process).
    pub broker: Broker,
    /// Access rules.
    pub security: Arc<Security>,
    /// When the live streams read the change feed (one listener for all of them).
    pub feed: ChangeFeed,
}

impl AppState {
    /// The state of a server over `broker`: its live streams are pushed on PostgreSQL
    /// and read every [`FALLBACK`] at least, and poll on SQLite.
    pub fn new(broker: Broker, security: Security) -> AppState {
        AppState {
            feed: broker.change_feed(FALLBACK),
            broker,
            security: Arc::new(security),
        }
    }

    /// The same with another fallback tick for pushed streams (tests make it long, so
    /// that only a notification can deliver a change in time).
    pub fn with_fallback(mut self, fallback: std::time::Duration) -> AppState {
        self.feed = self.broker.change_feed(fallback);
        self
    }
}

/// The whole application as a function of its state.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/fleets", get(api::fleets))
        .route("/agents", get(api::agents))
        .route("/monitor", get(api::monitor))
        .route(
            "/agents/{agent_id}/monitor",
            get(api::agent_monitor).patch(api::patch_agent_monitor),
        )
        .route("/agents/{agent_id}/inbox", get(api::inbox))
        .route("/agents/{agent_id}/sent", get(api::sent))
        .route("/timeline", get(api::timeline))
        .route("/messages/send", post(api::send))
        .route("/events", get(events::events))
        .fallback(api_not_found)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .nest("/api", api)
        .fallback(assets::spa)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
                )
                .make_span_with(
                |req: &Request| {
                    let route = req
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map(|m| m.as_str().to_string())
                        .unwrap_or_default();
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), %route)
                },
            ),
        )
        .with_state(state)
}

/// An `/api` path no route matches: 404 for GET/HEAD, 405 for other methods, as in 0.14
/// (docs/decisions.md, C1).
async fn api_not_found(method: Method) -> Response {
    if matches!(method, Method::GET | Method::HEAD) {
        ApiError::not_found("Not Found").into_response()
    } else {
        method_not_allowed_here()
    }
}

/// A route that exists, called with a method it does not have. The `Allow` header listing
/// the route's own methods is added by the router.
async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

/// 405 for a path only GET/HEAD can be used on (the SPA and unknown paths).
pub(crate) fn method_not_allowed_here() -> Response {
    let mut r = ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").into_response();
    r.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
    r
}

fn token_of(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return Some(t.trim().to_string());
    }
    if let Some(v) = headers.get("x-cafleet-token").and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_string());
    }
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(percent_decode)
}

/// Decodes a query-string value's `%XX` escapes (a `+` stays a `+`: tokens often hold one).
pub fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let hex = |b: u8| char::from(b).to_digit(16);
    while i < bytes.len() {
        // Exactly `%` and two hex digits; bytes, not `str` slices (a multi-byte character
        // after `%` must not split), and no sign (`%+1` stays literal).
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes a value for a URL query (everything but unreserved characters).
pub fn percent_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Constant-time comparison, so the token cannot be guessed byte by byte from timings.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The access rules of W1 and W2 (docs/decisions.md), applied to every request.
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let sec = &state.security;
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !sec.host_allowed(host) {
        return ApiError::forbidden(format!(
            "Host '{host}' is not allowed; open the WebUI at http://{}/",
            sec.allowed_hosts[0]
        ))
        .into_response();
    }
    let is_api = req.uri().path() == "/api" || req.uri().path().starts_with("/api/");
    let presented = token_of(headers, req.uri().query());
    let token_ok = match (&sec.token, &presented) {
        (Some(expected), Some(given)) => same_secret(expected, given),
        _ => false,
    };
    if is_api && sec.token.is_some() && !token_ok {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "access token required: open the WebUI with ?token=<token> or send 'Authorization: Bearer <token>'",
        )
        .into_response();
    }
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    if !safe && !token_ok {
        let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
        if !origin.is_some_and(|o| same_origin(o, host)) {
            return ApiError::forbidden(
                "cross-origin request refused: changes must come from the WebUI's own page (same Origin) or carry the access token",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Binds and serves until `shutdown` resolves (graceful: in-flight requests finish).
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::{Security, authority, browse_url, percent_decode, percent_encode, same_origin};

    #[test]
    fn hosts_compare_by_name_and_port_with_80_as_the_default() {
        assert_eq!(authority("LocalHost", 80), Some(("localhost".into(), 80)));
        assert_eq!(authority("[::1]", 80), Some(("[::1]".into(), 80)));
        assert_eq!(authority("[::1]:8000", 80), Some(("[::1]".into(), 8000)));
        for bad in [
            "", ":80", "[]:80", "h:x", "h:99999", "h:08000", " h", "::1", "h/x", "u@h", "[::1]x",
        ] {
            assert_eq!(authority(bad, 80), None, "{bad:?}");
        }
        let sec = Security::for_bind("127.0.0.1", 80, None);
        assert!(sec.host_allowed("localhost") && sec.host_allowed("127.0.0.1:80"));
        assert!(!sec.host_allowed("localhost:8000") && !sec.host_allowed("evil:80"));
        assert!(!sec.any_host);
        assert!(Security::for_bind("0.0.0.0", 8000, Some("t".into())).any_host);
        assert!(Security::for_bind("::", 8000, Some("t".into())).any_host);
        assert!(!Security::for_bind("::1", 8000, Some("t".into())).any_host);
        assert!(!Security::for_bind("localhost", 8000, Some("t".into())).any_host);
    }

    #[test]
    fn origins_match_their_own_host() {
        assert!(same_origin("http://127.0.0.1:8000", "127.0.0.1:8000"));
        assert!(same_origin("http://h", "h:80"));
        assert!(same_origin("http://h:80", "h"));
        assert!(!same_origin("https://h", "h"));
        assert!(!same_origin("http://h:080", "h:80"));
        assert!(!same_origin("http://h:8001", "h:8000"));
        assert!(!same_origin("null", "h"));
        assert!(!same_origin("ftp://h", "h"));
    }

    #[test]
    fn the_printed_url_says_what_to_open() {
        assert_eq!(
            browse_url("127.0.0.1", 8000, None),
            "http://127.0.0.1:8000/"
        );
        assert_eq!(
            browse_url("::1", 8000, Some("a b")),
            "http://[::1]:8000/?token=a%20b"
        );
        let wild = browse_url("0.0.0.0", 8000, Some("t"));
        assert!(
            wild.starts_with("http://<this-machine>:8000/?token=t "),
            "{wild}"
        );
        assert!(wild.contains("LAN address"), "{wild}");
    }

    #[test]
    fn tokens_round_trip_through_a_query_string() {
        for t in ["e2e+tok/en=", "plain", "s p a c e", "%41"] {
            assert_eq!(percent_decode(&percent_encode(t)), t);
        }
        assert_eq!(percent_decode("a%2Bb+c%zz"), "a+b+c%zz");
        assert_eq!(percent_decode("e2e+tok/en="), "e2e+tok/en=");
        // A multi-byte character after `%` is text (no panic); signs are not hex digits.
        assert_eq!(percent_decode("%aé%é%+1%-1"), "%aé%é%+1%-1");
    }
}
