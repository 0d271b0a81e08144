//! The SPA, embedded from `frontend/dist` at build time: hashed assets cached forever,
//! `index.html` never cached, unknown non-API paths fall back to `index.html`.

use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "frontend/dist/"]
#[allow_missing = true]
struct Dist;

/// Shown when the binary was built without the frontend.
const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>CAFleet Admin</title><p>The WebUI is not built into this binary. Run <code>npm --prefix frontend ci &amp;&amp; npm --prefix frontend run build</code>, then rebuild cafleet. The API under <code>/api</code> works.</p>";

/// Serves an embedded file, or `index.html` for any other path (SPA routing). Only GET and
/// HEAD: any other method is 405, never the page (docs/decisions.md, WEB-2).
pub async fn spa(method: Method, uri: Uri) -> Response {
    if !matches!(method, Method::GET | Method::HEAD) {
        return super::method_not_allowed_here();
    }
    let path = uri.path().trim_start_matches('/');
    // The API's (and the reserved `/ui`'s) unknown paths are JSON 404s, never the page.
    let first = path.split('/').next().unwrap_or_default();
    if first == "api" || first == "ui" {
        return super::ApiError::not_found("Not Found").into_response();
    }
    if !path.is_empty()
        && let Some(file) = Dist::get(path)
    {
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        let cache = if path.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_str(mime.as_ref())
                        .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            ],
            file.data.into_owned(),
        )
            .into_response();
    }
    index()
}

fn index() -> Response {
    let body = Dist::get("index.html")
        .map_or_else(|| NOT_BUILT.as_bytes().to_vec(), |f| f.data.into_owned());
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache, no-store, must-revalidate"),
            ),
        ],
        body,
    )
        .into_response()
}
