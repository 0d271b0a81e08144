//! The admin WebUI: `router(state)` serves the HTTP API under `/api` (JSON, fleet-scoped by
//! `X-Fleet-Id`), a live change stream (`/api/events`, SSE) and the embedded SPA. Every
//! request passes [`guard`]: the Host must be the bound address or localhost (DNS
//! rebinding), a configured token is required on every API call (W1), and state-changing
//! requests need a same-origin `Origin` or the token (W2).

mod api;
mod assets;
mod error;
mod events;

pub use error::{ApiError, ApiResult};

use crate::broker::Broker;
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
    /// Acceptable `Host` header values (`host:port`).
    pub allowed_hosts: Vec<String>,
}

impl Security {
    /// Hosts for a server bound to `host:port`: that address plus the loopback names.
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
        Security {
            token,
            allowed_hosts,
        }
    }
}

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The broker (one pool, shared in-process).
    pub broker: Broker,
    /// Access rules.
    pub security: Arc<Security>,
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

async fn api_not_found() -> ApiError {
    ApiError::not_found("Not Found")
}

async fn method_not_allowed() -> Response {
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

/// The access rules of W1/W2, applied to every request.
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let sec = &state.security;
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !sec
        .allowed_hosts
        .iter()
        .any(|h| h.eq_ignore_ascii_case(host))
    {
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
        let same_origin = origin.is_some_and(|o| {
            o.strip_prefix("http://")
                .is_some_and(|h| h.eq_ignore_ascii_case(host))
        });
        if !same_origin {
            return ApiError::forbidden(
                "cross-origin request refused: changes must come from the WebUI's own page (same Origin) or carry the access token",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// A pooled connection for one request (pool errors become API errors, never raw SQL).
pub(crate) async fn conn(
    db: &crate::db::Db,
) -> ApiResult<sqlx::pool::PoolConnection<sqlx::Sqlite>> {
    Ok(db.pool().acquire().await.map_err(crate::Error::from)?)
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
    use super::{percent_decode, percent_encode};

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
